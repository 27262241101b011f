//! The evaluator: (policies, notification, state) -> decisions. Pure, so the server, `plan` and
//! the tests agree by construction.
//!
//! Two steps, each usable on its own:
//! 1. [`intents`]: which policy actions apply to which alerts, and on which target (matching by
//!    the alert-name index, label matchers, bindings, name safety). Needs no state.
//! 2. [`decide`]: for one intent and what is known of its target (current count, whether this
//!    alert occurrence was already acted on, when the policy last acted there), the decision.
//!
//! [`evaluate`] chains them over a [`MemoryState`], applying each decision before the next, so
//! two alerts in one notification that both add 3 to a count of 1 end at 7.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::notification::{Alert, Notification};
use crate::policy::{
    duration, Action, AlertStatus, Amount, NameSource, Policy, PolicyId, PolicySet, APP_LABEL,
    DEFAULT_MAX_INSTANCES, STREAM_LABEL,
};
use crate::scdf::names;

/// An app of a stream: what a scale call changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct ScaleTarget {
    pub stream: String,
    pub app: String,
}

impl fmt::Display for ScaleTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.stream, self.app)
    }
}

/// One alert occurrence seen by one policy action: the unit of "act at most once".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DedupeKey {
    /// `Policy::digest`: unchanged by reloads that leave the policy's meaning unchanged.
    pub policy: String,
    pub action: usize,
    pub fingerprint: String,
    pub starts_at: String,
    pub status: AlertStatus,
}

/// Server-wide bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `--scale.max-instances`: no decision goes above it, whatever a policy says.
    pub max_instances: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_instances: DEFAULT_MAX_INSTANCES,
        }
    }
}

/// What a policy action wants for one alert, before looking at the target's state.
#[derive(Debug, Clone)]
pub struct Intent<'p> {
    pub policy: &'p Policy,
    pub action_index: usize,
    pub alert: &'p Alert,
    /// The target, or why the names the labels gave cannot be used.
    pub target: Result<ScaleTarget, String>,
    /// Why the policy may not act now whatever the state (paused, guarded), if so.
    pub held: Option<(Suppression, String)>,
}

impl Intent<'_> {
    pub fn action(&self) -> &Action {
        &self.policy.actions[self.action_index]
    }

    pub fn dedupe_key(&self) -> DedupeKey {
        DedupeKey {
            policy: self.policy.digest.clone(),
            action: self.action_index,
            fingerprint: self.alert.fingerprint.clone(),
            starts_at: self.alert.starts_at.clone(),
            status: self.alert.status,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The count would change: a scale call is due.
    Scale,
    /// Nothing to do; `suppressed_by` says why.
    Suppressed,
    /// The alert's labels name a stream or app that cannot be used.
    Rejected,
    /// Server only: the scale call succeeded.
    Scaled,
    /// Server only, dry run: the call would have been made; the simulated count changed.
    DryRun,
    /// Server only: the call failed in a way no re-send can fix (`error` says how).
    Failed,
    /// Server only: the call failed for now; the webhook answered 503 so that Alertmanager
    /// sends again, and the re-send applies the same count.
    Retry,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Scale => "scale",
            Outcome::Suppressed => "suppressed",
            Outcome::Rejected => "rejected",
            Outcome::Scaled => "scaled",
            Outcome::DryRun => "dry_run",
            Outcome::Failed => "failed",
            Outcome::Retry => "retry",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Suppression {
    /// This policy already acted on this alert occurrence.
    Dedupe,
    /// The policy acted on this target less than its cooldown ago.
    Cooldown,
    /// The count is already where the bounds let it go.
    Bounds,
    /// The policy is `paused`.
    Paused,
    /// `unless alert NAME` is firing for the stream.
    Guard,
}

impl Suppression {
    pub fn as_str(self) -> &'static str {
        match self {
            Suppression::Dedupe => "dedupe",
            Suppression::Cooldown => "cooldown",
            Suppression::Bounds => "bounds",
            Suppression::Paused => "paused",
            Suppression::Guard => "guard",
        }
    }
}

/// What the engine decided for one policy action and one alert.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// Where the policy is written, `file:line`.
    pub policy: PolicyId,
    /// The line of the `scale` clause, for policies with several.
    pub action_line: usize,
    /// The action as written, e.g. `+3` or `to 1`.
    pub action: String,
    pub alert: String,
    pub status: AlertStatus,
    pub fingerprint: String,
    pub starts_at: String,
    pub stream: String,
    pub app: String,
    /// The current count, when known.
    pub from: Option<u32>,
    /// The count after the decision (equal to `from` unless `outcome` is `scale`).
    pub to: Option<u32>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<Suppression>,
    /// Why nothing changes, for every outcome but `scale`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Server only: when the decision was taken (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Server only: what went wrong with the call, for `failed` and `retry`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Step 1: the policy actions that apply to each alert of a notification, in alert order then
/// policy file order.
pub fn intents<'p>(set: &'p PolicySet, notification: &'p Notification) -> Vec<Intent<'p>> {
    let mut out = Vec::new();
    for alert in &notification.alerts {
        for policy in set.for_alert(alert.name(), alert.status) {
            if !policy.matchers.iter().all(|m| m.matches(&alert.labels)) {
                continue;
            }
            let stream = match &policy.stream {
                NameSource::Fixed(name) => name.as_str(),
                // A policy bound to `stream_name` does not apply to an alert without it.
                NameSource::Label => match alert.label(STREAM_LABEL) {
                    Some(stream) => stream,
                    None => continue,
                },
            };
            let held = if policy.paused {
                Some((Suppression::Paused, "the policy is paused".to_string()))
            } else {
                policy.unless.as_deref().and_then(|guard| {
                    guarding_alert(notification, guard, stream).map(|_| {
                        (
                            Suppression::Guard,
                            format!("`{guard}` is firing for stream `{stream}`"),
                        )
                    })
                })
            };
            for (action_index, action) in policy.actions.iter().enumerate() {
                let app = match &action.app {
                    NameSource::Fixed(name) => Some(name.as_str()),
                    NameSource::Label => alert.label(APP_LABEL),
                };
                let target = match app {
                    None => Err(format!("the alert has no `{APP_LABEL}` label")),
                    Some(app) => check_names(stream, app),
                };
                out.push(Intent {
                    policy,
                    action_index,
                    alert,
                    target,
                    held: held.clone(),
                });
            }
        }
    }
    out
}

fn check_names(stream: &str, app: &str) -> Result<ScaleTarget, String> {
    if let Some(problem) = names::problem(stream) {
        return Err(format!("invalid stream name {stream:?}: {problem}"));
    }
    if let Some(problem) = names::problem(app) {
        return Err(format!("invalid app name {app:?}: {problem}"));
    }
    Ok(ScaleTarget {
        stream: stream.to_string(),
        app: app.to_string(),
    })
}

fn guarding_alert<'n>(
    notification: &'n Notification,
    name: &str,
    stream: &str,
) -> Option<&'n Alert> {
    notification.alerts.iter().find(|a| {
        a.status == AlertStatus::Firing && a.name() == name && a.label(STREAM_LABEL) == Some(stream)
    })
}

