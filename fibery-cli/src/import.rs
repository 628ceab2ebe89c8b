//! `fibery import`: stream rows, validate each against the live schema, map them, then
//! write the valid ones through the client's write pipeline in batches (upsert by key, or
//! create with deterministic ids; see [`crate::writer`]), journal every batch.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fibery_client::Stats;
use fibery_core::query::Query;
use fibery_core::schema::Schema;
use fibery_core::validate::{Rule, Violation};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::cli::{GlobalOpts, ImportArgs};
use crate::conn::{Conn, Target, stderr_is_tty};
use crate::error::{CliError, EXIT_OK, EXIT_REJECTS, Result};
use crate::input::{Reader, Record, detect_format};
use crate::journal::{self, Entry, Header, Journal, fingerprint};
use crate::mapping::{Lookups, MappingFile, Plan, PreparedRow, prepare};
use crate::rejects::{Reject, Rejects};
use crate::writer::Writer;

/// Set by the Ctrl-C handler: finish the batch in flight, then stop.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The final report of an import.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Input file.
    pub file: String,
    /// Target type.
    pub type_name: String,
    /// `upsert` or `create`.
    pub mode: String,
    /// Nothing was written.
    pub dry_run: bool,
    /// Where the rows went.
    pub target: String,
    /// Rows read from the input in this run.
    pub rows_read: u64,
    /// Rows skipped because the journal says an earlier run settled them.
    pub rows_skipped_resume: u64,
    /// Valid rows (would be) written in this run.
    pub written: u64,
    /// Of those: entities created.
    pub created: u64,
    /// Of those: existing entities updated.
    pub updated: u64,
    /// Rows found already present (create mode re-runs, or the re-checked uncertain batch).
    pub already_present: u64,
    /// Rows rejected (locally or by the server).
    pub rejected: u64,
    /// Rows written whose collection values (multi-selects, to-many relations) failed.
    pub partial: u64,
    /// Requests sent during the write phase.
    pub requests: u64,
    /// Retries by the client.
    pub retried: u64,
    /// 429 answers seen.
    pub rate_limited: u64,
    /// Seconds spent in the write phase.
    pub elapsed_s: f64,
    /// Seconds for the whole command.
    pub total_elapsed_s: f64,
    /// Entities written per second (write phase).
    pub entities_per_s: f64,
    /// Requests per second achieved (write phase).
    pub requests_per_s: f64,
    /// Configured request limit.
    pub rps_limit: u32,
    /// Rows per request (--batch).
    pub batch: usize,
    /// Entities/s ceiling = rps_limit x batch.
    pub ceiling_entities_per_s: f64,
    /// entities_per_s / ceiling.
    pub fraction_of_ceiling: f64,
    /// Rejects file.
    pub rejects_file: String,
    /// Journal file.
    pub journal_file: String,
    /// The import stopped early (Ctrl-C).
    pub interrupted: bool,
}

impl Summary {
    /// The human summary.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let verb = if self.dry_run {
            "would write"
        } else {
            "written"
        };
        s.push_str(&format!(
            "{} {} -> {} ({}){}\n",
            if self.dry_run { "Dry run:" } else { "Imported" },
            self.file,
            self.type_name,
            self.mode,
            if self.interrupted {
                " — INTERRUPTED (continue with --resume)"
            } else {
                ""
            }
        ));
        s.push_str(&format!("  target        {}\n", self.target));
        s.push_str(&format!("  rows read     {}\n", self.rows_read));
        if self.rows_skipped_resume > 0 {
            s.push_str(&format!(
                "  skipped       {} (settled by an earlier run, per the journal)\n",
                self.rows_skipped_resume
            ));
        }
        s.push_str(&format!(
            "  {verb:<13} {} (created {}, updated {})\n",
            self.written, self.created, self.updated
        ));
        if self.already_present > 0 {
            s.push_str(&format!("  already there {}\n", self.already_present));
        }
        s.push_str(&format!(
            "  rejected      {}{}\n",
            self.rejected,
            if self.rejected > 0 {
                format!("  -> {}", self.rejects_file)
            } else {
                String::new()
            }
        ));
        if self.partial > 0 {
            s.push_str(&format!(
                "  partial       {} (collection values failed; see the rejects file)\n",
                self.partial
            ));
        }
        if !self.dry_run {
            s.push_str(&format!(
                "  requests      {} (retried {}, 429s {})\n",
                self.requests, self.retried, self.rate_limited
            ));
            s.push_str(&format!(
                "  elapsed       {:.1}s write phase, {:.1}s total\n",
                self.elapsed_s, self.total_elapsed_s
            ));
            s.push_str(&format!(
                "  throughput    {:.1} entities/s, {:.2} req/s of {} allowed ({:.0}% of the {:.0} entities/s ceiling = {} req/s x {} rows)\n",
                self.entities_per_s,
                self.requests_per_s,
                self.rps_limit,
                self.fraction_of_ceiling * 100.0,
                self.ceiling_entities_per_s,
                self.rps_limit,
                self.batch
            ));
        }
        s
    }
}

