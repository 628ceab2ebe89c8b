//! The import's writer: each batch of mapped rows goes through the client's write pipeline
//! (`client.records(type)`: create, or upsert by the key; collections; documents), up to
//! [`BATCHES_IN_FLIGHT`] batches at once, started at the pacer's rate. The journal records
//! a batch as sent before it leaves and as done once its outcome is filed, in completion
//! order; `--resume` re-checks every batch from the first one without a "done".

use std::collections::HashSet;

use fibery_client::{BatchReport, Client, EncodedEntity, Error as ClientError, Records};
use fibery_core::entity::DocFormat;
use fibery_core::query::{Filter, Query};
use fibery_core::validate::Rule;
use futures::StreamExt;
use futures::future::LocalBoxFuture;
use futures::stream::FuturesUnordered;
use uuid::Uuid;

use crate::conn::client_error;
use crate::error::Result;
use crate::journal::{Entry, Journal};
use crate::mapping::PreparedRow;
use crate::rejects::Reject;

/// Batches in flight at once: enough to keep 3 requests/s busy at a few seconds of server
/// latency (each batch is one chunk of the pipeline: one or two requests plus documents).
pub const BATCHES_IN_FLIGHT: usize = 8;

/// Counters of the write phase.
#[derive(Debug, Default)]
pub struct Tally {
    /// Rows written (created or updated).
    pub written: u64,
    /// Of those: created.
    pub created: u64,
    /// Of those: existing entities updated.
    pub updated: u64,
    /// Rows found already present.
    pub already: u64,
    /// Rows written whose collections or documents failed.
    pub partial: u64,
}

/// A batch whose outcome came back.
struct Landed {
    batch: u64,
    last_row: u64,
    rows: Vec<PreparedRow>,
    /// Rows dropped by the re-check because an earlier run wrote them.
    already: u64,
    report: std::result::Result<BatchReport, ClientError>,
}

/// Sends batches and files their outcomes.
pub struct Writer {
    /// The client (for the re-check query).
    pub client: Client,
    /// The pipeline of the target type.
    pub records: Records,
    /// The upsert key; `None` in create mode.
    pub key: Option<String>,
    /// The journal (none for a dry run).
    pub journal: Option<Journal>,
    /// The next batch number.
    pub next_batch: u64,
    /// Batches starting at or before this row are re-checked (an earlier run may have
    /// written them).
    pub recheck_through: u64,
    /// Whether a re-check is needed at all.
    pub recheck: bool,
    /// What was written so far.
    pub tally: Tally,
    in_flight: FuturesUnordered<LocalBoxFuture<'static, Landed>>,
}

impl Writer {
    /// A writer of `type_name`, upserting by `key` or creating.
    pub fn new(client: &Client, type_name: &str, key: Option<String>) -> Writer {
        Writer {
            client: client.clone(),
            records: client.records(type_name).merge_collections(),
            key,
            journal: None,
            next_batch: 0,
            recheck_through: 0,
            recheck: false,
            tally: Tally::default(),
            in_flight: FuturesUnordered::new(),
        }
    }

    /// Starts one batch (journal "sent" first); when [`BATCHES_IN_FLIGHT`] are out, waits
    /// for one to land. Returns the rejects of the batches that landed.
    pub async fn flush(&mut self, rows: Vec<PreparedRow>, last_row: u64) -> Result<Vec<Reject>> {
        let batch = self.next_batch;
        self.next_batch += 1;
        let first_row = rows.first().map_or(last_row, |r| r.row);
        if let Some(j) = &mut self.journal {
            j.append(&Entry::Sent {
                batch,
                first_row,
                last_row,
                entities: rows.len(),
            })?;
        }
        let recheck = self.recheck && first_row <= self.recheck_through && !rows.is_empty();
        let (client, records, key) = (self.client.clone(), self.records.clone(), self.key.clone());
        self.in_flight.push(Box::pin(async move {
            send(client, records, key, batch, last_row, rows, recheck).await
        }));
        let mut rejects = Vec::new();
        while self.in_flight.len() >= BATCHES_IN_FLIGHT {
            self.land_one(&mut rejects).await?;
        }
        Ok(rejects)
    }

    /// Waits for every batch in flight. Returns their rejects.
    pub async fn drain(&mut self) -> Result<Vec<Reject>> {
        let mut rejects = Vec::new();
        while !self.in_flight.is_empty() {
            self.land_one(&mut rejects).await?;
        }
        Ok(rejects)
    }

    async fn land_one(&mut self, rejects: &mut Vec<Reject>) -> Result<()> {
        let Some(landed) = self.in_flight.next().await else {
            return Ok(());
        };
        let before = rejects.len();
        let written = self.file(&landed, rejects)?;
        if let Some(j) = &mut self.journal {
            j.append(&Entry::Done {
                batch: landed.batch,
                last_row: landed.last_row,
                written,
                rejected: (rejects.len() - before) as u64,
            })?;
        }
        Ok(())
    }