/// What is known of one target when deciding one intent.
#[derive(Debug, Clone, Copy)]
pub struct TargetState {
    /// The current instance count.
    pub current: u32,
    /// This intent's alert occurrence was already acted on by this policy action.
    pub already_acted: bool,
    /// How long ago this policy last scaled this target, if it has.
    pub since_last_action: Option<Duration>,
}

/// Why an intent must not act whatever the target's count: already acted (dedupe), paused,
/// guarded, or in cooldown. Needs no count, so the server decides these without calling SCDF.
pub fn hold_reason(
    intent: &Intent,
    already_acted: bool,
    since_last_action: Option<Duration>,
) -> Option<(Suppression, String)> {
    if already_acted {
        return Some((
            Suppression::Dedupe,
            "already acted on this alert".to_string(),
        ));
    }
    if let Some(held) = &intent.held {
        return Some(held.clone());
    }
    let cooldown = intent.action().cooldown?;
    let since = since_last_action?;
    (since < cooldown).then(|| {
        (
            Suppression::Cooldown,
            format!(
                "in cooldown: last scaled {} ago, cooldown {}",
                duration::format(Duration::from_secs(since.as_secs())),
                duration::format(cooldown)
            ),
        )
    })
}

/// The decision for an intent that cannot be carried out or must not act, without a count:
/// `from` and `to` are `current` when known.
pub fn decide_without_count(
    intent: &Intent,
    current: Option<u32>,
    hold: Option<(Suppression, String)>,
) -> Option<Decision> {
    if let Err(reason) = &intent.target {
        let mut decision = blank_decision(intent, None);
        decision.outcome = Outcome::Rejected;
        decision.reason = Some(reason.clone());
        return Some(decision);
    }
    let (by, reason) = hold?;
    let mut decision = blank_decision(intent, current);
    decision.suppressed_by = Some(by);
    decision.reason = Some(reason);
    Some(decision)
}

/// A decision for `intent` that says nothing yet: outcome `suppressed` without a reason, `from`
/// and `to` at `current`. The deciders fill it in; the executor uses it for intents it could
/// not decide.
pub fn blank_decision(intent: &Intent, current: Option<u32>) -> Decision {
    let action = intent.action();
    let (stream, app) = match &intent.target {
        Ok(target) => (target.stream.clone(), target.app.clone()),
        Err(_) => (
            intent
                .alert
                .label(STREAM_LABEL)
                .unwrap_or_default()
                .to_string(),
            intent
                .alert
                .label(APP_LABEL)
                .unwrap_or_default()
                .to_string(),
        ),
    };
    Decision {
        policy: intent.policy.id.clone(),
        action_line: action.line,
        action: action.amount.to_string(),
        alert: intent.alert.name().to_string(),
        status: intent.alert.status,
        fingerprint: intent.alert.fingerprint.clone(),
        starts_at: intent.alert.starts_at.clone(),
        stream,
        app,
        from: current,
        to: current,
        outcome: Outcome::Suppressed,
        suppressed_by: None,
        reason: None,
        time: None,
        error: None,
    }
}

