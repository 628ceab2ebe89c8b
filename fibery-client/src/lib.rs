//! Async client for the Fibery HTTP API: batched, rate-limited, retrying, schema-validated.
//!
//! * [`Client::builder`] configures the workspace (`account` or `base_url`), the token (a
//!   [`secrecy::SecretString`], never printed), pacing, batching and retries.
//! * Commands: [`Client::execute`] (N commands -> `ceil(N / max)` requests, results in order)
//!   and [`Client::command`] (merged with concurrent callers by the automatic batcher).
//! * Reads: [`Client::query`], [`Client::query_stream`] (keyset pagination in the query's
//!   order, capped by its limit), [`Client::count`]. Concurrent `query`/`count` calls are
//!   merged into one request by the automatic batcher.
//! * Typed entities: [`Client::entities`] (create, upsert, get, filter, order, limit, typed
//!   streams, update, delete, options by name). The derive's attribute reference is on the
//!   [`FiberyEntity`](macro@FiberyEntity) macro's page.
//! * Batch writes go through one pipeline, [`records`] (untyped: [`Client::records`]):
//!   every item validated, every valid one written, a per-item [`BatchReport`].
//! * [`documents`], [`files`], [`schema`](mod@schema) (cache + ETag + mutations), [`webhooks`],
//!   [`comments`].
//! * Sync: typed webhook [`events`], the `receiver` (feature `receiver`), the [`changes`]
//!   feed, [`oauth`].
//! * One error type, [`Error`]; retries and pacing are described in [`retry`] and [`pace`].
//!
//! ```
//! use fibery_client::{Client, EntityRef, Filter, Query, Uuid};
//!
//! // `#[derive(FiberyEntity, Validate)]` and `#[fibery(type = ..)]` in one attribute that
//! // needs nothing but fibery-client in your Cargo.toml.
//! #[fibery_client::entity(type = "Projects/Task")]
//! #[derive(Debug)]
//! struct Task {
//!     #[fibery(id)]
//!     id: Option<Uuid>,
//!     #[fibery(field = "Projects/Name")]
//!     #[validate(length(min = 1, max = 200))]
//!     name: String,
//!     #[fibery(enum_field = "Projects/Priority")]
//!     priority: Option<String>,
//!     #[fibery(rich_text = "Projects/Description", format = "md")]
//!     description: Option<String>,
//!     #[fibery(relation = "Projects/Project")]
//!     project: Option<EntityRef>,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fixture = |f: &str| std::fs::read_to_string(format!(
//! #     "{}/../fibery-core/tests/fixtures/{f}", env!("CARGO_MANIFEST_DIR")));
//! # let emu = fibery_emulator::Emulator::builder()
//! #     .schema(fibery_client::core::schema::Schema::parse(&fixture("project-management.json")?)?)
//! #     .seed_json(fixture("project-management.options.json")?.parse()?)
//! #     .token("secret-token")
//! #     .start()
//! #     .await?;
//! // Against Fibery: `.account("acme").token_from_env()`; here, a local emulator.
//! let client = Client::builder().base_url(emu.base_url()).token("secret-token").build()?;
//!
//! let tasks = client.entities::<Task>();
//! let created = tasks
//!     .create(Task {
//!         id: None,
//!         name: "Write the docs".into(),
//!         priority: Some("High".into()), // option name, resolved to its id
//!         description: Some("Start with **examples**.".into()),
//!         project: None,
//!     })
//!     .await?;
//! let back = tasks.get(created.id.unwrap()).await?.unwrap();
//! assert_eq!(back.priority.as_deref(), Some("High"));
//!
//! let q = Query::from("Projects/Task")
//!     .select(["fibery/id", "Projects/Name"])
//!     .filter(Filter::contains("Projects/Name", "docs"))
//!     .limit(100);
//! let rows = client.query(&q).await?;
//! assert_eq!(rows.len(), 1);
//!
//! // Invalid input never reaches the network.
//! let bad = Task { id: None, name: String::new(), priority: None, description: None, project: None };
//! assert!(matches!(tasks.create(bad).await, Err(fibery_client::Error::Validation { .. })));
//! # Ok(()) }
//! ```
//!
//! ## Pacing, batching, retries
//!
//! Both of Fibery's limits are kept: each token sends at most
//! [`requests_per_second`](ClientBuilder::requests_per_second) requests per second (default 3,
//! evenly spaced) and the workspace at most
//! [`workspace_requests_per_second`](ClientBuilder::workspace_requests_per_second) (default 7)
//! over all its tokens. The limits are shared by a client's clones and, process-wide, by
//! every client of the same base URL (and, per token, of the same token). Fibery counts
//! requests by arrival in a sliding second; the pacer lets a request go once the
//! `requests_per_second`-th one before it on that token is a second old, counting that one
//! as arrived when its response head came back or at its send time plus the
//! [`pacing_margin`](ClientBuilder::pacing_margin) (plus any round trip beyond the usual one),
//! whichever is earlier: at zero latency it runs at the limit, at high latency at least
//! `1 / (1 + margin)` of it (each budget is a governor GCRA limiter plus that guard; see
//! [`pace`]). Several tokens of one workspace
//! ([`tokens`](ClientBuilder::tokens); off by default) share the requests: two give 6 per
//! second, a third only adds up to the workspace's 7. No two requests go closer than
//! [`min_delay`](ClientBuilder::min_delay). Commands are packed
//! [`max_commands_per_request`](ClientBuilder::max_commands_per_request) to a request, and
//! commands issued concurrently through [`Client::command`] are merged within
//! [`batch_window`](ClientBuilder::batch_window). A 429 pauses every client of the workspace
//! for `Retry-After` (or the backoff) and widens the margin; 5xx, timeouts and resets are
//! retried only for requests that are safe to repeat (see [`retry`]).
//!
//! ## Secrets
//!
//! Every token is kept as a [`SecretString`]; `Debug` output, errors and tracing events never
//! contain it, and the `Authorization` header is marked sensitive and dropped on redirects to
//! another host. Text from the server (error bodies, command error payloads, redirect URLs,
//! decode messages) has the token replaced by `[redacted]` before it enters an [`Error`] or a
//! log record, whether the server echoed it raw, with its `Token `/`Bearer ` prefix, or
//! percent-, form- or JSON-encoded; the data a query returns is never altered. A token shorter
//! than 8 characters (never a real Fibery key) is replaced only where it stands as a word of
//! its own, so that ordinary words containing it survive.
//!
//! ## TLS backend
//!
//! One cargo feature picks how `https://` is spoken (the manifest line you write; crates in
//! the normal dependency tree, fibery-client included; a release binary (x86_64 Linux) that
//! builds a client and reads the schema, as built / stripped):
//!
//! | feature | `Cargo.toml` | crates | binary |
//! |---|---|---|---|
//! | `rustls-aws-lc` (default) | `fibery-client = "0.1"` | 163 | 9.7 MB / 7.8 MB |
//! | `rustls-ring` | `fibery-client = { version = "0.1", default-features = false, features = ["derive", "rustls-ring"] }` | 163 | 7.5 MB / 5.7 MB |
//! | `native-tls` | `fibery-client = { version = "0.1", default-features = false, features = ["derive", "native-tls"] }` | 161 | 5.6 MB / 4.1 MB + the system's libssl |
//! | none: plain HTTP | `fibery-client = { version = "0.1", default-features = false, features = ["derive"] }` | 151 | 5.3 MB / 3.9 MB |
//!
//! * `rustls-aws-lc` builds `aws-lc-sys` (C code, compiled by its build script) and is reqwest's
//!   default; `rustls-ring` swaps it for `ring` (a 2.2 MB smaller binary, no `aws-lc-sys` or
//!   `cmake` build; 166 crates against 171 counting build dependencies). With `rustls-ring`,
//!   the first [`ClientBuilder::build`] (or [`oauth::OAuthApp::new`]) installs ring as
//!   rustls' process-wide default `CryptoProvider`, once, unless the program installed one
//!   before: then that one is used, so install your own first to choose it.
//! * `native-tls` is the platform's TLS (OpenSSL on Linux, which needs its development
//!   headers to build; SChannel on Windows; Security.framework on macOS).
//! * With none, the client speaks `http://` only (an emulator on loopback) and
//!   [`ClientBuilder::build`] refuses an `https://` base URL with [`Error::Config`].
//! * Features add up: with rustls and native-tls both on, rustls is used; with both rustls
//!   providers on, aws-lc-rs.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod batch;
mod builder;
pub mod changes;
pub mod client;
mod collections;
mod command_batch;
pub mod comments;
pub mod documents;
pub mod entities;
pub mod error;
pub mod events;
pub mod files;
mod keyset;
pub mod oauth;
pub mod pace;
pub mod query;
#[cfg(feature = "receiver")]
#[cfg_attr(docsrs, doc(cfg(feature = "receiver")))]
pub mod receiver;
pub mod records;
pub mod retry;
pub mod schema;
mod scrub;
mod tls;
mod transport;
mod validator_reason;
pub mod webhooks;

