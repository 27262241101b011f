//! Carrying decisions out, safely: each alert acts once, actions on one target are serialized,
//! transient failures are retried within Alertmanager's deadline, and a scale call is recorded
//! as pending (with its absolute count) before it is made, so a re-send after a lost answer
//! applies the same count instead of adding again.
//!
//! The decisions themselves come from the pure evaluator (`evaluate.rs`); this module adds
//! I/O: the backend, the state store, the clock. It never parses policies or payloads.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::future::join_all;

use super::backend::{BackendError, FailureKind, ScaleBackend};
use super::evaluate::{
    blank_decision, decide_count, decide_without_count, hold_reason, intents, Decision, Intent,
    Limits, Outcome, ScaleTarget,
};
use super::notification::Notification;
use super::state::{CooldownRecord, OccurrenceRecord, OccurrenceState, StateError, StateStore};
use crate::metrics::Metrics;
use crate::policy::PolicySet;

/// How stale a dedupe record's `last_seen` may get before a re-send refreshes it. Records
/// expire `--state.retention` (default 24h) after `last_seen`, so this only shifts expiry a
/// little, and saves a synced write per re-sent alert.
pub const TOUCH_INTERVAL: Duration = Duration::from_secs(600);

/// How backend calls are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub attempts: u32,
    /// The wait before the second attempt; doubled before each next one.
    pub first_backoff: Duration,
    /// The timeout of one attempt.
    pub call_timeout: Duration,
    /// The longest one notification may take, well within Alertmanager's shortest notification
    /// timeout (10 s): after it, what is left is answered 503 and re-sent by Alertmanager.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(200),
            call_timeout: Duration::from_secs(2),
            deadline: Duration::from_secs(8),
        }
    }
}

/// The outcome of one notification.
#[derive(Debug)]
pub struct Handled {
    /// One decision per policy action and alert, in alert then policy order.
    pub decisions: Vec<Decision>,
    /// Some decision failed for now: answer 503 so that Alertmanager sends again.
    pub retry_later: bool,
}

/// The recent decisions, newest last, for `GET /api/v1/decisions`.
pub struct RecentDecisions {
    /// Written by the executor after each decision; read by the API.
    entries: Mutex<VecDeque<Decision>>,
    capacity: usize,
}

impl RecentDecisions {
    pub fn new(capacity: usize) -> Self {
        RecentDecisions {
            entries: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity,
        }
    }

    fn push(&self, decision: Decision) {
        let mut entries = self.entries.lock().expect("no panics while locked");
        if entries.len() == self.capacity {
            entries.pop_front();
        }
        entries.push_back(decision);
    }

    /// Up to `limit` decisions, newest first.
    pub fn newest(&self, limit: usize) -> Vec<Decision> {
        let entries = self.entries.lock().expect("no panics while locked");
        entries.iter().rev().take(limit).cloned().collect()
    }
}

/// One async mutex per target, created on demand and dropped when nobody holds or waits for it.
#[derive(Default)]
pub struct TargetLocks {
    locks: Mutex<HashMap<ScaleTarget, Arc<tokio::sync::Mutex<()>>>>,
}

pub struct TargetGuard<'a> {
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    target: ScaleTarget,
    locks: &'a TargetLocks,
}

impl TargetLocks {
    pub async fn lock(&self, target: &ScaleTarget) -> TargetGuard<'_> {
        let mutex = self
            .locks
            .lock()
            .expect("no panics while locked")
            .entry(target.clone())
            .or_default()
            .clone();
        TargetGuard {
            guard: Some(mutex.lock_owned().await),
            target: target.clone(),
            locks: self,
        }
    }

    pub fn len(&self) -> usize {
        self.locks.lock().expect("no panics while locked").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for TargetGuard<'_> {
    fn drop(&mut self) {
        let mut locks = self.locks.locks.lock().expect("no panics while locked");
        self.guard.take();
        // Only the map holds it now: nobody is waiting.
        if locks
            .get(&self.target)
            .is_some_and(|m| Arc::strong_count(m) == 1)
        {
            locks.remove(&self.target);
        }
    }
}

