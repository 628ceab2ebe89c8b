//! Types for the Fibery HTTP API.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod command;
pub mod entity;
pub mod error;
pub mod query;
pub mod schema;
pub mod validate;
pub mod value;
