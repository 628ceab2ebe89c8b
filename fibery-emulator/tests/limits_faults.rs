//! Rate limits and fault injection.

mod common;

use std::time::{Duration, Instant};

use common::{Api, TOKEN, pm_builder, pm_with_faults};
use fibery_emulator::{Faults, RateLimits};
use serde_json::json;

async fn burst(
    base: &str,
    tokens: &[&str],
    per_token: usize,
) -> Vec<(u16, Option<String>, String)> {
    let http = reqwest::Client::new();
    let mut futs = vec![];
    for t in tokens {
        for _ in 0..per_token {
            let req = http
                .post(format!("{base}/api/commands"))
                .header("Authorization", format!("Token {t}"))
                .json(&json!([{"command": "fibery.schema/query"}]));
            futs.push(async move {
                let r = req.send().await.unwrap();
                let ra = r
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string());
                (r.status().as_u16(), ra, r.text().await.unwrap())
            });
        }
    }
    let mut out = vec![];
    for f in futs {
        out.push(f.await);
    }
    out
}

#[tokio::test]
async fn burst_of_20_on_one_token_gets_17_429s() {
    let emu = pm_builder()
        .rate_limits(RateLimits::default())
        .start()
        .await
        .unwrap();
    let res = burst(&emu.base_url(), &[TOKEN], 20).await;
    let ok = res.iter().filter(|r| r.0 == 200).count();
    let limited: Vec<_> = res.iter().filter(|r| r.0 == 429).collect();
    assert_eq!((ok, limited.len()), (3, 17));
    for r in &limited {
        assert_eq!(r.1.as_deref(), Some("1"));
        assert_eq!(r.2, "Too Many Requests");
    }
    assert_eq!(emu.stats().rate_limited, 17);
    // The window is one second: after it passes the token may send again.
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let res = burst(&emu.base_url(), &[TOKEN], 1).await;
    assert_eq!(res[0].0, 200);
}

#[tokio::test]
async fn workspace_limit_caps_several_tokens_and_retry_after_is_a_switch() {
    let emu = pm_builder()
        .token("second")
        .token("third")
        .rate_limits(RateLimits {
            per_token: 3,
            per_workspace: 7,
            retry_after: false,
        })
        .start()
        .await
        .unwrap();
    let res = burst(&emu.base_url(), &[TOKEN, "second", "third"], 5).await;
    assert_eq!(res.iter().filter(|r| r.0 == 200).count(), 7);
    assert_eq!(res.iter().filter(|r| r.0 == 429).count(), 8);
    assert!(
        res.iter().all(|r| r.1.is_none()),
        "no Retry-After when switched off"
    );
    // Unauthenticated requests are answered 401 and don't consume the budget.
    emu.set_rate_limits(None);
    let res = burst(&emu.base_url(), &["bad"], 3).await;
    assert!(res.iter().all(|r| r.0 == 401));
}

#[tokio::test]
async fn injected_5xx_and_429() {
    let emu = pm_with_faults(Faults {
        error_5xx: 1.0,
        seed: 7,
        ..Faults::default()
    })
    .await;
    let api = Api::new(&emu);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..12 {
        let (st, _) = api.raw(&json!([])).await;
        seen.insert(st);
    }
    assert!(seen.iter().all(|s| [500, 502, 503].contains(s)), "{seen:?}");
    assert!(seen.len() >= 2, "several 5xx kinds over 12 draws: {seen:?}");
    assert_eq!(emu.stats().faults_injected, 12);
    emu.set_faults(Faults {
        rate_limited: 1.0,
        ..Faults::default()
    });
    let r = api
        .http
        .post(format!("{}/api/commands", api.base))
        .header("Authorization", format!("Token {TOKEN}"))
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.text().await.unwrap(), "Too Many Requests");
    emu.set_faults(Faults::default());
    assert_eq!(api.raw(&json!([])).await.0, 200);
    assert_eq!(
        emu.stats().rate_limited,
        0,
        "injected 429s are counted as faults"
    );
    assert_eq!(emu.stats().faults_injected, 13);
}

