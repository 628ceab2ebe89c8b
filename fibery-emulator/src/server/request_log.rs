//! The request log: every API request with its arrival time, path, command count and status.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::auth::TokenId;
use super::state::Shared;

/// Log capacity (the oldest tenth is dropped when full).
const MAX_LOG: usize = 100_000;

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
    /// Index of the configured token the request presented (in the order the tokens were
    /// given), if it presented one and was answered.
    pub token: Option<u32>,
    /// Body size from `Content-Length` (0 when absent).
    pub bytes: u64,
}

/// When and where a request arrived; set by [`layer`] for layers that log themselves.
#[derive(Debug, Clone)]
pub(crate) struct Arrival {
    at: Instant,
    path: String,
    bytes: u64,
}

/// Number of commands in a request, set on the response by the commands handler.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CommandCount(pub usize);

/// The bounded log and the count of API requests.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: Mutex<Vec<RequestRecord>>,
    requests: AtomicU64,
}

impl RequestLog {
    /// Appends an entry; a full log keeps its most recent entries.
    pub fn record(&self, arrival: &Arrival, status: u16, commands: usize, token: Option<u32>) {
        if let Ok(mut l) = self.entries.lock() {
            if l.len() >= MAX_LOG {
                l.drain(..MAX_LOG / 10);
            }
            l.push(RequestRecord {
                at: arrival.at,
                path: arrival.path.clone(),
                commands,
                status,
                token,
                bytes: arrival.bytes,
            });
        }
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> Vec<RequestRecord> {
        self.entries.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// API requests received.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

/// Counts and logs every API request (outermost layer: sees 401s, 429s and faults too).
pub(crate) async fn layer(State(sh): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    sh.log.requests.fetch_add(1, Ordering::Relaxed);
    let arrival = Arrival {
        at: Instant::now(),
        path: req.uri().path().to_string(),
        bytes: req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .unwrap_or(0),
    };
    req.extensions_mut().insert(arrival.clone());
    let resp = next.run(req).await;
    let commands = resp.extensions().get::<CommandCount>().map_or(0, |c| c.0);
    let token = resp.extensions().get::<TokenId>().and_then(|t| t.index());
    sh.log
        .record(&arrival, resp.status().as_u16(), commands, token);
    resp
}
