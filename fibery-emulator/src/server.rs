//! HTTP layer: routing, auth, rate limits, faults, request log, persistence, webhooks.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use fibery_core::schema::Schema;
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, watch};

use crate::commands::{self, Ctx};
use crate::model::{FErr, Kind, find_type, format_ts, kind_of};
use crate::store::{Effect, FileBlob, Store, Webhook, hex_decode, hex_encode};
use crate::{EmulatorError, Faults, RateLimits, RequestRecord, Stats};

pub(crate) struct Config {
    pub schema: Schema,
    pub tokens: Vec<String>,
    pub limits: Option<RateLimits>,
    pub faults: Faults,
    pub seed: Option<Value>,
    pub data: Option<PathBuf>,
    pub addr: SocketAddr,
    pub max_body: usize,
}

#[derive(Default)]
struct Limiter {
    per_token: HashMap<Vec<u8>, VecDeque<Instant>>,
    workspace: VecDeque<Instant>,
}

/// State shared by all handlers.
pub(crate) struct Shared {
    pub store: Mutex<Store>,
    pub(crate) tokens: Vec<String>,
    pub limits: Mutex<Option<RateLimits>>,
    limiter: Mutex<Limiter>,
    faults: Mutex<(Faults, StdRng)>,
    pub log: Mutex<Vec<RequestRecord>>,
    requests: AtomicU64,
    commands: AtomicU64,
    rate_limited: AtomicU64,
    faults_injected: AtomicU64,
    data: Option<PathBuf>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print tokens.
        f.debug_struct("Shared")
            .field("tokens", &format_args!("[{} redacted]", self.tokens.len()))
            .finish_non_exhaustive()
    }
}

/// Counters as served by `GET /_emulator/stats`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatsJson {
    /// API requests received.
    pub requests: u64,
    /// Commands executed.
    pub commands: u64,
    /// 429s sent by the limiter.
    pub rate_limited: u64,
    /// Faults injected.
    pub faults_injected: u64,
    /// Entities stored.
    pub entities: u64,
}

/// Fault settings as read and written by `GET/PUT /_emulator/faults`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultsJson {
    /// Probability of 500/502/503.
    pub error_5xx: f64,
    /// Probability of an injected 429.
    pub rate_limited: f64,
    /// Probability of a dropped connection.
    pub drop: f64,
    /// Added latency in milliseconds.
    pub latency_ms: u64,
    /// Generator seed.
    pub seed: u64,
}

impl From<Faults> for FaultsJson {
    fn from(f: Faults) -> Self {
        FaultsJson {
            error_5xx: f.error_5xx,
            rate_limited: f.rate_limited,
            drop: f.drop,
            latency_ms: f.latency.as_millis() as u64,
            seed: f.seed,
        }
    }
}

