//! A local emulator of the Fibery HTTP API for offline tests and demos.
//!
//! It serves Fibery's endpoints (`/api/commands`, `/api/schema`, `/api/documents`,
//! `/api/files`, `/api/webhooks/v2`) on loopback with Fibery's envelopes, error names, rate
//! limits and quirks, over an in-memory workspace built from a schema (the JSON returned by
//! `fibery.schema/query`). Faults (5xx, 429, dropped connections, latency) can be injected
//! reproducibly, and an admin API under `/_emulator/` exposes counters and fault settings.
//!
//! ```
//! use fibery_core::command::Command;
//! use fibery_core::query::Query;
//! use fibery_emulator::Emulator;
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // No schema given: the workspace has the system types (users, files, documents).
//! let emu = Emulator::builder().token("test-token").start().await?;
//! let query = Query::from("fibery/user").select(["user/name"]).limit(1);
//! let rows: serde_json::Value = reqwest::Client::new()
//!     .post(format!("{}/api/commands", emu.base_url()))
//!     .header("Authorization", "Token test-token")
//!     .json(&Command::query(query).to_json())
//!     .send().await?
//!     .json().await?;
//! assert_eq!(rows, json!({"success": true, "result": [{"user/name": "Emulator User"}]}));
//! assert_eq!(emu.stats().requests, 1);
//! emu.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! See the crate README for the seed and data file formats and `FIDELITY.md` for how closely
//! each behaviour follows Fibery (with sources).

mod api;
mod emulator;
mod error;
mod response;
mod server;
mod store;
#[cfg(feature = "client")]
mod test_client;

pub use api::commands::{BatchFailure, Behaviour};
pub use emulator::{Emulator, EmulatorBuilder, EmulatorError, load_schema_file, schema_from_value};
pub use server::faults::Faults;
pub use server::rate_limit::RateLimits;
pub use server::request_log::RequestRecord;
pub use server::state::Stats;
pub use store::{Fsync, Recovery};

/// Direct access to the query engine for benchmarks (not a stable API).
#[doc(hidden)]
pub mod __bench {
    use serde_json::{Map, Value, json};

    /// A store filled with `Projects/Task`-like entities.
    pub struct Prepared(crate::store::Store);

    /// Builds a store from `schema` with `n` entities of `ty`, each produced by `make(i)`.
    pub fn prepare(
        schema: fibery_core::schema::Schema,
        ty: &str,
        n: usize,
        make: impl Fn(usize) -> Map<String, Value>,
    ) -> Prepared {
        let mut s = crate::store::Store::new(schema);
        // As an in-memory server: no written keys kept for persistence.
        s.track_changes = false;
        for i in 0..n {
            let mut e = make(i);
            e.entry("fibery/id")
                .or_insert_with(|| json!(uuid::Uuid::new_v4().to_string()));
            s.insert_raw(ty, e);
        }
        Prepared(s)
    }

    /// Runs a `/api/commands` body (JSON bytes); returns the envelopes or the error JSON.
    pub fn commands(p: &mut Prepared, body: &[u8]) -> Value {
        match crate::api::commands::run_body(&mut p.0, body) {
            Ok(v) => Value::Array(v),
            Err(e) => e.to_value(),
        }
    }

    /// Runs `fibery.entity/query` args; returns the result or the error JSON.
    pub fn query(p: &Prepared, args: &Value) -> Value {
        crate::api::commands::query(&p.0, args).unwrap_or_else(|e| e.to_value())
    }
}