fn default_side_file(input: &Path, suffix: &str) -> PathBuf {
    let stem = input
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("import");
    input.with_file_name(format!("{stem}.{suffix}"))
}

/// Loads the lookup tables the plan needs (enum options, relation targets).
async fn load_lookups(conn: &Conn, plan: &Plan) -> Result<Lookups> {
    let mut l = Lookups::default();
    for (t, field) in plan.lookups_needed() {
        l.ensure(&t, &field);
        let mut q = Query::from(&t).select(["fibery/id"]);
        if field != "fibery/id" {
            q = q.select([&field]);
        }
        conn.for_each_page(q, 1000, |rows| {
            for r in rows {
                let Some(id) = r
                    .get("fibery/id")
                    .and_then(Value::as_str)
                    .and_then(|s| Uuid::parse_str(s).ok())
                else {
                    continue;
                };
                if let Some(v) = r.get(&field) {
                    l.insert(&t, &field, v, id);
                }
            }
            Ok(())
        })
        .await?;
    }
    Ok(l)
}

/// Runs `fibery import`. Returns the exit code.
pub async fn run(g: &GlobalOpts, args: &ImportArgs) -> Result<i32> {
    let started = Instant::now();
    if args.batch == 0 || args.batch > 1000 {
        return Err(CliError::usage("--batch must be between 1 and 1000"));
    }
    let format = detect_format(&args.file, args.format)?;
    let mut reader = Reader::open(&args.file, format)?;
    let mapping = args.map.as_deref().map(MappingFile::load).transpose()?;
    let conn = Conn::open(g, args.batch * 4 + 1).await?;
    if conn.target == Target::Embedded && !g.quiet && !g.json {
        eprintln!(
            "note: no --account or --base-url: importing into an embedded emulator with the sample schema (nothing leaves this machine)"
        );
    }
    let result = run_with(g, args, &conn, &mut reader, mapping.as_ref(), started).await;
    conn.close().await;
    result
}

async fn run_with(
    g: &GlobalOpts,
    args: &ImportArgs,
    conn: &Conn,
    reader: &mut Reader,
    mapping: Option<&MappingFile>,
    started: Instant,
) -> Result<i32> {
    let schema: Arc<Schema> = conn.schema().await?;
    // JSONL has no header: with a mapping file its columns are the mapped ones; otherwise
    // keys are mapped by name as they are first seen.
    let headers: Vec<String> = match (reader.headers().is_empty(), mapping) {
        (true, Some(m)) => m.columns.keys().cloned().collect(),
        _ => reader.headers().to_vec(),
    };
    let plan = Plan::build(
        &schema,
        &args.type_name,
        &headers,
        mapping,
        args.key.as_deref(),
        &args.separator,
    )?;
    let lookups = load_lookups(conn, &plan).await?;
    let create_mode = args.create || plan.key.is_none();
    let (size, hash) = fingerprint(&args.file)?;
    let header = journal_header(args, conn, &plan, create_mode, size, hash);
    let (journal, from) = open_journal(g, args, conn, &header)?;
    let rejects = Rejects::open(
        &rejects_path(args),
        &args.file,
        args.resume.then_some(from.done_through),
    )?;
    let mut run = Run {
        args,
        conn,
        schema,
        writer: {
            let key = if create_mode { None } else { plan.key.clone() };
            let mut w = Writer::new(&conn.client, &plan.type_name, key);
            w.journal = journal;
            w.next_batch = from.next_batch;
            w.recheck_through = from.recheck_through;
            w.recheck = from.recheck;
            w
        },
        plan,
        lookups,
        rejects,
        create_mode,
        progress: progress_bar(g, args, size),
        batch: Vec::with_capacity(args.batch),
        done_through: from.done_through,
        last_row: from.done_through,
        rows_read: 0,
        skipped: 0,
        stats0: conn.stats(),
        write_started: Instant::now(),
    };
    let interrupted = run.read_all(reader).await?;
    if !interrupted {
        run.finish().await?;
    }
    run.rejects.flush()?;
    run.progress.finish_and_clear();
    report(g, &run.summary(interrupted, started))?;
    Ok(if interrupted {
        130
    } else if run.rejects.count + run.rejects.kept > 0 {
        // The rejects file lists rows (of this run or, resumed, of an earlier one).
        EXIT_REJECTS
    } else {
        EXIT_OK
    })
}