impl From<FaultsJson> for Faults {
    fn from(f: FaultsJson) -> Self {
        let p = |x: f64| {
            if x.is_finite() {
                x.clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        Faults {
            error_5xx: p(f.error_5xx),
            rate_limited: p(f.rate_limited),
            drop: p(f.drop),
            latency: Duration::from_millis(f.latency_ms.min(60_000)),
            seed: f.seed,
        }
    }
}

impl Shared {
    pub fn stats(&self) -> Stats {
        Stats {
            requests: self.requests.load(Ordering::Relaxed),
            commands: self.commands.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            faults_injected: self.faults_injected.load(Ordering::Relaxed),
            entities: self
                .store
                .lock()
                .map(|s| s.count_entities() as u64)
                .unwrap_or(0),
        }
    }

    pub fn set_faults(&self, f: Faults) {
        if let Ok(mut g) = self.faults.lock() {
            *g = (f, StdRng::seed_from_u64(f.seed));
        }
    }

    pub fn entities(&self, ty: &str) -> Vec<Value> {
        let Ok(store) = self.store.lock() else {
            return vec![];
        };
        let Some(ts) = store.types.get(ty) else {
            return vec![];
        };
        let mut list: Vec<&crate::store::Entity> = ts.entities.values().collect();
        list.sort_by(|a, b| {
            let k = |e: &crate::store::Entity| {
                (
                    e.get("fibery/creation-date")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    e.get("fibery/id")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                )
            };
            k(a).cmp(&k(b))
        });
        let t = find_type(&store.schema, ty);
        list.into_iter()
            .map(|e| {
                let mut out = Map::new();
                for (k, v) in e {
                    let kind = t
                        .and_then(|t| crate::model::find_field(t, k))
                        .map(|f| kind_of(&store.schema, f));
                    let rv = match (kind, v) {
                        (Some(Kind::Single(_)), Value::String(s)) => json!({"fibery/id": s}),
                        (Some(Kind::Collection(_)), Value::Array(a)) => {
                            Value::Array(a.iter().map(|i| json!({"fibery/id": i})).collect())
                        }
                        (Some(Kind::RichText), Value::String(s)) => {
                            json!({crate::model::DOC_SECRET: s})
                        }
                        _ => v.clone(),
                    };
                    out.insert(k.clone(), rv);
                }
                Value::Object(out)
            })
            .collect()
    }

    fn token_ok(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        let mut ok = subtle::Choice::from(0u8);
        for t in &self.tokens {
            ok |= t.as_bytes().ct_eq(presented.as_bytes());
        }
        ok.into()
    }

    /// Persists the store atomically (temp file + rename) when a data file is configured.
    fn persist(&self, store: &Store) {
        let Some(path) = &self.data else { return };
        if let Err(e) = write_atomic(path, store) {
            tracing::error!(
                "persisting emulator state to {} failed: {e}",
                path.display()
            );
        }
    }
}

fn write_atomic(path: &std::path::Path, store: &Store) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(store).map_err(std::io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

fn apply_seed(store: &mut Store, seed: &Value) -> Result<(), EmulatorError> {
    let mut ctx = Ctx::default();
    // `{"entities": {..}, "commands": [..]}`, or a bare `{"Type": [entities]}` map (the
    // `*.options.json` fixtures of fibery-core).
    let structured = seed.get("entities").is_some() || seed.get("commands").is_some();
    let ents = if structured {
        seed.get("entities")
    } else {
        Some(seed)
    };
    if let Some(ents) = ents.and_then(Value::as_object) {
        for (ty, list) in ents {
            for e in list.as_array().into_iter().flatten() {
                let o = e.as_object().ok_or_else(|| {
                    EmulatorError::State(format!("seed entity of {ty} must be an object"))
                })?;
                store.create(ty, o).map_err(|e| {
                    EmulatorError::State(format!("seed entity of {ty}: {}", e.message))
                })?;
            }
        }
    }
    if let Some(cmds) = seed.get("commands").and_then(Value::as_array) {
        for c in cmds {
            commands::check_known(c).map_err(|e| EmulatorError::State(e.message))?;
            commands::run(store, c, &mut ctx).map_err(|e| {
                EmulatorError::State(format!("seed command failed: {}: {}", e.name, e.message))
            })?;
        }
    }
    Ok(())
}

/// Fibery gives new databases Open / In Progress / Done states; do the same for workflow
/// enums left empty by the seed, so clients can resolve states by name.
fn default_workflow_states(store: &mut Store) {
    let names: Vec<String> = store
        .schema
        .types
        .iter()
        .filter(|t| t.name.starts_with("workflow/state_") && !t.deleted)
        .map(|t| t.name.clone())
        .collect();
    for n in names {
        store.default_workflow_states(&n);
    }
}

type StartOut = (
    Arc<Shared>,
    SocketAddr,
    watch::Sender<bool>,
    tokio::task::JoinHandle<()>,
);

pub(crate) async fn start(cfg: Config) -> Result<StartOut, EmulatorError> {
    let loaded = match &cfg.data {
        Some(p) if p.exists() => {
            let text = std::fs::read_to_string(p)?;
            Some(
                serde_json::from_str::<Store>(&text)
                    .map_err(|e| EmulatorError::State(format!("{}: {e}", p.display())))?,
            )
        }
        _ => None,
    };
    let fresh = loaded.is_none();
    let mut store = loaded.unwrap_or_else(|| Store::new(cfg.schema));
    if fresh {
        if let Some(seed) = &cfg.seed {
            apply_seed(&mut store, seed)?;
        }
        default_workflow_states(&mut store);
    }
    let shared = Arc::new(Shared {
        store: Mutex::new(store),
        tokens: cfg.tokens,
        limits: Mutex::new(cfg.limits),
        limiter: Mutex::new(Limiter::default()),
        faults: Mutex::new((cfg.faults, StdRng::seed_from_u64(cfg.faults.seed))),
        log: Mutex::new(vec![]),
        requests: AtomicU64::new(0),
        commands: AtomicU64::new(0),
        rate_limited: AtomicU64::new(0),
        faults_injected: AtomicU64::new(0),
        data: cfg.data,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default(),
    });
    if fresh && let Ok(s) = shared.store.lock() {
        shared.persist(&s);
    }
    let app = router(shared.clone(), cfg.max_body);
    let listener = tokio::net::TcpListener::bind(cfg.addr).await?;
    let addr = listener.local_addr()?;
    let (tx, mut rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                acc = listener.accept() => {
                    let Ok((stream, _)) = acc else { continue };
                    let app = app.clone();
                    let mut stop = rx.clone();
                    tokio::spawn(async move {
                        let kill = Arc::new(Notify::new());
                        let k2 = kill.clone();
                        let svc = tower::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                            req.extensions_mut().insert(ConnKill(k2.clone()));
                            let mut app = app.clone();
                            async move {
                                use tower::Service;
                                let r: Result<Response, Infallible> = app.call(req.map(Body::new)).await;
                                r
                            }
                        });
                        let conn = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), hyper_util::service::TowerToHyperService::new(svc));
                        tokio::select! {
                            _ = conn => {}
                            _ = kill.notified() => {}
                            _ = stop.wait_for(|s| *s) => {}
                        }
                    });
                }
                _ = rx.changed() => {
                    if *rx.borrow() { break; }
                }
            }
        }
    });
    Ok((shared, addr, tx, task))
}