pub struct Executor {
    pub backend: Arc<dyn ScaleBackend>,
    pub store: Arc<dyn StateStore>,
    pub locks: TargetLocks,
    pub limits: Limits,
    pub retry: RetryPolicy,
    pub metrics: Arc<Metrics>,
    pub recent: Arc<RecentDecisions>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What went wrong while carrying out one intent.
enum Failure {
    Backend(BackendError),
    State(StateError),
}

impl Failure {
    fn is_transient(&self) -> bool {
        match self {
            Failure::Backend(e) => e.kind == FailureKind::Transient,
            // Nothing was lost: let Alertmanager send again.
            Failure::State(_) => true,
        }
    }

    fn message(&self) -> String {
        match self {
            Failure::Backend(e) => e.message.clone(),
            Failure::State(e) => e.to_string(),
        }
    }
}

impl From<StateError> for Failure {
    fn from(e: StateError) -> Self {
        Failure::State(e)
    }
}

impl Executor {
    /// Decides and carries out everything a notification asks for.
    pub async fn handle(&self, set: &PolicySet, notification: &Notification) -> Handled {
        let deadline = Instant::now() + self.retry.deadline;
        let intents = intents(set, notification);
        let mut groups: Vec<(ScaleTarget, Vec<usize>)> = Vec::new();
        let mut done: Vec<(usize, Decision)> = Vec::new();
        for (index, intent) in intents.iter().enumerate() {
            match &intent.target {
                Ok(target) => match groups.iter_mut().find(|(t, _)| t == target) {
                    Some((_, members)) => members.push(index),
                    None => groups.push((target.clone(), vec![index])),
                },
                Err(_) => {
                    let decision = decide_without_count(intent, None, None)
                        .expect("an intent without a target is always decided");
                    done.push((index, decision));
                }
            }
        }
        // Targets proceed in parallel; the intents of one target one after the other.
        let per_target = groups.iter().map(|(target, members)| {
            let members: Vec<(usize, &Intent)> =
                members.iter().map(|&i| (i, &intents[i])).collect();
            self.handle_target(target, members, deadline)
        });
        let mut retry_later = false;
        for (results, retry) in join_all(per_target).await {
            done.extend(results);
            retry_later |= retry;
        }
        done.sort_by_key(|(index, _)| *index);
        let time = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let decisions: Vec<Decision> = done
            .into_iter()
            .map(|(_, mut d)| {
                d.time = Some(time.clone());
                d
            })
            .collect();
        for decision in &decisions {
            self.report(decision);
        }
        Handled {
            decisions,
            retry_later,
        }
    }