fn rejects_path(args: &ImportArgs) -> PathBuf {
    args.rejects
        .clone()
        .unwrap_or_else(|| default_side_file(&args.file, "rejects.jsonl"))
}

fn journal_path(args: &ImportArgs) -> PathBuf {
    args.journal
        .clone()
        .unwrap_or_else(|| default_side_file(&args.file, "journal.jsonl"))
}

fn mode_name(create_mode: bool) -> &'static str {
    if create_mode { "create" } else { "upsert" }
}

/// What identifies this import in its journal: the input, the target and how it is written.
fn journal_header(
    args: &ImportArgs,
    conn: &Conn,
    plan: &Plan,
    create_mode: bool,
    input_size: u64,
    input_hash: String,
) -> Header {
    Header {
        version: journal::VERSION,
        input_size,
        input_hash,
        type_name: plan.type_name.clone(),
        key: plan.key.clone(),
        mode: format!("{}/batch={}", mode_name(create_mode), args.batch),
        target: match &conn.target {
            Target::Embedded => "embedded".into(),
            Target::Remote(u) => u.clone(),
        },
    }
}

/// Where a run starts: after the rows an earlier run settled, re-checking its uncertain batch.
#[derive(Default)]
struct StartPoint {
    done_through: u64,
    recheck_through: u64,
    recheck: bool,
    next_batch: u64,
}

/// Opens the journal: none for a dry run, the earlier one for `--resume`, else a new one.
fn open_journal(
    g: &GlobalOpts,
    args: &ImportArgs,
    conn: &Conn,
    header: &Header,
) -> Result<(Option<Journal>, StartPoint)> {
    if args.dry_run {
        return Ok((None, StartPoint::default()));
    }
    let path = journal_path(args);
    if !args.resume {
        return Ok((Some(Journal::create(&path, header)?), StartPoint::default()));
    }
    if conn.target == Target::Embedded {
        return Err(CliError::usage(
            "--resume needs a persistent target; the embedded emulator starts empty every run",
        )
        .hint("pass --base-url or --account"));
    }
    let (j, st) = Journal::resume(&path, header)?;
    if st.complete && !g.quiet {
        eprintln!("the journal says this import already finished; nothing to do");
    }
    let mut from = StartPoint {
        done_through: st.done_through,
        next_batch: st.next_batch,
        ..StartPoint::default()
    };
    if let Some((_, last, _)) = st.uncertain {
        // Batches after the first unfinished one may have landed too: re-check them all.
        from.recheck_through = last;
        from.recheck = true;
    }
    Ok((Some(j), from))
}

/// The progress bar on stderr (hidden when quiet, JSON, `--no-progress` or not a terminal).
fn progress_bar(g: &GlobalOpts, args: &ImportArgs, input_size: u64) -> ProgressBar {
    let show = !g.quiet && !g.json && !args.no_progress && stderr_is_tty();
    let target = if show {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let pb = ProgressBar::with_draw_target(Some(input_size), target);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:30}] {percent:>3}% ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// Prints the summary: one JSON line with `--json`, the human text unless `--quiet`.
fn report(g: &GlobalOpts, summary: &Summary) -> Result<()> {
    if g.json {
        println!(
            "{}",
            serde_json::to_string(summary).map_err(|e| CliError::failure(e.to_string()))?
        );
    } else if !g.quiet {
        print!("{}", summary.human());
    }
    Ok(())
}

/// `a / b`, or 0 when `b` is not positive.
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// One import in progress: the read loop's state between the reader and the writer.
struct Run<'a> {
    args: &'a ImportArgs,
    conn: &'a Conn,
    schema: Arc<Schema>,
    plan: Plan,
    lookups: Lookups,
    rejects: Rejects,
    writer: Writer,
    create_mode: bool,
    progress: ProgressBar,
    batch: Vec<PreparedRow>,
    done_through: u64,
    last_row: u64,
    rows_read: u64,
    skipped: u64,
    stats0: Stats,
    write_started: Instant,
}