/// Request log capacity (oldest tenth dropped when full).
const MAX_LOG: usize = 100_000;

/// Per-connection handle used to drop the connection (fault injection).
#[derive(Clone)]
struct ConnKill(Arc<Notify>);

/// Number of commands in a request, set by the commands handler for the request log.
#[derive(Clone, Copy)]
struct CommandCount(usize);

fn router(shared: Arc<Shared>, max_body: usize) -> Router {
    let api = Router::new()
        .route("/api/commands", post(commands_handler))
        .route("/api/schema", get(schema_handler))
        .route("/api/documents/commands", post(doc_commands))
        .route("/api/documents/{secret}", get(doc_get).put(doc_put))
        .route("/api/files", post(file_upload))
        .route("/api/files/from-url", post(file_from_url))
        .route("/api/files/{secret}", get(file_get))
        .route("/api/webhooks/v2", get(webhooks_list).post(webhook_create))
        .route("/api/webhooks/v2/{id}", delete(webhook_delete))
        .fallback(|| async { (StatusCode::NOT_FOUND, "Not Found") })
        .layer(middleware::from_fn_with_state(shared.clone(), gate));
    let admin = Router::new()
        .route("/_emulator/stats", get(admin_stats))
        .route(
            "/_emulator/faults",
            get(admin_faults_get)
                .put(admin_faults_put)
                .post(admin_faults_put),
        )
        .route("/_emulator/requests", get(admin_requests));
    api.merge(admin)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(shared)
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Auth, rate limits, faults and the request log for every `/api` request.
async fn gate(State(sh): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    sh.requests.fetch_add(1, Ordering::Relaxed);
    let path = req.uri().path().to_string();
    let at = Instant::now();
    let kill = req.extensions().get::<ConnKill>().cloned();
    let log = |status: u16, commands: usize| {
        if let Ok(mut l) = sh.log.lock() {
            // Bounded: a long-running emulator keeps the most recent entries.
            if l.len() >= MAX_LOG {
                l.drain(..MAX_LOG / 10);
            }
            l.push(RequestRecord {
                at,
                path: path.clone(),
                commands,
                status,
            });
        }
    };
    // Auth.
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let tok = auth
        .strip_prefix("Token ")
        .or_else(|| auth.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(tok) = tok.filter(|t| sh.token_ok(t)) else {
        log(401, 0);
        return text(StatusCode::UNAUTHORIZED, "Unauthorized");
    };
    // Rate limits.
    let limits = sh.limits.lock().ok().and_then(|l| *l);
    if let Some(lim) = limits {
        let now = Instant::now();
        let allowed = sh.limiter.lock().is_ok_and(|mut l| {
            let window = Duration::from_secs(1);
            let prune = |q: &mut VecDeque<Instant>| {
                while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
                    q.pop_front();
                }
            };
            prune(&mut l.workspace);
            let ws_len = l.workspace.len();
            let q = l.per_token.entry(tok.as_bytes().to_vec()).or_default();
            prune(q);
            if q.len() >= lim.per_token as usize || ws_len >= lim.per_workspace as usize {
                false
            } else {
                q.push_back(now);
                l.workspace.push_back(now);
                true
            }
        });
        if !allowed {
            sh.rate_limited.fetch_add(1, Ordering::Relaxed);
            log(429, 0);
            return too_many(lim.retry_after);
        }
    }
    // Faults.
    let (f, draw) = match sh.faults.lock() {
        Ok(mut g) => {
            let f = g.0;
            let d: (f64, f64, f64, u8) = (
                g.1.random(),
                g.1.random(),
                g.1.random(),
                g.1.random_range(0..3),
            );
            (f, d)
        }
        Err(_) => (Faults::default(), (1.0, 1.0, 1.0, 0)),
    };
    if !f.latency.is_zero() {
        tokio::time::sleep(f.latency).await;
    }
    if draw.0 < f.drop {
        sh.faults_injected.fetch_add(1, Ordering::Relaxed);
        log(0, 0);
        if let Some(k) = kill {
            k.0.notify_one();
            std::future::pending::<()>().await;
        }
        return text(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
    }
    if draw.1 < f.rate_limited {
        sh.faults_injected.fetch_add(1, Ordering::Relaxed);
        log(429, 0);
        let ra = limits.map(|l| l.retry_after).unwrap_or(true);
        return too_many(ra);
    }
    if draw.2 < f.error_5xx {
        sh.faults_injected.fetch_add(1, Ordering::Relaxed);
        let (st, body) = match draw.3 {
            0 => (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
            1 => (StatusCode::BAD_GATEWAY, "Bad Gateway"),
            _ => (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
        };
        log(st.as_u16(), 0);
        return text(st, body);
    }
    let resp = next.run(req).await;
    let n = resp
        .extensions()
        .get::<CommandCount>()
        .map(|c| c.0)
        .unwrap_or(0);
    log(resp.status().as_u16(), n);
    resp
}

fn too_many(retry_after: bool) -> Response {
    let mut r = text(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    if retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

fn err500(e: FErr) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(e.to_json())).into_response()
}

fn json_resp(v: Value) -> Response {
    axum::Json(v).into_response()
}

async fn commands_handler(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return err500(FErr::new(
                "request/invalid-json",
                format!("Request body is not valid JSON: {e}"),
            ));
        }
    };
    let (cmds, single) = match parsed {
        Value::Array(a) => (a, false),
        v @ Value::Object(_) => (vec![v], true),
        other => {
            return err500(FErr::new(
                "request/invalid-body",
                format!("Expected a command object or an array of commands, got {other}"),
            ));
        }
    };
    for c in &cmds {
        if let Err(e) = commands::check_known(c) {
            return err500(e);
        }
    }
    let mut ctx = Ctx::default();
    let mut out = Vec::with_capacity(cmds.len());
    let (effects, me, seq) = {
        let Ok(mut store) = sh.store.lock() else {
            return err500(FErr::new(
                "server/poisoned",
                "Emulator state is unavailable.",
            ));
        };
        for c in &cmds {
            let res = commands::run(&mut store, c, &mut ctx);
            out.push(match res {
                Ok(v) => json!({"success": true, "result": v}),
                Err(e) => json!({"success": false, "result": e.to_json()}),
            });
        }
        if ctx.mutated {
            sh.persist(&store);
        }
        let effects = std::mem::take(&mut ctx.effects);
        let seq = if effects.is_empty() {
            0
        } else {
            store.sequence += 1;
            store.sequence
        };
        (effects, store.me.clone(), seq)
    };
    sh.commands
        .fetch_add(count_commands(&cmds) as u64, Ordering::Relaxed);
    if !effects.is_empty() {
        let corr = cmds
            .iter()
            .find_map(|c| c.get("correlationId").cloned())
            .unwrap_or(Value::Null);
        deliver(&sh, effects, me, seq, corr);
    }
    let mut resp = if single {
        json_resp(out.pop().unwrap_or(Value::Null))
    } else {
        json_resp(Value::Array(out))
    };
    resp.extensions_mut().insert(CommandCount(cmds.len()));
    resp
}

fn count_commands(cmds: &[Value]) -> usize {
    cmds.iter()
        .map(|c| {
            match c
                .get("args")
                .and_then(|a| a.get("commands"))
                .and_then(Value::as_array)
            {
                Some(inner)
                    if c.get("command").and_then(Value::as_str) == Some("fibery.command/batch") =>
                {
                    1 + count_commands(inner)
                }
                _ => 1,
            }
        })
        .sum()
}

fn is_loopback_url(u: &str) -> bool {
    reqwest::Url::parse(u).ok().is_some_and(|url| {
        matches!(url.scheme(), "http" | "https")
            && match url.host() {
                Some(url::Host::Domain(d)) => d == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            }
    })
}

/// Delivers effects to matching webhooks (loopback URLs only) in the background.
fn deliver(sh: &Arc<Shared>, effects: Vec<Effect>, me: String, seq: u64, corr: Value) {
    let hooks: Vec<Webhook> = sh
        .store
        .lock()
        .map(|s| s.webhooks.clone())
        .unwrap_or_default();
    let type_ids: HashMap<String, Value> = sh
        .store
        .lock()
        .map(|s| {
            s.schema
                .types
                .iter()
                .map(|t| (t.name.clone(), json!(t.id)))
                .collect()
        })
        .unwrap_or_default();
    for h in hooks {
        let mine: Vec<Value> = effects
            .iter()
            .filter(|e| e.type_name == h.type_name)
            .map(|e| {
                let mut o = json!({"effect": e.effect, "id": e.id, "type": e.type_name,
                    "typeId": type_ids.get(&e.type_name).cloned().unwrap_or(Value::Null), "acl-index": 0});
                if !e.values.is_null() {
                    o["values"] = e.values.clone();
                }
                if !e.values_before.is_null() {
                    o["valuesBefore"] = e.values_before.clone();
                }
                o
            })
            .collect();
        if mine.is_empty() || !is_loopback_url(&h.url) {
            continue;
        }
        let payload = json!({
            "sequenceId": seq, "authorId": me,
            "creationDate": format_ts(time::OffsetDateTime::now_utc()),
            "command": {"correlationId": corr}, "effects": mine,
        });
        let sh = sh.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let status = match sh.http.post(&h.url).json(&payload).send().await {
                Ok(r) => r.status().as_u16().to_string(),
                Err(_) => "error".to_string(),
            };
            if let Ok(mut s) = sh.store.lock()
                && let Some(w) = s.webhooks.iter_mut().find(|w| w.id == h.id)
            {
                w.runs.push(json!({"http_status": status, "elapsed_time": started.elapsed().as_millis().to_string(),
                    "request_time": format_ts(time::OffsetDateTime::now_utc())}));
            }
        });
    }
}

