//! A local emulator of the Fibery HTTP API for offline tests and demos.
//!
//! It serves Fibery's endpoints (`/api/commands`, `/api/schema`, `/api/documents`,
//! `/api/files`, `/api/webhooks/v2`) on loopback with Fibery's envelopes, error names, rate
//! limits and quirks, over an in-memory workspace built from a schema (the JSON returned by
//! `fibery.schema/query`). Faults (5xx, 429, dropped connections, latency) can be injected
//! reproducibly, and an admin API under `/_emulator/` exposes counters and fault settings.
//!
//! ```
//! use fibery_emulator::Emulator;
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // No schema given: the workspace has the system types (users, files, documents).
//! let emu = Emulator::builder().token("test-token").start().await?;
//! let rows: serde_json::Value = reqwest::Client::new()
//!     .post(format!("{}/api/commands", emu.base_url()))
//!     .header("Authorization", "Token test-token")
//!     .json(&json!({"command": "fibery.entity/query", "args": {"query": {
//!         "q/from": "fibery/user", "q/select": ["user/name"], "q/limit": 1}}}))
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

mod commands;
mod docs;
mod model;
mod qeval;
mod qparse;
mod server;
mod store;
#[cfg(feature = "client")]
mod test_client;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fibery_core::schema::Schema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use server::{FaultsJson, StatsJson};

/// Rate limits, like Fibery's: 3 requests/s per token, 7 requests/s per workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimits {
    /// Requests per second allowed for one token.
    pub per_token: u32,
    /// Requests per second allowed for the whole workspace (all tokens).
    pub per_workspace: u32,
    /// Send `Retry-After: 1` with 429 answers (Fibery's behaviour here is undocumented).
    pub retry_after: bool,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_token: 3,
            per_workspace: 7,
            retry_after: true,
        }
    }
}

/// Fault injection settings. Probabilities are in `0.0..=1.0` and drawn per request from a
/// seeded generator, so a run is reproducible for a given request sequence.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Faults {
    /// Probability of answering HTTP 500, 502 or 503 (equally likely).
    pub error_5xx: f64,
    /// Probability of answering HTTP 429 regardless of the real rate.
    pub rate_limited: f64,
    /// Probability of closing the connection without any response.
    pub drop: f64,
    /// Latency added to every API request.
    pub latency: Duration,
    /// Seed of the fault generator.
    pub seed: u64,
}

/// Counters readable through [`Emulator::stats`] and `GET /_emulator/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// API requests received (authenticated or not; admin requests excluded).
    pub requests: u64,
    /// Commands executed (nested batch commands included).
    pub commands: u64,
    /// 429 answers sent by the rate limiter (injected 429s excluded).
    pub rate_limited: u64,
    /// Faults injected (5xx, 429, drops).
    pub faults_injected: u64,
    /// Entities currently stored (all types, system ones included).
    pub entities: u64,
}

/// One entry of the request log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// When the request arrived.
    pub at: Instant,
    /// Request path (no query string).
    pub path: String,
    /// Number of top-level commands in the request (0 for non-command endpoints).
    pub commands: usize,
    /// HTTP status answered (0 for a dropped connection).
    pub status: u16,
}

/// Errors starting an emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// Binding or serving failed.
    #[error("emulator I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The data or seed file could not be read.
    #[error("invalid emulator state: {0}")]
    State(String),
}

/// Configures and starts an [`Emulator`].
#[derive(Default)]
pub struct EmulatorBuilder {
    schema: Option<Schema>,
    tokens: Vec<String>,
    limits: Option<RateLimits>,
    no_limits: bool,
    faults: Faults,
    seed: Option<Value>,
    data: Option<PathBuf>,
    addr: Option<SocketAddr>,
    max_body: Option<usize>,
}

