//! Spring Cloud Data Flow: what the engine needs to know about SCDF's names and API.

pub mod names;
