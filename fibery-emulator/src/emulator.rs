//! The public handle: [`EmulatorBuilder`] configures, [`Emulator`] runs; schema files.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use fibery_core::schema::Schema;
use serde_json::Value;

use crate::server::{self, state::Shared};
use crate::{BatchFailure, Behaviour, Faults, Fsync, RateLimits, Recovery, RequestRecord, Stats};

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
    behaviour: Behaviour,
    outbound: Option<Vec<String>>,
    work_budget: Option<u64>,
    light_budget: Option<u64>,
    fsync: Fsync,
    max_entities: Option<u64>,
    max_bytes: Option<u64>,
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
            .field("behaviour", &self.behaviour)
            .field("outbound", &self.outbound)
            .field("work_budget", &self.work_budget)
            .field("light_budget", &self.light_budget)
            .field("fsync", &self.fsync)
            .field("max_entities", &self.max_entities)
            .field("max_bytes", &self.max_bytes)
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
    /// Persist state to this JSON snapshot plus an append-only change log beside it
    /// (`<file>.log`), both loaded at start: each acknowledged write survives a crash of the
    /// process (see the crate README for the fsync policy and compaction).
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

    /// Accept inline values in `q/where` (default: refused with
    /// `entity.error/query-expr-invalid`, as Fibery expects `$params`).
    pub fn allow_inline_values(mut self, allow: bool) -> Self {
        self.behaviour.allow_inline_values = allow;
        self
    }
    /// How a failing `fibery.command/batch` answers (default [`BatchFailure::Atomic`]).
    pub fn batch_failure(mut self, mode: BatchFailure) -> Self {
        self.behaviour.batch_failure = mode;
        self
    }

    /// Restricts the emulator's own outbound calls (`/api/files/from-url`, webhook deliveries,
    /// and every redirect hop of them) to these `host:port` pairs, which must also be loopback
    /// (default: any loopback target).
    pub fn allow_outbound<I, S>(mut self, targets: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.outbound = Some(targets.into_iter().map(Into::into).collect());
        self
    }

    /// When the `--data` log reaches the disk (default [`Fsync::Interval`]).
    pub fn fsync(mut self, policy: Fsync) -> Self {
        self.fsync = policy;
        self
    }

    /// Entities the workspace may hold, system ones included (default: no limit); creates
    /// beyond it fail with `entity.error/limit-reached`.
    pub fn max_entities(mut self, n: u64) -> Self {
        self.max_entities = Some(n);
        self
    }

    /// Estimated bytes the workspace's entities, documents and files may take (default: no
    /// limit); creates beyond it fail with `entity.error/limit-reached`.
    pub fn max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = Some(n);
        self
    }

    /// Work one query may spend, in field evaluations per row (default 50,000,000); a query
    /// over it fails with `entity.error/query-too-complex` instead of stalling the emulator.
    pub fn query_work_budget(mut self, units: u64) -> Self {
        self.work_budget = Some(units);
        self
    }

    /// Work a read-only query may spend on the shared pool (default 1,000,000 units); a
    /// request with a query over it runs again in the heavy lane, one request at a time and
    /// resting as long as it ran, so expensive queries cannot starve cheap ones. `u64::MAX`
    /// runs every read on the shared pool (no heavy lane).
    pub fn light_query_budget(mut self, units: u64) -> Self {
        self.light_budget = Some(units);
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
            behaviour: self.behaviour,
            outbound: self.outbound,
            work_budget: self.work_budget,
            light_budget: self.light_budget,
            fsync: self.fsync,
            max_entities: self.max_entities,
            max_bytes: self.max_bytes,
        };
        let running = server::start(cfg).await?;
        Ok(Emulator {
            shared: running.shared,
            addr: running.addr,
            shutdown: Some(running.stop),
            task: Some(running.task),
        })
    }
}

/// A running emulator. Dropping it stops the server (call [`Emulator::shutdown`] to wait).
#[derive(Debug)]
pub struct Emulator {
    pub(crate) shared: Arc<Shared>,
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
    /// The admin token accepted by `/_emulator/*` (random per start; API tokens work too).
    /// A secret like the API token: show it only to the developer.
    pub fn admin_token(&self) -> &str {
        self.shared.admin_token.reveal()
    }
    /// What the start recovered from the data file (`None` without one, or when it did not
    /// exist yet).
    pub fn recovery(&self) -> Option<Recovery> {
        self.shared.persistence.recovery()
    }
    /// Current counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }
    /// Every API request so far, in arrival order.
    pub fn request_log(&self) -> Vec<RequestRecord> {
        self.shared.log.entries()
    }
    /// The requests to `/api/commands` so far, in arrival order.
    pub fn command_requests(&self) -> Vec<RequestRecord> {
        let mut log = self.request_log();
        log.retain(|r| r.path == "/api/commands");
        log
    }
    /// Replaces the fault settings (re-seeding the generator).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.faults.set(faults);
    }
    /// Replaces (or removes, with `None`) the rate limits.
    pub fn set_rate_limits(&self, limits: Option<RateLimits>) {
        self.shared.limiter.set(limits);
    }
    /// Snapshot of the stored entities of a type: all fields, single references as
    /// `{"fibery/id": ..}`, collections as arrays of `{"fibery/id": ..}`, rich text as
    /// `{"Collaboration~Documents/secret": ..}`. Empty for unknown types.
    pub fn entities(&self, type_name: &str) -> Vec<Value> {
        self.shared
            .store
            .read()
            .map(|s| s.snapshot(type_name))
            .unwrap_or_default()
    }
    /// The id of the emulated current user (`$my-id`).
    pub fn user_id(&self) -> String {
        self.shared
            .store
            .read()
            .map(|s| s.me.clone())
            .unwrap_or_default()
    }
    /// Registers an OAuth app with the emulated authorization server (`/oauth2/auth`,
    /// `/oauth2/token`); its access tokens are accepted as `Bearer` tokens.
    pub fn register_oauth_app(&self, client_id: &str, client_secret: &str, redirect_uri: &str) {
        self.shared
            .oauth
            .register(client_id, client_secret, redirect_uri);
    }
    /// Lifetime of access tokens issued from now on (default 1 h).
    pub fn set_oauth_token_lifetime(&self, lifetime: std::time::Duration) {
        self.shared.oauth.set_lifetime(lifetime);
    }
    /// Invalidates every OAuth access token issued so far (requests with them get 401).
    pub fn expire_oauth_tokens(&self) {
        self.shared.oauth.expire_access_tokens();
    }
    /// Stops accepting connections, waits for the server task and, with a data file, compacts
    /// it (snapshot written, change log emptied).
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        // A clean stop leaves one compact file (snapshot, empty log) for the next start.
        if let Ok(s) = self.shared.read() {
            self.shared.persistence.snapshot(&s);
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
