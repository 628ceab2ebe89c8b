//! Write throughput at server latency, as the emulator sees it: `fibery import`,
//! `entities::<T>().create_all` and `upsert_all` against an emulator at Fibery's limits with
//! added latency, two tokens through `fibery import`, and rows with a rich-text column.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fibery_client::Client;
use fibery_emulator::{Emulator, Faults, RateLimits};
use fibery_tests::{CSV_HEADER, TASK, TOKEN, fibery_bin, sample_schema, sample_seed, task_row};
use serde_json::Value;

use crate::phase::{MIN_WRITE_BYTES, Phase};
use crate::{Task, task};

/// Server latencies of the table, in milliseconds.
pub const LATENCIES_MS: [u64; 4] = [0, 250, 1000, 2000];

/// The second token of the two-token run.
pub const SECOND_TOKEN: &str = "bench-second-token-7c1d2e";

/// One measured run.
#[derive(Debug, Clone)]
pub struct Run {
    /// What wrote: `fibery import`, `create_all`, ...
    pub what: String,
    /// Added server latency.
    pub latency_ms: u64,
    /// Entities written.
    pub n: usize,
    /// Wall time of the whole run (reads before the writes included).
    pub secs: f64,
    /// The write phase from the emulator's log.
    pub phase: Phase,
}

impl Run {
    /// One `name key=value ...` line.
    pub fn line(&self) -> String {
        let p = &self.phase;
        format!(
            "write_phase what=\"{}\" latency_ms={} n={} secs={:.2} entities_per_s={:.1} requests={} phase_requests={} phase_secs={:.2} req_per_s={:.3} utilisation={:.3} http_429={} tokens={}",
            self.what,
            self.latency_ms,
            self.n,
            self.secs,
            self.n as f64 / self.secs,
            p.total_requests,
            p.requests,
            p.secs,
            p.rate,
            p.rate / 3.0,
            p.http_429,
            p.tokens
        )
    }
}

/// An emulator on the sample schema at Fibery's default limits, answering after
/// `latency_ms`, accepting `tokens`.
pub async fn limited_emulator(latency_ms: u64, tokens: &[&str]) -> Emulator {
    let mut b = Emulator::builder()
        .schema(sample_schema())
        .seed_json(sample_seed())
        .rate_limits(RateLimits::default())
        .faults(Faults {
            latency: Duration::from_millis(latency_ms),
            ..Faults::default()
        });
    for t in tokens {
        b = b.token(*t);
    }
    b.start().await.expect("emulator starts")
}

fn finish(what: &str, latency_ms: u64, n: usize, t0: Instant, emu: &Emulator) -> Run {
    let secs = t0.elapsed().as_secs_f64();
    let log = emu.request_log();
    let phase = Phase::of(&log, MIN_WRITE_BYTES).expect("a write phase");
    if phase.http_429 > 0 {
        // Where the limit was crossed: each 429 with the arrivals of the second before it.
        let mut log = log;
        log.sort_by_key(|r| r.at);
        let ms = |at: Instant| at.saturating_duration_since(log[0].at).as_millis();
        for r in log.iter().filter(|r| r.status == 429) {
            let before: Vec<String> = log
                .iter()
                .filter(|b| b.at <= r.at && r.at.duration_since(b.at) < Duration::from_secs(1))
                .map(|b| format!("{}ms/{}/{}B", ms(b.at), b.status, b.bytes))
                .collect();
            println!(
                "rate_limited what=\"{what}\" latency_ms={latency_ms} window=[{}]",
                before.join(" ")
            );
        }
    }
    Run {
        what: what.into(),
        latency_ms,
        n,
        secs,
        phase,
    }
}

/// An extra CSV column: its header and the cell of row `i`.
type Column<'a> = (&'a str, fn(usize) -> String);

/// Writes `n` sample rows, with an `extra` column if given.
fn write_csv(path: &Path, n: usize, extra: Option<Column<'_>>) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("csv"));
    match extra {
        Some((col, _)) => writeln!(f, "{CSV_HEADER},{col}"),
        None => writeln!(f, "{CSV_HEADER}"),
    }
    .expect("write");
    for i in 0..n {
        match extra {
            Some((_, cell)) => writeln!(f, "{},{}", task_row(i), cell(i)),
            None => writeln!(f, "{}", task_row(i)),
        }
        .expect("write");
    }
    f.flush().expect("flush");
}

