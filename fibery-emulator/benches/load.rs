//! Bounded load test (loopback only, stops by itself): one pathological query running in a
//! loop while 200 concurrent clients send 2,000 trivial queries; prints the trivial
//! requests' latency percentiles. `cargo bench -p fibery-emulator --bench load`. Runs three
//! times: with the heavy lane, without it, and without the slow query (the machine's
//! baseline).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fibery_emulator::Emulator;
use serde_json::{Value, json};

const TOKEN: &str = "load-token";
const TASKS: usize = 20_000;
const CLIENTS: usize = 200;
const TRIVIAL: usize = 2_000;

#[tokio::main]
async fn main() {
    // Heavy lane on and off (every read on the shared pool, as before it existed), and the
    // same machine without the slow query.
    for (lanes, slow) in [(true, true), (false, true), (true, false)] {
        scenario(lanes, slow).await;
    }
}

async fn scenario(lanes: bool, with_slow: bool) {
    let p = format!(
        "{}/../fibery-core/tests/fixtures/project-management.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let schema = fibery_emulator::load_schema_file(p.as_ref()).unwrap();
    let mut b = Emulator::builder()
        .schema(schema)
        .token(TOKEN)
        .without_rate_limits();
    if !lanes {
        b = b.light_query_budget(u64::MAX);
    }
    let emu = b.start().await.unwrap();
    let url = format!("{}/api/commands", emu.base_url());
    let http = reqwest::Client::new();
    fill(&http, &url).await;
    let stop = Arc::new(AtomicBool::new(!with_slow));
    let slow = tokio::spawn(pathological(http.clone(), url.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let per_client = TRIVIAL / CLIENTS;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(trivial(http.clone(), url.clone(), per_client)))
        .collect();
    let mut lat: Vec<Duration> = vec![];
    // Each client's first request also opens its connection (200 at once).
    let mut warm: Vec<Duration> = vec![];
    for c in clients {
        let l = c.await.unwrap();
        warm.extend(&l[1..]);
        lat.extend(l);
    }
    let wall = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let (runs, answer) = slow.await.unwrap();
    let ms = |l: &mut Vec<Duration>, p: f64| {
        l.sort();
        l[((l.len() as f64 * p).ceil() as usize).min(l.len()) - 1].as_secs_f64() * 1e3
    };
    println!(
        "load heavy_lane={lanes} pathological={with_slow} trivial={} clients={CLIENTS} tasks={TASKS} wall_ms={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} p99_connected_ms={:.2} pathological_runs={runs} pathological_answer={answer}",
        lat.len(),
        wall.as_millis(),
        ms(&mut lat, 0.50),
        ms(&mut lat, 0.99),
        ms(&mut lat, 1.0),
        ms(&mut warm, 0.99),
    );
    emu.shutdown().await;
}

async fn post(http: &reqwest::Client, url: &str, body: &Value) -> Value {
    http.post(url)
        .header("Authorization", format!("Token {TOKEN}"))
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn fill(http: &reqwest::Client, url: &str) {
    for chunk in 0..TASKS / 500 {
        let body: Vec<Value> = (0..500)
            .map(|i| json!({"command": "fibery.entity/create", "args": {"type": "Projects/Task",
                "entity": {"Projects/Name": format!("t{chunk}-{i}"), "Projects/Effort": (i * 7919) % 1000}}}))
            .collect();
        post(http, url, &Value::Array(body)).await;
    }
}

/// The most expensive query the caps let through (32 order keys over every task), in a loop
/// until `stop`; returns the runs and the last answer's success or error name.
async fn pathological(http: reqwest::Client, url: String, stop: Arc<AtomicBool>) -> (u32, String) {
    let fields = [
        "Projects/Name",
        "Projects/Effort",
        "fibery/creation-date",
        "fibery/public-id",
    ];
    let order: Vec<Value> = (0..32)
        .map(|i| json!([[fields[i % 4]], if i % 2 == 0 { "q/asc" } else { "q/desc" }]))
        .collect();
    let q = json!({"command": "fibery.entity/query", "args": {"query": {"q/from": "Projects/Task",
        "q/select": ["fibery/id", "Projects/Name"], "q/order-by": order, "q/limit": 1000}}});
    let mut runs = 0;
    let mut last = String::new();
    while !stop.load(Ordering::SeqCst) && runs < 1_000 {
        let v = post(&http, &url, &q).await;
        last = match v["success"].as_bool() {
            Some(true) => "ok".into(),
            _ => v["result"]["name"].as_str().unwrap_or("?").to_string(),
        };
        runs += 1;
    }
    (runs, last)
}

async fn trivial(http: reqwest::Client, url: String, n: usize) -> Vec<Duration> {
    let q = json!({"command": "fibery.entity/query", "args": {"query": {"q/from": "fibery/user",
        "q/select": ["user/name"], "q/limit": 1}}});
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let v = post(&http, &url, &q).await;
        assert_eq!(v["success"], true, "{v}");
        out.push(t.elapsed());
    }
    out
}
