//! Spring Cloud Data Flow: its name rules and its REST API, as far as the engine uses them
//! (read an app's instance count, scale it).

pub mod client;
pub mod credentials;
pub mod names;

pub use client::ScdfClient;
pub use credentials::Credentials;
