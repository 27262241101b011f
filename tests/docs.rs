//! Docs examples: filled in with docs/language.md.