#[derive(Deserialize)]
struct SchemaParams {
    #[serde(rename = "with-description", default)]
    with_description: Option<bool>,
    #[serde(rename = "with-soft-deleted", default)]
    with_soft_deleted: Option<bool>,
}

async fn schema_handler(
    State(sh): State<Arc<Shared>>,
    Query(p): Query<SchemaParams>,
    headers: HeaderMap,
) -> Response {
    let (wd, wsd) = (
        p.with_description.unwrap_or(false),
        p.with_soft_deleted.unwrap_or(false),
    );
    let body = match sh.store.lock() {
        Ok(s) => commands::schema_json(&s, wd, wsd),
        Err(_) => {
            return err500(FErr::new(
                "server/poisoned",
                "Emulator state is unavailable.",
            ));
        }
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let etag = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        format!("\"{:016x}\"", h.finish())
    };
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Weak comparison, as for GET (RFC 9110 §13.1.2): `W/"x"` matches `"x"`.
    if inm.split(',').any(|t| {
        let t = t.trim();
        t.strip_prefix("W/").unwrap_or(t) == etag || t == "*"
    }) {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&etag) {
            r.headers_mut().insert(header::ETAG, v);
        }
        return r;
    }
    let mut r = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        bytes,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    r
}

#[derive(Deserialize, Default)]
struct FormatParam {
    format: Option<String>,
}

