//! Which failures are retried, and how long to wait.
//!
//! Retries run with exponential backoff and full jitter ([`backon`]); a `Retry-After` from
//! the server replaces the computed delay, capped at [`RetryPolicy::max_retry_after`]. The
//! same loop and the same cap serve every request, streaming file downloads included.
//! Every retry is logged with `tracing::warn!` (target `fibery_client::transport`).
//!
//! | failure | idempotent request | other request |
//! |---|---|---|
//! | 429 (not processed) | retry | retry |
//! | connection refused, unknown host (nothing sent) | at most [`MAX_CONNECT_RETRIES`], quick | same |
//! | 5xx, timeout, connection reset, truncated body | retry | **no** |
//! | 401/403, 4xx, validation, command errors, undecodable answers | no | no |
//!
//! A `/api/commands` request is idempotent when each of its commands is, by core's one rule
//! [`Command::is_idempotent`](fibery_core::command::Command::is_idempotent): queries, schema
//! reads, updates, upserts, collection add/remove, creates that carry a client-generated
//! `fibery/id` (a repeated create cannot duplicate; the client reconciles "already exists"
//! answers) and batches of those. Deletes (a repeat fails as "not found"), schema mutations
//! and [`Command::Raw`](fibery_core::command::Command::Raw) commands are not. Other
//! endpoints: document reads and writes, schema reads, file downloads and webhook listing
//! and deletion are idempotent; uploads and webhook creation are not.

use std::time::Duration;

use crate::error::Error;

/// Retry budget and backoff shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 8; 0 disables retries).
    pub max_retries: usize,
    /// First backoff delay (default 500 ms), doubled each retry, with jitter.
    pub initial_backoff: Duration,
    /// Cap on one backoff delay (default 30 s).
    pub max_backoff: Duration,
    /// Cap on the total time spent sleeping between attempts (default 5 min).
    pub max_elapsed: Option<Duration>,
    /// Cap applied to a server's `Retry-After`, both to the wait before the retry and to
    /// the pause of the pacer (default 60 s).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 8,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_elapsed: Some(Duration::from_secs(300)),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Default::default()
        }
    }

    /// Sets [`max_retries`](Self::max_retries).
    pub fn with_max_retries(mut self, n: usize) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets [`initial_backoff`](Self::initial_backoff).
    pub fn with_initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// Sets [`max_backoff`](Self::max_backoff).
    pub fn with_max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// Sets [`max_elapsed`](Self::max_elapsed).
    pub fn with_max_elapsed(mut self, d: Option<Duration>) -> Self {
        self.max_elapsed = d;
        self
    }

    /// The backoff schedule: exponential from `initial_backoff`, capped at `max_backoff`,
    /// with jitter, at most `max_retries` retries and `max_elapsed` of total sleeping.
    pub(crate) fn backoff(&self) -> backon::ExponentialBuilder {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.initial_backoff)
            .with_max_delay(self.max_backoff)
            .with_max_times(self.max_retries)
            .with_total_delay(self.max_elapsed)
            .with_jitter()
    }

    /// Sets [`max_retry_after`](Self::max_retry_after).
    pub fn with_max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }
}

/// Retries of a request that could not connect at all (connection refused, unknown host,
/// TLS handshake): a wrong URL or port should fail in seconds, not after the full budget.
pub const MAX_CONNECT_RETRIES: u32 = 2;

/// Cap on the wait before retrying a failed connection.
pub(crate) const MAX_CONNECT_BACKOFF: Duration = Duration::from_secs(1);

/// Whether `e` is a failure to connect (nothing was sent).
pub(crate) fn is_connect_failure(e: &Error) -> bool {
    matches!(e, Error::Transport { sent: false, source } if source.is_connect())
}

/// Whether a request may be repeated after it possibly reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Safety {
    /// Repeating cannot change the outcome.
    Idempotent,
    /// Repeating could apply the request twice.
    Unsafe,
}

/// The retry decision (pure; table-tested below).
pub(crate) fn should_retry(e: &Error, safety: Safety) -> bool {
    match e {
        Error::RateLimited { .. } => true,
        Error::Transport { sent: false, .. } | Error::Timeout { sent: false } => true,
        Error::Transport { .. } | Error::Timeout { .. } => safety == Safety::Idempotent,
        Error::Server { status, .. } => *status >= 500 && safety == Safety::Idempotent,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FiberyError;
    use serde_json::Value;

    fn server(status: u16) -> Error {
        Error::Server {
            status,
            error: Box::new(FiberyError {
                name: "x".into(),
                message: "y".into(),
                data: Value::Null,
            }),
        }
    }

    #[test]
    fn decision_table() {
        use Safety::*;
        let cases: Vec<(Error, bool, bool)> = vec![
            (Error::RateLimited { retry_after: None }, true, true),
            (Error::Timeout { sent: true }, true, false),
            (Error::Timeout { sent: false }, true, true),
            (server(500), true, false),
            (server(503), true, false),
            (server(400), false, false),
            (
                Error::Auth {
                    status: 401,
                    message: String::new(),
                },
                false,
                false,
            ),
            (Error::Config("x".into()), false, false),
            (Error::InvalidInput("x".into()), false, false),
            (Error::BatcherStopped { sent: false }, false, false),
            (Error::BatcherStopped { sent: true }, false, false),
            // Undecodable answers are never retried, whatever was being decoded.
            (Error::decode("response body", "truncated"), false, false),
            (Error::decode("query row", "bad"), false, false),
        ];
        for (e, idem, unsafe_) in cases {
            assert_eq!(should_retry(&e, Idempotent), idem, "{e}");
            assert_eq!(should_retry(&e, Unsafe), unsafe_, "{e}");
        }
    }

    /// Runs an always-failing operation under the policy in virtual time; returns the
    /// number of attempts and the virtual time spent.
    async fn run(policy: RetryPolicy) -> (u32, Duration) {
        use backon::Retryable;
        let start = tokio::time::Instant::now();
        let attempts = std::sync::atomic::AtomicU32::new(0);
        let r: Result<(), Error> = (|| async {
            attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Err(Error::RateLimited { retry_after: None })
        })
        .retry(policy.backoff())
        .await;
        assert!(r.is_err());
        (attempts.into_inner(), start.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_is_exponential_with_jitter_and_bounded() {
        let p = RetryPolicy::default()
            .with_max_retries(4)
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_secs(10))
            .with_max_elapsed(None);
        let (n, t) = run(p).await;
        assert_eq!(n, 5);
        // 100 + 200 + 400 + 800 ms, each plus up to 100% jitter.
        assert!(
            t >= Duration::from_millis(1500) && t <= Duration::from_millis(3000),
            "{t:?}"
        );
        // The per-delay cap.
        let (n, t) = run(p.with_max_backoff(Duration::from_millis(150))).await;
        assert_eq!(n, 5);
        assert!(t <= Duration::from_millis(4 * 300), "{t:?}");
        // The total budget stops retrying early.
        let (n, t) = run(p
            .with_max_retries(50)
            .with_max_elapsed(Some(Duration::from_secs(2))))
        .await;
        assert!(n < 10, "{n}");
        assert!(t <= Duration::from_secs(2), "{t:?}");
        // No retries at all.
        assert_eq!(run(RetryPolicy::none()).await.0, 1);
    }
}
