//! The HTTP server: startup, the connection loop, the tower layers (auth, rate limit, faults,
//! request log), the router and the admin endpoints.

mod admin;
mod admin_guard;
mod auth;
pub(crate) mod faults;
pub(crate) mod rate_limit;
pub(crate) mod request_log;
mod router;
mod seed;
pub(crate) mod state;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use fibery_core::schema::Schema;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use crate::EmulatorError;
use crate::api::outbound::OutboundRule;
use crate::store::{Fsync, Persistence};
use faults::{FaultInjector, Faults};
use rate_limit::{RateLimiter, RateLimits};
use request_log::RequestLog;
use state::Shared;

/// What [`start`] needs.
pub(crate) struct Config {
    pub schema: Schema,
    pub tokens: Vec<String>,
    pub limits: Option<RateLimits>,
    pub faults: Faults,
    pub seed: Option<Value>,
    pub data: Option<PathBuf>,
    pub addr: SocketAddr,
    pub max_body: usize,
    pub behaviour: crate::api::commands::Behaviour,
    /// `host:port` pairs outbound calls are restricted to (any loopback target when `None`).
    pub outbound: Option<Vec<String>>,
    /// Work units one query may spend (default `qeval::DEFAULT_WORK_BUDGET`).
    pub work_budget: Option<u64>,
    /// Work units a read-only query may spend before it moves to the heavy lane.
    pub light_budget: Option<u64>,
    /// Entities the workspace may hold.
    pub max_entities: Option<u64>,
    /// Estimated bytes the workspace may hold.
    pub max_bytes: Option<u64>,
    /// When the `--data` log is fsync'ed.
    pub fsync: Fsync,
}

/// Per-connection handle to drop the connection without answering (fault injection).
#[derive(Clone)]
pub(crate) struct ConnKill(pub Arc<Notify>);

/// A started server: its state, address, stop switch and task.
pub(crate) struct Running {
    pub shared: Arc<Shared>,
    pub addr: SocketAddr,
    pub stop: watch::Sender<bool>,
    pub task: tokio::task::JoinHandle<()>,
}

/// Builds the workspace, binds and starts serving in a tokio task.
pub(crate) async fn start(cfg: Config) -> Result<Running, EmulatorError> {
    let persistent = cfg.data.is_some();
    let persistence = Persistence::new(cfg.data, cfg.fsync);
    let (mut store, fresh) = seed::initial_store(&persistence, cfg.schema, cfg.seed.as_ref())?;
    if let Some(b) = cfg.work_budget {
        store.work_budget = b;
    }
    store.max_entities = cfg.max_entities;
    store.max_bytes = cfg.max_bytes;
    // In memory nothing reads the written keys: do not keep them.
    store.track_changes = persistent;
    if fresh {
        store.take_dirty();
        persistence.snapshot(&store);
    }
    let outbound = OutboundRule::new(cfg.outbound);
    let shared = Arc::new(Shared {
        store: RwLock::new(store),
        persistence,
        tokens: auth::Tokens::new(cfg.tokens),
        admin_token: admin_guard::AdminToken::random(),
        limiter: RateLimiter::new(cfg.limits),
        faults: FaultInjector::new(cfg.faults),
        log: RequestLog::default(),
        commands: AtomicU64::new(0),
        behaviour: cfg.behaviour,
        http: outbound.client(),
        outbound,
        oauth: Default::default(),
        heavy: crate::api::commands::HeavyLane::new(cfg.light_budget),
    });
    let app = router::router(shared.clone(), cfg.max_body);
    let listener = TcpListener::bind(cfg.addr).await?;
    let addr = listener.local_addr()?;
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(serve(listener, app, rx));
    Ok(Running {
        shared,
        addr,
        stop,
        task,
    })
}

/// Accepts connections until `stop` turns true.
async fn serve(listener: TcpListener, app: Router, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            acc = listener.accept() => {
                if let Ok((stream, _)) = acc {
                    tokio::spawn(connection(stream, app.clone(), stop.clone()));
                }
            }
            _ = stop.changed() => {
                if *stop.borrow() {
                    break;
                }
            }
        }
    }
}

/// Serves one HTTP/1 connection; it ends when the client goes, when a fault drops it (through
/// [`ConnKill`]) or when the server stops.
async fn connection(stream: TcpStream, app: Router, mut stop: watch::Receiver<bool>) {
    let kill = Arc::new(Notify::new());
    let handle = ConnKill(kill.clone());
    let svc = tower::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(handle.clone());
        let mut app = app.clone();
        async move {
            use tower::Service;
            let r: Result<Response, Infallible> = app.call(req.map(Body::new)).await;
            r
        }
    });
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(
        TokioIo::new(stream),
        hyper_util::service::TowerToHyperService::new(svc),
    );
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
        _ = stop.wait_for(|s| *s) => {}
    }
}
