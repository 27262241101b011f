//! alertscale: a rule-driven policy engine that turns Alertmanager notifications into Spring
//! Cloud Data Flow scale calls.
//!
//! A map of the crate, in pipeline order:
//!
//! - [`policy`]: the language. `grammar/policy.pest` -> [`policy::syntax`] (parse tree to AST
//!   with spans) -> [`policy::compile`] (checks, diagnostics, index by alert name) ->
//!   [`policy::PolicySet`]. [`policy::format`] is the formatter.
//! - [`engine`]: decisions. [`engine::notification`] reads Alertmanager's webhook payload;
//!   [`engine::evaluate`] is the pure function (policies, notification, state) -> decisions that
//!   the server, `alertscale plan` and the tests all call; [`engine::executor`] carries
//!   decisions out with a backend ([`engine::backend`]) and durable state ([`engine::state`]).
//! - [`scdf`]: what the engine knows of Spring Cloud Data Flow.
//! - [`reload`]: the policies in effect, swapped whole on a file change, `SIGHUP` or
//!   `POST /-/reload`.
//! - [`server`]: the HTTP side: Alertmanager's webhook, probes, metrics, the JSON API.
//! - [`metrics`]: the Prometheus metrics everything reports into.
//! - [`cli`]: the subcommands (`lint`, `fmt`, `plan`, `serve`).
//!
//! The whole language pipeline, from text to a decision:
//!
//! ```
//! use alertscale::engine::{evaluate, Limits, MemoryState, Notification, Outcome};
//! use alertscale::policy::{self, CompileOptions, SourceFile};
//!
//! let text = "when alert HighThroughputDifference on stream $s scale transform +3 max 8\n";
//! let checked = policy::check(&[SourceFile::new("scaletest.policy", text)], CompileOptions::default());
//! assert!(checked.diagnostics.is_empty());
//!
//! let notification = Notification::from_json(br#"{"alerts": [{"status": "firing",
//!     "labels": {"alertname": "HighThroughputDifference", "stream_name": "scaletest"},
//!     "startsAt": "2026-12-04T19:27:33Z", "fingerprint": "8e5e3b8c76abfc3f"}]}"#).unwrap();
//! let mut state = MemoryState::new(1); // every app starts at 1 instance
//! let decisions = evaluate(&checked.set, &notification, &mut state, Limits::default(), 0);
//! assert_eq!(decisions[0].policy.to_string(), "scaletest.policy:1");
//! assert_eq!((decisions[0].from, decisions[0].to), (Some(1), Some(4)));
//! assert_eq!(decisions[0].outcome, Outcome::Scale);
//!
//! // Alertmanager re-sends the same alert: nothing happens again.
//! let again = evaluate(&checked.set, &notification, &mut state, Limits::default(), 60_000);
//! assert_eq!(again[0].reason.as_deref(), Some("already acted on this alert"));
//! ```

// pest_derive without its `std` feature (no stack guard: the grammar does not recurse) names `alloc`.
extern crate alloc;

pub mod cli;
pub mod engine;
pub mod metrics;
pub mod policy;
pub mod reload;
pub mod scdf;
pub mod server;
