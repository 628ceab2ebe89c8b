//! Fault injection: added latency, dropped connections, injected 429s and 5xx answers, drawn
//! per request from a seeded generator.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::ConnKill;
use super::rate_limit::too_many;
use super::request_log::Arrival;
use super::state::Shared;
use crate::response::text;

/// Fault injection settings. Probabilities are in `0.0..=1.0` and drawn per request from a
/// seeded generator, so a run is reproducible for a given request sequence. As JSON (`GET|PUT
/// /_emulator/faults`) the latency is `latency_ms`; missing keys default to no fault.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Probability of answering HTTP 500, 502 or 503 (equally likely).
    pub error_5xx: f64,
    /// Probability of answering HTTP 429 regardless of the real rate.
    pub rate_limited: f64,
    /// Probability of closing the connection without any response.
    pub drop: f64,
    /// Latency added to every API request.
    #[serde(rename = "latency_ms", with = "millis")]
    pub latency: Duration,
    /// Seed of the fault generator.
    pub seed: u64,
}

impl Faults {
    /// Probabilities clamped to `0..=1` (not-a-number -> 0), latency capped at 60 s: what the
    /// admin endpoint accepts.
    pub(crate) fn sanitized(self) -> Faults {
        let p = |x: f64| {
            if x.is_finite() {
                x.clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        Faults {
            error_5xx: p(self.error_5xx),
            rate_limited: p(self.rate_limited),
            drop: p(self.drop),
            latency: self.latency.min(Duration::from_secs(60)),
            seed: self.seed,
        }
    }
}

/// `Duration` as whole milliseconds.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// What a request suffers.
enum Fault {
    Drop,
    RateLimited,
    Error(StatusCode, &'static str),
}

/// The settings, their generator and the count of faults injected.
#[derive(Debug)]
pub(crate) struct FaultInjector {
    state: Mutex<(Faults, StdRng)>,
    injected: AtomicU64,
}

impl FaultInjector {
    pub fn new(faults: Faults) -> Self {
        FaultInjector {
            state: Mutex::new((faults, StdRng::seed_from_u64(faults.seed))),
            injected: AtomicU64::new(0),
        }
    }

    /// The settings in force.
    pub fn get(&self) -> Faults {
        self.state.lock().map(|g| g.0).unwrap_or_default()
    }

    /// Replaces the settings, re-seeding the generator.
    pub fn set(&self, f: Faults) {
        if let Ok(mut g) = self.state.lock() {
            *g = (f, StdRng::seed_from_u64(f.seed));
        }
    }

    /// Faults injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// The latency and fault for the next request (four draws per request, always).
    fn draw(&self) -> (Duration, Option<Fault>) {
        let Ok(mut g) = self.state.lock() else {
            return (Duration::ZERO, None);
        };
        let f = g.0;
        let (drop, limited, error): (f64, f64, f64) = (g.1.random(), g.1.random(), g.1.random());
        let which: u8 = g.1.random_range(0..3);
        let fault = if drop < f.drop {
            Some(Fault::Drop)
        } else if limited < f.rate_limited {
            Some(Fault::RateLimited)
        } else if error < f.error_5xx {
            Some(match which {
                0 => Fault::Error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
                1 => Fault::Error(StatusCode::BAD_GATEWAY, "Bad Gateway"),
                _ => Fault::Error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
            })
        } else {
            None
        };
        if fault.is_some() {
            self.injected.fetch_add(1, Ordering::Relaxed);
        }
        (f.latency, fault)
    }
}

/// Sleeps the configured latency, then maybe drops the connection or answers 429 / 5xx
/// instead of running the request (after auth and the real limiter).
pub(crate) async fn layer(State(sh): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let (latency, fault) = sh.faults.draw();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        None => next.run(req).await,
        Some(Fault::Drop) => {
            let Some(kill) = req.extensions().get::<ConnKill>() else {
                return text(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
            };
            if let Some(a) = req.extensions().get::<Arrival>() {
                sh.log.record(a, 0, 0, None);
            }
            kill.0.notify_one();
            // The connection task ends this future with the connection: no answer at all.
            std::future::pending().await
        }
        Some(Fault::RateLimited) => {
            let ra = sh.limiter.limits().map(|l| l.retry_after).unwrap_or(true);
            too_many(ra)
        }
        Some(Fault::Error(status, body)) => text(status, body),
    }
}
