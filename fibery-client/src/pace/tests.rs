//! The pacer's schedule in virtual time (tokio's paused clock).

use std::time::Duration;

use tokio::time::Instant;

use super::budget::Budget;
use super::{Pacer, PacingConfig};

const MARGIN: Duration = Duration::from_millis(25);

fn cfg(per_token: u32, per_workspace: u32) -> PacingConfig {
    PacingConfig {
        per_second: (per_token, per_workspace),
        burst: 1,
        margin: MARGIN,
        min_delay: Duration::ZERO,
    }
}

/// The most instants in any half-open window of 1 s.
fn max_per_second(at: &[Duration]) -> usize {
    at.iter()
        .map(|t| {
            at.iter()
                .filter(|u| **u >= *t && **u < *t + Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// `n` permits in sequence, the `i`-th answered `answer_after(i)` after it was given
/// (`None`: never); returns when each was given and its token.
async fn run_with(
    p: &Pacer,
    n: usize,
    answer_after: impl Fn(usize) -> Option<Duration>,
) -> Vec<(Duration, usize)> {
    let start = Instant::now();
    let mut out = Vec::new();
    for i in 0..n {
        let t = p.acquire().await;
        out.push((start.elapsed(), t.token));
        if let Some(d) = answer_after(i) {
            tokio::time::sleep(d).await;
            p.answered(&t, false);
        }
    }
    out
}

/// [`run_with`], every permit answered after the same `answer_after`.
async fn run(p: &Pacer, n: usize, answer_after: Option<Duration>) -> Vec<(Duration, usize)> {
    run_with(p, n, |_| answer_after).await
}

/// `t` is `want` up to timer ticks: tokio's timers fire on whole milliseconds, so each wait
/// for governor's next cell (every 333.3 ms at 3/s) ends up to 1 ms late, and governor
/// counts the next period from then (at most 1 ms in 333, 0.3%).
fn near(t: Duration, want: Duration) -> bool {
    t >= want && t <= want + want * 3 / 1000 + Duration::from_millis(3)
}

/// The instants of the permits given on `token`.
fn of_token(r: &[(Duration, usize)], token: usize) -> Vec<Duration> {
    r.iter()
        .filter(|(_, k)| *k == token)
        .map(|(t, _)| *t)
        .collect()
}

fn times(r: &[(Duration, usize)]) -> Vec<Duration> {
    r.iter().map(|(t, _)| *t).collect()
}

#[tokio::test(start_paused = true)]
async fn unanswered_requests_are_spaced_with_the_margin_once_per_window() {
    let p = Pacer::new(cfg(3, 7), 1);
    let at = times(&run(&p, 7, None).await);
    assert_eq!(max_per_second(&at), 3, "{at:?}");
    // Every 4th request waits for the 1st to be a second (plus the margin) old.
    assert_eq!(at[3], Duration::from_secs(1) + MARGIN, "{at:?}");
    assert_eq!(at[6], Duration::from_secs(2) + 2 * MARGIN, "{at:?}");
}

#[tokio::test(start_paused = true)]
async fn an_answer_bounds_the_arrival_and_frees_the_window_exactly() {
    let p = Pacer::new(cfg(3, 7), 1);
    let at = times(&run(&p, 7, Some(Duration::ZERO)).await);
    assert_eq!(max_per_second(&at), 3, "{at:?}");
    assert!(near(at[3], Duration::from_secs(1)), "{at:?}");
    assert!(near(at[6], Duration::from_secs(2)), "{at:?}");
}

#[tokio::test(start_paused = true)]
async fn a_late_answer_falls_back_to_the_margin() {
    let ms = Duration::from_millis;
    let p = Pacer::new(cfg(3, 7), 1);
    let at = times(&run(&p, 7, Some(ms(100))).await);
    // The first round trip has nothing to compare with: it counts until its head.
    assert!(near(at[3], ms(1100)), "{at:?}");
    // Later ones take the usual 100 ms: the server saw them within the margin.
    assert!(near(at[6], at[3] + MARGIN + ms(1000)), "{at:?}");
    let p = Pacer::new(cfg(3, 7), 1);
    let at = times(&run(&p, 4, Some(ms(10))).await);
    // Answered 10 ms after the send: the server saw it by then.
    assert!(near(at[3], ms(1010)), "{at:?}");
}

#[tokio::test(start_paused = true)]
async fn a_round_trip_longer_than_usual_counts_as_a_late_arrival() {
    let ms = Duration::from_millis;
    let p = Pacer::new(cfg(3, 7), 1);
    // Usually 100 ms; the 4th takes 400 ms, 300 ms of which may have been spent getting there.
    let at = times(&run_with(&p, 7, |i| Some(ms(if i == 3 { 400 } else { 100 }))).await);
    assert!(near(at[6], at[3] + ms(300) + ms(1000)), "{at:?}");
}

#[tokio::test(start_paused = true)]
async fn a_late_answer_widens_the_bound_of_requests_still_in_flight() {
    let ms = Duration::from_millis;
    let p = Pacer::new(cfg(3, 7), 1);
    // Three answered after the usual 50 ms, one 250 ms late (a loaded host), then three
    // never answered in time: each of those may have reached the server 250 ms late too.
    let after = |i: usize| match i {
        0..=2 => Some(ms(50)),
        3 => Some(ms(300)),
        _ => None,
    };
    let at = times(&run_with(&p, 10, after).await);
    assert_eq!(max_per_second(&at), 3, "{at:?}");
    assert!(near(at[7], at[4] + ms(250) + ms(1000)), "{at:?}");
    assert!(near(at[9], at[6] + ms(250) + ms(1000)), "{at:?}");
}

#[tokio::test(start_paused = true)]
async fn a_burst_never_puts_more_than_the_limit_in_a_second() {
    let mut c = cfg(3, 7);
    c.burst = 3;
    let p = Pacer::new(c, 1);
    let at = times(&run(&p, 9, None).await);
    assert_eq!(at[2], Duration::ZERO, "the burst goes at once: {at:?}");
    assert_eq!(max_per_second(&at), 3, "{at:?}");
}

#[tokio::test(start_paused = true)]
async fn two_tokens_share_the_load_at_twice_the_rate() {
    let p = Pacer::new(cfg(3, 7), 2);
    assert_eq!(p.tokens(), 2);
    let r = run(&p, 24, Some(Duration::ZERO)).await;
    for token in 0..2 {
        let mine = of_token(&r, token);
        assert_eq!(mine.len(), 12, "{r:?}");
        assert_eq!(max_per_second(&mine), 3, "{r:?}");
    }
    let all = times(&r);
    assert_eq!(max_per_second(&all), 6, "{r:?}");
    // 12 requests per token at 3/s: the last pair goes at 11/3 s, not at the 23/3 s that one
    // token would need (timers fire on whole milliseconds).
    assert!(near(all[23], Duration::from_secs(11) / 3), "{r:?}");
}

#[tokio::test(start_paused = true)]
async fn three_tokens_are_held_to_the_workspace_limit() {
    let p = Pacer::new(cfg(3, 7), 3);
    let r = run(&p, 30, Some(Duration::ZERO)).await;
    assert_eq!(max_per_second(&times(&r)), 7, "{r:?}");
    for token in 0..3 {
        let mine = of_token(&r, token);
        assert!(max_per_second(&mine) <= 3, "{r:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn separate_pacers_of_one_workspace_share_its_budget() {
    let base = "https://pace-test-shared.fibery.io";
    let a = Pacer::shared(cfg(3, 7), base, &[1, 2, 3]);
    let b = Pacer::shared(cfg(3, 7), base, &[4, 5, 6]);
    let other = Pacer::shared(cfg(3, 7), "https://pace-test-other.fibery.io", &[1]);
    let (ra, rb, ro) = tokio::join!(
        run(&a, 20, Some(Duration::ZERO)),
        run(&b, 20, Some(Duration::ZERO)),
        run(&other, 6, Some(Duration::ZERO)),
    );
    let mut all = times(&ra);
    all.extend(times(&rb));
    assert!(max_per_second(&all) <= 7, "{ra:?} {rb:?}");
    // Another workspace is not held back by this one.
    assert!(near(times(&ro)[5], Duration::from_secs(5) / 3), "{ro:?}");
    // The same token in two clients is one token: together at most 3 per second.
    let c = Pacer::shared(cfg(3, 7), base, &[9]);
    let d = Pacer::shared(cfg(3, 7), base, &[9]);
    let (rc, rd) = tokio::join!(
        run(&c, 6, Some(Duration::ZERO)),
        run(&d, 6, Some(Duration::ZERO))
    );
    let mut same = times(&rc);
    same.extend(times(&rd));
    assert_eq!(max_per_second(&same), 3, "{rc:?} {rd:?}");
}

#[tokio::test(start_paused = true)]
async fn a_429_widens_the_margin_and_a_pause_holds_every_request() {
    let p = Pacer::new(cfg(3, 7), 1);
    let start = Instant::now();
    let t = p.acquire().await;
    p.answered(&t, true);
    assert_eq!(p.tokens[0].margin(), 2 * MARGIN);
    assert_eq!(p.workspace.margin(), 2 * MARGIN);
    p.pause_for(Duration::from_secs(2));
    p.acquire().await;
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    let b = Budget::new(3, 1, Duration::ZERO);
    let seq = b.try_take(Instant::now()).unwrap();
    b.answered(seq, Instant::now(), true);
    assert!(b.margin() > Duration::ZERO, "a zero margin widens too");
}

#[tokio::test(start_paused = true)]
async fn min_delay_applies_and_zero_per_token_turns_pacing_off() {
    let mut c = cfg(0, 7);
    c.min_delay = Duration::from_millis(500);
    let p = Pacer::new(c, 1);
    let start = Instant::now();
    p.acquire().await;
    p.acquire().await;
    assert_eq!(start.elapsed(), Duration::from_millis(500));
    let p = Pacer::new(cfg(0, 7), 2);
    let r = run(&p, 20, None).await;
    assert_eq!(r[19].0, Duration::ZERO, "{r:?}");
    // Unpaced, the tokens still take turns.
    assert!(r.iter().enumerate().all(|(i, (_, k))| *k == i % 2), "{r:?}");
}
