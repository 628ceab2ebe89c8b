//! `bench-report`: end-to-end figures of fibery-rs against the emulator on loopback, one line
//! per figure (`name key=value ...`) so runs can be compared line by line. See BENCHMARKS.md.
//!
//! ```text
//! cargo build --release -p fibery-cli          # the CLI whose speed and memory are measured
//! cargo run --release -p fibery-benches --bin bench-report
//! ```
//!
//! By default it runs, one after another, the write-phase figures (`latency`: `fibery import`, `create_all` and
//! `upsert_all` of `BENCH_N` rows, default 10000, at server latency 0 / 250 / 1000 / 2000 ms;
//! `tokens`: the import with two tokens; `richtext`: 1,000 rows with a Markdown column;
//! `rss`: peak RSS of a 1,000,000-row dry run and a real import of `BENCH_CLI_ROWS` rows, a comma
//! list, default 100000; it also prints the emulator process's peak RSS), then rewrites
//! the generated part of BENCHMARKS.md and the SVG figures in `benches/figures/` (unless
//! `BENCH_WRITE=0`). `BENCH_FIGURES` (comma list) picks figures instead: also `import`,
//! `export`, `pages`, `persist`, `sweep`, `baseline` (the older throughput, export, in-memory
//! against `--data` and batching figures); `BENCH_SKIP` removes some; `BENCH_FULL=1` adds
//! 100,000 entities to `import`; `BENCH_EXPORT_N` sizes `pages` (default 100000),
//! `BENCH_PERSIST_N` sizes `persist` (default 100000).

use std::process::Command;
use std::time::{Duration, Instant};

use fibery_benches::report::{self, Rss};
use fibery_benches::{Task, latency, task};
use fibery_client::{Client, FiberyEntity, Query};
use fibery_emulator::{Emulator, Faults, RateLimits};
use fibery_tests::{TASK, TOKEN, emulator, fibery_bin, write_tasks_csv};
use futures::StreamExt;
use serde_json::{Value, json};
use uuid::Uuid;

const LIMIT: f64 = 3.0;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The figures run by default.
const DEFAULT_FIGURES: &str = "latency,tokens,richtext,rss";

fn listed(var: &str, default: &str, what: &str) -> bool {
    std::env::var(var)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .any(|x| x.trim() == what)
}

fn skipped(what: &str) -> bool {
    !listed("BENCH_FIGURES", DEFAULT_FIGURES, what) || listed("BENCH_SKIP", "", what)
}

fn client(emu: &Emulator) -> fibery_client::ClientBuilder {
    Client::builder().base_url(emu.base_url()).token(TOKEN)
}

/// Raw create commands (primitive fields only, client ids) for the sweep and the baseline.
fn create_cmds(range: std::ops::Range<usize>) -> Vec<Value> {
    range
        .map(|i| {
            let mut fields = task(i).encode().expect("encode").fields;
            fields.insert(
                "fibery/id".into(),
                json!(Uuid::from_u128(i as u128 + 1).to_string()),
            );
            json!({"command": "fibery.entity/create", "args": {"type": TASK, "entity": fields}})
        })
        .collect()
}

/// Seconds `create_all` of the first `n` generated tasks takes; checks every one landed.
async fn timed_create_all(c: &Client, emu: &Emulator, n: usize) -> f64 {
    let t0 = Instant::now();
    let report = c
        .entities::<Task>()
        .create_all((0..n).map(task))
        .await
        .expect("import");
    let secs = t0.elapsed().as_secs_f64();
    assert_eq!(report.failed(), 0, "import failures");
    assert_eq!(emu.entities(TASK).len(), n);
    secs
}

/// Import at the default limits (emulator 3 req/s per token, client defaults).
async fn import_at_limit(n: usize) -> (f64, Emulator) {
    let emu = emulator(Some(RateLimits::default()), Faults::default()).await;
    let c = client(&emu).build().expect("client");
    let secs = timed_create_all(&c, &emu, n).await;
    let cs = c.stats();
    let es = emu.stats();
    let eps = n as f64 / secs;
    println!(
        "import_at_limit n={n} batch={} secs={secs:.2} entities_per_s={eps:.1} requests={} http_429={} retries={} req_per_s={:.3} utilisation={:.3}",
        c.max_commands_per_request(),
        cs.requests,
        es.rate_limited,
        cs.retries,
        cs.requests as f64 / secs,
        cs.requests as f64 / secs / LIMIT
    );
    (eps, emu)
}

