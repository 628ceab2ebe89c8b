//! Shared helpers of the cross-crate reliability and security suite (`tests/*.rs` in this
//! package) and of the benchmarks in `benches/`.
//!
//! Everything talks HTTP to a [`fibery_emulator::Emulator`] on 127.0.0.1 only.
//!
//! ```
//! let csv = fibery_tests::tasks_csv(3);
//! assert_eq!(csv.lines().count(), 4); // header + 3 rows
//! assert!(csv.starts_with(fibery_tests::CSV_HEADER));
//! let schema = fibery_tests::sample_schema();
//! assert!(schema.type_def(fibery_tests::TASK).is_some());
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::LazyLock;

use fibery_core::schema::Schema;
use fibery_emulator::{Emulator, Faults, RateLimits};
use serde_json::Value;

pub mod capture;

/// The API token every emulator started here accepts.
pub const TOKEN: &str = "reliability-token-5f3a9c1e";

/// The task type of the sample schema.
pub const TASK: &str = "Projects/Task";

/// The `fibery` arguments of an upsert of `tasks.csv` into [`TASK`], keyed on the external id.
pub const IMPORT_TASKS: [&str; 6] = [
    "import",
    "tasks.csv",
    "-t",
    TASK,
    "--key",
    "Projects/External Id",
];

/// Header of the CSV files produced by [`tasks_csv`] (the columns of `examples/data/tasks.csv`).
pub const CSV_HEADER: &str =
    "External Id,Name,Project,State,Priority,Tags,Estimate,Effort,Due,Done";

/// The sample schema shipped with the CLI (`examples/data/schema.json`).
pub fn sample_schema() -> Schema {
    Schema::parse(include_str!("../examples/data/schema.json")).expect("sample schema parses")
}

/// The sample seed (enum options and eight projects; `examples/data/seed.json`).
pub fn sample_seed() -> Value {
    serde_json::from_str(include_str!("../examples/data/seed.json")).expect("sample seed parses")
}

/// Project names present in [`sample_seed`], in its order.
pub fn projects() -> &'static [String] {
    static NAMES: LazyLock<Vec<String>> = LazyLock::new(|| {
        let seed = sample_seed();
        let projects = seed["Projects/Project"]
            .as_array()
            .expect("seeded projects");
        let name = |p: &Value| p["Projects/Name"].as_str().expect("a name").to_owned();
        projects.iter().map(name).collect()
    });
    &NAMES
}
const STATES: [&str; 3] = ["Open", "In Progress", "Done"];
const PRIOS: [&str; 4] = ["Low", "Medium", "High", "Critical"];
const TAGS: [&str; 4] = ["backend", "frontend", "api", "docs"];

/// Starts an emulator on the sample schema and seed, accepting [`TOKEN`].
/// `limits: None` disables rate limiting (for tests that are not about pacing).
pub async fn emulator(limits: Option<RateLimits>, faults: Faults) -> Emulator {
    let b = Emulator::builder()
        .schema(sample_schema())
        .seed_json(sample_seed())
        .token(TOKEN)
        .faults(faults);
    let b = match limits {
        Some(l) => b.rate_limits(l),
        None => b.without_rate_limits(),
    };
    b.start().await.expect("emulator starts")
}

/// One valid CSV row (no trailing newline) with external id `T-{i:07}`.
pub fn task_row(i: usize) -> String {
    let tags = match i % 3 {
        0 => String::new(),
        1 => TAGS[i % 4].to_string(),
        _ => format!("\"{}, {}\"", TAGS[i % 4], TAGS[(i + 1) % 4]),
    };
    let due = if i.is_multiple_of(5) {
        String::new()
    } else {
        format!("2026-{:02}-{:02}", 1 + i % 12, 1 + i % 28)
    };
    format!(
        "T-{i:07},Task number {i},{},{},{},{tags},{}.5,{},{due},{}",
        projects()[i % projects().len()],
        STATES[i % 3],
        PRIOS[i % 4],
        i % 40,
        i % 13,
        i.is_multiple_of(2)
    )
}

