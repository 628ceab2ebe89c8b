//! The emulator's own endpoints under `/_emulator/`: counters, fault settings, the request log.
//! Behind [`admin_guard`](super::admin_guard): a credential and JSON bodies.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::admin_guard;
use super::faults::Faults;
use super::state::Shared;
use crate::response::{Answer, bad_request, json};

/// The admin routes, behind the admin guard.
pub(crate) fn routes(sh: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/stats", get(stats))
        .route(
            "/_emulator/faults",
            get(faults_get).put(faults_put).post(faults_put),
        )
        .route("/_emulator/requests", get(requests))
        .layer(axum::middleware::from_fn_with_state(sh, admin_guard::layer))
}

async fn stats(State(sh): State<Arc<Shared>>) -> Response {
    json(sh.stats())
}

async fn faults_get(State(sh): State<Arc<Shared>>) -> Response {
    json(sh.faults.get())
}

/// Replaces the fault settings (probabilities clamped, latency capped).
async fn faults_put(State(sh): State<Arc<Shared>>, body: Bytes) -> Answer {
    let f = serde_json::from_slice::<Faults>(&body).map_err(|e| {
        bad_request(&format!(
            "Expected {{error_5xx, rate_limited, drop, latency_ms, seed}}: {e}"
        ))
    })?;
    let f = f.sanitized();
    sh.faults.set(f);
    Ok(json(f))
}

/// The log with arrival times in ms since the first entry.
async fn requests(State(sh): State<Arc<Shared>>) -> Response {
    let log = sh.log.entries();
    let start = log.first().map(|r| r.at);
    let list: Vec<Value> = log
        .iter()
        .map(|r| {
            let ms = start.map_or(0, |s| r.at.duration_since(s).as_millis() as u64);
            json!({"ms": ms, "path": r.path, "commands": r.commands, "status": r.status})
        })
        .collect();
    json(list)
}
