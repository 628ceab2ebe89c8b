//! A webhook receiver to mount in your own axum server (feature `receiver`).
//!
//! [`Receiver`] answers Fibery's POSTs at once and hands the parsed [`Event`]s, in arrival
//! order, to your handler running in a task of its own, through a bounded queue. A slow
//! handler therefore never makes Fibery wait; it only fills the queue.
//!
//! **Overflow.** When the queue is full, a POST waits up to [`Overflow::WaitUpTo`] for room
//! (default 2 s), then (or at once with [`Overflow::Reject`]) is answered `503 Service
//! Unavailable` with `Retry-After: 1`, and [`ReceiverStats::rejected`] counts it. The event is
//! never dropped silently inside the receiver, but Fibery documents no retry policy for
//! failed deliveries, so treat a rejected POST as lost: size the queue for your bursts, and
//! reconcile with the change feed ([`Client::changes`](crate::Client::changes)) after an
//! outage or a rejection.
//!
//! **Protection.** Fibery signs nothing (no signature or secret header is documented), so
//! the only protection is an unguessable URL: the receiver serves exactly one path,
//! `/<secret>`, compares it in constant time and answers anything else `404`. Use
//! [`Receiver::random_secret`] (244 random bits), serve it over HTTPS only (the secret is in
//! the URL), and keep it out of logs. Bodies over 4 MiB and non-JSON bodies get `413`/`400`.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use fibery_client::Client;
//! use fibery_client::receiver::Receiver;
//!
//! let secret = Receiver::random_secret();
//! let receiver = Receiver::builder()
//!     .path_secret(&secret)
//!     .capacity(1024)
//!     .build(|event| async move {
//!         for e in &event.effects {
//!             println!("{} {} {:?}", e.kind.as_str(), e.id, e.changed_fields());
//!         }
//!     });
//! let app = axum::Router::new().nest("/fibery-hooks", receiver.router());
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! let client = Client::builder().account("acme").token_from_env().build()?;
//! let url = format!("https://hooks.example.com/fibery-hooks{}", receiver.path());
//! let hook = client.create_webhook(&url, "Projects/Task").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::events::Event;

/// Largest webhook body accepted.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// What a POST does when the queue is full (see the [module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    /// Answer `503` at once.
    Reject,
    /// Wait up to this long for room, then answer `503`.
    WaitUpTo(Duration),
}

/// Counters of a [`Receiver`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiverStats {
    /// Events accepted into the queue (answered `200`).
    pub accepted: u64,
    /// Events the handler has finished.
    pub handled: u64,
    /// POSTs answered `503` because the queue was full or the receiver closed.
    pub rejected: u64,
    /// POSTs whose body was not an event (answered `400`).
    pub malformed: u64,
    /// Requests to any other path than the secret one (answered `404`).
    pub wrong_path: u64,
}

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    handled: AtomicU64,
    rejected: AtomicU64,
    malformed: AtomicU64,
    wrong_path: AtomicU64,
}

struct Shared {
    secret: SecretString,
    overflow: Overflow,
    /// `None` once [`Receiver::close`] was called.
    queue: Mutex<Option<mpsc::Sender<Event>>>,
    counters: Counters,
}

/// Configures a [`Receiver`]; start with [`Receiver::builder`].
#[must_use]
pub struct ReceiverBuilder {
    secret: Option<SecretString>,
    capacity: usize,
    overflow: Overflow,
}

impl std::fmt::Debug for ReceiverBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverBuilder")
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("capacity", &self.capacity)
            .field("overflow", &self.overflow)
            .finish()
    }
}

impl ReceiverBuilder {
    /// The path secret (default: a fresh [`Receiver::random_secret`]). It must be URL-safe
    /// (ASCII letters, digits, `-`, `_`); anything else is replaced by a random one.
    pub fn path_secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(SecretString::from(secret.into()));
        self
    }

    /// Events the queue holds before [`Overflow`] applies (default 1024, at least 1).
    pub fn capacity(mut self, n: usize) -> Self {
        self.capacity = n.max(1);
        self
    }

    /// What a POST does when the queue is full (default `WaitUpTo(2 s)`).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// Starts the handler task (needs a Tokio runtime) and returns the receiver. `handler`
    /// gets every accepted event, one at a time, in arrival order.
    pub fn build<F, Fut>(self, handler: F) -> Receiver
    where
        F: FnMut(Event) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let secret = self
            .secret
            .filter(|s| {
                let s = s.expose_secret();
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .unwrap_or_else(|| SecretString::from(Receiver::random_secret()));
        let (tx, rx) = mpsc::channel(self.capacity);
        let shared = Arc::new(Shared {
            secret,
            overflow: self.overflow,
            queue: Mutex::new(Some(tx)),
            counters: Counters::default(),
        });
        let worker = tokio::spawn(run_handler(rx, handler, shared.clone()));
        Receiver {
            shared,
            worker: Mutex::new(Some(worker)),
        }
    }
}

