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
//!   the server, `alertscale plan` and the tests all call.
//! - [`scdf`]: what the engine knows of Spring Cloud Data Flow.
//! - [`cli`]: the subcommands (`lint`, `fmt`, `plan`).

// pest_derive without its `std` feature (no stack guard: the grammar does not recurse) names `alloc`.
extern crate alloc;

pub mod cli;
pub mod engine;
pub mod policy;
pub mod scdf;
