//! Typed CRUD over a [`FiberyEntity`]: [`Client::entities`].
//!
//! Writes are validated (validator rules, then the workspace schema) before any write
//! request leaves. Creating N entities costs about `ceil(N / max)` create requests, one
//! request for collections (incl. multi-selects), one query for all document secrets and
//! `ceil(N / document_chunk)` document writes per rich-text field — not 3N.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use fibery_core::command::{Command, ConflictAction};
use fibery_core::entity::{DocFormat, EncodedEntity, FiberyEntity};
use fibery_core::query::{Filter, Order, Query};
use fibery_core::validate::{Mode, Rule, Violation};
use futures::StreamExt;
use serde_json::{Map, Value, json};
use uuid::Uuid;
use validator::Validate;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::schema::{field_type, invalid, resolve, type_def, unknown_field};

mod options;
mod read;

/// Per-item outcome of a bulk write, in input order. A failed item never hides the others.
#[derive(Debug)]
pub struct BatchReport {
    /// One result per input item: the entity id, or what went wrong for that item.
    pub results: Vec<Result<Uuid>>,
}

impl BatchReport {
    /// Ids of the items that succeeded (in input order).
    pub fn ids(&self) -> Vec<Uuid> {
        self.results
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect()
    }

    /// Number of failed items.
    pub fn failed(&self) -> usize {
        self.results.iter().filter(|r| r.is_err()).count()
    }

    /// The failures with their input positions.
    pub fn errors(&self) -> impl Iterator<Item = (usize, &Error)> {
        self.results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e)))
    }

    /// All ids, or the first error.
    pub fn into_result(self) -> Result<Vec<Uuid>> {
        self.results.into_iter().collect()
    }
}