#[tokio::test]
async fn dropped_connections_and_latency() {
    let emu = pm_with_faults(Faults {
        drop: 1.0,
        ..Faults::default()
    })
    .await;
    let api = Api::new(&emu);
    let r = api.http.post(format!("{}/api/commands", api.base)).header("Authorization", format!("Token {TOKEN}"))
        .json(&json!([{"command": "fibery.entity/create", "args": {"type": "Projects/Task", "entity": {"Projects/Name": "x"}}}]))
        .timeout(Duration::from_secs(5)).send().await;
    let e = r.expect_err("connection dropped");
    assert!(!e.is_timeout(), "dropped, not hung: {e}");
    assert!(
        emu.entities("Projects/Task").is_empty(),
        "dropped before executing"
    );
    assert_eq!(emu.request_log().last().unwrap().status, 0);
    emu.set_faults(Faults {
        latency: Duration::from_millis(150),
        ..Faults::default()
    });
    let t = Instant::now();
    assert_eq!(api.raw(&json!([])).await.0, 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn faults_are_reproducible_for_a_seed() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let emu = pm_with_faults(Faults {
            error_5xx: 0.3,
            rate_limited: 0.3,
            seed,
            ..Faults::default()
        })
        .await;
        let api = Api::new(&emu);
        let mut v = vec![];
        for _ in 0..30 {
            v.push(api.raw(&json!([])).await.0);
        }
        v
    }
    let a = statuses(42).await;
    assert_eq!(a, statuses(42).await);
    assert!(
        a.contains(&200) && a.contains(&429) && a.iter().any(|s| *s >= 500),
        "{a:?}"
    );
    assert_ne!(a, statuses(43).await);
}

/// `max_entities`: creates beyond the limit fail by name; reads and deletes go on, and a
/// delete makes room again.
#[tokio::test]
async fn entity_limit_is_a_named_error() {
    let probe = pm_builder().start().await.unwrap();
    let base = probe.stats().entities;
    drop(probe);
    let emu = pm_builder().max_entities(base + 2).start().await.unwrap();
    let api = Api::new(&emu);
    let a = api.task("a", json!({})).await;
    api.task("b", json!({})).await;
    let name = api
        .err(
            "fibery.entity/create",
            json!({"type": "Projects/Task", "entity": {"Projects/Name": "c"}}),
        )
        .await;
    assert_eq!(name, "entity.error/limit-reached");
    assert_eq!(emu.entities("Projects/Task").len(), 2);
    api.ok(
        "fibery.entity/delete",
        json!({"type": "Projects/Task", "entity": {"fibery/id": a}}),
    )
    .await;
    api.task("c", json!({})).await;
}

#[tokio::test]
async fn byte_limit_is_a_named_error_and_deletes_make_room() {
    let emu = pm_builder().max_bytes(1_000_000).start().await.unwrap();
    let api = Api::new(&emu);
    let big = "x".repeat(100_000);
    let create = json!({"type": "Projects/Task", "entity": {"Projects/Name": big}});
    let mut made = vec![];
    let name = loop {
        let env = api.cmd("fibery.entity/create", create.clone()).await;
        if env["success"] != true {
            break env["result"]["name"].as_str().unwrap().to_string();
        }
        made.push(env["result"]["fibery/id"].clone());
        assert!(
            made.len() < 20,
            "1 MB held {} entities of 100 KB",
            made.len()
        );
    };
    assert_eq!(name, "entity.error/limit-reached");
    // About ten 100 KB names fit in 1 MB (the system entities take a little).
    assert!(
        (8..=10).contains(&made.len()),
        "{} entities fit",
        made.len()
    );
    assert_eq!(emu.entities("Projects/Task").len(), made.len());
    api.ok(
        "fibery.entity/delete",
        json!({"type": "Projects/Task", "entity": {"fibery/id": made[0]}}),
    )
    .await;
    api.ok("fibery.entity/create", create).await;
}