    /// Files one batch's per-item report: tallies and rejects. A request that failed as a
    /// whole (after the client's retries) stops the import; its batch stays "sent" in the
    /// journal, so `--resume` re-checks it.
    fn file(&mut self, landed: &Landed, rejects: &mut Vec<Reject>) -> Result<u64> {
        self.tally.already += landed.already;
        let report = match &landed.report {
            Ok(r) => r,
            Err(e) => return Err(client_error("cannot send a batch", e)),
        };
        let type_name = self.records.type_name().to_owned();
        let partial: HashSet<usize> = report.partial.iter().map(|(i, _)| *i).collect();
        let updated: HashSet<usize> = report.updated.iter().copied().collect();
        let mut written = 0;
        for (i, (row, r)) in landed.rows.iter().zip(&report.results).enumerate() {
            let e = match r {
                Ok(_) => None,
                Err(e) if partial.contains(&i) => Some(e),
                Err(ClientError::Batch { source }) if source.status() != Some(413) => {
                    return Err(client_error("a batch failed", source)
                        .hint("nothing is lost: re-run the same command with --resume to continue (the unfinished batches are re-checked)"));
                }
                Err(e) if e.is_duplicate() => {
                    self.tally.already += 1;
                    continue;
                }
                Err(e) => {
                    rejects.push(refused(row, &type_name, e));
                    continue;
                }
            };
            written += 1;
            if updated.contains(&i) {
                self.tally.updated += 1;
            } else {
                self.tally.created += 1;
            }
            if let Some(e) = e {
                self.tally.partial += 1;
                let field = followup_field(row, e);
                let reason = format!("entity written, but setting {field} failed: {e}");
                rejects.push(Reject::partial(
                    row.row,
                    row.span,
                    &field,
                    Rule::NotSettable,
                    reason,
                ));
            }
        }
        self.tally.written += written;
        Ok(written)
    }
}

/// The re-check (when asked), then the pipeline.
async fn send(
    client: Client,
    records: Records,
    key: Option<String>,
    batch: u64,
    last_row: u64,
    mut rows: Vec<PreparedRow>,
    recheck: bool,
) -> Landed {
    let mut already = 0;
    if recheck {
        match present(&client, records.type_name(), &rows).await {
            Ok(ids) => {
                let before = rows.len();
                rows.retain(|r| !ids.contains(&r.id));
                already = (before - rows.len()) as u64;
            }
            Err(e) => {
                return Landed {
                    batch,
                    last_row,
                    rows,
                    already,
                    report: Err(e),
                };
            }
        }
    }
    let items: Vec<EncodedEntity> = rows.iter().map(encoded).collect();
    let report = if rows.is_empty() {
        Ok(BatchReport::default())
    } else {
        match &key {
            Some(k) => records.upsert_all(items, k).await,
            None => records.create_all(items).await,
        }
    };
    Landed {
        batch,
        last_row,
        rows,
        already,
        report,
    }
}

/// The ids of `rows` that exist already.
async fn present(
    client: &Client,
    type_name: &str,
    rows: &[PreparedRow],
) -> std::result::Result<HashSet<Uuid>, ClientError> {
    let mut out = HashSet::new();
    for chunk in rows.chunks(1000) {
        let q = Query::from(type_name)
            .select(["fibery/id"])
            .filter(Filter::in_list(
                "fibery/id",
                chunk.iter().map(|r| r.id.to_string()),
            ))
            .limit(chunk.len() as u64);
        for r in client.query(&q).await? {
            if let Some(id) = r["fibery/id"]
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
            {
                out.insert(id);
            }
        }
    }
    Ok(out)
}

/// A mapped row as the pipeline's encoded entity (option and relation names are already
/// ids; rich text is Markdown).
fn encoded(r: &PreparedRow) -> EncodedEntity {
    EncodedEntity {
        fields: r.fields.clone(),
        collections: r.collections.clone(),
        enums: Vec::new(),
        rich_text: r
            .documents
            .iter()
            .map(|(f, md)| (f.clone(), DocFormat::Md, md.clone()))
            .collect(),
    }
}

/// The reject of a row the pipeline did not write.
fn refused(row: &PreparedRow, type_name: &str, e: &ClientError) -> Reject {
    if let Some(v) = e.violations().and_then(|vs| vs.first()) {
        return Reject::unwritten(row, &v.field, v.rule, v.reason.clone());
    }
    let reason = if e.status() == Some(413) {
        "the row is too large for one request (HTTP 413)".to_string()
    } else {
        format!("server: {e}")
    };
    Reject::unwritten(row, type_name, Rule::Validator, reason)
}

/// The follow-up a written row's error belongs to: its collection fields for a failed
/// collection command, else its rich-text fields.
fn followup_field(row: &PreparedRow, e: &ClientError) -> String {
    let collection =
        matches!(e, ClientError::Command { command, .. } if command.contains("collection-items"));
    let names: Vec<&str> = if collection {
        row.collections.iter().map(|(f, _)| f.as_str()).collect()
    } else {
        row.documents.iter().map(|(f, _)| f.as_str()).collect()
    };
    names.join(", ")
}