#[allow(clippy::result_large_err)]
fn format_of(q: &FormatParam) -> Result<String, Response> {
    let f = q.format.clone().unwrap_or_else(|| "md".into());
    if matches!(f.as_str(), "md" | "html" | "json" | "plain-text") {
        Ok(f)
    } else {
        Err(bad_request(&format!(
            "Unknown format \"{f}\"; expected md, html, json or plain-text."
        )))
    }
}

fn bad_request(msg: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"name": "request/bad-request", "message": msg, "data": {}})),
    )
        .into_response()
}

fn not_found(msg: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"name": "request/not-found", "message": msg, "data": {}})),
    )
        .into_response()
}

async fn doc_get(
    State(sh): State<Arc<Shared>>,
    Path(secret): Path<String>,
    Query(q): Query<FormatParam>,
) -> Response {
    let fmt = match format_of(&q) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let md = sh
        .store
        .lock()
        .ok()
        .and_then(|s| s.documents.get(&secret).cloned());
    match md {
        Some(md) => json_resp(json!({"secret": secret, "content": crate::docs::render(&md, &fmt)})),
        None => not_found(&format!("Document \"{secret}\" was not found.")),
    }
}

#[allow(clippy::result_large_err)]
fn write_docs(
    sh: &Shared,
    items: &[(String, Value)],
    fmt: &str,
    append: bool,
) -> Result<(), Response> {
    let mut converted = vec![];
    for (secret, content) in items {
        let md = crate::docs::ingest(content, fmt).map_err(|e| bad_request(&e))?;
        converted.push((secret.clone(), md));
    }
    let Ok(mut s) = sh.store.lock() else {
        return Err(err500(FErr::new("server/poisoned", "state unavailable")));
    };
    for (secret, md) in converted {
        let entry = s.documents.entry(secret).or_default();
        if append && !entry.is_empty() {
            entry.push_str("\n\n");
            entry.push_str(&md);
        } else {
            *entry = md;
        }
    }
    sh.persist(&s);
    Ok(())
}