/// Step 2: the decision for one intent, given its target's state.
pub fn decide(intent: &Intent, state: TargetState, limits: Limits) -> Decision {
    let hold = hold_reason(intent, state.already_acted, state.since_last_action);
    if let Some(decision) = decide_without_count(intent, Some(state.current), hold) {
        return decision;
    }
    decide_count(intent, state.current, limits)
}

/// The decision for an intent free to act, from the target's current count.
pub fn decide_count(intent: &Intent, current: u32, limits: Limits) -> Decision {
    let mut decision = blank_decision(intent, Some(current));
    let (to, bound) = target_count(intent.action(), current, limits);
    if to == current {
        decision.suppressed_by = Some(Suppression::Bounds);
        decision.reason = Some(bound);
    } else {
        decision.to = Some(to);
        decision.outcome = Outcome::Scale;
    }
    decision
}

/// The count an action leads to from `current`, and, for when that is `current`, why.
///
/// The count is clamped to the action's `min` and `max` and the server cap. A relative action
/// never moves the count against its sign: `+3` on a count above `max` leaves it alone.
pub fn target_count(action: &Action, current: u32, limits: Limits) -> (u32, String) {
    let cap = limits.max_instances;
    let upper = action.max.unwrap_or(cap).min(cap);
    let lower = action.min.min(upper);
    let upper_text = match action.max {
        Some(max) if max <= cap => format!("max {max}"),
        _ => format!("the server cap {cap}"),
    };
    match action.amount {
        Amount::To(n) => {
            let to = n.clamp(lower, upper);
            (to, format!("already at {to} instances"))
        }
        Amount::Change(change) => {
            let raw = i64::from(current) + i64::from(change);
            let clamped = raw.clamp(i64::from(lower), i64::from(upper)) as u32;
            if change > 0 {
                let reason = if current > upper {
                    format!("already above {upper_text} ({current} instances)")
                } else {
                    format!("already at {upper_text}")
                };
                (clamped.max(current), reason)
            } else {
                let reason = if current < lower {
                    format!("already below min {lower} ({current} instances)")
                } else {
                    format!("already at min {lower}")
                };
                (clamped.min(current), reason)
            }
        }
    }
}

/// Counts, dedupe records and last actions held in memory: `plan`'s state, and the model the
/// server's durable store follows.
#[derive(Debug, Clone, Default)]
pub struct MemoryState {
    /// Known counts; a target not listed has `default_count`.
    pub counts: HashMap<ScaleTarget, u32>,
    pub default_count: u32,
    /// Alert occurrences already acted on.
    pub acted: HashSet<DedupeKey>,
    /// When (milliseconds since the epoch) each policy (by digest) last scaled each target.
    pub last_action: HashMap<(String, ScaleTarget), u64>,
}

impl MemoryState {
    pub fn new(default_count: u32) -> Self {
        MemoryState {
            default_count,
            ..Default::default()
        }
    }

    pub fn count(&self, target: &ScaleTarget) -> u32 {
        self.counts
            .get(target)
            .copied()
            .unwrap_or(self.default_count)
    }

    fn target_state(&self, intent: &Intent, now_ms: u64) -> TargetState {
        let Ok(target) = &intent.target else {
            return TargetState {
                current: self.default_count,
                already_acted: false,
                since_last_action: None,
            };
        };
        TargetState {
            current: self.count(target),
            already_acted: self.acted.contains(&intent.dedupe_key()),
            since_last_action: self
                .last_action
                .get(&(intent.policy.digest.clone(), target.clone()))
                .map(|&at| Duration::from_millis(now_ms.saturating_sub(at))),
        }
    }

    /// Records a decision as if it were carried out.
    pub fn apply(&mut self, intent: &Intent, decision: &Decision, now_ms: u64) {
        let Ok(target) = &intent.target else { return };
        match (decision.outcome, decision.suppressed_by) {
            (Outcome::Scale, _) => {
                if let Some(to) = decision.to {
                    self.counts.insert(target.clone(), to);
                }
                self.acted.insert(intent.dedupe_key());
                self.last_action
                    .insert((intent.policy.digest.clone(), target.clone()), now_ms);
            }
            // The bounds already hold: this occurrence is handled.
            (Outcome::Suppressed, Some(Suppression::Bounds)) => {
                self.acted.insert(intent.dedupe_key());
            }
            _ => {}
        }
    }
}

/// Steps 1 and 2 over a notification, applying each decision to `state` before the next.
pub fn evaluate(
    set: &PolicySet,
    notification: &Notification,
    state: &mut MemoryState,
    limits: Limits,
    now_ms: u64,
) -> Vec<Decision> {
    intents(set, notification)
        .iter()
        .map(|intent| {
            let decision = decide(intent, state.target_state(intent, now_ms), limits);
            state.apply(intent, &decision, now_ms);
            decision
        })
        .collect()
}
