//! `fibery-emulator`: serve a local Fibery API for offline tests and demos.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Parser;
use fibery_emulator::{BatchFailure, Emulator, Faults, Fsync, RateLimits};

/// A local emulator of the Fibery HTTP API (commands, schema, documents, files, webhooks)
/// with Fibery's auth, envelopes, error names and rate limits, plus optional fault injection.
#[derive(Parser, Debug)]
#[command(name = "fibery-emulator", version, about, long_about = None)]
struct Args {
    /// TCP port to listen on (0 picks a free port).
    #[arg(long, default_value_t = 8080, env = "FIBERY_EMULATOR_PORT")]
    port: u16,
    /// Address to bind (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// API token to accept as `Authorization: Token <t>` or `Bearer <t>`; repeat for several.
    #[arg(
        long,
        env = "FIBERY_TOKEN",
        hide_env_values = true,
        required = true,
        num_args = 1
    )]
    token: Vec<String>,
    /// Schema file: the result of `fibery.schema/query` (bare, or inside its envelope).
    #[arg(long)]
    schema: Option<PathBuf>,
    /// State file: a snapshot plus an append-only change log (`<file>.log`), loaded at start
    /// if it exists; every acknowledged write survives a crash of the process.
    #[arg(long)]
    data: Option<PathBuf>,
    /// fsync the change log before answering every write (default: at most once a second,
    /// which survives a process crash but may lose the last second on power loss).
    #[arg(long)]
    fsync_always: bool,
    /// Maximum number of entities (system ones included); creates beyond it fail with
    /// `entity.error/limit-reached`.
    #[arg(long)]
    max_entities: Option<u64>,
    /// Maximum of stored bytes (entities, documents, files; estimated); creates beyond it
    /// fail with `entity.error/limit-reached`.
    #[arg(long)]
    max_bytes: Option<u64>,
    /// Seed file applied to a fresh state: `{"entities": {"Type": [..]}, "commands": [..]}`.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Requests per second allowed per token.
    #[arg(long, default_value_t = 3)]
    rate_per_token: u32,
    /// Requests per second allowed for the whole workspace.
    #[arg(long, default_value_t = 7)]
    rate_per_workspace: u32,
    /// Disable rate limiting entirely.
    #[arg(long)]
    no_rate_limit: bool,
    /// Do not send `Retry-After` with 429 answers.
    #[arg(long)]
    no_retry_after: bool,
    /// Probability (0..1) of answering 500/502/503.
    #[arg(long, default_value_t = 0.0)]
    fault_5xx: f64,
    /// Probability (0..1) of answering 429 regardless of the rate.
    #[arg(long, default_value_t = 0.0)]
    fault_429: f64,
    /// Probability (0..1) of dropping the connection without answering.
    #[arg(long, default_value_t = 0.0)]
    fault_drop: f64,
    /// Latency added to every API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Seed of the fault generator (same seed + same requests = same faults).
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
    /// Maximum request body size in bytes (larger bodies get HTTP 413).
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    max_body_bytes: usize,
    /// Accept inline values in `q/where` (Fibery expects `$params`; refused by default).
    #[arg(long)]
    allow_inline_values: bool,
    /// Restrict outbound calls (files from URL, webhooks, their redirects) to this loopback
    /// `host:port`; repeat for several (default: any loopback target).
    #[arg(long)]
    allow_outbound: Vec<String>,
    /// How a failing `fibery.command/batch` answers: `atomic` (roll back, one outer failure)
    /// or `partial` (each command on its own, failures as nested `success: false`).
    #[arg(long, value_enum, default_value_t = BatchMode::Atomic)]
    batch_failure: BatchMode,
}

/// `--batch-failure` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum BatchMode {
    Atomic,
    Partial,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("fibery-emulator: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut b = Emulator::builder()
        .bind(SocketAddr::new(args.host, args.port))
        .max_body_bytes(args.max_body_bytes)
        .allow_inline_values(args.allow_inline_values)
        .batch_failure(match args.batch_failure {
            BatchMode::Atomic => BatchFailure::Atomic,
            BatchMode::Partial => BatchFailure::Partial,
        })
        .faults(Faults {
            error_5xx: args.fault_5xx,
            rate_limited: args.fault_429,
            drop: args.fault_drop,
            latency: std::time::Duration::from_millis(args.latency_ms),
            seed: args.fault_seed,
        });
    if !args.allow_outbound.is_empty() {
        b = b.allow_outbound(args.allow_outbound.clone());
    }
    if let Some(p) = &args.schema {
        b = b.schema(fibery_emulator::load_schema_file(p)?);
    }
    for t in args.token {
        b = b.token(t);
    }
    if let Some(p) = &args.data {
        b = b.data_file(p);
    }
    if let Some(n) = args.max_entities {
        b = b.max_entities(n);
    }
    if let Some(n) = args.max_bytes {
        b = b.max_bytes(n);
    }
    if args.fsync_always {
        b = b.fsync(Fsync::Always);
    }
    if let Some(p) = &args.seed {
        b = b.seed_json(serde_json::from_str(&std::fs::read_to_string(p)?)?);
    }
    b = if args.no_rate_limit {
        b.without_rate_limits()
    } else {
        b.rate_limits(RateLimits {
            per_token: args.rate_per_token,
            per_workspace: args.rate_per_workspace,
            retry_after: !args.no_retry_after,
        })
    };
    let emu = b.start().await?;
    let mut banner = format!("fibery-emulator listening on {}\n", emu.base_url());
    if let Some(r) = emu.recovery() {
        banner.push_str(&format!(
            "recovered state: snapshot + {} logged changes ({} torn bytes dropped)\n",
            r.changes, r.dropped_bytes
        ));
    }
    banner.push_str(&format!(
        "admin token (for /_emulator/*): {}\n",
        emu.admin_token()
    ));
    // Written and flushed at once so a parent reading the pipe sees the address immediately;
    // a reader that closed the pipe early is not an error.
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    tokio::signal::ctrl_c().await?;
    emu.shutdown().await;
    Ok(())
}
