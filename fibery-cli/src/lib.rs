//! The `fibery` command-line tool as a library: batch import/export for Fibery.
#![allow(missing_docs)]
pub mod cli;
pub mod commands;
pub mod conn;
pub mod error;
pub mod fields;
pub mod import;
pub mod input;
pub mod journal;
pub mod mapping;
