//! One integration-test binary, with a module per theme (as ripgrep does).
//!
//! Paths in snapshots are relative to the package root, where cargo runs the tests.

mod support;

mod alertmanager;
mod cli;
mod docs;
mod engine;
mod format;
mod kubernetes;
mod language;
mod recipe;
mod reload;
mod server;
