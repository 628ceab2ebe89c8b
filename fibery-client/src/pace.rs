//! Client-side pacing: a governor quota plus a minimum delay, shared by every clone of a
//! [`Client`](crate::Client) and every task using it. A 429 pauses the pacer.
//!
//! governor's own `until_ready` sleeps on a real-time timer, so the pacer drives governor
//! with a clock backed by tokio's (pausable) clock and waits with `tokio::time::sleep`:
//! tests under `#[tokio::test(start_paused = true)]` run the same code path in virtual time.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::time::Instant;

/// A governor clock that reads tokio's clock (so `tokio::time::pause` applies to it).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TokioClock;

impl Clock for TokioClock {
    type Instant = std::time::Instant;
    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// Paces outgoing requests.
pub(crate) struct Pacer {
    limiter: Option<Limiter>,
    min_delay: Duration,
    /// FIFO gate: tasks acquire permits in arrival order (tokio's mutex is fair).
    gate: tokio::sync::Mutex<Option<Instant>>,
    paused_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("limited", &self.limiter.is_some())
            .field("min_delay", &self.min_delay)
            .finish()
    }
}

impl Pacer {
    /// `per_second == 0` disables the quota (min_delay still applies).
    pub(crate) fn new(per_second: u32, burst: u32, min_delay: Duration, margin: Duration) -> Self {
        let limiter = NonZeroU32::new(per_second).map(|n| {
            let period = Duration::from_secs(1) / n.get() + margin;
            let quota = Quota::with_period(period)
                .expect("period is non-zero")
                .allow_burst(NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN));
            RateLimiter::direct_with_clock(quota, TokioClock)
        });
        Pacer {
            limiter,
            min_delay,
            gate: tokio::sync::Mutex::new(None),
            paused_until: Mutex::new(None),
        }
    }

    /// Waits until a request may be sent.
    pub(crate) async fn acquire(&self) {
        let mut last = self.gate.lock().await;
        loop {
            let now = Instant::now();
            let paused = *self.paused_until.lock().expect("pacer lock");
            if let Some(until) = paused
                && until > now
            {
                tokio::time::sleep_until(until).await;
                continue;
            }
            if let Some(prev) = *last {
                let next = prev + self.min_delay;
                if next > now {
                    tokio::time::sleep_until(next).await;
                    continue;
                }
            }
            if let Some(limiter) = &self.limiter
                && let Err(not_until) = limiter.check()
            {
                tokio::time::sleep(not_until.wait_time_from(TokioClock.now())).await;
                continue;
            }
            *last = Some(Instant::now());
            return;
        }
    }

    /// Stops every request for `d` (a 429's `Retry-After`, or the backoff delay).
    pub(crate) fn pause_for(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut p = self.paused_until.lock().expect("pacer lock");
        if p.is_none_or(|cur| cur < until) {
            *p = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn three_per_second_burst_one() {
        let p = Pacer::new(3, 1, Duration::ZERO, Duration::ZERO);
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..7 {
            p.acquire().await;
            at.push(start.elapsed());
        }
        // Any window of 1 s (half-open) holds at most 3 permits.
        for (i, t) in at.iter().enumerate() {
            let in_window = at[i..]
                .iter()
                .filter(|u| **u < *t + Duration::from_secs(1))
                .count();
            assert!(in_window <= 3, "{at:?}");
        }
        assert!(at[6] >= Duration::from_secs(2), "{at:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn min_delay_and_pause() {
        let p = Pacer::new(0, 1, Duration::from_millis(500), Duration::ZERO);
        let start = Instant::now();
        p.acquire().await;
        p.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(500));
        p.pause_for(Duration::from_secs(2));
        p.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(2500));
    }
}
