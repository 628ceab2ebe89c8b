//! The `fibery` command-line tool: batch import/export for [Fibery](https://fibery.io),
//! schema dump, code generation and a local emulator. The binary is a thin shell over this
//! library; the pieces are public so they can be reused and tested.
//!
//! * [`input`] streams CSV / JSON-lines rows (memory stays flat for any file size), each
//!   with its exact place in the file, and isolates rows it cannot read;
//! * [`mapping`] maps columns to fields (by name or a TOML mapping file), resolves enum
//!   options and relations by name, and turns each row into field values or the reasons it
//!   is rejected; [`cells`] is the per-type rule for one cell;
//! * [`rejects`] writes each rejected row with its reasons and its raw text;
//! * [`import`] validates every row against the live schema, writes batches through
//!   `fibery-client` (upsert by key, or create with UUID v5 ids), journals each batch so
//!   `--resume` continues after a crash, and prints the summary;
//! * [`commands`] has `export`, `schema dump`, `codegen`, `query` and `emulator`.
//!
//! Turning one CSV row into a write, without any I/O:
//!
//! ```
//! use fibery_cli::input::Record;
//! use fibery_cli::mapping::{Lookups, Plan, prepare};
//! use fibery_core::schema::Schema;
//! use serde_json::{Map, Value, json};
//!
//! let schema = Schema::parse(fibery_cli::conn::SAMPLE_SCHEMA).unwrap();
//! let headers = vec!["External Id".to_string(), "Name".to_string(), "Effort".to_string()];
//! let plan = Plan::build(&schema, "Projects/Task", &headers, None, Some("Projects/External Id"), ",").unwrap();
//!
//! let mut values = Map::new();
//! values.insert("External Id".into(), json!("T-1"));
//! values.insert("Name".into(), json!("Write the docs"));
//! values.insert("Effort".into(), json!("3"));
//! let rec = Record { row: 1, values, ..Default::default() };
//! let row = prepare(&schema, &plan, &rec, &Lookups::default()).unwrap();
//! assert_eq!(row.fields["Projects/Effort"], json!(3));
//! // The id is a UUID v5 of the key: re-running the import never duplicates.
//! assert_eq!(row.id, prepare(&schema, &plan, &rec, &Lookups::default()).unwrap().id);
//!
//! // A bad value is rejected with the field and the reason.
//! let mut bad = rec.clone();
//! bad.values.insert("Effort".into(), Value::from("lots"));
//! let errors = prepare(&schema, &plan, &bad, &Lookups::default()).unwrap_err();
//! assert_eq!(errors[0].field, "Projects/Effort");
//! ```

pub mod cells;
pub mod cli;
pub mod commands;
pub mod conn;
pub mod error;
pub mod fields;
pub mod import;
pub mod input;
pub mod journal;
pub mod listen;
pub mod mapping;
pub mod rejects;
pub mod sample;
pub mod since;
pub mod writer;
