//! The `fibery` command-line tool as a library: batch import/export for Fibery.
#![allow(missing_docs)]
pub mod cli;
pub mod error;
pub mod fields;
pub mod input;
pub mod mapping;
