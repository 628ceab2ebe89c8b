//! The write phase of a run, read from the emulator's request log: what the server saw.

use std::time::{Duration, Instant};

use fibery_emulator::RequestRecord;

/// A request with a body of at least this many bytes is a write chunk: 50 or more entities
/// (a schema or option read before the first write is a few hundred bytes).
pub const MIN_WRITE_BYTES: u64 = 4096;

/// Requests from the first write chunk to the last request, as the emulator logged them.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// Requests admitted (not answered 429) in the phase.
    pub requests: usize,
    /// All requests of the run, reads before the writes included.
    pub total_requests: usize,
    /// From the first to the last arrival of the phase.
    pub secs: f64,
    /// Admitted requests per second: `(requests - 1) / secs`.
    pub rate: f64,
    /// 429 answers over the whole run.
    pub http_429: usize,
    /// Distinct tokens that sent requests.
    pub tokens: usize,
    /// Admitted requests in each whole second since the phase began.
    pub per_second: Vec<u32>,
}

impl Phase {
    /// The write phase of `log` (in any order). `None` if no request carried a body of at
    /// least `min_bytes`.
    pub fn of(log: &[RequestRecord], min_bytes: u64) -> Option<Phase> {
        let mut log: Vec<&RequestRecord> = log.iter().collect();
        log.sort_by_key(|r| r.at);
        let first = log
            .iter()
            .position(|r| r.path == "/api/commands" && r.bytes >= min_bytes)?;
        let start = log[first].at;
        let admitted: Vec<Instant> = log[first..]
            .iter()
            .filter(|r| r.status != 429)
            .map(|r| r.at)
            .collect();
        let secs = admitted
            .last()
            .map_or(Duration::ZERO, |l| l.duration_since(start))
            .as_secs_f64();
        let mut per_second = vec![0u32; secs as usize + 1];
        for at in &admitted {
            per_second[at.duration_since(start).as_secs() as usize] += 1;
        }
        let mut tokens: Vec<u32> = log.iter().filter_map(|r| r.token).collect();
        tokens.sort_unstable();
        tokens.dedup();
        Some(Phase {
            requests: admitted.len(),
            total_requests: log.len(),
            secs,
            rate: if secs > 0.0 {
                (admitted.len() - 1) as f64 / secs
            } else {
                0.0
            },
            http_429: log.iter().filter(|r| r.status == 429).count(),
            tokens: tokens.len(),
            per_second,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(at: Instant, kib: u64, status: u16, token: u32) -> RequestRecord {
        RequestRecord {
            at,
            path: "/api/commands".into(),
            commands: 1,
            status,
            token: Some(token),
            bytes: kib * 1024,
        }
    }

    #[test]
    fn the_phase_starts_at_the_first_write_chunk() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        // Out of order, as the log is (completion order).
        let log = [
            rec(ms(1200), 20, 200, 1),
            rec(ms(0), 0, 200, 0),
            rec(ms(100), 1, 200, 0),
            rec(ms(200), 20, 200, 0),
            rec(ms(500), 20, 429, 1),
            rec(ms(533), 20, 200, 1),
            rec(ms(866), 2, 200, 0),
        ];
        let p = Phase::of(&log, MIN_WRITE_BYTES).unwrap();
        assert_eq!(p.requests, 4);
        assert_eq!(p.total_requests, 7);
        assert!((p.secs - 1.0).abs() < 1e-9, "{p:?}");
        assert!((p.rate - 3.0).abs() < 1e-9, "{p:?}");
        assert_eq!(p.http_429, 1);
        assert_eq!(p.tokens, 2);
        assert_eq!(p.per_second, vec![3, 1]);
        assert_eq!(Phase::of(&log[1..3], MIN_WRITE_BYTES), None);
    }
}
