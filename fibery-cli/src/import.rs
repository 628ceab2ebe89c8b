//! `fibery import`: stream rows, validate each against the live schema, write valid rows in
//! batches (upsert by key, or create with deterministic ids), journal every batch.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fibery_client::Error as ClientError;
use fibery_core::schema::Schema;
use fibery_core::validate::{Rule, Violation};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::cli::{GlobalOpts, ImportArgs};
use crate::conn::{Conn, Target, client_error, stderr_is_tty};
use crate::error::{CliError, EXIT_OK, EXIT_REJECTS, Result};
use crate::input::{Reader, Record, detect_format};
use crate::journal::{Entry, Header, Journal, fingerprint};
use crate::mapping::{Lookups, MappingFile, Plan, PreparedRow, Reject, prepare};

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

/// Writes the rejects file.
struct Rejects {
    out: BufWriter<File>,
    count: u64,
}

impl Rejects {
    fn open(path: &Path, keep_through: Option<u64>) -> Result<Rejects> {
        let mut kept = Vec::new();
        if let Some(limit) = keep_through
            && let Ok(f) = File::open(path)
        {
            for line in BufReader::new(f).lines() {
                let line = line?;
                let row = serde_json::from_str::<Value>(&line)
                    .ok()
                    .and_then(|v| v.get("row").and_then(Value::as_u64));
                if row.is_some_and(|r| r <= limit) {
                    kept.push(line);
                }
            }
        }
        let f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(|e| {
                CliError::failure(format!(
                    "cannot write the rejects file {}: {e}",
                    path.display()
                ))
                .hint("pass --rejects PATH to put it somewhere writable")
            })?;
        let mut out = BufWriter::new(f);
        for l in &kept {
            writeln!(out, "{l}")?;
        }
        out.flush()?;
        Ok(Rejects { out, count: 0 })
    }