    async fn handle_target(
        &self,
        target: &ScaleTarget,
        intents: Vec<(usize, &Intent<'_>)>,
        deadline: Instant,
    ) -> (Vec<(usize, Decision)>, bool) {
        let _guard = self.locks.lock(target).await;
        let mut out = Vec::new();
        // The count as of the last decision on this target, once read.
        let mut current: Option<u32> = None;
        // Set after a transient failure: the rest of this target waits for the re-send.
        let mut deferred: Option<String> = None;
        for (index, intent) in intents {
            let decision = match &deferred {
                Some(cause) => {
                    let mut d = blank_decision(intent, current);
                    d.outcome = Outcome::Retry;
                    d.error = Some(format!("not tried: {cause}"));
                    d
                }
                None => match self.carry_out(intent, target, &mut current, deadline).await {
                    Ok(decision) => decision,
                    Err((mut decision, failure)) => {
                        decision.error = Some(failure.message());
                        if failure.is_transient() {
                            decision.outcome = Outcome::Retry;
                            deferred = Some(failure.message());
                        } else {
                            decision.outcome = Outcome::Failed;
                        }
                        decision
                    }
                },
            };
            out.push((index, decision));
        }
        (out, deferred.is_some())
    }

    /// One intent on a locked target. On failure, returns the decision as far as it got.
    async fn carry_out(
        &self,
        intent: &Intent<'_>,
        target: &ScaleTarget,
        current: &mut Option<u32>,
        deadline: Instant,
    ) -> Result<Decision, (Decision, Failure)> {
        let key = intent.dedupe_key();
        let now = now_ms();
        let unknown = |intent: &Intent| blank_decision(intent, *current);
        let record = {
            let key = key.clone();
            self.state(move |s| s.occurrence(&key)).await
        }
        .map_err(|e| (unknown(intent), e.into()))?;

        let mut decision = match record.map(|r| (r.state, r.last_seen_ms)) {
            Some((OccurrenceState::Done, last_seen_ms)) => {
                let hold = hold_reason(intent, true, None);
                let decision =
                    decide_without_count(intent, *current, hold).expect("dedupe always decides");
                // Keep the record alive while Alertmanager keeps sending the alert, with at most
                // one write per `TOUCH_INTERVAL` rather than one per re-send.
                if now.saturating_sub(last_seen_ms) > TOUCH_INTERVAL.as_millis() as u64 {
                    let touched = OccurrenceRecord {
                        state: OccurrenceState::Done,
                        last_seen_ms: now,
                    };
                    self.state(move |s| s.put_occurrence(&key, &touched))
                        .await
                        .map_err(|e| (decision.clone(), e.into()))?;
                }
                return Ok(decision);
            }
            Some((OccurrenceState::Pending { from, to, .. }, _)) => {
                // A call decided earlier whose answer never came: apply the same count.
                let mut decision = unknown(intent);
                decision.from = Some(from);
                decision.to = Some(to);
                decision.outcome = Outcome::Scale;
                decision.reason =
                    Some("re-applying a scale call whose answer was lost".to_string());
                decision
            }
            None => {
                let since = {
                    let digest = intent.policy.digest.clone();
                    let target = target.clone();
                    self.state(move |s| s.last_action(&digest, &target)).await
                }
                .map_err(|e| (unknown(intent), e.into()))?
                .map(|r| Duration::from_millis(now.saturating_sub(r.at_ms)));
                let hold = hold_reason(intent, false, since);
                if let Some(decision) = decide_without_count(intent, *current, hold) {
                    return Ok(decision);
                }
                let count = match *current {
                    Some(count) => count,
                    None => {
                        let count = self
                            .call("read", deadline, || self.backend.instances(target))
                            .await
                            .map_err(|e| (unknown(intent), Failure::Backend(e)))?;
                        *current = Some(count);
                        count
                    }
                };
                let decision = decide_count(intent, count, self.limits);
                if decision.outcome != Outcome::Scale {
                    // Within bounds already: this occurrence is handled.
                    let record = OccurrenceRecord {
                        state: OccurrenceState::Done,
                        last_seen_ms: now,
                    };
                    self.state(move |s| s.put_occurrence(&key, &record))
                        .await
                        .map_err(|e| (decision.clone(), e.into()))?;
                    return Ok(decision);
                }
                let to = decision.to.expect("a scale decision has a count");
                // Write ahead: the count is durable before the call is made.
                let record = OccurrenceRecord {
                    state: OccurrenceState::Pending {
                        target: target.clone(),
                        from: count,
                        to,
                    },
                    last_seen_ms: now,
                };
                let k = key.clone();
                self.state(move |s| s.put_occurrence(&k, &record))
                    .await
                    .map_err(|e| (decision.clone(), e.into()))?;
                decision
            }
        };

        let to = decision.to.expect("a scale decision has a count");
        match self
            .call("scale", deadline, || self.backend.scale(target, to))
            .await
        {
            Ok(()) => {
                *current = Some(to);
                decision.outcome = if self.backend.is_dry_run() {
                    Outcome::DryRun
                } else {
                    Outcome::Scaled
                };
                let done = OccurrenceRecord {
                    state: OccurrenceState::Done,
                    last_seen_ms: now,
                };
                let cooldown = intent.action().cooldown.map(|c| CooldownRecord {
                    at_ms: now,
                    expires_ms: now + c.as_millis() as u64,
                });
                let digest = intent.policy.digest.clone();
                let target = target.clone();
                self.state(move |s| {
                    s.put_occurrence(&key, &done)?;
                    match cooldown {
                        Some(record) => s.put_last_action(&digest, &target, record),
                        None => Ok(()),
                    }
                })
                .await
                .map_err(|e| (decision.clone(), e.into()))?;
                Ok(decision)
            }
            Err(error) => {
                // The count is unknown now: read it afresh for the next decision.
                *current = None;
                if error.kind == FailureKind::Permanent {
                    // Nothing was applied and no re-send can help: forget the pending count.
                    // (A transient failure keeps it: the call may have applied.)
                    let _ = self.state(move |s| s.remove_occurrence(&key)).await;
                }
                Err((decision, Failure::Backend(error)))
            }
        }
    }

    /// Runs a blocking state-store operation off the async threads.
    async fn state<T, F>(&self, operation: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn StateStore) -> Result<T, StateError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || operation(&*store))
            .await
            .map_err(|e| StateError::Store(e.to_string()))?
    }

