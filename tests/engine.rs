//! The evaluator's semantics, through the same `evaluate` the server and `plan` call.

use alertscale::engine::{
    evaluate, Limits, MemoryState, Notification, Outcome, ScaleTarget, Suppression,
};
use serde_json::json;

use crate::support::compile_ok;

fn alert(name: &str, stream: Option<&str>, fingerprint: &str) -> serde_json::Value {
    let mut labels = json!({ "alertname": name });
    if let Some(stream) = stream {
        labels["stream_name"] = json!(stream);
    }
    json!({
        "status": "firing", "labels": labels, "annotations": {},
        "startsAt": "2026-12-04T19:27:33Z", "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint
    })
}

fn notification(alerts: Vec<serde_json::Value>) -> Notification {
    let body = json!({ "receiver": "scdf", "status": "firing", "alerts": alerts, "version": "4" });
    Notification::from_json(body.to_string().as_bytes()).unwrap()
}

fn target(stream: &str, app: &str) -> ScaleTarget {
    ScaleTarget {
        stream: stream.into(),
        app: app.into(),
    }
}

const NOW: u64 = 1_800_000_000_000;

/// `evaluate` with the default limits over a notification of `alerts`.
fn decide_all(
    set: &alertscale::policy::PolicySet,
    state: &mut MemoryState,
    alerts: Vec<serde_json::Value>,
    now: u64,
) -> Vec<alertscale::engine::Decision> {
    evaluate(set, &notification(alerts), state, Limits::default(), now)
}

#[test]
fn two_alerts_adding_three_to_one_end_at_seven() {
    let set = compile_ok("when alert A on stream $s scale transform +3 max 10\nwhen alert B on stream $s scale transform +3 max 10\n");
    let n = notification(vec![
        alert("A", Some("st"), "a1"),
        alert("B", Some("st"), "b1"),
    ]);
    let mut state = MemoryState::new(1);
    let decisions = evaluate(&set, &n, &mut state, Limits::default(), NOW);
    let steps: Vec<_> = decisions.iter().map(|d| (d.from, d.to)).collect();
    assert_eq!(steps, [(Some(1), Some(4)), (Some(4), Some(7))]);
    assert_eq!(state.count(&target("st", "transform")), 7);
}

#[test]
fn a_resent_alert_does_not_scale_again() {
    let set = compile_ok("when alert A on stream $s scale transform +3 max 10\n");
    let n = notification(vec![alert("A", Some("st"), "a1")]);
    let mut state = MemoryState::new(1);
    let first = evaluate(&set, &n, &mut state, Limits::default(), NOW);
    assert_eq!(first[0].outcome, Outcome::Scale);
    let again = evaluate(&set, &n, &mut state, Limits::default(), NOW + 60_000);
    assert_eq!(again[0].outcome, Outcome::Suppressed);
    assert_eq!(again[0].suppressed_by, Some(Suppression::Dedupe));
    assert_eq!(state.count(&target("st", "transform")), 4);
}

#[test]
fn counts_are_clamped_to_bounds_and_the_server_cap() {
    let set = compile_ok("when alert A on stream $s scale transform +3 max 8\nwhen alert B on stream $s scale log +5\n");
    let mut state = MemoryState::new(1);
    state.counts.insert(target("st", "transform"), 7);
    let n = notification(vec![
        alert("A", Some("st"), "a1"),
        alert("B", Some("st"), "b1"),
    ]);
    let d = evaluate(&set, &n, &mut state, Limits { max_instances: 4 }, NOW);
    assert_eq!(
        (d[0].from, d[0].to),
        (Some(7), Some(4).max(Some(7))),
        "a `+` never scales in"
    );
    assert_eq!(d[0].suppressed_by, Some(Suppression::Bounds));
    assert_eq!(
        d[0].reason.as_deref(),
        Some("already above the server cap 4 (7 instances)")
    );
    assert_eq!(
        (d[1].from, d[1].to, d[1].outcome),
        (Some(1), Some(4), Outcome::Scale)
    );
}

#[test]
fn at_max_nothing_is_called_and_the_decision_says_why() {
    let set = compile_ok("when alert A on stream $s scale transform +3 max 8\n");
    let mut state = MemoryState::new(1);
    state.counts.insert(target("st", "transform"), 8);
    let d = decide_all(&set, &mut state, vec![alert("A", Some("st"), "a1")], NOW);
    assert_eq!(d[0].outcome, Outcome::Suppressed);
    assert_eq!(d[0].reason.as_deref(), Some("already at max 8"));
}