async fn run_handler<F, Fut>(mut rx: mpsc::Receiver<Event>, mut handler: F, shared: Arc<Shared>)
where
    F: FnMut(Event) -> Fut,
    Fut: Future<Output = ()>,
{
    while let Some(event) = rx.recv().await {
        handler(event).await;
        shared.counters.handled.fetch_add(1, Ordering::Relaxed);
    }
}

/// A webhook endpoint: [`router`](Self::router) to mount, a handler task behind a bounded
/// queue. See the [module docs](self).
pub struct Receiver {
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("secret", &"[REDACTED]")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// Starts configuring a receiver.
    pub fn builder() -> ReceiverBuilder {
        ReceiverBuilder {
            secret: None,
            capacity: 1024,
            overflow: Overflow::WaitUpTo(Duration::from_secs(2)),
        }
    }

    /// A fresh unguessable path secret: 64 hex digits from two random UUIDs (244 random bits).
    pub fn random_secret() -> String {
        format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )
    }

    /// The path to register, relative to where the router is mounted: `/<secret>`. It
    /// contains the secret: do not log it.
    pub fn path(&self) -> String {
        format!("/{}", self.shared.secret.expose_secret())
    }

    /// The axum router serving `POST /<secret>`; mount it with `Router::nest` or serve it.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/{secret}", post(receive))
            .fallback(wrong_path)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(self.shared.clone())
    }

    /// Serves this receiver alone (at `/<secret>`) on `listener` until `shutdown`
    /// completes; to share a server with other routes, mount [`router`](Self::router).
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// The counters so far.
    pub fn stats(&self) -> ReceiverStats {
        let c = &self.shared.counters;
        ReceiverStats {
            accepted: c.accepted.load(Ordering::Relaxed),
            handled: c.handled.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            malformed: c.malformed.load(Ordering::Relaxed),
            wrong_path: c.wrong_path.load(Ordering::Relaxed),
        }
    }

    /// Stops accepting (later POSTs get `503`) and waits until the handler has finished
    /// every event already accepted.
    pub async fn close(&self) {
        drop(self.shared.queue.lock().expect("receiver lock").take());
        let worker = self.worker.lock().expect("receiver lock").take();
        if let Some(w) = worker {
            let _ = w.await;
        }
    }
}

async fn wrong_path(State(sh): State<Arc<Shared>>) -> Response {
    sh.counters.wrong_path.fetch_add(1, Ordering::Relaxed);
    StatusCode::NOT_FOUND.into_response()
}

async fn receive(
    State(sh): State<Arc<Shared>>,
    Path(secret): Path<String>,
    body: Bytes,
) -> Response {
    if !same(secret.as_bytes(), sh.secret.expose_secret().as_bytes()) {
        return wrong_path(State(sh)).await;
    }
    let Ok(event) = Event::from_slice(&body) else {
        sh.counters.malformed.fetch_add(1, Ordering::Relaxed);
        return StatusCode::BAD_REQUEST.into_response();
    };
    let tx = sh.queue.lock().expect("receiver lock").clone();
    let sent = match (tx, sh.overflow) {
        (None, _) => false,
        (Some(tx), Overflow::Reject) => tx.try_send(event).is_ok(),
        (Some(tx), Overflow::WaitUpTo(d)) => tx.send_timeout(event, d).await.is_ok(),
    };
    if sent {
        sh.counters.accepted.fetch_add(1, Ordering::Relaxed);
        StatusCode::OK.into_response()
    } else {
        sh.counters.rejected.fetch_add(1, Ordering::Relaxed);
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
        )
            .into_response()
    }
}

/// Constant-time equality (length is not secret).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_distinct_and_compared_exactly() {
        let (a, b) = (Receiver::random_secret(), Receiver::random_secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(same(a.as_bytes(), a.as_bytes()));
        assert!(!same(a.as_bytes(), b.as_bytes()));
        assert!(!same(a.as_bytes(), &a.as_bytes()[..63]));
    }
}