async fn doc_put(
    State(sh): State<Arc<Shared>>,
    Path(secret): Path<String>,
    Query(q): Query<FormatParam>,
    body: Bytes,
) -> Response {
    let fmt = match format_of(&q) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(&format!("Body must be JSON {{\"content\": ...}}: {e}")),
    };
    let Some(content) = v.get("content").cloned() else {
        return bad_request("Body must be {\"content\": ...}");
    };
    match write_docs(&sh, &[(secret, content)], &fmt, false) {
        Ok(()) => json_resp(json!(true)),
        Err(r) => r,
    }
}

async fn doc_commands(
    State(sh): State<Arc<Shared>>,
    Query(q): Query<FormatParam>,
    body: Bytes,
) -> Response {
    let fmt = match format_of(&q) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return err500(FErr::new(
                "request/invalid-json",
                format!("Request body is not valid JSON: {e}"),
            ));
        }
    };
    let cmd = v.get("command").and_then(Value::as_str).unwrap_or("");
    let Some(args) = v.get("args").and_then(Value::as_array) else {
        return bad_request("\"args\" must be an array");
    };
    match cmd {
        "get-documents" => {
            let Ok(s) = sh.store.lock() else {
                return err500(FErr::new("server/poisoned", "state unavailable"));
            };
            let mut out = vec![];
            for a in args {
                // Documented form is {"secret": ...}; bare strings are accepted too.
                let Some(secret) = a
                    .get("secret")
                    .and_then(Value::as_str)
                    .or_else(|| a.as_str())
                else {
                    return bad_request("get-documents args must be [{\"secret\": ...}]");
                };
                match s.documents.get(secret) {
                    Some(md) => out
                        .push(json!({"secret": secret, "content": crate::docs::render(md, &fmt)})),
                    None => return not_found(&format!("Document \"{secret}\" was not found.")),
                }
            }
            json_resp(Value::Array(out))
        }
        "create-or-update-documents" | "create-or-append-documents" => {
            let mut items = vec![];
            for a in args {
                let (Some(secret), Some(content)) =
                    (a.get("secret").and_then(Value::as_str), a.get("content"))
                else {
                    return bad_request("args items must be {\"secret\": ..., \"content\": ...}");
                };
                items.push((secret.to_string(), content.clone()));
            }
            match write_docs(&sh, &items, &fmt, cmd == "create-or-append-documents") {
                Ok(()) => json_resp(json!(true)),
                Err(r) => r,
            }
        }
        other => bad_request(&format!(
            "Unknown documents command \"{other}\"; expected get-documents, create-or-update-documents or create-or-append-documents."
        )),
    }
}

