//! Fault matrix: an import of 5,000 entities through `fibery-client` into the emulator under
//! each fault (20% 5xx, 20% 429, 10% dropped connections, 500 ms latency, all of them
//! together) ends with exactly 5,000 entities, no duplicates, and the client's counters agree
//! with the emulator's request log. One more run pushes rows through the `fibery import`
//! binary under combined faults.
//!
//! Not about pacing: the emulator's rate limiter is off and the client is unpaced
//! (`requests_per_second(0)`), and the client's backoff / `Retry-After` cap are shortened to
//! tens of milliseconds so the matrix runs in seconds. Pacing against the real 3 req/s limit
//! is measured by `bench-report` (see BENCHMARKS.md) and tested in fibery-client.

use std::collections::HashSet;
use std::time::Duration;

use fibery_client::{Client, RetryPolicy};
use fibery_emulator::{Emulator, Faults};
use fibery_examples::Task;
use fibery_tests::{
    IMPORT_TASKS, TASK, TOKEN, all_output, emulator, fibery_at, output, wait_for_journal,
};
use uuid::Uuid;

const N: usize = 5_000;

/// The `i`-th row of the import: the examples' task, its other fields left empty.
fn task(i: usize) -> Task {
    Task {
        name: format!("Task {i}"),
        external_id: Some(format!("EXT-{i:05}")),
        effort: Some((i % 17) as i64),
        done: i.is_multiple_of(2),
        priority: Some(["Low", "Medium", "High", "Critical"][i % 4].to_string()),
        ..Task::default()
    }
}

fn client(emu: &Emulator) -> Client {
    Client::builder()
        .base_url(emu.base_url())
        .token(TOKEN)
        .requests_per_second(0)
        .retry(
            RetryPolicy::default()
                .with_max_retries(25)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(100))
                .with_max_retry_after(Duration::from_millis(50)),
        )
        .build()
        .expect("client builds")
}

/// Which fault kind must show up in the request log of a run.
#[derive(Debug, Clone, Copy)]
struct Expect {
    status_5xx: bool,
    status_429: bool,
    dropped: bool,
}

async fn import_under(faults: Faults, expect: Expect) {
    let emu = emulator(None, faults).await;
    let client = client(&emu);
    let report = client
        .entities::<Task>()
        .create_all((0..N).map(task))
        .await
        .expect("import runs");
    assert_eq!(
        report.failed(),
        0,
        "first failure: {:?}",
        report.errors().next().map(|(i, e)| (i, e.to_string()))
    );

    // Exactly N entities, no duplicates, each input row once.
    let stored = emu.entities(TASK);
    assert_eq!(stored.len(), N, "entity count");
    let ids: HashSet<&str> = stored
        .iter()
        .map(|e| e["fibery/id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), N, "duplicate ids stored");
    let ext: HashSet<&str> = stored
        .iter()
        .map(|e| e["Projects/External Id"].as_str().expect("external id"))
        .collect();
    let want: HashSet<String> = (0..N).map(|i| format!("EXT-{i:05}")).collect();
    assert_eq!(ext.len(), N, "an input row was written twice");
    assert!(
        want.iter().all(|w| ext.contains(w.as_str())),
        "a row is missing"
    );
    let reported: HashSet<String> = report.ids().iter().map(Uuid::to_string).collect();
    assert_eq!(
        reported,
        ids.iter().map(|s| s.to_string()).collect(),
        "reported ids"
    );

    // The client's counters match the emulator's.
    let es = emu.stats();
    let cs = client.stats();
    let log = emu.request_log();
    let count = |f: &dyn Fn(u16) -> bool| log.iter().filter(|r| f(r.status)).count() as u64;
    let (n429, n5xx, dropped) = (
        count(&|s| s == 429),
        count(&|s| s >= 500),
        count(&|s| s == 0),
    );
    let failed = count(&|s| s != 200);
    assert_eq!(log.len() as u64, es.requests);
    assert_eq!(cs.requests, es.requests, "requests: client vs emulator");
    assert_eq!(cs.rate_limited, n429, "429s: client vs emulator");
    assert_eq!(cs.server_errors, n5xx, "5xx: client vs emulator");
    assert_eq!(cs.retries, failed, "every failed request is retried once");
    assert_eq!(es.faults_injected, failed, "only injected faults failed");
    assert_eq!(es.rate_limited, 0, "the real limiter is off");
    assert_eq!(expect.status_429, n429 > 0, "429s injected: {n429}");
    assert_eq!(expect.status_5xx, n5xx > 0, "5xx injected: {n5xx}");
    assert_eq!(expect.dropped, dropped > 0, "drops injected: {dropped}");
    // Every successful create request carried at most the configured batch.
    assert!(
        log.iter()
            .all(|r| r.commands <= client.max_commands_per_request())
    );
    emu.shutdown().await;
}

fn faults(error_5xx: f64, rate_limited: f64, drop: f64, latency_ms: u64, seed: u64) -> Faults {
    Faults {
        error_5xx,
        rate_limited,
        drop,
        latency: Duration::from_millis(latency_ms),
        seed,
    }
}

const NONE: Expect = Expect {
    status_5xx: false,
    status_429: false,
    dropped: false,
};

/// One test per row of the fault matrix: its faults and which of them must show up.
macro_rules! fault_matrix {
    ($($name:ident: $faults:expr => $expect:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            import_under($faults, $expect).await;
        }
    )*};
}

fault_matrix! {
    import_survives_20_percent_5xx: faults(0.2, 0.0, 0.0, 0, 11) => Expect { status_5xx: true, ..NONE };
    import_survives_20_percent_429: faults(0.0, 0.2, 0.0, 0, 12) => Expect { status_429: true, ..NONE };
    import_survives_10_percent_dropped_connections: faults(0.0, 0.0, 0.1, 0, 13) => Expect { dropped: true, ..NONE };
    import_survives_500ms_latency: faults(0.0, 0.0, 0.0, 500, 14) => NONE;
    import_survives_all_faults_together: faults(0.2, 0.2, 0.1, 500, 15) => Expect { status_5xx: true, status_429: true, dropped: true };
}

/// The same guarantees through the `fibery import` binary (upsert by key) under combined
/// faults. Milder than the matrix (10% 5xx, 10% 429, 5% drops, 20 ms latency, 1,000 rows)
/// because the CLI keeps its default backoff (500 ms, `Retry-After: 1` honoured). The CLI's
/// summary counts only its write phase, so its counters are bounded by the emulator's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_import_survives_combined_faults() {
    const ROWS: usize = 1_000;
    let emu = emulator(None, faults(0.1, 0.1, 0.05, 20, 16)).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tasks.csv"), fibery_tests::tasks_csv(ROWS)).unwrap();
    let mut c = fibery_at(&emu.base_url(), TOKEN, dir.path());
    c.args(["--rps", "1000", "--json"])
        .args(IMPORT_TASKS)
        .args(["--batch", "50", "--no-progress"]);
    let o = output(c).await;
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON summary");
    assert_eq!(s["written"], ROWS as u64, "{s}");
    assert_eq!(s["created"], ROWS as u64, "{s}");
    assert_eq!(s["rejected"], 0, "{s}");

    let stored = emu.entities(TASK);
    assert_eq!(stored.len(), ROWS);
    let keys: HashSet<&str> = stored
        .iter()
        .map(|e| e["Projects/External Id"].as_str().unwrap())
        .collect();
    let want: HashSet<String> = (0..ROWS).map(|i| format!("T-{i:07}")).collect();
    assert_eq!(keys, want.iter().map(String::as_str).collect());

    let log = emu.request_log();
    let n429 = log.iter().filter(|r| r.status == 429).count() as u64;
    let failed = log.iter().filter(|r| r.status != 200).count() as u64;
    let (requests, retried, rate_limited) = (
        s["requests"].as_u64().unwrap(),
        s["retried"].as_u64().unwrap(),
        s["rate_limited"].as_u64().unwrap(),
    );
    assert!(
        requests >= (ROWS / 50) as u64 && requests <= emu.stats().requests,
        "{s}"
    );
    assert!(
        rate_limited <= n429 && retried <= failed,
        "{s} vs 429s {n429}, failed {failed}"
    );
    assert!(failed > 0 && emu.stats().faults_injected == failed);
    emu.shutdown().await;
}