    /// One backend call with a timeout per attempt and retries with back-off for transient
    /// failures, never past `deadline`.
    async fn call<T, F, Fut>(
        &self,
        operation: &'static str,
        deadline: Instant,
        call: F,
    ) -> Result<T, BackendError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, BackendError>>,
    {
        let mut backoff = self.retry.first_backoff;
        let mut attempt = 1;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(BackendError::transient(format!(
                    "{operation}: no time left before the notification deadline"
                )));
            }
            let timeout = self.retry.call_timeout.min(remaining);
            let started = Instant::now();
            let result = match tokio::time::timeout(timeout, call()).await {
                Ok(result) => result,
                Err(_) => Err(BackendError::transient(format!(
                    "{operation}: timed out after {timeout:?}"
                ))),
            };
            if !self.backend.is_dry_run() {
                let outcome = match &result {
                    Ok(_) => "success",
                    Err(e) if e.kind == FailureKind::Transient => "transient_error",
                    Err(_) => "permanent_error",
                };
                self.metrics
                    .scdf_requests
                    .get_or_create(&vec![("operation", operation), ("result", outcome)])
                    .inc();
                self.metrics
                    .scdf_request_duration
                    .get_or_create(&vec![("operation", operation)])
                    .observe(started.elapsed().as_secs_f64());
            }
            match result {
                Err(error)
                    if error.kind == FailureKind::Transient && attempt < self.retry.attempts =>
                {
                    if Instant::now() + backoff + Duration::from_millis(1) >= deadline {
                        return Err(error);
                    }
                    tracing::debug!(operation, attempt, error = %error, "retrying");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// Logs, counts and remembers one decision.
    fn report(&self, decision: &Decision) {
        let decision = decision.clone();
        let outcome = decision.outcome.as_str();
        self.metrics
            .decisions
            .get_or_create(&vec![("outcome", outcome)])
            .inc();
        self.metrics
            .policy_decisions
            .get_or_create(&vec![
                ("policy", decision.policy.to_string()),
                ("outcome", outcome.to_string()),
            ])
            .inc();
        if let Some(by) = decision.suppressed_by {
            self.metrics
                .suppressions
                .get_or_create(&vec![("reason", by.as_str())])
                .inc();
        }
        let count = |n: Option<u32>| n.map_or("-".to_string(), |n| n.to_string());
        let (from, to) = (count(decision.from), count(decision.to));
        let reason = decision
            .reason
            .as_deref()
            .or(decision.error.as_deref())
            .unwrap_or("");
        match decision.outcome {
            Outcome::Failed | Outcome::Retry | Outcome::Rejected => tracing::warn!(
                policy = %decision.policy, alert = %decision.alert, status = decision.status.as_str(),
                fingerprint = %decision.fingerprint, stream = %decision.stream, app = %decision.app,
                action = %decision.action, from = %from, to = %to, outcome, reason, "decision"
            ),
            _ => tracing::info!(
                policy = %decision.policy, alert = %decision.alert, status = decision.status.as_str(),
                fingerprint = %decision.fingerprint, stream = %decision.stream, app = %decision.app,
                action = %decision.action, from = %from, to = %to, outcome, reason, "decision"
            ),
        }
        self.recent.push(decision);
    }

    /// Drops expired records; run periodically.
    pub async fn expire(&self, retention: Duration) -> Result<usize, StateError> {
        let retention_ms = retention.as_millis() as u64;
        self.state(move |s| s.expire(now_ms(), retention_ms)).await
    }
}