fn store_file(sh: &Shared, name: String, content_type: String, bytes: &[u8]) -> Response {
    let Ok(mut s) = sh.store.lock() else {
        return err500(FErr::new("server/poisoned", "state unavailable"));
    };
    let secret = uuid::Uuid::new_v4().to_string();
    let id = uuid::Uuid::new_v4().to_string();
    let mut e = Map::new();
    e.insert("fibery/id".into(), json!(id));
    e.insert("fibery/name".into(), json!(name));
    e.insert("fibery/content-type".into(), json!(content_type));
    e.insert("fibery/secret".into(), json!(secret));
    e.insert("fibery/content-length".into(), json!(bytes.len()));
    let has_rank = find_type(&s.schema, "fibery/file")
        .and_then(|t| crate::model::find_field(t, "fibery/rank"))
        .is_some();
    if has_rank {
        e.insert("fibery/rank".into(), json!(0));
    }
    s.insert_raw("fibery/file", e);
    s.files.insert(
        secret.clone(),
        FileBlob {
            id: id.clone(),
            name: name.clone(),
            content_type: content_type.clone(),
            hex: hex_encode(bytes),
        },
    );
    sh.persist(&s);
    let mut out = json!({"fibery/id": id, "fibery/name": name, "fibery/content-type": content_type,
        "fibery/secret": secret, "fibery/content-length": bytes.len()});
    if has_rank {
        out["fibery/rank"] = json!(0);
    }
    json_resp(out)
}

async fn file_upload(State(sh): State<Arc<Shared>>, mut mp: Multipart) -> Response {
    loop {
        match mp.next_field().await {
            Ok(Some(field)) => {
                if field.name() != Some("file") {
                    continue;
                }
                let name = field.file_name().unwrap_or("file").to_string();
                let ct = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_string();
                match field.bytes().await {
                    Ok(b) => return store_file(&sh, name, ct, &b),
                    Err(e) => return (e.status(), e.body_text()).into_response(),
                }
            }
            Ok(None) => return bad_request("multipart body needs a part named \"file\""),
            Err(e) => return (e.status(), e.body_text()).into_response(),
        }
    }
}

async fn file_from_url(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(&format!("Body must be JSON {{\"url\": ...}}: {e}")),
    };
    let Some(url) = v.get("url").and_then(Value::as_str) else {
        return bad_request("\"url\" is required");
    };
    if !is_loopback_url(url) {
        return bad_request(&format!(
            "The emulator only fetches loopback URLs (http://127.0.0.1, http://localhost); refusing \"{url}\"."
        ));
    }
    let method = v.get("method").and_then(Value::as_str).unwrap_or("GET");
    let Ok(m) = reqwest::Method::from_bytes(method.as_bytes()) else {
        return bad_request("invalid \"method\"");
    };
    let mut req = sh.http.request(m, url);
    if let Some(h) = v.get("headers").and_then(Value::as_object) {
        for (k, val) in h {
            if let Some(s) = val.as_str() {
                req = req.header(k.as_str(), s);
            }
        }
    }
    let resp = match req.send().await {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            return bad_request(&format!(
                "Fetching \"{url}\" answered HTTP {}.",
                r.status().as_u16()
            ));
        }
        Err(e) => return bad_request(&format!("Fetching \"{url}\" failed: {e}")),
    };
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| {
            url.rsplit('/')
                .next()
                .filter(|s| !s.is_empty())
                .unwrap_or("file")
                .to_string()
        });
    match resp.bytes().await {
        Ok(b) => store_file(&sh, name, ct, &b),
        Err(e) => bad_request(&format!("Reading \"{url}\" failed: {e}")),
    }
}

