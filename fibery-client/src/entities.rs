//! Typed CRUD over a [`FiberyEntity`]: [`Client::entities`].
//!
//! Writes are validated (validator rules, then the workspace schema) before any write
//! request leaves. Creating N entities costs about `ceil(N / max)` create requests, one
//! request for collections (incl. multi-selects), one query for all document secrets and
//! `ceil(N / document_chunk)` document writes per rich-text field — not 3N.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use fibery_core::entity::{DocFormat, EncodedEntity, FiberyEntity, MappingKind};
use fibery_core::query::{Filter, Limit, Query, Select, SelectItem};
use fibery_core::schema::Schema;
use fibery_core::validate::{Mode, Rule, Violation};
use futures::{Stream, StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};
use uuid::Uuid;
use validator::Validate;

use crate::client::Client;
use crate::error::{Error, Result};

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
    filter: Option<Filter>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Entities<T> {
    fn clone(&self) -> Self {
        Entities {
            client: self.client.clone(),
            filter: self.filter.clone(),
            _t: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Entities<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entities")
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Typed CRUD for `T` (usually `#[derive(FiberyEntity, Validate)]`).
    pub fn entities<T: FiberyEntity>(&self) -> Entities<T> {
        Entities {
            client: self.clone(),
            filter: None,
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
    /// Adds a filter (combined with earlier ones by `q/and`).
    pub fn filter(mut self, f: Filter) -> Self {
        self.filter = Some(match self.filter.take() {
            None => f,
            Some(Filter::And(mut fs)) => {
                fs.push(f);
                Filter::And(fs)
            }
            Some(prev) => Filter::And(vec![prev, f]),
        });
        self
    }

    /// Keeps entities whose `field` (a date or date-time) is in `[from, to)`. Values are
    /// ISO strings (`2026-01-01` or `2026-01-01T00:00:00.000Z`).
    pub fn date_range(self, field: &str, from: impl Into<Value>, to: impl Into<Value>) -> Self {
        self.filter(Filter::ge(field, from.into()))
            .filter(Filter::lt(field, to.into()))
    }

    fn query(&self) -> Query {
        let select = Select::from_json(&T::select())
            .unwrap_or_else(|_| Select::Fields(vec![SelectItem::Field("fibery/id".into())]));
        Query {
            from: T::TYPE_NAME.to_owned(),
            select,
            filter: self.filter.clone(),
            order_by: Vec::new(),
            limit: Limit::Count(1000),
            offset: None,
            unknown_keys: Vec::new(),
        }
    }

    /// Every matching entity as a stream (pages of the client's page size; documents of
    /// each page fetched in one batch).
    pub fn stream(&self) -> impl Stream<Item = Result<T>> + Send + 'static + use<T> {
        let client = self.client.clone();
        let page = client.inner.page_size;
        let q = self.query();
        client
            .query_stream(&q)
            .try_chunks(page)
            .map_err(|e| e.1)
            .and_then(move |rows| {
                let client = client.clone();
                async move { decode_rows::<T>(&client, rows).await }
            })
            .map_ok(|v| futures::stream::iter(v.into_iter().map(Ok)))
            .try_flatten()
    }

    /// Every matching entity.
    pub async fn all(&self) -> Result<Vec<T>> {
        self.stream().try_collect().await
    }

    /// Number of matching entities (`q/count`).
    pub async fn count(&self) -> Result<u64> {
        self.client.count(&self.query()).await
    }

    /// The entity with this id, if it exists.
    pub async fn get(&self, id: Uuid) -> Result<Option<T>> {
        let mut q = self.query();
        let by_id = Filter::eq("fibery/id", id.to_string());
        q.filter = Some(match q.filter.take() {
            Some(f) => Filter::And(vec![f, by_id]),
            None => by_id,
        });
        q.limit = Limit::Count(1);
        let rows = self.client.query(&q).await?;
        Ok(decode_rows::<T>(&self.client, rows)
            .await?
            .into_iter()
            .next())
    }

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
        let (encoded, schema) = self.encode_checked(items, true).await?;
        let mut followups = Vec::with_capacity(encoded.len());
        let mut cmds = Vec::with_capacity(encoded.len());
        for (enc, f) in encoded {
            cmds.push(json!({"command": "fibery.entity/create", "args": {"type": T::TYPE_NAME, "entity": enc}}));
            followups.push(f);
        }
        let ids: Vec<Uuid> = items.iter().map(|i| i.id().expect("id set")).collect();
        let results = self.client.execute_values(cmds, true).await;
        let mut results: Vec<Result<Uuid>> = results
            .into_iter()
            .zip(&ids)
            .map(|(r, id)| r.map(|_| *id))
            .collect();
        self.run_followups(&schema, &ids, followups, &mut results, false)
            .await;
        Ok(BatchReport { results })
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
        let (encoded, schema) = self.encode_checked(items, false).await?;
        let mut followups = Vec::with_capacity(encoded.len());
        let mut cmds = Vec::with_capacity(encoded.len());
        for (enc, f) in encoded {
            cmds.push(json!({"command": "fibery.entity/update", "args": {"type": T::TYPE_NAME, "entity": enc}}));
            followups.push(f);
        }
        let results = self.client.execute_values(cmds, true).await;
        let mut results: Vec<Result<Uuid>> = results
            .into_iter()
            .zip(&ids)
            .map(|(r, id)| r.map(|_| *id))
            .collect();
        self.run_followups(&schema, &ids, followups, &mut results, true)
            .await;
        Ok(BatchReport { results })
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
        let (encoded, schema) = self.encode_checked(&items, true).await?;
        let ty = crate::schema::type_def(&schema, T::TYPE_NAME)?;
        let def = ty
            .field(conflict_field)
            .ok_or_else(|| crate::schema::unknown_field(ty, conflict_field))?;
        let mut keys = Vec::with_capacity(encoded.len());
        for (i, (enc, _)) in encoded.iter().enumerate() {
            match enc.get(conflict_field) {
                Some(v) if !v.is_null() => keys.push(v.clone()),
                _ => {
                    return Err(Error::Validation {
                        type_name: T::TYPE_NAME.to_owned(),
                        index: Some(i),
                        violations: vec![Violation {
                            field: def.name.clone(),
                            rule: Rule::Required,
                            reason: "the conflict field must be set on every upserted item".into(),
                        }],
                    });
                }
            }
        }
        let max = self.client.inner.max_commands;
        let entities: Vec<Value> = encoded
            .iter()
            .map(|(e, _)| Value::Object(e.clone()))
            .collect();
        let cmds: Vec<Value> = entities
            .chunks(max)
            .map(|c| json!({"command": "fibery.entity.batch/create-or-update", "args": {
                "type": T::TYPE_NAME, "conflict-field": conflict_field, "conflict-action": "update-latest", "entities": c}}))
            .collect();
        let chunk_results = futures::stream::iter(cmds.into_iter().map(|c| {
            let client = self.client.clone();
            async move {
                client
                    .send_chunk(std::slice::from_ref(&c), 0)
                    .await
                    .pop()
                    .expect("one result")
                    .map_err(|e| Arc::new(e.unshare()))
            }
        }))
        .buffered(4)
        .collect::<Vec<_>>()
        .await;
        // Map each item to the id it ended up with: query by the conflict values.
        let key_to_id = self.ids_by_key(conflict_field, &keys).await;
        let mut results = Vec::with_capacity(items.len());
        for (i, key) in keys.iter().enumerate() {
            let chunk = &chunk_results[i / max];
            let r = match (chunk, &key_to_id) {
                (Err(e), _) => Err(Error::Batch { source: e.clone() }),
                (Ok(_), Ok(map)) => map.get(&key.to_string()).copied().ok_or_else(|| {
                    Error::NotFound(format!("{} with {conflict_field} = {key}", T::TYPE_NAME))
                }),
                (Ok(_), Err(e)) => Err(Error::decode("upsert ids", e)),
            };
            results.push(r);
        }
        let ids: Vec<Uuid> = results
            .iter()
            .map(|r| r.as_ref().copied().unwrap_or_default())
            .collect();
        let followups = encoded.into_iter().map(|(_, f)| f).collect();
        self.run_followups(&schema, &ids, followups, &mut results, true)
            .await;
        Ok(BatchReport { results })
    }

    async fn ids_by_key(
        &self,
        field: &str,
        keys: &[Value],
    ) -> std::result::Result<HashMap<String, Uuid>, String> {
        let mut out = HashMap::new();
        for chunk in keys.chunks(1000) {
            let args = json!({"query": {"q/from": T::TYPE_NAME, "q/select": ["fibery/id", field],
                "q/where": ["q/in", [field], "$keys"], "q/order-by": [[["fibery/creation-date"], "q/asc"]],
                "q/limit": chunk.len() * 2 + 10}, "params": {"$keys": chunk}});
            let rows = self
                .client
                .query_args(args)
                .await
                .map_err(|e| e.to_string())?;
            for r in rows {
                if let Some(id) = r["fibery/id"]
                    .as_str()
                    .and_then(|s| Uuid::parse_str(s).ok())
                {
                    // Later rows (newer) win, matching `update-latest`.
                    out.insert(r[field].to_string(), id);
                }
            }
        }
        Ok(out)
    }

    /// Adds items to a collection field of one entity (relations, multi-select option ids,
    /// files, assignees). Items already present are ignored by Fibery.
    pub async fn add_to_collection(&self, id: Uuid, field: &str, items: &[Uuid]) -> Result<()> {
        self.collection_command("fibery.entity/add-collection-items", id, field, items)
            .await
    }

    /// Removes items from a collection field of one entity.
    pub async fn remove_from_collection(
        &self,
        id: Uuid,
        field: &str,
        items: &[Uuid],
    ) -> Result<()> {
        self.collection_command("fibery.entity/remove-collection-items", id, field, items)
            .await
    }

    async fn collection_command(
        &self,
        cmd: &str,
        id: Uuid,
        field: &str,
        items: &[Uuid],
    ) -> Result<()> {
        let schema = self.client.schema().await?;
        let ft = crate::schema::field_type(&schema, T::TYPE_NAME, field)?;
        if !ft.is_collection() {
            return Err(Error::Validation {
                type_name: T::TYPE_NAME.to_owned(),
                index: None,
                violations: vec![Violation {
                    field: field.to_owned(),
                    rule: Rule::WrongType,
                    reason: format!(
                        "`{field}` is {}, not a collection",
                        fibery_core::schema::describe(&ft)
                    ),
                }],
            });
        }
        let cmd = json!({"command": cmd, "args": {"type": T::TYPE_NAME, "field": field, "entity": {"fibery/id": id},
            "items": items.iter().map(|i| json!({"fibery/id": i})).collect::<Vec<_>>()}});
        self.client.command(cmd).await.map(|_| ())
    }

    /// Deletes entities by id (batched). One result per id.
    pub async fn delete_many(&self, ids: impl IntoIterator<Item = Uuid>) -> Result<BatchReport> {
        let ids: Vec<Uuid> = ids.into_iter().collect();
        let cmds = ids
            .iter()
            .map(|id| json!({"command": "fibery.entity/delete", "args": {"type": T::TYPE_NAME, "entity": {"fibery/id": id}}}))
            .collect();
        let results = self.client.execute_values(cmds, true).await;
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
    async fn encode_checked(
        &self,
        items: &[T],
        create: bool,
    ) -> Result<(Vec<(Map<String, Value>, Followup)>, Arc<Schema>)> {
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
        let ty = crate::schema::type_def(&schema, T::TYPE_NAME)?;
        // Resolve enum option names: one options query per enum type.
        let mut enum_opts = HashMap::new();
        for e in &encoded {
            for (field, _, _) in &e.enums {
                if !enum_opts.contains_key(field) {
                    let ft = crate::schema::field_type(&schema, T::TYPE_NAME, field)?;
                    let et = ft
                        .enum_type()
                        .ok_or_else(|| crate::schema::unknown_field(ty, field))?
                        .to_owned();
                    enum_opts.insert(field.clone(), self.client.enum_options(&et).await?);
                }
            }
        }
        let mut out = Vec::with_capacity(encoded.len());
        for (i, e) in encoded.into_iter().enumerate() {
            let EncodedEntity {
                mut fields,
                mut collections,
                enums,
                rich_text,
            } = e;
            let mode = if create { Mode::Create } else { Mode::Update };
            let mut violations = Vec::new();
            for (field, names, multi) in enums {
                let opts = &enum_opts[&field];
                let mut ids = Vec::new();
                for n in &names {
                    match opts.id(n) {
                        Some(id) => ids.push(id),
                        None => violations.push(Violation {
                            field: field.clone(),
                            rule: Rule::UnknownOption,
                            reason: format!(
                                "no option {n:?}; valid options: {}",
                                opts.options
                                    .iter()
                                    .map(|(n, _)| format!("{n:?}"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        }),
                    }
                }
                if multi {
                    collections.push((field, ids));
                } else {
                    fields.insert(
                        field,
                        ids.first()
                            .map(|id| json!({"fibery/id": id}))
                            .unwrap_or(Value::Null),
                    );
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
            out.push((
                fields,
                Followup {
                    collections,
                    rich_text,
                },
            ));
        }
        Ok((out, schema))
    }

    /// Collections (one batch of add/remove commands) and rich text (one secrets query
    /// per field, then chunked document writes). `set`: remove collection items not listed.
    async fn run_followups(
        &self,
        schema: &Schema,
        ids: &[Uuid],
        followups: Vec<Followup>,
        results: &mut [Result<Uuid>],
        set: bool,
    ) {
        // Collections.
        let mut current: HashMap<(Uuid, String), Vec<Uuid>> = HashMap::new();
        if set {
            let fields: Vec<String> = {
                let mut f: Vec<String> = followups
                    .iter()
                    .flat_map(|f| f.collections.iter().map(|(n, _)| n.clone()))
                    .collect();
                f.sort();
                f.dedup();
                f
            };
            let live: Vec<Uuid> = ids
                .iter()
                .zip(results.iter())
                .filter(|(_, r)| r.is_ok())
                .map(|(id, _)| *id)
                .collect();
            if !fields.is_empty() && !live.is_empty() {
                match self.current_collections(&fields, &live).await {
                    Ok(c) => current = c,
                    Err(e) => {
                        let shared = Arc::new(e);
                        for r in results.iter_mut().filter(|r| r.is_ok()) {
                            *r = Err(Error::Batch {
                                source: shared.clone(),
                            });
                        }
                        return;
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
                let remove: Vec<&Uuid> = if set {
                    have.iter().filter(|x| !items.contains(x)).collect()
                } else {
                    Vec::new()
                };
                for (cmd, list) in [
                    ("fibery.entity/add-collection-items", add),
                    ("fibery.entity/remove-collection-items", remove),
                ] {
                    if list.is_empty() {
                        continue;
                    }
                    cmds.push(json!({"command": cmd, "args": {"type": T::TYPE_NAME, "field": field,
                        "entity": {"fibery/id": ids[i]},
                        "items": list.iter().map(|id| json!({"fibery/id": id})).collect::<Vec<_>>()}}));
                    owners.push(i);
                }
            }
        }
        if !cmds.is_empty() {
            let rs = self.client.execute_values(cmds, true).await;
            for (owner, r) in owners.into_iter().zip(rs) {
                if let Err(e) = r
                    && results[owner].is_ok()
                {
                    results[owner] = Err(e);
                }
            }
        }
        // Rich text, grouped by (field, format).
        let mut docs: HashMap<(String, DocFormat), Vec<(usize, String)>> = HashMap::new();
        for (i, f) in followups.into_iter().enumerate() {
            if results[i].is_err() {
                continue;
            }
            for (field, fmt, content) in f.rich_text {
                docs.entry((field, fmt)).or_default().push((i, content));
            }
        }
        let _ = schema;
        for ((field, fmt), entries) in docs {
            let want: Vec<Uuid> = entries.iter().map(|(i, _)| ids[*i]).collect();
            let secrets = match self
                .client
                .document_secrets(T::TYPE_NAME, &field, &want)
                .await
            {
                Ok(s) => s,
                Err(e) => {
                    let shared = Arc::new(e);
                    for (i, _) in &entries {
                        results[*i] = Err(Error::Batch {
                            source: shared.clone(),
                        });
                    }
                    continue;
                }
            };
            let mut writes = Vec::new();
            let mut owners = Vec::new();
            for (i, content) in entries {
                match secrets.get(&ids[i]) {
                    Some(s) => {
                        writes.push((s.clone(), content));
                        owners.push(i);
                    }
                    None => {
                        results[i] = Err(Error::NotFound(format!(
                            "document secret of {field} for {}",
                            ids[i]
                        )))
                    }
                }
            }
            if let Err(e) = self.client.set_documents(&writes, fmt).await {
                let shared = Arc::new(e);
                for i in owners {
                    results[i] = Err(Error::Batch {
                        source: shared.clone(),
                    });
                }
            }
        }
    }

    async fn current_collections(
        &self,
        fields: &[String],
        ids: &[Uuid],
    ) -> Result<HashMap<(Uuid, String), Vec<Uuid>>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let mut select = vec![json!("fibery/id")];
            let mut sub = Map::new();
            for f in fields {
                sub.insert(
                    f.clone(),
                    json!({"q/select": ["fibery/id"], "q/limit": 100}),
                );
            }
            select.push(Value::Object(sub));
            let args = json!({"query": {"q/from": T::TYPE_NAME, "q/select": select,
                "q/where": ["q/in", ["fibery/id"], "$ids"], "q/limit": chunk.len()},
                "params": {"$ids": chunk.iter().map(Uuid::to_string).collect::<Vec<_>>()}});
            for row in self.client.query_args(args).await? {
                let Some(id) = row["fibery/id"]
                    .as_str()
                    .and_then(|s| Uuid::parse_str(s).ok())
                else {
                    continue;
                };
                for f in fields {
                    let items = row[f]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|x| {
                            x["fibery/id"]
                                .as_str()
                                .and_then(|s| Uuid::parse_str(s).ok())
                        })
                        .collect();
                    out.insert((id, f.clone()), items);
                }
            }
        }
        Ok(out)
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
                    let mut reason = e
                        .message
                        .as_ref()
                        .map(|m| m.to_string())
                        .unwrap_or_else(|| format!("rule `{}` failed", e.code));
                    if let Some(v) = e.params.get("value") {
                        reason.push_str(&format!(" (value: {v})"));
                    }
                    violations.push(Violation {
                        field: fibery.to_owned(),
                        rule: Rule::Validator,
                        reason,
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

/// Substitutes document contents for rich-text secrets, then decodes rows into `T`.
async fn decode_rows<T: FiberyEntity>(client: &Client, mut rows: Vec<Value>) -> Result<Vec<T>> {
    for m in T::FIELDS {
        let MappingKind::RichText(fmt) = m.kind else {
            continue;
        };
        let secrets: Vec<String> = rows
            .iter()
            .filter_map(|r| {
                r[m.fibery_name]["Collaboration~Documents/secret"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        let contents = if secrets.is_empty() {
            HashMap::new()
        } else {
            client.documents(&secrets, fmt).await?
        };
        for r in rows.iter_mut() {
            let secret = r[m.fibery_name]["Collaboration~Documents/secret"]
                .as_str()
                .map(str::to_owned);
            if let Value::Object(o) = r {
                let v = secret
                    .and_then(|s| contents.get(&s).cloned())
                    .map(Value::String)
                    .unwrap_or(Value::Null);
                o.insert(m.fibery_name.to_owned(), v);
            }
        }
    }
    rows.iter()
        .map(|r| T::decode(r).map_err(|e| Error::decode(format!("{} row", T::TYPE_NAME), e)))
        .collect()
}