/// Typed access to one Fibery type. Created by [`Client::entities`].
pub struct Entities<T> {
    client: Client,
    read: read::ReadSpec,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Entities<T> {
    fn clone(&self) -> Self {
        Entities {
            client: self.client.clone(),
            read: self.read.clone(),
            _t: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Entities<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entities")
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Typed CRUD for `T` (usually `#[derive(FiberyEntity, Validate)]`).
    pub fn entities<T: FiberyEntity>(&self) -> Entities<T> {
        Entities {
            client: self.clone(),
            read: read::ReadSpec::default(),
            _t: PhantomData,
        }
    }
}

/// One entity's pending follow-up work after the create/update command.
struct Followup {
    collections: Vec<(String, Vec<Uuid>)>,
    rich_text: Vec<(String, DocFormat, String)>,
}

impl<T> Entities<T>
where
    T: FiberyEntity + Validate + Send + Sync + 'static,
{
    /// Creates one entity; returns it with its (client-generated) id set.
    pub async fn create(&self, item: T) -> Result<T> {
        let mut items = vec![item];
        let report = self.create_inner(&mut items).await?;
        report.into_result()?;
        Ok(items.pop().expect("one item"))
    }

    /// Creates many entities. Items without an id get a fresh v4 id (so retried creates
    /// cannot duplicate). Validation failures reject the whole call before any write.
    pub async fn create_all(&self, items: impl IntoIterator<Item = T>) -> Result<BatchReport> {
        let mut items: Vec<T> = items.into_iter().collect();
        self.create_inner(&mut items).await
    }

    async fn create_inner(&self, items: &mut [T]) -> Result<BatchReport> {
        validate_all(items)?;
        for it in items.iter_mut() {
            if it.id().is_none() {
                it.set_id(Uuid::new_v4());
            }
        }
        let encoded = self.encode_checked(items, true).await?;
        let ids: Vec<Uuid> = items.iter().map(|i| i.id().expect("id set")).collect();
        let (cmds, followups): (Vec<_>, Vec<_>) = encoded
            .into_iter()
            .map(|(enc, f)| (Command::create(T::TYPE_NAME, Value::Object(enc)), f))
            .unzip();
        Ok(self.write_and_follow_up(cmds, &ids, followups, false).await)
    }

    /// Sends one write per item (chunked, several requests in flight), then the items'
    /// follow-ups. `set`: collections are set to exactly the given items.
    async fn write_and_follow_up(
        &self,
        cmds: Vec<Command>,
        ids: &[Uuid],
        followups: Vec<Followup>,
        set: bool,
    ) -> BatchReport {
        let mut results: Vec<Result<Uuid>> = self
            .client
            .run(cmds, true)
            .await
            .into_iter()
            .zip(ids)
            .map(|(r, id)| r.map(|_| *id))
            .collect();
        self.run_followups(ids, followups, &mut results, set).await;
        BatchReport { results }
    }

    /// Updates one entity (it must have an id). Collections and multi-selects are set to
    /// exactly the given items (missing ones added, extra ones removed).
    pub async fn update(&self, item: &T) -> Result<()> {
        self.update_all(std::slice::from_ref(item))
            .await?
            .into_result()
            .map(|_| ())
    }

    /// Updates many entities (see [`update`](Self::update)).
    pub async fn update_all(&self, items: &[T]) -> Result<BatchReport> {
        validate_all(items)?;
        let mut ids = Vec::with_capacity(items.len());
        for (i, it) in items.iter().enumerate() {
            ids.push(it.id().ok_or_else(|| Error::Validation {
                type_name: T::TYPE_NAME.to_owned(),
                index: Some(i),
                violations: vec![Violation {
                    field: "fibery/id".into(),
                    rule: Rule::Required,
                    reason: "an update needs the entity id".into(),
                }],
            })?);
        }
        let encoded = self.encode_checked(items, false).await?;
        let (cmds, followups): (Vec<_>, Vec<_>) = encoded
            .into_iter()
            .zip(&ids)
            .map(|((enc, f), id)| (Command::update(T::TYPE_NAME, id, Value::Object(enc)), f))
            .unzip();
        Ok(self.write_and_follow_up(cmds, &ids, followups, true).await)
    }

    /// Creates or updates by `conflict_field` (`fibery.entity.batch/create-or-update`,
    /// `update-latest`). Returns the id each item ended up with.
    pub async fn upsert_all(
        &self,
        items: impl IntoIterator<Item = T>,
        conflict_field: &str,
    ) -> Result<BatchReport> {
        let mut items: Vec<T> = items.into_iter().collect();
        validate_all(&items)?;
        for it in items.iter_mut() {
            if it.id().is_none() {
                it.set_id(Uuid::new_v4());
            }
        }
        let encoded = self.encode_checked(&items, true).await?;
        let keys = self.conflict_keys(&encoded, conflict_field).await?;
        let max = self.client.limits().max_commands;
        let cmds = encoded.chunks(max).map(|c| {
            let entities = c.iter().map(|(e, _)| e.clone());
            let action = ConflictAction::UpdateLatest;
            Command::create_or_update(T::TYPE_NAME, conflict_field, action, entities)
        });
        let chunk_results = futures::stream::iter(cmds.map(|c| {
            let client = self.client.clone();
            async move { client.send_one(c).await.map_err(Arc::new) }
        }))
        .buffered(4)
        .collect::<Vec<_>>()
        .await;
        // Map each item to the id it ended up with: query by the conflict values.
        let key_to_id = self
            .ids_by_key(conflict_field, &keys)
            .await
            .map_err(Arc::new);
        let mut results = Vec::with_capacity(items.len());
        for (i, key) in keys.iter().enumerate() {
            let r = match (&chunk_results[i / max], &key_to_id) {
                (Err(e), _) | (Ok(_), Err(e)) => Err(Error::Batch { source: e.clone() }),
                (Ok(_), Ok(map)) => map.get(&key.to_string()).copied().ok_or_else(|| {
                    Error::NotFound(format!("{} with {conflict_field} = {key}", T::TYPE_NAME))
                }),
            };
            results.push(r);
        }
        let ids: Vec<Uuid> = results
            .iter()
            .map(|r| r.as_ref().copied().unwrap_or_default())
            .collect();
        let followups = encoded.into_iter().map(|(_, f)| f).collect();
        self.run_followups(&ids, followups, &mut results, true)
            .await;
        Ok(BatchReport { results })
    }

    /// Id of each entity with one of the `keys` in `field` (the newest wins on duplicates).
    async fn ids_by_key(&self, field: &str, keys: &[Value]) -> Result<HashMap<String, Uuid>> {
        let mut out = HashMap::new();
        for chunk in keys.chunks(1000) {
            let q = Query::from(T::TYPE_NAME)
                .select(["fibery/id", field])
                .filter(Filter::in_list(field, chunk.iter().cloned()))
                .order_by("fibery/creation-date", Order::Asc)
                .limit(chunk.len() as u64 * 2 + 10);
            for r in self.client.query_rows(q).await? {
                if let Some(id) = row_id(&r) {
                    // Later rows (newer) win, matching `update-latest`.
                    out.insert(r[field].to_string(), id);
                }
            }
        }
        Ok(out)
    }

    /// The conflict value of every item; an unknown field or an item without a value is a
    /// validation error (nothing sent).
    async fn conflict_keys(&self, encoded: &[Encoded], field: &str) -> Result<Vec<Value>> {
        let schema = self.client.schema().await?;
        let ty = type_def(&schema, T::TYPE_NAME)?;
        let def = ty.field(field).ok_or_else(|| unknown_field(ty, field))?;
        let missing = |i| Error::Validation {
            type_name: T::TYPE_NAME.to_owned(),
            index: Some(i),
            violations: vec![Violation {
                field: def.name.clone(),
                rule: Rule::Required,
                reason: "the conflict field must be set on every upserted item".into(),
            }],
        };
        encoded
            .iter()
            .enumerate()
            .map(|(i, (enc, _))| match enc.get(field) {
                Some(v) if !v.is_null() => Ok(v.clone()),
                _ => Err(missing(i)),
            })
            .collect()
    }

    /// Adds items to a collection field of one entity (relations, multi-select option ids,
    /// files, assignees). Items already present are ignored by Fibery.
    pub async fn add_to_collection(&self, id: Uuid, field: &str, items: &[Uuid]) -> Result<()> {
        let cmd = Command::add_collection_items(T::TYPE_NAME, field, id, items);
        self.collection_command(field, cmd).await
    }

    /// Removes items from a collection field of one entity.
    pub async fn remove_from_collection(
        &self,
        id: Uuid,
        field: &str,
        items: &[Uuid],
    ) -> Result<()> {
        let cmd = Command::remove_collection_items(T::TYPE_NAME, field, id, items);
        self.collection_command(field, cmd).await
    }

    /// Sends `cmd` (an add/remove on `field`) once `field` is known to be a collection.
    async fn collection_command(&self, field: &str, cmd: Command) -> Result<()> {
        let schema = self.client.schema().await?;
        let ft = field_type(&schema, T::TYPE_NAME, field)?;
        if !ft.is_collection() {
            let kind = fibery_core::schema::describe(&ft);
            let reason = format!("`{field}` is {kind}, not a collection");
            return Err(invalid(T::TYPE_NAME, field, Rule::WrongType, reason));
        }
        self.client.submit(cmd).await.map(|_| ())
    }

    /// Deletes entities by id (batched). One result per id.
    pub async fn delete_many(&self, ids: impl IntoIterator<Item = Uuid>) -> Result<BatchReport> {
        let ids: Vec<Uuid> = ids.into_iter().collect();
        let cmds = ids
            .iter()
            .map(|id| Command::delete(T::TYPE_NAME, id))
            .collect();
        let results = self.client.run(cmds, true).await;
        Ok(BatchReport {
            results: results
                .into_iter()
                .zip(&ids)
                .map(|(r, id)| r.map(|_| *id))
                .collect(),
        })
    }

    /// Deletes one entity.
    pub async fn delete(&self, id: Uuid) -> Result<()> {
        self.delete_many([id]).await?.into_result().map(|_| ())
    }

    /// Reads every entity matching `filter` (and this handle's filters), lets `f` change
    /// each, and writes them back. Returns the per-item outcome.
    pub async fn find_and_update<F>(&self, filter: Filter, mut f: F) -> Result<BatchReport>
    where
        F: FnMut(&mut T),
    {
        let mut items = self.clone().filter(filter).all().await?;
        items.iter_mut().for_each(&mut f);
        self.update_all(&items).await
    }

    /// Validates against the schema and resolves enum names. Returns the create/update
    /// field maps and the follow-up work, or a validation error (nothing sent).
    async fn encode_checked(&self, items: &[T], create: bool) -> Result<Vec<Encoded>> {
        let mut encoded = Vec::with_capacity(items.len());
        for (i, it) in items.iter().enumerate() {
            let e = it.encode().map_err(|e| Error::Validation {
                type_name: T::TYPE_NAME.to_owned(),
                index: Some(i),
                violations: vec![Violation {
                    field: e.field.clone(),
                    rule: Rule::WrongType,
                    reason: e.reason.clone(),
                }],
            })?;
            encoded.push(e);
        }
        let schema = self.client.schema().await?;
        T::check_schema(&schema).map_err(|violations| Error::Validation {
            type_name: T::TYPE_NAME.to_owned(),
            index: None,
            violations,
        })?;
        // Each enum field's enum type; its options come with one query per type.
        let ty = type_def(&schema, T::TYPE_NAME)?;
        let mut enum_types: Vec<(&str, String)> = Vec::new();
        for (field, _, _) in encoded.iter().flat_map(|e| &e.enums) {
            if !enum_types.iter().any(|(f, _)| f == field) {
                let ft = field_type(&schema, T::TYPE_NAME, field)?;
                let et = ft.enum_type().ok_or_else(|| unknown_field(ty, field))?;
                enum_types.push((field, et.to_owned()));
            }
        }
        let options = self
            .client
            .enum_set(enum_types.iter().map(|(_, et)| et.as_str()))
            .await?;
        let enum_types: HashMap<String, String> = enum_types
            .into_iter()
            .map(|(f, et)| (f.to_owned(), et))
            .collect();
        let mode = if create { Mode::Create } else { Mode::Update };
        let mut out = Vec::with_capacity(encoded.len());
        for (i, e) in encoded.into_iter().enumerate() {
            let EncodedEntity {
                mut fields,
                mut collections,
                enums,
                rich_text,
            } = e;
            let mut violations = Vec::new();
            for (field, names, multi) in enums {
                let et = &enum_types[&field];
                let ids: Vec<Uuid> = names
                    .iter()
                    .filter_map(|n| {
                        resolve(&options, et, &field, n)
                            .map_err(|v| violations.push(v))
                            .ok()
                    })
                    .collect();
                if multi {
                    collections.push((field, ids));
                } else {
                    let one = ids.first().map(|id| json!({"fibery/id": id}));
                    fields.insert(field, one.unwrap_or(Value::Null));
                }
            }
            if let Err(vs) = schema.validate(T::TYPE_NAME, &fields, mode) {
                violations.extend(vs);
            }
            if !violations.is_empty() {
                return Err(Error::Validation {
                    type_name: T::TYPE_NAME.to_owned(),
                    index: Some(i),
                    violations,
                });
            }
            let followup = Followup {
                collections,
                rich_text,
            };
            out.push((fields, followup));
        }
        Ok(out)
    }

    /// Collections (one batch of add/remove commands), then rich text (one secrets query
    /// per field, then chunked document writes), for the items that succeeded so far.
    /// `set`: remove collection items not listed.
    async fn run_followups(
        &self,
        ids: &[Uuid],
        followups: Vec<Followup>,
        results: &mut [Result<Uuid>],
        set: bool,
    ) {
        if self.follow_collections(ids, &followups, results, set).await {
            self.follow_rich_text(ids, followups, results).await;
        }
    }

    /// The collection follow-ups. Returns `false` when the current collections could not be
    /// read (every pending item has failed then).
    async fn follow_collections(
        &self,
        ids: &[Uuid],
        followups: &[Followup],
        results: &mut [Result<Uuid>],
        set: bool,
    ) -> bool {
        let mut current: HashMap<(Uuid, String), Vec<Uuid>> = HashMap::new();
        if set {
            let mut fields: Vec<String> = followups
                .iter()
                .flat_map(|f| f.collections.iter().map(|(n, _)| n.clone()))
                .collect();
            fields.sort();
            fields.dedup();
            let live: Vec<Uuid> = ids
                .iter()
                .zip(results.iter())
                .filter(|(_, r)| r.is_ok())
                .map(|(id, _)| *id)
                .collect();
            if !fields.is_empty() && !live.is_empty() {
                match self
                    .client
                    .current_collections(T::TYPE_NAME, &fields, &live)
                    .await
                {
                    Ok(c) => current = c,
                    Err(e) => {
                        let pending: Vec<usize> = (0..results.len()).collect();
                        fail_all(results, &pending, e);
                        return false;
                    }
                }
            }
        }
        let mut cmds = Vec::new();
        let mut owners = Vec::new();
        for (i, f) in followups.iter().enumerate() {
            if results[i].is_err() {
                continue;
            }
            for (field, items) in &f.collections {
                let have = current
                    .get(&(ids[i], field.clone()))
                    .cloned()
                    .unwrap_or_default();
                let add: Vec<&Uuid> = items.iter().filter(|x| !have.contains(x)).collect();
                if !add.is_empty() {
                    cmds.push(Command::add_collection_items(
                        T::TYPE_NAME,
                        field,
                        ids[i],
                        add,
                    ));
                    owners.push(i);
                }
                let remove: Vec<&Uuid> = have.iter().filter(|x| !items.contains(x)).collect();
                if set && !remove.is_empty() {
                    let cmd = Command::remove_collection_items(T::TYPE_NAME, field, ids[i], remove);
                    cmds.push(cmd);
                    owners.push(i);
                }
            }
        }
        for (owner, r) in owners.into_iter().zip(self.client.run(cmds, true).await) {
            if let Err(e) = r
                && results[owner].is_ok()
            {
                results[owner] = Err(e);
            }
        }
        true
    }

    /// The rich-text follow-ups, grouped by (field, format) in order of first appearance.
    async fn follow_rich_text(
        &self,
        ids: &[Uuid],
        followups: Vec<Followup>,
        results: &mut [Result<Uuid>],
    ) {
        // (field, format) -> (item index, content)
        type Group = ((String, DocFormat), Vec<(usize, String)>);
        let mut docs: Vec<Group> = Vec::new();
        for (i, f) in followups.into_iter().enumerate() {
            if results[i].is_err() {
                continue;
            }
            for (field, fmt, content) in f.rich_text {
                let key = (field, fmt);
                match docs.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, entries)) => entries.push((i, content)),
                    None => docs.push((key, vec![(i, content)])),
                }
            }
        }
        for ((field, fmt), entries) in docs {
            let want: Vec<Uuid> = entries.iter().map(|(i, _)| ids[*i]).collect();
            let owners: Vec<usize> = entries.iter().map(|(i, _)| *i).collect();
            let secrets = match self
                .client
                .document_secrets(T::TYPE_NAME, &field, &want)
                .await
            {
                Ok(s) => s,
                Err(e) => {
                    fail_all(results, &owners, e);
                    continue;
                }
            };
            let mut writes = Vec::new();
            let mut written = Vec::new();
            for (i, content) in entries {
                match secrets.get(&ids[i]) {
                    Some(s) => {
                        writes.push((s.clone(), content));
                        written.push(i);
                    }
                    None => {
                        let what = format!("document secret of {field} for {}", ids[i]);
                        results[i] = Err(Error::NotFound(what));
                    }
                }
            }
            if let Err(e) = self.client.set_documents(&writes, fmt).await {
                fail_all(results, &written, e);
            }
        }
    }
}

