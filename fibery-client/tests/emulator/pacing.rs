//! Pacing against the emulator's real limits with several tokens: one client spreading its
//! requests over two tokens, and separate clients of one workspace sharing its budget. No
//! timing is asserted; the emulator's log says which token each request used and whether it
//! was refused.

use std::collections::HashMap;

use fibery_client::{Client, Query, Schema};
use fibery_emulator::{Emulator, RateLimits};
use serde_json::Value;

use super::common;

const TOKENS: [&str; 3] = [
    "pace-token-first-1",
    "pace-token-second-2",
    "pace-token-third-3",
];

/// An emulator at Fibery's limits (3/s per token, 7/s per workspace) accepting [`TOKENS`].
async fn emulator() -> Emulator {
    let schema = Schema::parse(&common::fixture("project-management.json")).unwrap();
    let options: Value =
        serde_json::from_str(&common::fixture("project-management.options.json")).unwrap();
    let mut b = Emulator::builder()
        .schema(schema)
        .seed_json(options)
        .rate_limits(RateLimits::default());
    for t in TOKENS {
        b = b.token(t);
    }
    b.start().await.unwrap()
}

/// Runs `n` one-row queries through clones of `client`, all at once.
async fn queries(client: &Client, n: usize) {
    let q = Query::from(super::TASK).select(["fibery/id"]).limit(1);
    let runs: Vec<_> = (0..n)
        .map(|_| {
            let (c, q) = (client.clone(), q.clone());
            tokio::spawn(async move { c.query(&q).await })
        })
        .collect();
    for r in runs {
        r.await.unwrap().unwrap();
    }
}

/// Requests per token index, after checking that none was refused.
fn per_token(emu: &Emulator) -> HashMap<u32, usize> {
    let log = emu.request_log();
    assert!(log.iter().all(|r| r.status == 200), "{log:?}");
    assert_eq!(emu.stats().rate_limited, 0);
    let mut m = HashMap::new();
    for r in &log {
        *m.entry(r.token.expect("a token")).or_default() += 1;
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tokens_share_the_requests_of_one_client_without_a_429() {
    let emu = emulator().await;
    let client = Client::builder()
        .base_url(emu.base_url())
        .tokens([TOKENS[0], TOKENS[1]])
        .batch_window(std::time::Duration::ZERO)
        .build()
        .unwrap();
    queries(&client, 24).await;
    let used = per_token(&emu);
    assert_eq!(used.len(), 2, "{used:?}");
    // Round-robin whenever both may go: neither token carries much more than half.
    assert!(used.values().all(|n| *n >= 9), "{used:?}");
    assert_eq!(used.values().sum::<usize>(), 24);
    assert_eq!(client.stats().rate_limited, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_one_workspace_share_its_seven_per_second() {
    // Three tokens at 3/s each would be 9/s: only the shared workspace window keeps three
    // separately built clients under the emulator's 7/s.
    let emu = emulator().await;
    let clients: Vec<Client> = TOKENS
        .iter()
        .map(|t| {
            Client::builder()
                .base_url(emu.base_url())
                .token(*t)
                .batch_window(std::time::Duration::ZERO)
                .build()
                .unwrap()
        })
        .collect();
    let runs = clients.iter().map(|c| queries(c, 9));
    futures::future::join_all(runs).await;
    let used = per_token(&emu);
    assert_eq!(used.len(), 3, "{used:?}");
    assert!(used.values().all(|n| *n == 9), "{used:?}");
    assert!(clients.iter().all(|c| c.stats().rate_limited == 0));
}
