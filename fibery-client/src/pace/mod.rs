//! Client-side pacing of both of Fibery's limits: a budget per token (3 requests/s) and one
//! per workspace (7 requests/s, all tokens), shared by every clone of a
//! [`Client`](crate::Client), every task using it and, through a process-wide registry,
//! every other client of the same workspace in the process. Each budget is a governor GCRA
//! limiter plus a guard of the server's sliding second (see `budget`). A client holding
//! several tokens sends each request on the first token that may go (round-robin on ties).
//! A 429 pauses the workspace and widens the margin.

mod budget;
mod registry;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use budget::Budget;
pub(crate) use registry::token_key;

/// The pacing settings of a [`ClientBuilder`](crate::ClientBuilder).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PacingConfig {
    /// Requests per second per token (0 turns all pacing off; `min_delay` still applies)
    /// and of the workspace over all tokens (0 = unlimited).
    pub(crate) per_second: (u32, u32),
    /// Requests a token may send back to back (1: evenly spaced).
    pub(crate) burst: u32,
    /// Assumed bound on how late after its send a request reaches the server.
    pub(crate) margin: Duration,
    /// Minimum pause between two requests of this pacer.
    pub(crate) min_delay: Duration,
}

impl PacingConfig {
    /// The per-token and per-workspace limits in force (`per_token == 0` turns both off).
    fn limits(&self) -> (u32, u32) {
        match self.per_second {
            (0, _) => (0, 0),
            limits => limits,
        }
    }
}

/// Which token and budget slots a request was given; hand it back with [`Pacer::answered`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    /// Index of the token to send with.
    pub(crate) token: usize,
    token_seq: u64,
    workspace_seq: u64,
}

/// Paces outgoing requests.
pub(crate) struct Pacer {
    tokens: Vec<Arc<Budget>>,
    workspace: Arc<Budget>,
    min_delay: Duration,
    /// The token tried first next time.
    next_token: AtomicUsize,
    /// FIFO gate: tasks acquire permits in arrival order (tokio's mutex is fair); holds the
    /// time of the last permit, for `min_delay`.
    gate: tokio::sync::Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("tokens", &self.tokens.len())
            .field("min_delay", &self.min_delay)
            .finish_non_exhaustive()
    }
}

impl Pacer {
    /// A pacer with budgets of its own for `tokens` tokens (shared with nobody).
    #[cfg(test)]
    pub(crate) fn new(cfg: PacingConfig, tokens: usize) -> Self {
        let (token, workspace) = cfg.limits();
        let own = |limit, burst| Arc::new(Budget::new(limit, burst, cfg.margin));
        let budgets = (0..tokens.max(1)).map(|_| own(token, cfg.burst)).collect();
        Self::with_budgets(cfg, budgets, own(workspace, workspace))
    }

    /// A pacer whose budgets are shared process-wide with every pacer of the same workspace
    /// (`base`) and token (`token_keys`, from [`token_key`]).
    pub(crate) fn shared(cfg: PacingConfig, base: &str, token_keys: &[u64]) -> Self {
        let (token, workspace) = cfg.limits();
        let budgets = token_keys
            .iter()
            .map(|k| registry::shared(base, Some(*k), token, cfg.burst, cfg.margin))
            .collect();
        let ws = registry::shared(base, None, workspace, workspace, cfg.margin);
        Self::with_budgets(cfg, budgets, ws)
    }

    fn with_budgets(cfg: PacingConfig, tokens: Vec<Arc<Budget>>, workspace: Arc<Budget>) -> Self {
        assert!(!tokens.is_empty(), "a pacer needs a token budget");
        Pacer {
            tokens,
            workspace,
            min_delay: cfg.min_delay,
            next_token: AtomicUsize::new(0),
            gate: tokio::sync::Mutex::new(None),
        }
    }

    /// Waits until a request may be sent, and says on which token.
    pub(crate) async fn acquire(&self) -> Ticket {
        let mut last = self.gate.lock().await;
        let (token, token_seq) = loop {
            let now = Instant::now();
            let wait = [
                last.map(|p| p + self.min_delay).filter(|t| *t > now),
                self.workspace.held_until(now),
            ];
            if let Some(until) = wait.into_iter().flatten().max() {
                tokio::time::sleep_until(until).await;
                continue;
            }
            match self.take_token(now) {
                Ok(taken) => break taken,
                Err(until) => tokio::time::sleep_until(until).await,
            }
        };
        // The workspace had room a moment ago; another pacer of it may have taken that.
        let workspace_seq = loop {
            match self.workspace.try_take(Instant::now()) {
                Ok(seq) => break seq,
                Err(until) => tokio::time::sleep_until(until).await,
            }
        };
        let now = Instant::now();
        self.tokens[token].sent_at(token_seq, now);
        *last = Some(now);
        Ticket {
            token,
            token_seq,
            workspace_seq,
        }
    }

    /// A slot on the first token (round-robin from the last one used) that may go `now`;
    /// else the earliest instant one may.
    fn take_token(&self, now: Instant) -> Result<(usize, u64), Instant> {
        let n = self.tokens.len();
        let first = self.next_token.load(Ordering::Relaxed);
        let mut earliest: Option<Instant> = None;
        for i in (0..n).map(|j| (first + j) % n) {
            match self.tokens[i].try_take(now) {
                Ok(seq) => {
                    self.next_token.store((i + 1) % n, Ordering::Relaxed);
                    return Ok((i, seq));
                }
                Err(at) => earliest = Some(earliest.map_or(at, |e| e.min(at))),
            }
        }
        Err(earliest.unwrap_or(now))
    }

    /// The response head of `ticket`'s request came back (now); `rate_limited` if it is a
    /// 429, which widens the margin of its budgets.
    pub(crate) fn answered(&self, ticket: &Ticket, rate_limited: bool) {
        let now = Instant::now();
        self.workspace
            .answered(ticket.workspace_seq, now, rate_limited);
        self.tokens[ticket.token].answered(ticket.token_seq, now, rate_limited);
    }

    /// Stops every request of the workspace for `d` (a 429's `Retry-After`, or the backoff).
    pub(crate) fn pause_for(&self, d: Duration) {
        self.workspace.pause_until(Instant::now() + d);
    }

    /// Number of tokens requests are spread over.
    #[cfg(test)]
    pub(crate) fn tokens(&self) -> usize {
        self.tokens.len()
    }
}

#[cfg(test)]
mod tests;