    fn write(&mut self, r: &Reject) -> Result<()> {
        let line = serde_json::to_string(r).map_err(|e| CliError::failure(e.to_string()))?;
        writeln!(self.out, "{line}")?;
        self.count += 1;
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

/// Loads the lookup tables the plan needs (enum options, relation targets).
async fn load_lookups(conn: &Conn, plan: &Plan) -> Result<Lookups> {
    let mut l = Lookups::default();
    for (t, field) in plan.lookups_needed() {
        l.ensure(&t, &field);
        let mut select = vec![json!("fibery/id")];
        if field != "fibery/id" {
            select.push(json!(field));
        }
        let q = json!({"q/from": t, "q/select": select});
        conn.for_each_page(&q, &json!({}), 1000, |rows| {
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

/// Rich text waiting for its entity: (row, entity id, [(field, markdown)]).
type PendingDocs = (u64, Uuid, Vec<(String, String)>);

/// Counters of the write phase.
#[derive(Default)]
struct Tally {
    written: u64,
    created: u64,
    updated: u64,
    already: u64,
    partial: u64,
}

struct Writer<'a> {
    conn: &'a Conn,
    type_name: String,
    key: Option<String>,
    create_mode: bool,
    journal: Option<Journal>,
    next_batch: u64,
    recheck_through: u64,
    recheck: bool,
    tally: Tally,
    /// Our id -> the id of the existing entity an upsert updated instead.
    remapped: std::collections::HashMap<Uuid, Uuid>,
}

fn row_reject(row: &PreparedRow, field: &str, rule: Rule, reason: String) -> Reject {
    Reject {
        row: row.row,
        line: 0,
        field: field.to_string(),
        reason: reason.clone(),
        errors: vec![Violation {
            field: field.to_string(),
            rule,
            reason,
        }],
        record: Some(row.fields.clone()),
    }
}

impl Writer<'_> {
    fn collection_commands(&self, rows: &[PreparedRow]) -> Vec<(usize, String, Value)> {
        let mut v = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            for (field, ids) in &r.collections {
                v.push((
                    i,
                    field.clone(),
                    json!({"command": "fibery.entity/add-collection-items", "args": {
                        "type": self.type_name,
                        "field": field,
                        "entity": {"fibery/id": r.id},
                        "items": ids.iter().map(|id| json!({"fibery/id": id})).collect::<Vec<_>>(),
                    }}),
                ));
            }
        }
        v
    }

    /// Writes one batch: journal "sent", request(s), journal "done". Returns rejects.
    async fn flush(&mut self, mut rows: Vec<PreparedRow>, last_row: u64) -> Result<Vec<Reject>> {
        if rows.is_empty() {
            if let Some(j) = &mut self.journal {
                // Rows up to last_row are settled (all rejected): record progress.
                let batch = self.next_batch;
                self.next_batch += 1;
                j.append(&Entry::Sent {
                    batch,
                    first_row: last_row,
                    last_row,
                    entities: 0,
                })?;
                j.append(&Entry::Done {
                    batch,
                    last_row,
                    written: 0,
                    rejected: 0,
                })?;
            }
            return Ok(Vec::new());
        }
        let first_row = rows[0].row;
        // Re-check the uncertain batch of a crashed run: drop rows that made it.
        if first_row <= self.recheck_through && self.recheck {
            let ids: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
            let present: HashSet<Uuid> = self
                .conn
                .query_args(
                    json!({"query": {"q/from": self.type_name, "q/select": ["fibery/id"],
                    "q/where": ["q/in", ["fibery/id"], "$ids"], "q/limit": ids.len()},
                    "params": {"$ids": ids}}),
                )
                .await?
                .iter()
                .filter_map(|r| {
                    r.get("fibery/id")
                        .and_then(Value::as_str)
                        .and_then(|s| Uuid::parse_str(s).ok())
                })
                .collect();
            let before = rows.len();
            rows.retain(|r| !present.contains(&r.id));
            self.tally.already += (before - rows.len()) as u64;
        }
        let batch = self.next_batch;
        self.next_batch += 1;
        if let Some(j) = &mut self.journal {
            j.append(&Entry::Sent {
                batch,
                first_row,
                last_row,
                entities: rows.len(),
            })?;
        }
        let mut rejects = Vec::new();
        let mut written = 0u64;
        if !rows.is_empty() {
            let docs: Vec<PendingDocs> = rows
                .iter()
                .filter(|r| !r.documents.is_empty())
                .map(|r| (r.row, r.id, r.documents.clone()))
                .collect();
            written = if self.create_mode {
                self.send_creates(&rows, &mut rejects).await?
            } else {
                self.send_upserts(rows, &mut rejects).await?
            };
            if !docs.is_empty() {
                let failed: HashSet<u64> = rejects
                    .iter()
                    .filter(|r| r.record.is_some())
                    .map(|r| r.row)
                    .collect();
                let docs: Vec<_> = docs
                    .into_iter()
                    .filter(|d| !failed.contains(&d.0))
                    .collect();
                self.write_documents(docs, &mut rejects).await?;
            }
        }
        if let Some(j) = &mut self.journal {
            j.append(&Entry::Done {
                batch,
                last_row,
                written,
                rejected: rejects.len() as u64,
            })?;
        }
        Ok(rejects)
    }

    async fn send_creates(
        &mut self,
        rows: &[PreparedRow],
        rejects: &mut Vec<Reject>,
    ) -> Result<u64> {
        let mut cmds: Vec<Value> = rows
            .iter()
            .map(|r| json!({"command": "fibery.entity/create", "args": {"type": self.type_name, "entity": r.fields}}))
            .collect();
        let colls = self.collection_commands(rows);
        cmds.extend(colls.iter().map(|c| c.2.clone()));
        let results = self.execute(cmds).await?;
        let mut written = 0;
        let mut failed = HashSet::new();
        for (i, (r, res)) in rows.iter().zip(&results).enumerate() {
            match res {
                Ok(_) => {
                    written += 1;
                    self.tally.created += 1;
                }
                Err(e) if e.is_duplicate() => {
                    self.tally.already += 1;
                }
                Err(e) if e.status() == Some(413) => {
                    failed.insert(i);
                    rejects.push(row_reject(
                        r,
                        &self.type_name,
                        Rule::Validator,
                        "the row is too large for one request (HTTP 413)".to_string(),
                    ));
                }
                Err(e) => {
                    failed.insert(i);
                    rejects.push(row_reject(
                        r,
                        &self.type_name,
                        Rule::Validator,
                        format!("server: {e}"),
                    ));
                }
            }
        }
        self.tally.written += written;
        self.collection_results(rows, &colls, &results[rows.len()..], &failed, rejects);
        Ok(written)
    }

    async fn send_upserts(
        &mut self,
        rows: Vec<PreparedRow>,
        rejects: &mut Vec<Reject>,
    ) -> Result<u64> {
        // Work list: halves of a batch the server refused, down to single rows.
        let mut work = vec![rows];
        let mut written = 0;
        while let Some(part) = work.pop() {
            let key = self.key.clone().unwrap_or_default();
            let entities: Vec<&Map<String, Value>> = part.iter().map(|r| &r.fields).collect();
            let mut cmds = vec![
                json!({"command": "fibery.entity.batch/create-or-update", "args": {
                    "type": self.type_name,
                    "conflict-field": key,
                    "conflict-action": "update-latest",
                    "entities": entities,
                }}),
            ];
            let colls = self.collection_commands(&part);
            cmds.extend(colls.iter().map(|c| c.2.clone()));
            let results = self.execute(cmds).await?;
            match &results[0] {
                Ok(v) => {
                    // An existing entity with another id (not created by this tool) was
                    // updated: its collection values must go to that id.
                    let mut moved: HashSet<usize> = HashSet::new();
                    let items = v.as_array().map(Vec::as_slice).unwrap_or(&[]);
                    for (i, item) in items.iter().enumerate() {
                        match item.get("action").and_then(Value::as_str) {
                            Some("create") => self.tally.created += 1,
                            Some(_) => self.tally.updated += 1,
                            None => {}
                        }
                        let dup = item
                            .get("duplicate")
                            .and_then(|d| d.get("fibery/id"))
                            .and_then(Value::as_str)
                            .and_then(|s| Uuid::parse_str(s).ok());
                        if let (Some(d), Some(r)) = (dup, part.get(i))
                            && d != r.id
                        {
                            self.remapped.insert(r.id, d);
                            moved.insert(i);
                        }
                    }
                    written += part.len() as u64;
                    self.tally.written += part.len() as u64;
                    self.collection_results(&part, &colls, &results[1..], &moved, rejects);
                    let again: Vec<PreparedRow> = moved
                        .iter()
                        .filter(|i| !part[**i].collections.is_empty())
                        .map(|i| {
                            let mut r = part[*i].clone();
                            r.id = self.remapped[&r.id];
                            r
                        })
                        .collect();
                    if !again.is_empty() {
                        let colls = self.collection_commands(&again);
                        let res = self
                            .execute(colls.iter().map(|c| c.2.clone()).collect())
                            .await?;
                        self.collection_results(&again, &colls, &res, &HashSet::new(), rejects);
                    }
                }
                Err(e) if part.len() == 1 => {
                    let reason = if e.status() == Some(413) {
                        "the row is too large for one request (HTTP 413)".to_string()
                    } else {
                        format!("server: {e}")
                    };
                    rejects.push(row_reject(
                        &part[0],
                        &self.type_name,
                        Rule::Validator,
                        reason,
                    ));
                }
                Err(_) => {
                    let mut a = part;
                    let b = a.split_off(a.len() / 2);
                    work.push(b);
                    work.push(a);
                }
            }
        }
        Ok(written)
    }

    fn collection_results(
        &mut self,
        rows: &[PreparedRow],
        colls: &[(usize, String, Value)],
        results: &[std::result::Result<Value, ClientError>],
        failed_rows: &HashSet<usize>,
        rejects: &mut Vec<Reject>,
    ) {
        let mut partial_rows = HashSet::new();
        for ((i, field, _), res) in colls.iter().zip(results) {
            if let Err(e) = res
                && !failed_rows.contains(i)
            {
                if partial_rows.insert(*i) {
                    self.tally.partial += 1;
                }
                let mut r = row_reject(
                    &rows[*i],
                    field,
                    Rule::NotSettable,
                    format!("entity written, but setting {field} failed: {e}"),
                );
                r.record = None;
                rejects.push(r);
            }
        }
    }

    /// Writes rich-text fields: looks up each entity's document secret, then writes the
    /// documents in chunks (`create-or-update-documents`, markdown).
    async fn write_documents(
        &mut self,
        docs: Vec<PendingDocs>,
        rejects: &mut Vec<Reject>,
    ) -> Result<()> {
        let mut fields: Vec<String> = docs
            .iter()
            .flat_map(|d| d.2.iter().map(|f| f.0.clone()))
            .collect();
        fields.sort();
        fields.dedup();
        let docs: Vec<PendingDocs> = docs
            .into_iter()
            .map(|(row, id, items)| (row, self.remapped.get(&id).copied().unwrap_or(id), items))
            .collect();
        let ids: Vec<String> = docs.iter().map(|d| d.1.to_string()).collect();
        let mut select = vec![json!("fibery/id")];
        let mut obj = Map::new();
        for f in &fields {
            obj.insert(f.clone(), json!(["Collaboration~Documents/secret"]));
        }
        select.push(Value::Object(obj));
        let rows = self
            .conn
            .query_args(
                json!({"query": {"q/from": self.type_name, "q/select": select,
                "q/where": ["q/in", ["fibery/id"], "$ids"], "q/limit": ids.len()},
                "params": {"$ids": ids}}),
            )
            .await?;
        let mut secrets = std::collections::HashMap::new();
        for r in &rows {
            for f in &fields {
                if let (Some(id), Some(secret)) = (
                    r.get("fibery/id").and_then(Value::as_str),
                    r.get(f)
                        .and_then(|d| d.get("Collaboration~Documents/secret"))
                        .and_then(Value::as_str),
                ) {
                    secrets.insert((id.to_string(), f.clone()), secret.to_string());
                }
            }
        }
        let mut pairs = Vec::new();
        for (row, id, items) in &docs {
            for (field, md) in items {
                match secrets.get(&(id.to_string(), field.clone())) {
                    Some(secret) => pairs.push((secret.clone(), md.clone())),
                    None => {
                        self.tally.partial += 1;
                        rejects.push(Reject {
                            row: *row,
                            line: 0,
                            field: field.clone(),
                            reason: format!(
                                "entity written, but its {field} document was not found"
                            ),
                            errors: vec![],
                            record: None,
                        });
                    }
                }
            }
        }
        if !pairs.is_empty() {
            self.conn
                .client
                .set_documents(&pairs, fibery_core::entity::DocFormat::Md)
                .await
                .map_err(|e| client_error("writing rich text failed", &e)
                    .hint("the entities are written; re-run with --resume or without to rewrite the documents"))?;
        }
        Ok(())
    }

    /// Sends commands; a request-level failure aborts the import (the journal has the batch
    /// as uncertain, so `--resume` re-checks it).
    async fn execute(
        &self,
        cmds: Vec<Value>,
    ) -> Result<Vec<std::result::Result<Value, ClientError>>> {
        let results = self
            .conn
            .client
            .execute(cmds)
            .await
            .map_err(|e| client_error("cannot send a batch", &e))?;
        // 413 (body too large) applied nothing: the caller splits the batch and rejects
        // the oversized row. Any other request-level failure stops the import.
        if let Some(Err(ClientError::Batch { source })) = results.first()
            && source.status() != Some(413)
        {
            return Err(client_error("a batch failed", source)
                .hint("nothing is lost: re-run the same command with --resume to continue (the last batch is re-checked)"));
        }
        Ok(results)
    }
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
    let mut plan = Plan::build(
        &schema,
        &args.type_name,
        &headers,
        mapping,
        args.key.as_deref(),
        &args.separator,
    )?;
    let mut lookups = load_lookups(conn, &plan).await?;
    let create_mode = args.create || plan.key.is_none();
    let mode = if create_mode { "create" } else { "upsert" };

    let rejects_path = args
        .rejects
        .clone()
        .unwrap_or_else(|| default_side_file(&args.file, "rejects.jsonl"));
    let journal_path = args
        .journal
        .clone()
        .unwrap_or_else(|| default_side_file(&args.file, "journal.jsonl"));
    let (size, hash) = fingerprint(&args.file)?;
    let header = Header {
        version: 1,
        input_size: size,
        input_hash: hash,
        type_name: plan.type_name.clone(),
        key: plan.key.clone(),
        mode: format!("{mode}/batch={}", args.batch),
        target: match &conn.target {
            Target::Embedded => "embedded".into(),
            Target::Remote(u) => u.clone(),
        },
    };
    let mut done_through = 0;
    let mut recheck_through = 0;
    let mut recheck = false;
    let mut next_batch = 0;
    let journal = if args.dry_run {
        None
    } else if args.resume {
        if conn.target == Target::Embedded {
            return Err(CliError::usage(
                "--resume needs a persistent target; the embedded emulator starts empty every run",
            )
            .hint("pass --base-url or --account"));
        }
        let (j, st) = Journal::resume(&journal_path, &header)?;
        if st.complete && !g.quiet {
            eprintln!("the journal says this import already finished; nothing to do");
        }
        done_through = st.done_through;
        next_batch = st.next_batch;
        if let Some((_, last, n)) = st.uncertain {
            recheck_through = last;
            recheck = n > 0;
        }
        Some(j)
    } else {
        Some(Journal::create(&journal_path, &header)?)
    };
    let mut rejects = Rejects::open(
        &rejects_path,
        if args.resume {
            Some(done_through)
        } else {
            None
        },
    )?;

    let show_progress = !g.quiet && !g.json && !args.no_progress && stderr_is_tty();
    let pb = ProgressBar::with_draw_target(
        Some(size),
        if show_progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:30}] {percent:>3}% ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.enable_steady_tick(Duration::from_millis(200));

    let stats0 = conn.stats();
    let write_started = Instant::now();
    let mut w = Writer {
        conn,
        type_name: plan.type_name.clone(),
        key: plan.key.clone(),
        create_mode,
        journal,
        next_batch,
        recheck_through,
        recheck,
        tally: Tally::default(),
        remapped: Default::default(),
    };
    let mut rows_read = 0u64;
    let mut skipped = 0u64;
    let mut batch: Vec<PreparedRow> = Vec::with_capacity(args.batch);
    let mut last_row = done_through;
    let mut interrupted = false;
    let mut unknown_reported: HashSet<String> = HashSet::new();
    let mut pending_lookup_refresh = false;
    while let Some(item) = reader.next_record() {
        let rec: Record = match item {
            Ok(r) => r,
            Err(p) => {
                rows_read += 1;
                if p.row > done_through {
                    rejects.write(&Reject {
                        row: p.row,
                        line: p.line,
                        field: String::new(),
                        reason: p.reason.clone(),
                        errors: vec![Violation {
                            field: String::new(),
                            rule: Rule::WrongType,
                            reason: p.reason,
                        }],
                        record: None,
                    })?;
                    last_row = p.row;
                }
                continue;
            }
        };
        rows_read += 1;
        pb.set_position(rec.end_byte);
        if rec.row <= done_through {
            skipped += 1;
            continue;
        }
        last_row = rec.row;
        let mut extra_errors = Vec::new();
        if reader.headers().is_empty() {
            let before = plan.columns.len();
            for k in plan.extend_for(&schema, &rec) {
                extra_errors.push(Violation {
                    field: k.clone(),
                    rule: Rule::UnknownField,
                    reason: format!("\"{k}\" matches no writable field of {}", plan.type_name),
                });
                unknown_reported.insert(k);
            }
            if plan.columns.len() != before {
                pending_lookup_refresh = true;
            }
        }
        if pending_lookup_refresh {
            lookups = load_lookups(conn, &plan).await?;
            pending_lookup_refresh = false;
        }
        match prepare(&schema, &plan, &rec, &lookups) {
            Ok(row) if extra_errors.is_empty() => batch.push(row),
            Ok(_) => rejects.write(&Reject::new(&rec, extra_errors))?,
            Err(mut errs) => {
                errs.extend(extra_errors);
                rejects.write(&Reject::new(&rec, errs))?;
            }
        }
        if batch.len() >= args.batch {
            let rows = std::mem::take(&mut batch);
            let n = rows.len() as u64;
            if args.dry_run {
                w.tally.written += n;
            } else {
                rejects.flush()?;
                for r in w.flush(rows, last_row).await? {
                    rejects.write(&r)?;
                }
            }
            let elapsed = write_started.elapsed().as_secs_f64().max(0.001);
            let st = conn.stats();
            pb.set_message(format!(
                "{} rows {:.0}/s | written {} | rejected {} | retries {}",
                rows_read,
                rows_read as f64 / elapsed,
                w.tally.written,
                rejects.count,
                st.retries - stats0.retries
            ));
            if INTERRUPTED.load(Ordering::SeqCst) {
                interrupted = true;
                break;
            }
        }
    }
    if !interrupted {
        let rows = std::mem::take(&mut batch);
        if args.dry_run {
            w.tally.written += rows.len() as u64;
        } else {
            rejects.flush()?;
            for r in w.flush(rows, last_row).await? {
                rejects.write(&r)?;
            }
            if let Some(j) = &mut w.journal {
                j.append(&Entry::Complete { last_row })?;
            }
        }
    }
    rejects.flush()?;
    pb.finish_and_clear();
    let st = conn.stats();
    let elapsed = write_started.elapsed().as_secs_f64();
    let requests = st.requests - stats0.requests;
    let ceiling = f64::from(conn.rps) * args.batch as f64;
    let eps = if elapsed > 0.0 {
        w.tally.written as f64 / elapsed
    } else {
        0.0
    };
    let row_rejects = rejects.count - w.tally.partial;
    let summary = Summary {
        file: args.file.display().to_string(),
        type_name: plan.type_name.clone(),
        mode: mode.into(),
        dry_run: args.dry_run,
        target: conn.target.describe(),
        rows_read,
        rows_skipped_resume: skipped,
        written: w.tally.written,
        created: w.tally.created,
        updated: w.tally.updated,
        already_present: w.tally.already,
        rejected: row_rejects,
        partial: w.tally.partial,
        requests,
        retried: st.retries - stats0.retries,
        rate_limited: st.rate_limited - stats0.rate_limited,
        elapsed_s: elapsed,
        total_elapsed_s: started.elapsed().as_secs_f64(),
        entities_per_s: eps,
        requests_per_s: if elapsed > 0.0 {
            requests as f64 / elapsed
        } else {
            0.0
        },
        rps_limit: conn.rps,
        batch: args.batch,
        ceiling_entities_per_s: ceiling,
        fraction_of_ceiling: if ceiling > 0.0 { eps / ceiling } else { 0.0 },
        rejects_file: rejects_path.display().to_string(),
        journal_file: if args.dry_run {
            String::new()
        } else {
            journal_path.display().to_string()
        },
        interrupted,
    };
    if g.json {
        println!(
            "{}",
            serde_json::to_string(&summary).map_err(|e| CliError::failure(e.to_string()))?
        );
    } else if !g.quiet {
        print!("{}", summary.human());
    }
    if interrupted {
        return Ok(130);
    }
    Ok(if rejects.count > 0 {
        EXIT_REJECTS
    } else {
        EXIT_OK
    })
}
