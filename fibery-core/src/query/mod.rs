//! The entity query language of `fibery.entity/query`, as a typed AST with a builder.
//!
//! Values never go inline: the builder keeps them as [`Operand::Value`] and serialization
//! replaces each with a generated `$pN` parameter in the sibling `params` object. Parsing does
//! the reverse (a `$name` found in `params` becomes [`Operand::Value`]), so
//! `Query::from_args(&q.to_args()) == Ok(q)` for every query the builder makes.
//!
//! Filter values take anything `Into<serde_json::Value>`; for ids and dates go through
//! [`FieldValue`](crate::value::FieldValue) to get Fibery's exact formats:
//!
//! ```
//! use fibery_core::query::{Filter, Query};
//! use fibery_core::value::FieldValue;
//! use time::macros::datetime;
//!
//! let since = FieldValue::from(datetime!(2026-01-01 01:00 +01:00));
//! let id = uuid::Uuid::nil();
//! let q = Query::from("Projects/Task")
//!     .select(["fibery/id"])
//!     .filter(Filter::ge("fibery/creation-date", since).and(Filter::ne("fibery/id", id.to_string())));
//! assert_eq!(q.to_args()["params"]["$p1"], "2026-01-01T00:00:00.000Z");
//! assert_eq!(q.to_string(), serde_json::to_string(&q.to_args()).unwrap());
//! ```
//!
//! | Module | What |
//! |---|---|
//! | `ast` | the types: [`Query`], [`SubQuery`], [`Select`], [`Filter`], [`Operand`], ... |
//! | `build` | builder methods, [`Filter`] and [`Operand`] constructors, [`Query::to_count`] |
//! | `write` | [`Query::to_args`]: JSON with automatic `$pN` params |
//! | `parse` | [`Query::from_args`]: the one parser, with typed [`QueryParseError`]s |

mod ast;
mod build;
mod parse;
mod write;

pub use ast::{
    Aggregate, AliasedExpr, CompareOp, Filter, Limit, Operand, Order, OrderBy, Query, Select,
    SelectItem, SubQuery, TextOp,
};
pub use build::{COUNT_ALIAS, DEFAULT_LIMIT, IntoPath};
pub use parse::{ParseErrorKind, QueryParseError};
