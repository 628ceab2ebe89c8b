//! Derive macros for fibery-client.
