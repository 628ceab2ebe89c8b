//! Rate limits: a sliding one-second window per token and one for the whole workspace.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::auth::TokenId;
use super::state::Shared;
use crate::response::text;

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

/// Arrival times of the admitted requests of the last second.
#[derive(Debug, Default)]
struct Windows {
    per_token: HashMap<TokenId, VecDeque<Instant>>,
    workspace: VecDeque<Instant>,
}

/// The limiter: current limits (none = unlimited), windows and the count of 429s sent.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limits: Mutex<Option<RateLimits>>,
    windows: Mutex<Windows>,
    rejected: AtomicU64,
}

impl RateLimiter {
    pub fn new(limits: Option<RateLimits>) -> Self {
        RateLimiter {
            limits: Mutex::new(limits),
            windows: Mutex::new(Windows::default()),
            rejected: AtomicU64::new(0),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Option<RateLimits> {
        self.limits.lock().ok().and_then(|l| *l)
    }

    /// Replaces the limits.
    pub fn set(&self, limits: Option<RateLimits>) {
        if let Ok(mut l) = self.limits.lock() {
            *l = limits;
        }
    }

    /// 429s sent so far.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Admits a request of `token` now (and counts it) unless a window is full.
    fn admit(&self, token: TokenId, lim: RateLimits) -> bool {
        let now = Instant::now();
        let window = Duration::from_secs(1);
        let prune = |q: &mut VecDeque<Instant>| {
            while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
                q.pop_front();
            }
        };
        self.windows.lock().is_ok_and(|mut w| {
            prune(&mut w.workspace);
            let ws_len = w.workspace.len();
            let q = w.per_token.entry(token).or_default();
            prune(q);
            if q.len() >= lim.per_token as usize || ws_len >= lim.per_workspace as usize {
                return false;
            }
            q.push_back(now);
            w.workspace.push_back(now);
            true
        })
    }
}

/// HTTP 429 in plain text, with `Retry-After: 1` if asked.
pub(crate) fn too_many(retry_after: bool) -> Response {
    let mut r = text(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
    if retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

/// Answers 429 when the token's or the workspace's window is full (after auth).
pub(crate) async fn layer(
    State(sh): State<Arc<Shared>>,
    Extension(token): Extension<TokenId>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(lim) = sh.limiter.limits()
        && !sh.limiter.admit(token, lim)
    {
        sh.limiter.rejected.fetch_add(1, Ordering::Relaxed);
        return too_many(lim.retry_after);
    }
    next.run(req).await
}
