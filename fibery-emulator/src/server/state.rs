//! The state shared by every layer and handler.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use fibery_core::error::FiberyError;
use serde::{Deserialize, Serialize};

use super::admin_guard::AdminToken;
use super::auth::Tokens;
use super::faults::FaultInjector;
use super::rate_limit::RateLimiter;
use super::request_log::RequestLog;
use crate::api::commands::Behaviour;
use crate::api::outbound::OutboundRule;
use crate::error;
use crate::store::{Persistence, Store};

/// Counters readable through [`Emulator::stats`](crate::Emulator::stats) and
/// `GET /_emulator/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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

/// The workspace plus each layer's state.
pub(crate) struct Shared {
    /// Readers (queries, document and file reads) share it; writes take it alone.
    pub store: RwLock<Store>,
    pub persistence: Persistence,
    pub tokens: Tokens,
    /// Accepted by `/_emulator/*` besides the API tokens.
    pub admin_token: AdminToken,
    pub limiter: RateLimiter,
    pub faults: FaultInjector,
    pub log: RequestLog,
    /// Commands executed.
    pub commands: AtomicU64,
    /// Switches for undocumented command behaviour.
    pub behaviour: Behaviour,
    /// Which URLs webhook deliveries and `/api/files/from-url` may call.
    pub outbound: OutboundRule,
    /// Client for webhook deliveries and `/api/files/from-url` (redirects checked by `outbound`).
    pub http: reqwest::Client,
    /// OAuth apps and the tokens issued to them.
    pub oauth: crate::api::oauth::Registry,
    /// The lane expensive read-only requests queue for.
    pub heavy: crate::api::commands::HeavyLane,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("tokens", &self.tokens)
            .field("persistence", &self.persistence)
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// The workspace for writing, or `server/poisoned` after a handler panicked holding it.
    pub fn store(&self) -> Result<RwLockWriteGuard<'_, Store>, FiberyError> {
        self.store.write().map_err(|_| error::unavailable())
    }

    /// The workspace for reading (shared with other readers).
    pub fn read(&self) -> Result<RwLockReadGuard<'_, Store>, FiberyError> {
        self.store.read().map_err(|_| error::unavailable())
    }

    /// Current counters.
    pub fn stats(&self) -> Stats {
        Stats {
            requests: self.log.requests(),
            commands: self.commands.load(Ordering::Relaxed),
            rate_limited: self.limiter.rejected(),
            faults_injected: self.faults.injected(),
            entities: self
                .store
                .read()
                .map(|s| s.count_entities() as u64)
                .unwrap_or(0),
        }
    }
}
