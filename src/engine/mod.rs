//! Decisions: from an Alertmanager notification and the policies in effect to what should
//! happen to each target.
//!
//! Everything here is pure: no I/O, no clock, no locks. The server, `alertscale plan` and the
//! tests call the same functions with the state they hold.

pub mod evaluate;
pub mod notification;

pub use evaluate::{
    evaluate, Decision, DedupeKey, Limits, MemoryState, Outcome, ScaleTarget, Suppression,
};
pub use notification::{Alert, Notification, PayloadError};