async fn file_get(State(sh): State<Arc<Shared>>, Path(secret): Path<String>) -> Response {
    let f = sh
        .store
        .lock()
        .ok()
        .and_then(|s| s.files.get(&secret).cloned());
    match f {
        Some(f) => {
            let ct = HeaderValue::from_str(&f.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, ct)],
                hex_decode(&f.hex),
            )
                .into_response()
        }
        None => not_found(&format!("File \"{secret}\" was not found.")),
    }
}

fn webhook_json(w: &Webhook) -> Value {
    json!({"id": w.id, "url": w.url, "type": w.type_name, "state": "active", "version": "2", "runs": w.runs})
}

async fn webhooks_list(State(sh): State<Arc<Shared>>) -> Response {
    let list: Vec<Value> = sh
        .store
        .lock()
        .map(|s| s.webhooks.iter().map(webhook_json).collect())
        .unwrap_or_default();
    json_resp(Value::Array(list))
}

async fn webhook_create(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(&format!("Body must be JSON {{\"url\", \"type\"}}: {e}")),
    };
    let (Some(url), Some(ty)) = (
        v.get("url").and_then(Value::as_str),
        v.get("type").and_then(Value::as_str),
    ) else {
        return bad_request("\"url\" and \"type\" are required");
    };
    if reqwest::Url::parse(url).is_err() {
        return bad_request(&format!("\"{url}\" is not a valid URL"));
    }
    let Ok(mut s) = sh.store.lock() else {
        return err500(FErr::new("server/poisoned", "state unavailable"));
    };
    // Fibery documents type names; some clients send the type's UUID.
    let Some(tname) = s
        .schema
        .types
        .iter()
        .find(|t| !t.deleted && (t.name == ty || t.id.as_deref() == Some(ty)))
        .map(|t| t.name.clone())
    else {
        return bad_request(&format!("\"{ty}\" database was not found."));
    };
    let w = Webhook {
        id: s.next_webhook_id,
        url: url.to_string(),
        type_name: tname,
        runs: vec![],
    };
    s.next_webhook_id += 1;
    s.webhooks.push(w.clone());
    sh.persist(&s);
    json_resp(webhook_json(&w))
}

async fn webhook_delete(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return bad_request("webhook id must be an integer");
    };
    let Ok(mut s) = sh.store.lock() else {
        return err500(FErr::new("server/poisoned", "state unavailable"));
    };
    let before = s.webhooks.len();
    s.webhooks.retain(|w| w.id != id);
    if s.webhooks.len() == before {
        return not_found(&format!("Webhook {id} was not found."));
    }
    sh.persist(&s);
    json_resp(json!({}))
}

async fn admin_stats(State(sh): State<Arc<Shared>>) -> Response {
    let s = sh.stats();
    json_resp(json!(StatsJson {
        requests: s.requests,
        commands: s.commands,
        rate_limited: s.rate_limited,
        faults_injected: s.faults_injected,
        entities: s.entities,
    }))
}

async fn admin_faults_get(State(sh): State<Arc<Shared>>) -> Response {
    let f = sh.faults.lock().map(|g| g.0).unwrap_or_default();
    json_resp(json!(FaultsJson::from(f)))
}

async fn admin_faults_put(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<FaultsJson>(&body) {
        Ok(f) => {
            let f: Faults = f.into();
            sh.set_faults(f);
            json_resp(json!(FaultsJson::from(f)))
        }
        Err(e) => bad_request(&format!(
            "Expected {{error_5xx, rate_limited, drop, latency_ms, seed}}: {e}"
        )),
    }
}

async fn admin_requests(State(sh): State<Arc<Shared>>) -> Response {
    let start = sh.log.lock().ok().and_then(|l| l.first().map(|r| r.at));
    let list: Vec<Value> = sh
        .log
        .lock()
        .map(|l| {
            l.iter()
                .map(|r| json!({"ms": start.map(|s| r.at.duration_since(s).as_millis() as u64).unwrap_or(0),
                    "path": r.path, "commands": r.commands, "status": r.status}))
                .collect()
        })
        .unwrap_or_default();
    json_resp(Value::Array(list))
}
