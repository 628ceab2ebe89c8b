//! Types for the Fibery HTTP API: commands, the entity query language, the workspace schema,
//! typed field values and schema validation. No I/O: `fibery-client` sends what this crate
//! builds, and `fibery-emulator` parses it back.
//!
//! | Module | What |
//! |---|---|
//! | [`query`] | [`Query`] builder, [`Filter`] helpers, `to_args()` / `from_args()` with automatic `$pN` params |
//! | [`command`] | [`Command`] (serde: one variant per Fibery command), [`CommandBatch`], [`CommandResult`], the idempotency rule |
//! | [`schema`] | [`Schema`] parsed from `fibery.schema/query`, [`FieldType`] classification, relation ends, did-you-mean |
//! | [`value`] | [`FieldValue`] with Fibery's exact wire formats (dates, decimals, refs) |
//! | [`validate`] | `Schema::validate` rules and [`Violation`]s |
//! | [`entity`] | the [`FiberyEntity`] contract used by `#[derive(FiberyEntity)]` |
//! | [`error`] | Fibery's error payload [`FiberyError`] and the error names |
//!
//! # Example
//!
//! Build a query, look at the exact JSON Fibery receives, and validate a create against a
//! schema before sending it:
//!
//! ```
//! use fibery_core::command::Command;
//! use fibery_core::query::{Filter, Order, Query};
//! use fibery_core::schema::Schema;
//! use fibery_core::validate::{Mode, Rule};
//! use serde_json::json;
//!
//! let q = Query::from("Projects/Task")
//!     .select(["fibery/id", "Projects/Name"])
//!     .select_relation("Projects/Project", ["Projects/Name"])
//!     .filter(Filter::eq("Projects/Done", false).and(Filter::contains("Projects/Name", "api")))
//!     .order_by("fibery/creation-date", Order::Desc)
//!     .limit(50);
//! let args = q.to_args();
//! assert_eq!(args["query"]["q/where"], json!(["q/and",
//!     ["=", ["Projects/Done"], "$p1"],
//!     ["q/contains", ["Projects/Name"], "$p2"]]));
//! assert_eq!(args["params"], json!({"$p1": false, "$p2": "api"}));
//! assert_eq!(Query::from_args(&args).unwrap(), q); // parse(serialize(q)) == q
//!
//! let schema = Schema::from_json(&json!({
//!     "fibery/version": 1,
//!     "fibery/types": [{
//!         "fibery/name": "Projects/Task",
//!         "fibery/meta": {"fibery/domain?": true},
//!         "fibery/fields": [
//!             {"fibery/name": "Projects/Name", "fibery/type": "fibery/text",
//!              "fibery/meta": {"ui/title?": true, "fibery/required?": true}},
//!             {"fibery/name": "Projects/Due", "fibery/type": "fibery/date"}
//!         ]}]
//! })).unwrap();
//! let fields = json!({"Projects/Nmae": "Ship it", "Projects/Due": "tomorrow"});
//! let problems = schema
//!     .validate("Projects/Task", fields.as_object().unwrap(), Mode::Create)
//!     .unwrap_err();
//! assert_eq!(problems.len(), 3);
//! assert_eq!(problems[0].rule, Rule::UnknownField); // "... did you mean `Projects/Name`?"
//! assert_eq!(problems[1].rule, Rule::WrongType);    // "tomorrow" is not a date
//! assert_eq!(problems[2].rule, Rule::Required);     // Projects/Name is missing
//!
//! let create = Command::create("Projects/Task", json!({"Projects/Name": "Ship it"}));
//! assert_eq!(create.to_json()["command"], "fibery.entity/create");
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod command;
pub mod dates;
pub mod entity;
pub mod error;
pub mod query;
pub mod schema;
pub mod validate;
pub mod value;

#[doc(hidden)]
#[path = "derive_support.rs"]
pub mod __derive;

pub use command::{Command, CommandBatch, CommandResult};
pub use entity::{EntityRef, FiberyEntity};
pub use error::FiberyError;
pub use query::{Filter, Order, Query};
pub use schema::{FieldType, PrimitiveType, Schema};
pub use validate::{Mode, Violation};
pub use value::FieldValue;