/// Runs `fibery import` (release or debug, whichever built this) of `file` into `emu`, with
/// the tokens of `token_file` or else [`TOKEN`].
async fn cli_import(emu: &Emulator, file: &Path, n: usize, token_file: Option<&Path>) {
    let mut c = Command::new(fibery_bin());
    for v in [
        "FIBERY_TOKEN",
        "FIBERY_TOKEN_FILE",
        "FIBERY_ACCOUNT",
        "FIBERY_RPS",
    ] {
        c.env_remove(v);
    }
    match token_file {
        Some(f) => c.arg("--token-file").arg(f),
        None => c.env("FIBERY_TOKEN", TOKEN),
    };
    c.args(["--base-url", &emu.base_url(), "--json", "import"])
        .arg(file)
        .args(["-t", TASK, "--no-progress"]);
    let out = tokio::task::spawn_blocking(move || c.output().expect("run fibery import"))
        .await
        .expect("join");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        summary["written"],
        n as u64,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `fibery import` of `n` sample rows at `latency_ms`.
pub async fn cli_at_latency(n: usize, latency_ms: u64, dir: &Path) -> Run {
    let emu = limited_emulator(latency_ms, &[TOKEN]).await;
    let run_dir = dir.join(format!("cli-{latency_ms}"));
    std::fs::create_dir_all(&run_dir).expect("dir");
    let file = run_dir.join("tasks.csv");
    write_csv(&file, n, None);
    let t0 = Instant::now();
    cli_import(&emu, &file, n, None).await;
    let run = finish("fibery import", latency_ms, n, t0, &emu);
    emu.shutdown().await;
    run
}

/// `fibery import` of `n` rows with two tokens (`--token-file`) at zero latency.
pub async fn cli_two_tokens(n: usize, dir: &Path) -> Run {
    let emu = limited_emulator(0, &[TOKEN, SECOND_TOKEN]).await;
    let run_dir = dir.join("cli-two-tokens");
    std::fs::create_dir_all(&run_dir).expect("dir");
    let file = run_dir.join("tasks.csv");
    write_csv(&file, n, None);
    let tokens = run_dir.join("tokens.txt");
    std::fs::write(
        &tokens,
        format!("# two keys of one workspace\n{TOKEN}\n{SECOND_TOKEN}\n"),
    )
    .expect("token file");
    let t0 = Instant::now();
    cli_import(&emu, &file, n, Some(&tokens)).await;
    let run = finish("fibery import, 2 tokens", 0, n, t0, &emu);
    emu.shutdown().await;
    run
}

fn markdown(i: usize) -> String {
    format!("\"## Task {i}\n\nSome **bold** text and a [link](https://example.com/{i}).\"")
}

/// `fibery import` of `n` rows with a Markdown `Description` column at zero latency.
pub async fn cli_rich_text(n: usize, dir: &Path) -> Run {
    let emu = limited_emulator(0, &[TOKEN]).await;
    let run_dir = dir.join("cli-rich-text");
    std::fs::create_dir_all(&run_dir).expect("dir");
    let file = run_dir.join("tasks.csv");
    write_csv(&file, n, Some(("Description", markdown)));
    let t0 = Instant::now();
    cli_import(&emu, &file, n, None).await;
    let run = finish("fibery import, rich text", 0, n, t0, &emu);
    emu.shutdown().await;
    run
}

/// `entities::<Task>().create_all` (`upsert: false`) or `upsert_all` on the external id of
/// `n` tasks at `latency_ms`, client defaults.
pub async fn library_at_latency(n: usize, latency_ms: u64, upsert: bool) -> Run {
    let emu = limited_emulator(latency_ms, &[TOKEN]).await;
    let c = Client::builder()
        .base_url(emu.base_url())
        .token(TOKEN)
        .build()
        .expect("client");
    let items = (0..n).map(task);
    let t0 = Instant::now();
    let tasks = c.entities::<Task>();
    let report = if upsert {
        tasks.upsert_all(items, "Projects/External Id").await
    } else {
        tasks.create_all(items).await
    }
    .expect("write");
    assert_eq!(report.failed(), 0, "write failures");
    assert_eq!(emu.entities(TASK).len(), n);
    let what = if upsert { "upsert_all" } else { "create_all" };
    let run = finish(what, latency_ms, n, t0, &emu);
    emu.shutdown().await;
    run
}