impl std::fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens are secrets: only their number is shown.
        f.debug_struct("EmulatorBuilder")
            .field("types", &self.schema.as_ref().map(|s| s.types.len()))
            .field("tokens", &format_args!("[{} redacted]", self.tokens.len()))
            .field("limits", &self.limits)
            .field("no_limits", &self.no_limits)
            .field("faults", &self.faults)
            .field("data", &self.data)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl EmulatorBuilder {
    /// The workspace schema (Fibery's `fibery.schema/query` shape).
    pub fn schema(mut self, schema: Schema) -> Self {
        self.schema = Some(schema);
        self
    }
    /// Accept this API token (as `Token x` or `Bearer x`); may be called several times.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.tokens.push(token.into());
        self
    }
    /// Rate limits (default: 3/s per token, 7/s per workspace, `Retry-After` on).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.limits = Some(limits);
        self.no_limits = false;
        self
    }
    /// Disable rate limiting.
    pub fn without_rate_limits(mut self) -> Self {
        self.no_limits = true;
        self
    }
    /// Fault injection settings (default: none).
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }
    /// Seed data applied after the schema is loaded (see README: `entities` and `commands`).
    pub fn seed_json(mut self, seed: Value) -> Self {
        self.seed = Some(seed);
        self
    }
    /// Persist state to this JSON file (loaded if it exists; written atomically after changes).
    pub fn data_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.data = Some(path.into());
        self
    }
    /// Bind address (default `127.0.0.1:0`).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = Some(addr);
        self
    }
    /// Maximum request body in bytes (default 16 MiB); larger bodies get HTTP 413.
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body = Some(n);
        self
    }

    /// Binds and starts serving in a tokio task.
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        let limits = if self.no_limits {
            None
        } else {
            Some(self.limits.unwrap_or_default())
        };
        let cfg = server::Config {
            schema: self.schema.unwrap_or_else(|| Schema {
                id: None,
                version: 1,
                types: vec![],
                meta: Default::default(),
            }),
            tokens: self.tokens,
            limits,
            faults: self.faults,
            seed: self.seed,
            data: self.data,
            addr: self
                .addr
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            max_body: self.max_body.unwrap_or(16 * 1024 * 1024),
        };
        let (shared, addr, shutdown, task) = server::start(cfg).await?;
        Ok(Emulator {
            shared,
            addr,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }
}

/// A running emulator. Dropping it stops the server (call [`Emulator::shutdown`] to wait).
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<server::Shared>,
    addr: SocketAddr,
    shutdown: Option<tokio::sync::watch::Sender<bool>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Emulator {
    /// A builder with no schema, no tokens, default rate limits and no faults.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// Current counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }
    /// Every API request so far, in arrival order.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.shared
            .log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }
    /// Replaces the fault settings (re-seeding the generator).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.set_faults(faults);
    }
    /// Replaces (or removes, with `None`) the rate limits.
    pub fn set_rate_limits(&self, limits: Option<RateLimits>) {
        if let Ok(mut l) = self.shared.limits.lock() {
            *l = limits;
        }
    }
    /// Snapshot of the stored entities of a type: all fields, single references as
    /// `{"fibery/id": ..}`, collections as arrays of `{"fibery/id": ..}`, rich text as
    /// `{"Collaboration~Documents/secret": ..}`. Empty for unknown types.
    pub fn entities(&self, type_name: &str) -> Vec<Value> {
        self.shared.entities(type_name)
    }
    /// The id of the emulated current user (`$my-id`).
    pub fn user_id(&self) -> String {
        self.shared
            .store
            .lock()
            .map(|s| s.me.clone())
            .unwrap_or_default()
    }
    /// Stops accepting connections and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
    }
}

/// Loads a schema from a JSON file holding either the bare schema or a `fibery.schema/query`
/// envelope (`{"success": true, "result": {...}}`, possibly inside an array).
pub fn load_schema_file(path: &std::path::Path) -> Result<Schema, EmulatorError> {
    let text = std::fs::read_to_string(path)?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| EmulatorError::State(format!("{}: {e}", path.display())))?;
    schema_from_value(v)
}

/// Accepts a bare schema or a `{success, result}` envelope (or a one-element array of it).
pub fn schema_from_value(v: Value) -> Result<Schema, EmulatorError> {
    let v = match v {
        Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
        other => other,
    };
    let v = match v.get("result") {
        Some(r) if v.get("success").is_some() => r.clone(),
        _ => v,
    };
    serde_json::from_value(v).map_err(|e| EmulatorError::State(format!("invalid schema: {e}")))
}

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
        for i in 0..n {
            let mut e = make(i);
            e.entry("fibery/id")
                .or_insert_with(|| json!(uuid::Uuid::new_v4().to_string()));
            s.insert_raw(ty, e);
        }
        Prepared(s)
    }

    /// Runs `fibery.entity/query` args; returns the result or the error JSON.
    pub fn query(p: &Prepared, args: &Value) -> Value {
        crate::qparse::parse_args(args)
            .and_then(|q| crate::qeval::run(&p.0, &q))
            .unwrap_or_else(|e| e.to_json())
    }
}