#[test]
fn cooldown_holds_a_policy_back_on_the_same_target() {
    let set = compile_ok("when alert A on stream $s scale transform +1 max 8 cooldown 2m\n");
    let mut state = MemoryState::new(1);
    let first = decide_all(&set, &mut state, vec![alert("A", Some("st"), "a1")], NOW);
    assert_eq!(first[0].outcome, Outcome::Scale);
    // A new occurrence (another fingerprint) 30 s later is held by the cooldown...
    let held = decide_all(
        &set,
        &mut state,
        vec![alert("A", Some("st"), "a2")],
        NOW + 30_000,
    );
    assert_eq!(held[0].suppressed_by, Some(Suppression::Cooldown));
    assert_eq!(
        held[0].reason.as_deref(),
        Some("in cooldown: last scaled 30s ago, cooldown 2m")
    );
    // ...but another stream is not,
    let other = decide_all(
        &set,
        &mut state,
        vec![alert("A", Some("other"), "a3")],
        NOW + 30_000,
    );
    assert_eq!(other[0].outcome, Outcome::Scale);
    // and after the cooldown the held occurrence acts on its re-send.
    let later = decide_all(
        &set,
        &mut state,
        vec![alert("A", Some("st"), "a2")],
        NOW + 121_000,
    );
    assert_eq!((later[0].outcome, later[0].to), (Outcome::Scale, Some(3)));
}

#[test]
fn policies_bound_to_stream_name_skip_alerts_without_it() {
    let set = compile_ok("when alert A on stream $s scale transform to 2\nwhen alert A on stream \"fixed\" scale log to 2\n");
    let d = decide_all(
        &set,
        &mut MemoryState::new(1),
        vec![alert("A", None, "a1")],
        NOW,
    );
    assert_eq!(d.len(), 1);
    assert_eq!((d[0].stream.as_str(), d[0].app.as_str()), ("fixed", "log"));
}

#[test]
fn hostile_label_values_are_rejected_before_any_call() {
    let set = compile_ok("when alert A on stream $s app $a scale $a +1 max 3\n");
    for hostile in ["../streams", "a/b", "x?y=1", "%2e%2e", "", "a b", ".."] {
        let mut a = alert("A", Some("st"), "f");
        a["labels"]["application_name"] = json!(hostile);
        let d = decide_all(&set, &mut MemoryState::new(1), vec![a], NOW);
        assert_eq!(d[0].outcome, Outcome::Rejected, "{hostile:?}");
        assert!(
            d[0].reason.as_deref().unwrap().contains("invalid app name"),
            "{:?}",
            d[0].reason
        );
        let mut a = alert("A", Some(hostile), "f");
        a["labels"]["application_name"] = json!("transform");
        let d = decide_all(&set, &mut MemoryState::new(1), vec![a], NOW);
        assert_eq!(d[0].outcome, Outcome::Rejected, "{hostile:?}");
    }
}

#[test]
fn guard_holds_while_the_guarding_alert_fires_for_the_same_stream() {
    let set = compile_ok("when alert Zero on stream $s unless alert Load scale transform to 1\n");
    let mut state = MemoryState::new(4);
    let d = decide_all(
        &set,
        &mut state,
        vec![
            alert("Zero", Some("st"), "z"),
            alert("Load", Some("st"), "l"),
        ],
        NOW,
    );
    assert_eq!(d[0].suppressed_by, Some(Suppression::Guard));
    // A guard on another stream does not count, and a held decision acts once the guard is gone.
    let d = decide_all(
        &set,
        &mut state,
        vec![
            alert("Zero", Some("st"), "z"),
            alert("Load", Some("other"), "l2"),
        ],
        NOW,
    );
    assert_eq!(
        (d[0].outcome, d[0].from, d[0].to),
        (Outcome::Scale, Some(4), Some(1))
    );
}

#[test]
fn paused_policies_decide_but_never_act() {
    let set = compile_ok("when alert A on stream $s scale transform to 3 paused\n");
    let d = decide_all(
        &set,
        &mut MemoryState::new(1),
        vec![alert("A", Some("st"), "a")],
        NOW,
    );
    assert_eq!(d[0].suppressed_by, Some(Suppression::Paused));
}

#[test]
fn resolved_policies_see_only_resolved_alerts() {
    let set = compile_ok("when resolved alert A on stream $s scale transform -1\n");
    let mut firing = alert("A", Some("st"), "a");
    let d = decide_all(&set, &mut MemoryState::new(3), vec![firing.clone()], NOW);
    assert!(d.is_empty());
    firing["status"] = json!("resolved");
    let d = decide_all(&set, &mut MemoryState::new(3), vec![firing], NOW);
    assert_eq!((d[0].from, d[0].to), (Some(3), Some(2)));
}

#[test]
fn several_actions_each_decide() {
    let set = compile_ok("when alert A on stream $s scale transform +2 max 8 scale log +1 max 4\n");
    let d = decide_all(
        &set,
        &mut MemoryState::new(1),
        vec![alert("A", Some("st"), "a")],
        NOW,
    );
    let apps: Vec<_> = d.iter().map(|d| (d.app.as_str(), d.to)).collect();
    assert_eq!(apps, [("transform", Some(3)), ("log", Some(2))]);
}
