//! Language and evaluator speed (issue #2's goals):
//! - parse + compile 10,000 policies in under 100 ms;
//! - evaluating one alert costs the same against 10 and against 10,000 policies when the others
//!   name other alerts (the set is indexed by alert name).
//!
//! Run: `cargo bench --bench policy`.

mod common;

use std::hint::black_box;

use alertscale::engine::{evaluate, Limits, MemoryState, Notification};
use alertscale::policy::{self, CompileOptions, PolicySet, SourceFile};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn compile(text: &str) -> PolicySet {
    let checked = policy::check(
        &[SourceFile::new("bench.policy", text)],
        CompileOptions::default(),
    );
    assert!(!checked.has_errors());
    checked.set
}

fn notification() -> Notification {
    let body = br#"{"receiver":"scdf","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"HighThroughputDifference","stream_name":"scaletest","env":"prod"},
      "annotations":{},"startsAt":"2026-12-04T19:27:33Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"8e5e3b8c76abfc3f"}],"version":"4"}"#;
    Notification::from_json(body).unwrap()
}

fn bench_compile(c: &mut Criterion) {
    let text = common::policies(10_000, 3);
    let mut group = c.benchmark_group("parse_and_compile");
    group.sample_size(20);
    group.bench_function("10000_policies", |b| b.iter(|| compile(black_box(&text))));
    let file = SourceFile::new("bench.policy", text.clone());
    group.bench_function("10000_policies_parse_only", |b| {
        b.iter(|| policy::syntax::parse_file(black_box(&file), &mut Vec::new()))
    });
    group.bench_function("10000_policies_pest_only", |b| {
        b.iter(|| policy::syntax::parse_chunk(black_box(&text)).is_ok())
    });
    group.finish();
}

fn bench_evaluate(c: &mut Criterion) {
    let notification = notification();
    let mut group = c.benchmark_group("evaluate_one_alert");
    for count in [10, 10_000] {
        let set = compile(&common::policies(count, 3));
        assert_eq!(set.len(), count);
        group.bench_with_input(BenchmarkId::from_parameter(count), &set, |b, set| {
            b.iter(|| {
                let mut state = MemoryState::new(1);
                let decisions = evaluate(
                    set,
                    black_box(&notification),
                    &mut state,
                    Limits::default(),
                    0,
                );
                assert_eq!(decisions.len(), 1);
                decisions
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_compile, bench_evaluate);
criterion_main!(benches);
