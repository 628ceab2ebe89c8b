//! Chunks in flight: each chunk's write, its follow-ups (collections, documents) and its
//! per-item outcomes. Chunks run in parallel lanes; a chunk's follow-ups wait only for its
//! own write.

use std::collections::HashMap;
use std::sync::Arc;

use fibery_core::command::{Command, ConflictAction};
use fibery_core::entity::DocFormat;
use fibery_core::query::{Filter, Order, Query};
use futures::StreamExt;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{BatchReport, Op, Records};
use crate::error::{Error, Result};

/// How many chunks may be in flight at once. Their requests still start at the pacer's
/// rate; enough lanes keep the rate limit busy while the server takes seconds per request
/// (at 3 requests/s and two requests per chunk, 16 lanes cover about 2.5 s of latency).
pub const CHUNKS_IN_FLIGHT: usize = 16;

/// The secret field of a document, as selected through a rich-text field.
const SECRET: &str = "Collaboration~Documents/secret";

/// A validated item, ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// Position in the caller's input.
    pub(crate) index: usize,
    /// The id written (an upsert may end up with an existing entity's id instead).
    pub(crate) id: Uuid,
    /// The create/update fields (with `fibery/id`).
    pub(crate) fields: Map<String, Value>,
    /// Collection field -> item ids (multi-select names already resolved).
    pub(crate) collections: Vec<(String, Vec<Uuid>)>,
    /// Rich-text field -> (format, content).
    pub(crate) rich_text: Vec<(String, DocFormat, String)>,
    /// The upsert conflict value.
    pub(crate) key: Option<Value>,
}

/// (entity id, rich-text field) -> document secret.
type Secrets = HashMap<(Uuid, String), String>;
/// A document to write: (item position, secret, content).
type Doc = (usize, String, String);
/// (entity id, collection field) -> current item ids.
type Current = HashMap<(Uuid, String), Vec<Uuid>>;

/// One chunk in flight: its items and their outcomes so far.
struct Chunk {
    items: Vec<Prepared>,
    results: Vec<Result<Uuid>>,
    /// The item's entity is written (a later failure is a follow-up's).
    written: Vec<bool>,
    /// Upserts: the item updated an existing entity.
    updated: Vec<bool>,
    secrets: Secrets,
}

/// One item's outcome: input index, result, entity written, existing entity updated.
type Outcome = (usize, Result<Uuid>, bool, bool);

impl Chunk {
    fn new(items: Vec<Prepared>) -> Chunk {
        let results = items.iter().map(|p| Ok(p.id)).collect();
        let n = items.len();
        Chunk {
            items,
            results,
            written: vec![false; n],
            updated: vec![false; n],
            secrets: Secrets::new(),
        }
    }

    /// Marks every still-pending item at `positions` failed by the shared `error`.
    fn fail(&mut self, positions: impl IntoIterator<Item = usize>, error: Error) {
        let shared = match error {
            Error::Batch { source } => source,
            e => Arc::new(e),
        };
        for p in positions {
            if self.results[p].is_ok() {
                self.results[p] = Err(Error::Batch {
                    source: shared.clone(),
                });
            }
        }
    }

    /// An item's own failure (the first one recorded wins), renumbered to its input index.
    fn refuse(&mut self, pos: usize, error: Error) {
        if self.results[pos].is_ok() {
            self.results[pos] = Err(with_index(error, self.items[pos].index));
        }
    }

    fn rich_fields(&self) -> Vec<String> {
        let mut f: Vec<String> = self
            .items
            .iter()
            .flat_map(|p| p.rich_text.iter().map(|(n, _, _)| n.clone()))
            .collect();
        f.sort();
        f.dedup();
        f
    }

    fn collection_fields(&self) -> Vec<String> {
        let mut f: Vec<String> = self
            .items
            .iter()
            .flat_map(|p| p.collections.iter().map(|(n, _)| n.clone()))
            .collect();
        f.sort();
        f.dedup();
        f
    }

    fn live_ids(&self) -> Vec<Uuid> {
        self.items
            .iter()
            .zip(&self.results)
            .filter(|(_, r)| r.is_ok())
            .map(|(p, _)| p.id)
            .collect()
    }

    /// Reads the secrets out of the rows of a secrets (or upsert ids) query.
    fn take_secrets(&mut self, rows: &Value, fields: &[String]) {
        for row in rows.as_array().into_iter().flatten() {
            let Some(id) = row_id(row) else { continue };
            for f in fields {
                if let Some(s) = row[f][SECRET].as_str() {
                    self.secrets.insert((id, f.clone()), s.to_owned());
                }
            }
        }
    }

