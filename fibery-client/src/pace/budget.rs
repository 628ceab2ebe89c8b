//! One rate budget (a token's, or a whole workspace's): a governor GCRA limiter for the
//! steady spacing and the burst, and on top of it a guard of the last `limit` sends that
//! keeps the server's sliding second, counted by arrival, from ever holding more than
//! `limit` requests.
//!
//! governor's own `until_ready` sleeps on a real-time timer, so the budget drives governor
//! with a clock backed by tokio's (pausable) clock and the pacer waits with
//! `tokio::time::sleep`: tests under `#[tokio::test(start_paused = true)]` run the same code
//! path in virtual time.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);
/// Round trips remembered to tell the usual one from a late one.
const RTT_SAMPLES: usize = 16;
/// Bounds of the margin after a 429 widened it.
const MIN_WIDENED: Duration = Duration::from_millis(10);
const MAX_MARGIN: Duration = Duration::from_millis(500);

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

/// A request this budget let go.
#[derive(Debug, Clone, Copy)]
struct Sent {
    seq: u64,
    /// When it was sent (the server cannot have counted it earlier).
    at: Instant,
    /// When its response head came back (the server counted it by then), and how much
    /// longer than the usual round trip it took.
    answer: Option<(Instant, Duration)>,
}

/// The guard's state, behind the budget's mutex.
#[derive(Debug)]
struct Guard {
    /// The assumed bound on how late after its send a request reaches the server.
    margin: Duration,
    paused_until: Option<Instant>,
    /// The last `limit` sends, oldest first.
    sent: VecDeque<Sent>,
    /// The latest round trips (send to response head) and their excess over the usual one,
    /// oldest first.
    rtts: VecDeque<(Duration, Duration)>,
    next_seq: u64,
}

/// A rate budget shared by every pacer that sends on it.
pub(crate) struct Budget {
    /// Requests per second; 0 = unlimited.
    limit: usize,
    limiter: Option<Limiter>,
    guard: Mutex<Guard>,
}

impl std::fmt::Debug for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budget")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl Budget {
    /// `limit` requests per second (`0`: unlimited), at most `burst` back to back, each
    /// assumed to reach the server within `margin` of its send.
    pub(crate) fn new(limit: u32, burst: u32, margin: Duration) -> Self {
        let limiter = NonZeroU32::new(limit).map(|n| {
            let burst = NonZeroU32::new(burst.clamp(1, n.get())).unwrap_or(NonZeroU32::MIN);
            RateLimiter::direct_with_clock(Quota::per_second(n).allow_burst(burst), TokioClock)
        });
        Budget {
            limit: limit as usize,
            limiter,
            guard: Mutex::new(Guard {
                margin,
                paused_until: None,
                sent: VecDeque::new(),
                rtts: VecDeque::new(),
                next_seq: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Guard> {
        self.guard.lock().expect("pacing budget lock")
    }

    /// When the guard (pause and sliding second) lets the next request go, if it holds it.
    pub(crate) fn held_until(&self, now: Instant) -> Option<Instant> {
        self.lock().due(self.limit).filter(|d| *d > now)
    }

    /// Takes a slot for a request sent `now` and returns its sequence number, or says when
    /// to try again. governor is asked only once the guard agrees, so a refusal by the
    /// guard costs governor no cell.
    pub(crate) fn try_take(&self, now: Instant) -> Result<u64, Instant> {
        let mut g = self.lock();
        if let Some(due) = g.due(self.limit).filter(|d| *d > now) {
            return Err(due);
        }
        if let Some(l) = &self.limiter
            && let Err(not_until) = l.check()
        {
            return Err(now + not_until.wait_time_from(TokioClock.now()));
        }
        Ok(g.record(now, self.limit))
    }

    /// The request `seq` actually left at `at` (later than its slot was taken).
    pub(crate) fn sent_at(&self, seq: u64, at: Instant) {
        if let Some(s) = self.lock().sent.iter_mut().find(|s| s.seq == seq) {
            s.at = at;
        }
    }

    /// The response head of request `seq` came back at `at`; a 429 widens the margin.
    pub(crate) fn answered(&self, seq: u64, at: Instant, rate_limited: bool) {
        let mut g = self.lock();
        g.answered(seq, at);
        if rate_limited {
            g.margin = (g.margin * 2).clamp(MIN_WIDENED, MAX_MARGIN);
        }
    }

    /// Holds every request until `until` (a later pause wins).
    pub(crate) fn pause_until(&self, until: Instant) {
        let mut g = self.lock();
        if g.paused_until.is_none_or(|p| p < until) {
            g.paused_until = Some(until);
        }
    }

    /// The margin currently assumed.
    #[cfg(test)]
    pub(crate) fn margin(&self) -> Duration {
        self.lock().margin
    }
}

impl Guard {
    /// When the next request is due, if anything holds it back: a pause, or the
    /// `limit`-th send before it not yet a second past the latest time the server can have
    /// counted it.
    fn due(&self, limit: usize) -> Option<Instant> {
        let mut due = self.paused_until;
        if limit > 0 && self.sent.len() >= limit {
            let oldest = &self.sent[self.sent.len() - limit];
            due = due.max(Some(self.counted_by(oldest) + SECOND));
        }
        due
    }

    /// The latest instant the server can have counted `s` at, as far as the client knows:
    /// its response head if that came back within the margin (or within the round trip's
    /// excess over the usual one, which may have been spent getting there), else its send
    /// plus that much. Late excess of recent answers widens the bound of requests still in
    /// flight, so a loaded host or network is allowed for before it causes a 429.
    fn counted_by(&self, s: &Sent) -> Instant {
        let late = self.recent_excess().max(self.margin);
        match s.answer {
            None => s.at + late,
            Some((head, excess)) => head.min(s.at + self.margin.max(excess)),
        }
    }

    /// The largest excess round trip among the latest answers (the first answer, having
    /// nothing to compare with, does not count here).
    fn recent_excess(&self) -> Duration {
        let excess = self.rtts.iter().map(|(_, e)| *e);
        excess.max().unwrap_or(Duration::ZERO).min(MAX_MARGIN)
    }

    fn record(&mut self, at: Instant, limit: usize) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if limit > 0 {
            self.sent.push_back(Sent {
                seq,
                at,
                answer: None,
            });
            while self.sent.len() > limit {
                self.sent.pop_front();
            }
        }
        seq
    }

    fn answered(&mut self, seq: u64, at: Instant) {
        let Some(i) = self.sent.iter().position(|s| s.seq == seq) else {
            return;
        };
        let rtt = at.saturating_duration_since(self.sent[i].at);
        // Without an earlier round trip to compare with, the whole round trip is excess.
        let usual = self
            .rtts
            .iter()
            .map(|(r, _)| *r)
            .min()
            .unwrap_or(Duration::ZERO);
        let excess = rtt.saturating_sub(usual);
        self.sent[i].answer = Some((at, excess));
        let known = if self.rtts.is_empty() {
            Duration::ZERO
        } else {
            excess
        };
        self.rtts.push_back((rtt, known));
        if self.rtts.len() > RTT_SAMPLES {
            self.rtts.pop_front();
        }
    }
}