pub use builder::ClientBuilder;
pub use client::Client;
pub use entities::Entities;
pub use error::{Error, FiberyError, Result};
pub use files::FileInfo;
pub use keyset::Unpageable;
pub use query::QueryStream;
pub use records::{BatchReport, Record, Records};
pub use retry::RetryPolicy;
pub use schema::{RelationKind, SchemaBatch};
pub use transport::{AuthScheme, Stats};
pub use webhooks::Webhook;

pub use fibery_core as core;
pub use fibery_core::dates::{DateRange, DateTimeRange};
pub use fibery_core::entity::{
    DocFormat, EncodedEntity, EntityRef, FiberyEntity, FieldMapping, MappingKind,
};
pub use fibery_core::query::{Filter, Order, Query, SubQuery};
pub use fibery_core::schema::Schema;
pub use fibery_core::validate::{Rule, Violation};

/// The derive macros (feature `derive`, on by default). [`macro@entity`] is the form for
/// hand-written structs: it needs no `validator` or `serde` dependency in your crate.
#[cfg(feature = "derive")]
pub use fibery_derive::{FiberyEntity, FiberyEnum, entity, schema};

/// The `futures` crate, for consuming streams ([`QueryStream`], [`Entities::stream`]) with
/// `TryStreamExt` without a dependency of your own.
pub use futures;
pub use secrecy::SecretString;
/// The JSON value type of query rows, and `json!` to build one (re-exported from serde_json).
pub use serde_json::{Value, json};
/// The date types of typed fields: `time::Date` is a `fibery/date` (`2026-03-15`),
/// `time::OffsetDateTime` a `fibery/date-time` (`2020-01-22T01:02:23.977Z`); see also
/// [`DateRange`] and [`DateTimeRange`] (re-exported crate).
pub use time;
/// The id type of Fibery entities (re-exported from uuid).
pub use uuid::Uuid;
pub use validator::Validate;

/// Re-exports used by code generated by `#[derive(FiberyEntity)]`. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use ::fibery_core;
    #[cfg(feature = "derive")]
    pub use ::fibery_derive;
    pub use ::serde;
    pub use ::serde_json;
    pub use ::time;
    pub use ::uuid;
    pub use ::validator;
}

/// The README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