    fn into_outcome(self) -> Vec<Outcome> {
        let flags = self.written.into_iter().zip(self.updated);
        self.items
            .iter()
            .map(|p| p.index)
            .zip(self.results)
            .zip(flags)
            .map(|((i, r), (w, u))| (i, r, w, u))
            .collect()
    }
}

/// A command failure renumbered to the item's input position.
fn with_index(error: Error, index: usize) -> Error {
    match error {
        Error::Command { command, error, .. } => Error::Command {
            index,
            command,
            error,
        },
        other => other,
    }
}

/// The id an item was to be written with (its result before the pipeline ran).
fn report_id(r: &Result<Uuid>) -> Uuid {
    r.as_ref().copied().unwrap_or_default()
}

/// The `fibery/id` of a row, if it is a UUID.
fn row_id(row: &Value) -> Option<Uuid> {
    row["fibery/id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
}

impl Records {
    /// Sends the valid items in chunks, [`CHUNKS_IN_FLIGHT`] at a time, and files each
    /// item's outcome in `results` (indexed by input position).
    pub(super) async fn run_pipeline(
        &self,
        op: &Op,
        items: Vec<Prepared>,
        report: &mut BatchReport,
    ) {
        let max = self.client.limits().max_commands;
        let rich = items.iter().any(|p| !p.rich_text.is_empty());
        // The secrets query rides in the write's request: leave room for it.
        let size = match op {
            Op::Upsert(_) => max,
            _ if rich && max > 1 => max - 1,
            _ => max,
        };
        let mut chunks = Vec::new();
        let mut items = items.into_iter().peekable();
        while items.peek().is_some() {
            chunks.push(items.by_ref().take(size).collect::<Vec<_>>());
        }
        let mut lanes = futures::stream::iter(chunks.into_iter().map(|c| self.write_chunk(op, c)))
            .buffer_unordered(CHUNKS_IN_FLIGHT);
        while let Some(outcome) = lanes.next().await {
            for (i, r, written, updated) in outcome {
                match &r {
                    Err(_) if written => report.partial.push((i, report_id(&report.results[i]))),
                    Ok(_) if updated => report.updated.push(i),
                    _ => {}
                }
                report.results[i] = r;
            }
        }
        report.partial.sort_unstable();
        report.updated.sort_unstable();
    }

    /// One chunk: its write, its collections, its documents.
    async fn write_chunk(&self, op: &Op, items: Vec<Prepared>) -> Vec<Outcome> {
        let mut chunk = Chunk::new(items);
        match op {
            Op::Create => self.write_each(&mut chunk, false).await,
            Op::Update => self.write_each(&mut chunk, true).await,
            Op::Upsert(key) => {
                if let Err(halves) = self.upsert(&mut chunk, key).await {
                    return self.upsert_halves(op, halves).await;
                }
            }
        }
        self.write_documents(&mut chunk).await;
        chunk.into_outcome()
    }

    /// A create-or-update the server refused as a whole: each half on its own, down to
    /// the single item it refuses.
    async fn upsert_halves(&self, op: &Op, mut items: Vec<Prepared>) -> Vec<Outcome> {
        let second = items.split_off(items.len() / 2);
        let mut out = Box::pin(self.write_chunk(op, items)).await;
        out.extend(Box::pin(self.write_chunk(op, second)).await);
        out
    }

    /// Creates or updates (`update`; collections set exactly unless merging) one command
    /// per item; the secrets query and the collection commands follow in the same command
    /// list (split into requests of the command limit, sent in order).
    async fn write_each(&self, chunk: &mut Chunk, update: bool) {
        let set = update && !self.merge;
        let collection_fields = chunk.collection_fields();
        let mut current = Current::new();
        if set && !collection_fields.is_empty() {
            let ids: Vec<Uuid> = chunk.items.iter().map(|p| p.id).collect();
            match self
                .client
                .current_collections(&self.type_name, &collection_fields, &ids)
                .await
            {
                Ok(c) => current = c,
                Err(e) => return chunk.fail(0..chunk.items.len(), e),
            }
        }
        let mut cmds: Vec<Command> = chunk
            .items
            .iter()
            .map(|p| {
                let fields = Value::Object(p.fields.clone());
                if update {
                    Command::update(&*self.type_name, p.id, fields)
                } else {
                    Command::create(&*self.type_name, fields)
                }
            })
            .collect();
        let n = cmds.len();
        let rich = chunk.rich_fields();
        if !rich.is_empty() {
            let ids = chunk.items.iter().map(|p| p.id.to_string());
            let q = self.secrets_query(&rich, Filter::in_list("fibery/id", ids), n);
            cmds.push(Command::query(q));
        }
        let (colls, owners) = collection_commands(&self.type_name, chunk, &current, set);
        cmds.extend(colls);
        let mut res = self.client.run(cmds, false).await.into_iter();
        for pos in 0..n {
            match res.next() {
                Some(Ok(_)) => chunk.written[pos] = true,
                Some(Err(e)) => chunk.refuse(pos, e),
                None => {}
            }
        }
        if !rich.is_empty() {
            match res.next() {
                Some(Ok(rows)) => chunk.take_secrets(&rows, &rich),
                Some(Err(e)) => chunk.fail(with_rich_text(chunk), e),
                None => {}
            }
        }
        apply_collections(chunk, owners, res);
    }

    /// One create-or-update command for the chunk, and in the same request the query of
    /// the ids (and document secrets) the items ended up with; then the collections.
    /// `Err(items)`: the server refused the command as a whole; retry them in halves.
    async fn upsert(&self, chunk: &mut Chunk, key: &str) -> std::result::Result<(), Vec<Prepared>> {
        let keys: Vec<Value> = chunk.items.iter().filter_map(|p| p.key.clone()).collect();
        let entities = chunk.items.iter().map(|p| p.fields.clone());
        let rich = chunk.rich_fields();
        let lookup = self
            .secrets_query(
                &rich,
                Filter::in_list(key, keys),
                chunk.items.len() * 2 + 10,
            )
            .select([key])
            .order_by("fibery/creation-date", Order::Asc);
        let write = Command::create_or_update(
            &*self.type_name,
            key,
            ConflictAction::UpdateLatest,
            entities,
        );
        let mut cmds = vec![write, Command::query(lookup)];
        // Merging: the adds ride along, aimed at the ids proposed (right unless the key
        // matched an entity with another id; those are redone below).
        let proposed: Vec<Uuid> = chunk.items.iter().map(|p| p.id).collect();
        let (adds, owners) = if self.merge {
            collection_commands(&self.type_name, chunk, &Current::new(), false)
        } else {
            Default::default()
        };
        cmds.extend(adds);
        let mut res = self.client.run(cmds, false).await.into_iter();
        match res.next() {
            Some(Ok(actions)) => {
                let actions = actions.as_array().cloned().unwrap_or_default();
                for (pos, a) in actions.iter().enumerate().take(chunk.items.len()) {
                    chunk.updated[pos] = a["action"].as_str().is_some_and(|a| a != "create");
                }
            }
            // Refused by Fibery, or too large (413, nothing applied): retry in halves.
            Some(Err(e))
                if chunk.items.len() > 1
                    && (matches!(e, Error::Command { .. }) || e.status() == Some(413)) =>
            {
                tracing::debug!(error = %e, "upsert refused as a whole: retrying in halves");
                return Err(std::mem::take(&mut chunk.items));
            }
            Some(Err(e)) => {
                if chunk.items.len() == 1 {
                    chunk.refuse(0, e);
                } else {
                    chunk.fail(0..chunk.items.len(), e);
                }
                return Ok(());
            }
            None => return Ok(()),
        }
        let rows = match res.next() {
            Some(Ok(rows)) => rows,
            Some(Err(e)) => {
                chunk.fail(0..chunk.items.len(), e);
                return Ok(());
            }
            None => return Ok(()),
        };
        // Later (newer) rows win on duplicate keys, as `update-latest` does.
        let mut by_key: HashMap<String, Uuid> = HashMap::new();
        for r in rows.as_array().into_iter().flatten() {
            if let Some(id) = row_id(r) {
                by_key.insert(r[key].to_string(), id);
            }
        }
        for pos in 0..chunk.items.len() {
            let k = chunk.items[pos]
                .key
                .as_ref()
                .map(Value::to_string)
                .unwrap_or_default();
            match by_key.get(&k) {
                Some(id) => {
                    chunk.items[pos].id = *id;
                    chunk.results[pos] = Ok(*id);
                    chunk.written[pos] = true;
                }
                None => {
                    let what = format!("{} with {key} = {k}", self.type_name);
                    chunk.results[pos] = Err(Error::NotFound(what));
                }
            }
        }
        chunk.take_secrets(&rows, &rich);
        if self.merge {
            let (kept, moved): (Vec<_>, Vec<_>) = owners
                .into_iter()
                .zip(res)
                .partition(|(pos, _)| chunk.items[*pos].id == proposed[*pos]);
            for (pos, r) in kept {
                if let Err(e) = r {
                    chunk.refuse(pos, e);
                }
            }
            let mut moved: Vec<usize> = moved.into_iter().map(|(pos, _)| pos).collect();
            moved.dedup();
            self.add_collections(chunk, &moved).await;
        } else {
            self.set_collections(chunk).await;
        }
        Ok(())
    }

    /// Adds the collection items of the items at `positions` (by their current ids).
    async fn add_collections(&self, chunk: &mut Chunk, positions: &[usize]) {
        let mut cmds = Vec::new();
        let mut owners = Vec::new();
        for &pos in positions {
            let p = &chunk.items[pos];
            for (field, items) in p.collections.iter().filter(|(_, i)| !i.is_empty()) {
                cmds.push(Command::add_collection_items(
                    &*self.type_name,
                    field,
                    p.id,
                    items,
                ));
                owners.push(pos);
            }
        }
        if cmds.is_empty() {
            return;
        }
        let res = self.client.run(cmds, false).await.into_iter();
        apply_collections(chunk, owners, res);
    }

    /// Sets the chunk's collections to exactly the given items (reads the current ones
    /// first).
    async fn set_collections(&self, chunk: &mut Chunk) {
        let fields = chunk.collection_fields();
        let live = chunk.live_ids();
        if fields.is_empty() || live.is_empty() {
            return;
        }
        let current = match self
            .client
            .current_collections(&self.type_name, &fields, &live)
            .await
        {
            Ok(c) => c,
            Err(e) => return chunk.fail(0..chunk.items.len(), e),
        };
        let (cmds, owners) = collection_commands(&self.type_name, chunk, &current, true);
        let res = self.client.run(cmds, false).await.into_iter();
        apply_collections(chunk, owners, res);
    }

    /// A query of `fibery/id` and the document secrets of `rich` fields of the entities
    /// matching `filter`.
    fn secrets_query(&self, rich: &[String], filter: Filter, limit: usize) -> Query {
        let mut q = Query::from(&*self.type_name).select(["fibery/id"]);
        for f in rich {
            q = q.select_relation(f.as_str(), [SECRET]);
        }
        q.filter(filter).limit(limit as u64)
    }

    /// Writes the documents of the chunk's written items, one request per format and
    /// [`document_chunk`](crate::ClientBuilder::document_chunk) documents.
    async fn write_documents(&self, chunk: &mut Chunk) {
        let mut groups: Vec<(DocFormat, Vec<Doc>)> = Vec::new();
        for pos in 0..chunk.items.len() {
            if chunk.results[pos].is_err() {
                continue;
            }
            let id = chunk.items[pos].id;
            for (field, fmt, content) in std::mem::take(&mut chunk.items[pos].rich_text) {
                let Some(secret) = chunk.secrets.get(&(id, field.clone())).cloned() else {
                    let what = format!("document secret of {field} for {id}");
                    chunk.results[pos] = Err(Error::NotFound(what));
                    continue;
                };
                match groups.iter_mut().find(|(f, _)| *f == fmt) {
                    Some((_, g)) => g.push((pos, secret, content)),
                    None => groups.push((fmt, vec![(pos, secret, content)])),
                }
            }
        }
        for (fmt, docs) in groups {
            let (owners, pairs): (Vec<usize>, Vec<(String, String)>) =
                docs.into_iter().map(|(p, s, c)| (p, (s, c))).unzip();
            if let Err(e) = self.client.set_documents(&pairs, fmt).await {
                chunk.fail(owners, e);
            }
        }
    }
}

/// Positions of the items carrying rich text.
fn with_rich_text(chunk: &Chunk) -> Vec<usize> {
    (0..chunk.items.len())
        .filter(|p| !chunk.items[*p].rich_text.is_empty())
        .collect()
}

/// One add (and with `set`, one remove) command per item and collection field that needs
/// it, for the items still pending; with the item position owning each command.
fn collection_commands(
    type_name: &str,
    chunk: &Chunk,
    current: &Current,
    set: bool,
) -> (Vec<Command>, Vec<usize>) {
    let mut cmds = Vec::new();
    let mut owners = Vec::new();
    for (pos, p) in chunk.items.iter().enumerate() {
        if chunk.results[pos].is_err() {
            continue;
        }
        for (field, items) in &p.collections {
            let have = current
                .get(&(p.id, field.clone()))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let add: Vec<&Uuid> = items.iter().filter(|x| !have.contains(x)).collect();
            if !add.is_empty() {
                cmds.push(Command::add_collection_items(type_name, field, p.id, add));
                owners.push(pos);
            }
            let remove: Vec<&Uuid> = have.iter().filter(|x| !items.contains(x)).collect();
            if set && !remove.is_empty() {
                cmds.push(Command::remove_collection_items(
                    type_name, field, p.id, remove,
                ));
                owners.push(pos);
            }
        }
    }
    (cmds, owners)
}

/// Files the results of the collection commands against their owners.
fn apply_collections(
    chunk: &mut Chunk,
    owners: Vec<usize>,
    results: impl Iterator<Item = Result<Value>>,
) {
    for (pos, r) in owners.into_iter().zip(results) {
        if let Err(e) = r {
            chunk.refuse(pos, e);
        }
    }
}