/// Unpaced typed import (`create_all`, client defaults but no pacing) of `n` tasks into an
/// emulator in memory or with a `--data` file; returns entities/s.
async fn import_unpaced(n: usize, data: Option<&std::path::Path>) -> f64 {
    let mut b = Emulator::builder()
        .schema(fibery_tests::sample_schema())
        .seed_json(fibery_tests::sample_seed())
        .token(TOKEN)
        .without_rate_limits();
    if let Some(p) = data {
        b = b.data_file(p);
    }
    let emu = b.start().await.expect("emulator starts");
    let c = client(&emu).requests_per_second(0).build().expect("client");
    let secs = timed_create_all(&c, &emu, n).await;
    let eps = n as f64 / secs;
    let log_mib = data.map_or(0.0, |p| {
        let mut l = p.as_os_str().to_owned();
        l.push(".log");
        let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
        (size(p) + size(std::path::Path::new(&l))) as f64 / 1048576.0
    });
    println!(
        "import_unpaced n={n} persistent={} secs={secs:.2} entities_per_s={eps:.0} requests={} data_mib={log_mib:.1}",
        data.is_some(),
        c.stats().requests,
    );
    emu.shutdown().await;
    eps
}

/// In-memory against `--data` import throughput, one after the other in one run.
async fn persist(n: usize) {
    let dir = std::env::temp_dir().join(format!("fibery-bench-data-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let memory = import_unpaced(n, None).await;
    let data = import_unpaced(n, Some(&dir.join("state.json"))).await;
    println!(
        "persist_ratio n={n} ratio={:.2} memory_entities_per_s={memory:.0} data_entities_per_s={data:.0}",
        data / memory
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// One point of the batch-size sweep: `requests` sequential requests of `batch` creates.
async fn sweep_point(batch: usize, requests: usize, paced: bool) -> (f64, f64, u64) {
    let emu = if paced {
        emulator(Some(RateLimits::default()), Faults::default()).await
    } else {
        emulator(None, Faults::default()).await
    };
    let c = client(&emu)
        .max_commands_per_request(batch)
        .requests_per_second(if paced { 3 } else { 0 })
        .build()
        .expect("client");
    let cmds = create_cmds(0..batch * requests);
    let n = cmds.len();
    let t0 = Instant::now();
    let results = c.execute(cmds).await.expect("execute");
    let secs = t0.elapsed().as_secs_f64();
    assert!(results.iter().all(Result::is_ok), "sweep failures");
    assert_eq!(emu.entities(TASK).len(), n);
    (
        n as f64 / secs,
        secs * 1000.0 / requests as f64,
        emu.stats().rate_limited,
    )
}

async fn sweep() {
    for batch in [1usize, 10, 100, 500] {
        let (paced, _, p429) = sweep_point(batch, 12, true).await;
        let requests = (20_000 / batch).clamp(20, 200);
        let (unpaced, ms_per_req, _) = sweep_point(batch, requests, false).await;
        println!(
            "sweep batch={batch} paced_entities_per_s={paced:.1} paced_http_429={p429} unpaced_entities_per_s={unpaced:.0} unpaced_ms_per_request={ms_per_req:.2}"
        );
    }
}

/// The naive pattern of the seed Python client: one entity per request, then a fixed
/// 0.32 s sleep, reproduced with this client (its own pacer off, retries on).
async fn baseline(n: usize) -> f64 {
    let emu = emulator(Some(RateLimits::default()), Faults::default()).await;
    let c = client(&emu)
        .requests_per_second(0)
        .max_commands_per_request(1)
        .build()
        .expect("client");
    let t0 = Instant::now();
    for cmd in create_cmds(0..n) {
        let r = c.execute([cmd]).await.expect("execute");
        assert!(r[0].is_ok(), "baseline failure");
        tokio::time::sleep(Duration::from_millis(320)).await;
    }
    let secs = t0.elapsed().as_secs_f64();
    let eps = n as f64 / secs;
    println!(
        "baseline_naive n={n} secs={secs:.2} entities_per_s={eps:.2} requests={} http_429={} retries={}",
        c.stats().requests,
        emu.stats().rate_limited,
        c.stats().retries
    );
    eps
}

/// The query both export measurements stream: four fields of every task.
fn export_query() -> Query {
    let fields = [
        "fibery/id",
        "Projects/Name",
        "Projects/External Id",
        "Projects/Effort",
    ];
    Query::from(TASK).select(fields).no_limit()
}

async fn export(emu: &Emulator, n: usize, paced: bool) {
    let q = export_query();
    emu.set_rate_limits(paced.then(RateLimits::default));
    for page in [500usize, 1000, 3000] {
        let c = client(emu)
            .requests_per_second(if paced { 3 } else { 0 })
            .build()
            .expect("client");
        let t0 = Instant::now();
        let mut s = std::pin::pin!(c.query_stream_with_page_size(&q, page));
        let mut rows = 0usize;
        while let Some(r) = s.next().await {
            r.expect("row");
            rows += 1;
        }
        let secs = t0.elapsed().as_secs_f64();
        assert_eq!(rows, n);
        println!(
            "export_query_stream paced={paced} n={n} page_size={page} secs={secs:.2} entities_per_s={:.0} requests={}",
            n as f64 / secs,
            c.stats().requests
        );
    }
    emu.set_rate_limits(Some(RateLimits::default()));
}

/// Export of `n` entities (page 500) with 1, 4 and 8 keyset pages per request
/// (`QueryStream::pages_per_request`), paced at 3 req/s and unpaced. The store is filled
/// unpaced first (raw creates, 500 per request), so only the export is timed.
async fn export_pages_per_request(n: usize) {
    let emu = emulator(None, Faults::default()).await;
    let seeder = client(&emu)
        .requests_per_second(0)
        .max_commands_per_request(500)
        .build()
        .expect("client");
    for start in (0..n).step_by(10_000) {
        let results = seeder
            .execute(create_cmds(start..(start + 10_000).min(n)))
            .await
            .expect("seed");
        assert!(results.iter().all(Result::is_ok), "seed failures");
    }
    assert_eq!(emu.entities(TASK).len(), n);
    let q = export_query();
    let page = 500;
    for paced in [true, false] {
        for k in [1usize, 4, 8] {
            emu.set_rate_limits(paced.then(RateLimits::default));
            // A fresh client's pacer knows nothing of the previous client's requests: let
            // the emulator's 1 s window empty first, or the first request can get a 429.
            tokio::time::sleep(Duration::from_millis(1100)).await;
            let before = emu.stats().rate_limited;
            let c = client(&emu)
                .requests_per_second(if paced { 3 } else { 0 })
                .build()
                .expect("client");
            let t0 = Instant::now();
            let mut s = c.query_stream(&q).page_size(page).pages_per_request(k);
            let mut last: Option<String> = None;
            let mut rows = 0usize;
            while let Some(r) = s.next().await {
                let id = r.expect("row")["fibery/id"]
                    .as_str()
                    .expect("id")
                    .to_owned();
                assert!(last.as_ref().is_none_or(|l| *l < id), "ids not increasing");
                last = Some(id);
                rows += 1;
            }
            let secs = t0.elapsed().as_secs_f64();
            assert_eq!(rows, n, "every entity exactly once");
            let requests = c.stats().requests;
            println!(
                "export_pages_per_request paced={paced} n={n} page_size={page} pages_per_request={k} secs={secs:.2} entities_per_s={:.0} requests={requests} http_429={} ms_per_request={:.0}",
                n as f64 / secs,
                emu.stats().rate_limited - before,
                secs * 1000.0 / requests as f64
            );
        }
    }
    emu.shutdown().await;
}

/// Peak RSS of `fibery import` (release build, create mode, batch 500) on `n` generated
/// rows, against an emulator without rate limits. Uses GNU time's `%M` (KiB).
async fn cli_rss(n: usize, dir: &std::path::Path, dry_run: bool) -> Rss {
    let emu = emulator(None, Faults::default()).await;
    let file = dir.join(format!("rows-{n}.csv"));
    if !file.exists() {
        write_tasks_csv(&file, n).expect("write csv");
    }
    let bin = fibery_bin();
    let base = emu.base_url();
    let t0 = Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("/usr/bin/time")
            .arg("-f")
            .arg("maxrss_kib=%M cpu_user_s=%U cpu_sys_s=%S")
            .arg(bin)
            .env("FIBERY_TOKEN", TOKEN)
            .args(["--base-url", &base, "--rps", "10000", "--json"])
            .arg("import")
            .arg(&file)
            .args(["-t", TASK, "--batch", "500", "--no-progress"])
            .args(dry_run.then_some("--dry-run"))
            .output()
            .expect("run /usr/bin/time fibery import")
    })
    .await
    .expect("join");
    let secs = t0.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("maxrss_kib="))
        .unwrap_or_else(|| panic!("no RSS figure: {stderr}"));
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(k))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    let (rss, user, sys) = (
        field("maxrss_kib="),
        field("cpu_user_s="),
        field("cpu_sys_s="),
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(summary["written"], n as u64, "{stderr}");
    let r = Rss {
        rows: n,
        dry_run,
        mib: rss / 1024.0,
        secs,
        cpu_s: user + sys,
    };
    assert_eq!(emu.entities(TASK).len(), if dry_run { 0 } else { n });
    println!(
        "cli_import_peak_rss rows={n} dry_run={dry_run} peak_rss_mib={:.1} secs={secs:.2} rows_per_s={:.0} cli_cpu_s={:.2} emulator_process_peak_rss_mib={:.1}",
        r.mib,
        n as f64 / secs,
        r.cpu_s,
        self_peak_rss_kib() / 1024.0
    );
    r
}

/// Peak RSS of this process (the in-process emulator and everything run before), from
/// `VmHWM` in `/proc/self/status`; NaN where that is not available.
fn self_peak_rss_kib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(f64::NAN)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("cores={cores} cpu=\"{cpu}\"")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::var("BENCH_FULL").is_ok_and(|v| v == "1");
    let n = env_usize("BENCH_N", 10_000);
    println!("machine {}", machine());
    let dir = std::env::temp_dir().join(format!("fibery-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut out = report::Figures::default();
    // One run at a time: on a loaded host, runs sharing the process delay each other's
    // arrivals and the emulators, not the pacer, set the pace.
    let lat = if skipped("latency") {
        Vec::new()
    } else {
        latency_runs(n, &dir).await
    };
    let mut two = None;
    if !skipped("tokens") {
        two = Some(latency::cli_two_tokens(n, &dir).await);
    }
    let mut rich = None;
    if !skipped("richtext") {
        rich = Some(latency::cli_rich_text(1_000, &dir).await);
    }
    for r in two.iter().chain(&rich) {
        println!("{}", r.line());
    }
    out.latency = lat;
    out.two_tokens = two;
    out.rich_text = rich;
    let mut ours = None;
    if !skipped("import") {
        let (eps, emu) = import_at_limit(n).await;
        ours = Some(eps);
        if !skipped("export") {
            export(&emu, n, true).await;
            export(&emu, n, false).await;
        }
        emu.shutdown().await;
        if full {
            let (_, emu) = import_at_limit(100_000).await;
            if !skipped("export") {
                export(&emu, 100_000, false).await;
            }
            emu.shutdown().await;
        }
    }
    if !skipped("pages") {
        export_pages_per_request(env_usize("BENCH_EXPORT_N", 100_000)).await;
    }
    if !skipped("persist") {
        persist(env_usize("BENCH_PERSIST_N", 100_000)).await;
    }
    if !skipped("sweep") {
        sweep().await;
    }
    if !skipped("baseline") {
        let naive = baseline(30).await;
        if let Some(ours) = ours {
            println!(
                "ratio_import_over_naive ratio={:.1} ours_entities_per_s={ours:.1} naive_entities_per_s={naive:.2}",
                ours / naive
            );
        }
    }
    if !skipped("rss") {
        // Unpaced and CPU-bound: run alone, after the paced figures.
        let rows = std::env::var("BENCH_CLI_ROWS").unwrap_or_else(|_| "100000".into());
        for n in rows.split(',').filter_map(|v| v.trim().parse().ok()) {
            out.rss.push(cli_rss(n, &dir, false).await);
        }
        out.rss.push(cli_rss(1_000_000, &dir, true).await);
    }
    let _ = std::fs::remove_dir_all(&dir);
    if std::env::var("BENCH_WRITE").is_ok_and(|v| v == "0") || out.latency.is_empty() {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    report::write(&root, &out, &machine()).expect("write BENCHMARKS.md and the figures");
}

/// The latency table: every writer at every latency, one after another, each against an
/// emulator of its own.
async fn latency_runs(n: usize, dir: &std::path::Path) -> Vec<latency::Run> {
    let mut runs = Vec::new();
    for writer in ["cli", "create_all", "upsert_all"] {
        for ms in latency::LATENCIES_MS {
            let r = match writer {
                "cli" => latency::cli_at_latency(n, ms, dir).await,
                w => latency::library_at_latency(n, ms, w == "upsert_all").await,
            };
            println!("{}", r.line());
            runs.push(r);
        }
    }
    runs
}
