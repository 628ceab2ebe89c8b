//! A user's crate, outside the fibery-rs workspace: its manifest names fibery-client and
//! nothing else of the SDK's dependencies (no validator, serde or serde_json).
//!
//! Its doctests are the Rust examples of the root README, fibery-client's README and crate
//! docs, and fibery-derive's crate and macro docs, taken verbatim by `build.rs`; its tests
//! (`tests/`) round-trip derived structs through the emulator with
//! `fibery_emulator::Emulator::test_client`.

/// Every Rust example of the user-facing docs (see `build.rs`), run as doctests.
#[cfg(doctest)]
#[doc = include_str!(concat!(env!("OUT_DIR"), "/doc_examples.md"))]
pub struct DocExamples;
