//! Hot-reload latency (issue #4's goal): from the kubelet's `..data` swap of a ConfigMap volume
//! holding 10,000 policies to the new set in effect, debounce included, under 250 ms.
//!
//! Each iteration does what the kubelet does (a new hidden directory, `..data_tmp` renamed over
//! `..data`); the clock runs from the rename until the engine's live policy set shows the change.
//!
//! Run: `cargo bench --bench reload`.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alertscale::metrics::Metrics;
use alertscale::policy::CompileOptions;
use alertscale::reload::{self, LivePolicies, Reloader, WatchOptions};
use criterion::{criterion_group, criterion_main, Criterion};

const FILES: usize = 10;
const PER_FILE: usize = 1_000;

/// Writes version `version` of the volume's contents into a new hidden directory.
fn write_version(dir: &Path, version: u32) -> String {
    let name = format!("..2026_12_04_21_00_00.{version:09}");
    fs::create_dir(dir.join(&name)).unwrap();
    for file in 0..FILES {
        // The first policy of the first file changes between versions: +1, +2, +1, ...
        let amount = if file == 0 { version % 2 + 1 } else { 3 };
        fs::write(
            dir.join(&name).join(format!("team-{file}.policy")),
            common::policies(PER_FILE, amount),
        )
        .unwrap();
    }
    name
}

fn bench_reload(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("policies");
    fs::create_dir(&dir).unwrap();
    let mut version = 0;
    let first = write_version(&dir, version);
    symlink(&first, dir.join("..data")).unwrap();
    for file in 0..FILES {
        symlink(
            format!("..data/team-{file}.policy"),
            dir.join(format!("team-{file}.policy")),
        )
        .unwrap();
    }
    let options = CompileOptions::default();
    let loaded = reload::load(std::slice::from_ref(&dir), options).unwrap();
    assert_eq!(loaded.set.len(), FILES * PER_FILE);
    let live = Arc::new(LivePolicies::new(loaded));
    let reloader = Arc::new(Reloader::new(
        vec![dir.clone()],
        options,
        live.clone(),
        Arc::new(Metrics::new()),
    ));
    // The watcher task runs on the runtime; `enter` gives `spawn_watcher` its context.
    let _context = runtime.enter();
    let _watcher = reload::spawn_watcher(reloader, WatchOptions::default()).unwrap();
    let first_amount = || {
        live.current.load().set.policies()[0].actions[0]
            .amount
            .to_string()
    };

    let mut group = c.benchmark_group("reload");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("configmap_swap_10000_policies", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                version += 1;
                let old = fs::read_link(dir.join("..data")).unwrap();
                let name = write_version(&dir, version);
                let expected = format!("+{}", version % 2 + 1);
                symlink(&name, dir.join("..data_tmp")).unwrap();
                let swapped = Instant::now();
                fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
                // The kubelet deletes the old directory right after the swap.
                fs::remove_dir_all(dir.join(old)).unwrap();
                while first_amount() != expected {
                    assert!(
                        swapped.elapsed() < Duration::from_secs(10),
                        "the reload never came"
                    );
                    std::thread::sleep(Duration::from_micros(200));
                }
                total += swapped.elapsed();
                // Let the watcher settle (debounce and any reload) before the next swap.
                std::thread::sleep(Duration::from_millis(500));
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench_reload);
criterion_main!(benches);