/// A CSV document: [`CSV_HEADER`] and `n` valid rows (`T-0000000` ..).
pub fn tasks_csv(n: usize) -> String {
    let mut s = String::with_capacity(80 * (n + 1));
    s.push_str(CSV_HEADER);
    s.push('\n');
    for i in 0..n {
        s.push_str(&task_row(i));
        s.push('\n');
    }
    s
}

/// Writes `n` valid rows to `path` as CSV, streaming (for files of millions of rows).
pub fn write_tasks_csv(path: &Path, n: usize) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(f, "{CSV_HEADER}")?;
    for i in 0..n {
        writeln!(f, "{}", task_row(i))?;
    }
    f.flush()
}

/// Path of the `fibery` CLI binary of the current profile.
///
/// `cargo test --workspace` builds it (fibery-cli has integration tests), so it is normally
/// next to the running test or bench executable. When it is missing (e.g. `cargo test -p
/// fibery-tests` on a clean target dir) it is built into a separate target directory, to
/// avoid waiting on the lock of the one cargo is running from.
pub fn fibery_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.pop();
    }
    let name = format!("fibery{}", std::env::consts::EXE_SUFFIX);
    let candidate = dir.join(&name);
    if candidate.exists() {
        return candidate;
    }
    let release = dir.file_name().is_some_and(|n| n == "release");
    let target = dir
        .parent()
        .expect("target dir")
        .join("fibery-tests-cli-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut c = Command::new(cargo);
    c.args([
        "build",
        "-q",
        "-p",
        "fibery-cli",
        "--bin",
        "fibery",
        "--target-dir",
    ])
    .arg(&target)
    .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    if release {
        c.arg("--release");
    }
    let status = c.status().expect("run cargo build for the fibery CLI");
    assert!(status.success(), "building the fibery CLI failed");
    target
        .join(if release { "release" } else { "debug" })
        .join(name)
}

/// Whether `text` shows a Rust panic.
pub fn shows_panic(text: &str) -> bool {
    text.contains("panicked at") || text.contains("RUST_BACKTRACE")
}

/// Stdout then stderr of a finished command, as text (for assertion messages).
pub fn all_output(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `c` to completion off the async runtime's threads.
pub async fn output(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().expect("run the command"))
        .await
        .expect("the command's thread")
}

/// The `fibery` binary in `dir` with a clean environment, `FIBERY_TOKEN` = `token` and
/// `--base-url` = `base_url`.
pub fn fibery_at(base_url: &str, token: &str, dir: &Path) -> Command {
    let mut c = Command::new(fibery_bin());
    c.current_dir(dir)
        .env_clear()
        .env("FIBERY_TOKEN", token)
        .args(["--base-url", base_url]);
    c
}

/// How many batches an import's journal says were sent and done.
pub fn journal_progress(journal: &Path) -> (usize, usize) {
    let j = std::fs::read_to_string(journal).unwrap_or_default();
    (j.matches("\"sent\"").count(), j.matches("\"done\"").count())
}

/// Polls `journal` every few milliseconds until `until(sent, done)` holds or 20 s pass.
pub async fn wait_for_journal(journal: &Path, until: impl Fn(usize, usize) -> bool) {
    let t0 = std::time::Instant::now();
    loop {
        let (sent, done) = journal_progress(journal);
        if until(sent, done) || t0.elapsed() > std::time::Duration::from_secs(20) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// Every file directly in `dir` with its contents as (lossy) text.
pub fn files_in(dir: &Path) -> Vec<(PathBuf, String)> {
    std::fs::read_dir(dir)
        .expect("read the directory")
        .map(|entry| {
            let p = entry.expect("a directory entry").path();
            let text =
                String::from_utf8_lossy(&std::fs::read(&p).expect("read a file")).into_owned();
            (p, text)
        })
        .collect()
}
