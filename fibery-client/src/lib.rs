//! Async client for the Fibery HTTP API.
pub use fibery_core as core;