impl Run<'_> {
    /// Reads every record, writing a batch whenever one fills. Returns whether Ctrl-C
    /// stopped it.
    async fn read_all(&mut self, reader: &mut Reader) -> Result<bool> {
        let jsonl = reader.headers().is_empty();
        while let Some(item) = reader.next_record()? {
            self.rows_read += 1;
            let rec: Record = match item {
                Ok(r) => r,
                Err(p) => {
                    if p.row > self.done_through {
                        self.rejects.write(Reject::unreadable(&p))?;
                        self.last_row = p.row;
                    }
                    continue;
                }
            };
            self.progress.set_position(rec.span.end_byte);
            if rec.row <= self.done_through {
                self.skipped += 1;
                continue;
            }
            self.last_row = rec.row;
            self.take(&rec, jsonl).await?;
            if self.batch.len() >= self.args.batch {
                self.write_batch().await?;
                self.show_progress();
                if INTERRUPTED.load(Ordering::SeqCst) {
                    let landed = self.writer.drain().await?;
                    self.file_rejects(landed)?;
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Validates one record: into the batch, or to the rejects file with its reasons.
    async fn take(&mut self, rec: &Record, jsonl: bool) -> Result<()> {
        let extra = if jsonl {
            self.map_new_keys(rec).await?
        } else {
            Vec::new()
        };
        match prepare(&self.schema, &self.plan, rec, &self.lookups) {
            Ok(row) if extra.is_empty() => self.batch.push(row),
            Ok(_) => self.rejects.write(Reject::new(rec, extra))?,
            Err(mut errs) => {
                errs.extend(extra);
                self.rejects.write(Reject::new(rec, errs))?;
            }
        }
        Ok(())
    }

    /// JSONL: maps keys seen for the first time (reloading lookups when a column was
    /// added); returns a violation for each key that matches no writable field.
    async fn map_new_keys(&mut self, rec: &Record) -> Result<Vec<Violation>> {
        let before = self.plan.columns.len();
        let unknown: Vec<Violation> = self
            .plan
            .extend_for(&self.schema, rec)
            .into_iter()
            .map(|k| Violation {
                reason: format!(
                    "\"{k}\" matches no writable field of {}",
                    self.plan.type_name
                ),
                field: k,
                rule: Rule::UnknownField,
            })
            .collect();
        if self.plan.columns.len() != before {
            self.lookups = load_lookups(self.conn, &self.plan).await?;
        }
        Ok(unknown)
    }

    /// Writes the batch so far (a dry run only counts it) and files its rejects.
    async fn write_batch(&mut self) -> Result<()> {
        let rows = std::mem::take(&mut self.batch);
        if self.args.dry_run {
            self.writer.tally.written += rows.len() as u64;
            return Ok(());
        }
        self.rejects.flush()?;
        let landed = self.writer.flush(rows, self.last_row).await?;
        self.file_rejects(landed)
    }

    fn file_rejects(&mut self, rejects: Vec<Reject>) -> Result<()> {
        for r in rejects {
            self.rejects.write(r)?;
        }
        Ok(())
    }

    /// Writes the last batch, waits for every batch in flight and marks the journal
    /// complete.
    async fn finish(&mut self) -> Result<()> {
        self.write_batch().await?;
        let landed = self.writer.drain().await?;
        self.file_rejects(landed)?;
        if let Some(j) = &mut self.writer.journal {
            j.append(&Entry::Complete {
                last_row: self.last_row,
            })?;
        }
        Ok(())
    }

    fn show_progress(&self) {
        let elapsed = self.write_started.elapsed().as_secs_f64().max(0.001);
        self.progress.set_message(format!(
            "{} rows {:.0}/s | written {} | rejected {} | retries {}",
            self.rows_read,
            self.rows_read as f64 / elapsed,
            self.writer.tally.written,
            self.rejects.count,
            self.conn.stats().retries - self.stats0.retries
        ));
    }

    fn summary(&self, interrupted: bool, started: Instant) -> Summary {
        let (args, conn, tally) = (self.args, self.conn, &self.writer.tally);
        let st = conn.stats();
        let elapsed = self.write_started.elapsed().as_secs_f64();
        let requests = st.requests - self.stats0.requests;
        let ceiling = f64::from(conn.rps) * args.batch as f64;
        let eps = ratio(tally.written as f64, elapsed);
        Summary {
            file: args.file.display().to_string(),
            type_name: self.plan.type_name.clone(),
            mode: mode_name(self.create_mode).into(),
            dry_run: args.dry_run,
            target: conn.target.describe(),
            rows_read: self.rows_read,
            rows_skipped_resume: self.skipped,
            written: tally.written,
            created: tally.created,
            updated: tally.updated,
            already_present: tally.already,
            rejected: self.rejects.count - tally.partial,
            partial: tally.partial,
            requests,
            retried: st.retries - self.stats0.retries,
            rate_limited: st.rate_limited - self.stats0.rate_limited,
            elapsed_s: elapsed,
            total_elapsed_s: started.elapsed().as_secs_f64(),
            entities_per_s: eps,
            requests_per_s: ratio(requests as f64, elapsed),
            rps_limit: conn.rps,
            batch: args.batch,
            ceiling_entities_per_s: ceiling,
            fraction_of_ceiling: ratio(eps, ceiling),
            rejects_file: rejects_path(args).display().to_string(),
            journal_file: if args.dry_run {
                String::new()
            } else {
                journal_path(args).display().to_string()
            },
            interrupted,
        }
    }
}