/// One item encoded for a write: its create/update fields and its follow-up work.
type Encoded = (Map<String, Value>, Followup);

/// The `fibery/id` of a row, if it is a UUID.
fn row_id(row: &Value) -> Option<Uuid> {
    row["fibery/id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// Marks the items at `indices` that are still pending as failed by the shared `error`.
fn fail_all(results: &mut [Result<Uuid>], indices: &[usize], error: Error) {
    let shared = Arc::new(error);
    for &i in indices {
        if results[i].is_ok() {
            results[i] = Err(Error::Batch {
                source: shared.clone(),
            });
        }
    }
}

fn validate_all<T: FiberyEntity + Validate>(items: &[T]) -> Result<()> {
    for (i, it) in items.iter().enumerate() {
        if let Err(errs) = it.validate() {
            let mut violations = Vec::new();
            for (field, list) in errs.field_errors() {
                let fibery = T::FIELDS
                    .iter()
                    .find(|m| m.rust_name == field.as_ref())
                    .map(|m| m.fibery_name)
                    .unwrap_or(field.as_ref());
                for e in list {
                    violations.push(Violation {
                        field: fibery.to_owned(),
                        rule: Rule::Validator,
                        reason: crate::validator_reason::reason(e),
                    });
                }
            }
            violations.sort_by(|a, b| a.field.cmp(&b.field));
            return Err(Error::Validation {
                type_name: T::TYPE_NAME.to_owned(),
                index: Some(i),
                violations,
            });
        }
    }
    Ok(())
}
