//! Decisions: from an Alertmanager notification and the policies in effect to what should
//! happen to each target (`evaluate`, pure), and carrying them out (`executor`, with the
//! backend and the durable `state`).

pub mod backend;
pub mod evaluate;
pub mod executor;
pub mod notification;
pub mod state;

pub use evaluate::{
    evaluate, Decision, DedupeKey, Limits, MemoryState, Outcome, ScaleTarget, Suppression,
};
pub use notification::{Alert, Notification, PayloadError};