/// `fibery import` killed with SIGKILL at a seeded point (after `k` settled batches, either
/// between batches or with one in flight), then re-run with `--resume`: every row ends up
/// stored exactly once. Upsert mode (`--key`) and create mode (UUID v5 ids) both.
async fn kill_and_resume(seed: u64) {
    const ROWS: usize = 200;
    let emu = emulator(None, faults(0.0, 0.0, 0.0, 25, seed)).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tasks.csv"), fibery_tests::tasks_csv(ROWS)).unwrap();
    // Seeded kill point: after 2..=40 of the 50 batches; odd seeds wait for one in flight.
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    x ^= x >> 29;
    let target = 2 + (x % 39) as usize;
    let in_flight = seed % 2 == 1;
    let upsert = !seed.is_multiple_of(3);
    let command = |resume: bool| {
        let mut c = fibery_at(&emu.base_url(), TOKEN, dir.path());
        c.args(["--rps", "1000"])
            .args([
                "import",
                "tasks.csv",
                "-t",
                TASK,
                "--batch",
                "4",
                "--no-progress",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if upsert {
            c.args(["--key", "Projects/External Id"]);
        }
        if resume {
            c.arg("--resume");
        }
        c
    };
    let mut child = command(false).spawn().unwrap();
    let journal = dir.path().join("tasks.journal.jsonl");
    // An in-flight window missed 5 times in a row (very slow machine): kill between batches.
    wait_for_journal(&journal, |sent, done| {
        done >= target && (!in_flight || sent > done || done >= target + 5)
    })
    .await;
    child.kill().unwrap(); // SIGKILL on Unix
    let _ = child.wait();
    let partial = emu.entities(TASK).len();
    assert!(
        partial < ROWS,
        "seed {seed}: killed after the end ({partial} rows)"
    );
    emu.set_faults(Faults::default());

    let o = output(command(true)).await;
    let out = all_output(&o);
    assert_eq!(o.status.code(), Some(0), "seed {seed}: {out}");
    let stored = emu.entities(TASK);
    let keys: Vec<&str> = stored
        .iter()
        .map(|e| e["Projects/External Id"].as_str().unwrap())
        .collect();
    let unique: HashSet<&str> = keys.iter().copied().collect();
    assert_eq!(keys.len(), ROWS, "seed {seed} (killed at {partial}): {out}");
    assert_eq!(unique.len(), ROWS, "seed {seed}: duplicates");
    emu.shutdown().await;
}

/// One test per seed of [`kill_and_resume`].
macro_rules! kill_and_resume_tests {
    ($($name:ident: $seed:expr),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            kill_and_resume($seed).await;
        }
    )*};
}

kill_and_resume_tests! {
    kill_and_resume_seed_1: 1,
    kill_and_resume_seed_2: 2,
    kill_and_resume_seed_3: 3,
    kill_and_resume_seed_4: 4,
    kill_and_resume_seed_5: 5,
}
