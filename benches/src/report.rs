//! What `bench-report` writes: the generated section of BENCHMARKS.md (between [`BEGIN`] and
//! [`END`]) and the SVG figures in `benches/figures/`.

use std::fmt::Write;
use std::path::Path;

use crate::figure::{Series, requests_per_second_svg};
use crate::latency::Run;

/// Start of the generated section of BENCHMARKS.md.
pub const BEGIN: &str =
    "<!-- bench-report:begin (generated; edits between the markers are overwritten) -->";
/// End of the generated section.
pub const END: &str = "<!-- bench-report:end -->";

/// Peak RSS of one `fibery import`.
#[derive(Debug, Clone)]
pub struct Rss {
    /// Rows imported.
    pub rows: usize,
    /// `--dry-run`: read, map and validate only.
    pub dry_run: bool,
    /// Peak RSS in MiB.
    pub mib: f64,
    /// Wall time.
    pub secs: f64,
    /// CPU time of the CLI process (user + sys).
    pub cpu_s: f64,
}

/// The figures of one run.
#[derive(Debug, Default)]
pub struct Figures {
    /// The latency table.
    pub latency: Vec<Run>,
    /// `fibery import` with two tokens.
    pub two_tokens: Option<Run>,
    /// 1,000 rows with a rich-text column.
    pub rich_text: Option<Run>,
    /// Memory.
    pub rss: Vec<Rss>,
}

/// The writers of the latency table, with the file name of their figure.
const WRITERS: [(&str, &str); 3] = [
    ("fibery import", "rate-fibery-import.svg"),
    ("create_all", "rate-create-all.svg"),
    ("upsert_all", "rate-upsert-all.svg"),
];

/// One Markdown table row of `cells`.
fn row(s: &mut String, cells: &[String]) {
    let _ = writeln!(s, "| {} |", cells.join(" | "));
}

fn latency_table(s: &mut String, runs: &[Run]) {
    s.push_str("| writer | server latency | write-phase requests | write phase | requests/s | utilisation | 429s | entities/s (whole run) |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in runs {
        let p = &r.phase;
        row(
            s,
            &[
                format!("`{}`", r.what),
                format!("{} ms", r.latency_ms),
                p.requests.to_string(),
                format!("{:.1} s", p.secs),
                format!("{:.3}", p.rate),
                format!("**{:.3}**", p.rate / 3.0),
                p.http_429.to_string(),
                format!("{:.1}", r.n as f64 / r.secs),
            ],
        );
    }
}

fn other_tables(s: &mut String, f: &Figures) {
    if let Some(r) = &f.two_tokens {
        let p = &r.phase;
        let _ = writeln!(
            s,
            "\n`fibery import` of the same {} rows with two tokens of one workspace (`--token-file`), emulator at 3/s per token and 7/s per workspace, no added latency:\n\n| tokens used | write-phase requests | write phase | requests/s | 429s | entities/s (whole run) |\n|---:|---:|---:|---:|---:|---:|",
            r.n
        );
        row(
            s,
            &[
                p.tokens.to_string(),
                p.requests.to_string(),
                format!("{:.1} s", p.secs),
                format!("**{:.3}**", p.rate),
                p.http_429.to_string(),
                format!("{:.1}", r.n as f64 / r.secs),
            ],
        );
    }
    if let Some(r) = &f.rich_text {
        let p = &r.phase;
        let chunks = r.n.div_ceil(100).max(1);
        let _ = writeln!(
            s,
            "\n`fibery import` of {} rows with a Markdown `Description` column (rich text), no added latency:\n\n| requests (all) | write-phase requests | per 100-row chunk | write phase | entities/s (write phase) | entities/s (whole run) | 429s |\n|---:|---:|---:|---:|---:|---:|---:|\n| {} | {} | {:.2} | {:.1} s | **{:.1}** | {:.1} | {} |",
            r.n,
            p.total_requests,
            p.requests,
            p.requests as f64 / chunks as f64,
            p.secs,
            r.n as f64 / p.secs.max(1.0 / 3.0),
            r.n as f64 / r.secs,
            p.http_429
        );
    }
    if !f.rss.is_empty() {
        s.push_str("\nMemory of the release `fibery import` (create mode, `--batch 500`, emulator without limits), peak RSS from GNU time (`%M`):\n\n| rows | run | peak RSS | wall time | CLI CPU |\n|---:|---|---:|---:|---:|\n");
        for m in &f.rss {
            let _ = writeln!(
                s,
                "| {} | {} | **{:.1} MiB** | {:.1} s | {:.1} s |",
                m.rows,
                if m.dry_run { "dry run" } else { "real import" },
                m.mib,
                m.secs,
                m.cpu_s
            );
        }
    }
}

/// The generated section (markers included).
pub fn markdown(f: &Figures, machine: &str, when: &str) -> String {
    let mut s = format!("{BEGIN}\n\nRun {when} on {machine}.");
    if let Some(r) = f.latency.first() {
        let _ = write!(s, " {} rows per latency run.", r.n);
    }
    s.push_str("\n\n");
    latency_table(&mut s, &f.latency);
    other_tables(&mut s, f);
    s.push_str("\nRequests per second over time (whole seconds from the first write chunk; the last, partial second is left out):\n\n");
    for (what, file) in WRITERS {
        if f.latency.iter().any(|r| r.what == what) {
            let _ = writeln!(
                s,
                "![{what}: requests per second at each latency](benches/figures/{file})\n"
            );
        }
    }
    s.push_str(END);
    s
}

/// One figure per writer of the latency table.
fn figures(f: &Figures) -> Vec<(&'static str, String)> {
    WRITERS
        .iter()
        .filter_map(|(what, file)| {
            let series: Vec<Series> = f
                .latency
                .iter()
                .filter(|r| r.what == *what)
                .map(|r| {
                    let mut per_second = r.phase.per_second.clone();
                    per_second.pop();
                    Series {
                        label: format!("{} ms latency", r.latency_ms),
                        per_second,
                    }
                })
                .collect();
            (!series.is_empty()).then(|| {
                let title =
                    format!("{what}: requests per second at the emulator, by server latency");
                (*file, requests_per_second_svg(&title, &series, 3.0))
            })
        })
        .collect()
}

/// Replaces the generated section of `root/BENCHMARKS.md` (appending it if the markers are
/// missing) and writes the figures to `root/benches/figures/`.
pub fn write(root: &Path, f: &Figures, machine: &str) -> std::io::Result<()> {
    let when = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let section = markdown(f, machine, &when);
    let path = root.join("BENCHMARKS.md");
    let doc = std::fs::read_to_string(&path)?;
    let doc = match (doc.find(BEGIN), doc.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{section}{}", &doc[..b], &doc[e + END.len()..]),
        _ => format!("{}\n{section}\n", doc.trim_end()),
    };
    std::fs::write(&path, doc)?;
    let dir = root.join("benches/figures");
    std::fs::create_dir_all(&dir)?;
    for (file, svg) in figures(f) {
        std::fs::write(dir.join(file), svg)?;
    }
    Ok(())
}
