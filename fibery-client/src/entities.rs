//! Typed CRUD over a [`FiberyEntity`]: [`Client::entities`].
//!
//! Batch writes are "encode, then the write pipeline" ([`records`](crate::records)): every
//! item is checked (validator rules, encoding, then the workspace schema), every valid one
//! is written, and the [`BatchReport`] has each item's outcome. The pipeline's docs give
//! the request cost.

use std::collections::HashMap;
use std::marker::PhantomData;

use fibery_core::command::Command;
use fibery_core::entity::{FiberyEntity, MappingKind};
use fibery_core::query::{Filter, Query};
use fibery_core::validate::Rule;
use futures::{Stream, TryStreamExt};
use serde_json::Value;
use uuid::Uuid;
use validator::Validate;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::records::{BatchReport, Op, encode_items};
use crate::schema::{field_type, invalid};

/// The secret field of a document, as selected through a rich-text field.
const SECRET: &str = "Collaboration~Documents/secret";

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

impl<T> Entities<T>
where
    T: FiberyEntity + Validate + Send + Sync + 'static,
{
    /// Adds a filter (combined with earlier ones by `q/and`).
    pub fn filter(mut self, f: Filter) -> Self {
        self.filter = Some(match self.filter.take() {
            None => f,
            Some(prev) => prev.and(f),
        });
        self
    }

    /// Keeps entities whose `field` (a date or date-time) is in `[from, to)`. Values are
    /// ISO strings (`2026-01-01` or `2026-01-01T00:00:00.000Z`).
    pub fn date_range(self, field: &str, from: impl Into<Value>, to: impl Into<Value>) -> Self {
        self.filter(Filter::ge(field, from.into()))
            .filter(Filter::lt(field, to.into()))
    }

    /// Every mapped field of the matching entities (the derive's typed select).
    fn query(&self) -> Query {
        let mut q = Query::from(T::TYPE_NAME)
            .with_select(T::select())
            .limit(1000);
        q.filter = self.filter.clone();
        q
    }

    /// Every matching entity as a stream (pages of the client's page size; documents of
    /// each page fetched in one batch).
    pub fn stream(&self) -> impl Stream<Item = Result<T>> + Send + 'static + use<T> {
        let client = self.client.clone();
        let page = client.limits().page_size;
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
        let q = self
            .query()
            .and_filter(Filter::eq("fibery/id", id.to_string()))
            .limit(1);
        let rows = self.client.query(&q).await?;
        Ok(decode_rows::<T>(&self.client, rows)
            .await?
            .into_iter()
            .next())
    }

    /// Creates one entity; returns it with its (client-generated) id set. An invalid item
    /// is an [`Error::Validation`] (nothing sent).
    pub async fn create(&self, item: T) -> Result<T> {
        let mut items = vec![item];
        let report = self.create_inner(&mut items).await?;
        report.into_result()?;
        Ok(items.pop().expect("one item"))
    }

    /// Creates many entities through the write pipeline (see [`records`](crate::records)).
    /// Items without an id get a fresh v4 id (so retried creates cannot duplicate). Every
    /// valid item is written; each invalid one is in the report (never sent).
    pub async fn create_all(&self, items: impl IntoIterator<Item = T>) -> Result<BatchReport> {
        let mut items: Vec<T> = items.into_iter().collect();
        self.create_inner(&mut items).await
    }

    async fn create_inner(&self, items: &mut [T]) -> Result<BatchReport> {
        set_missing_ids(items);
        self.write(items, Op::Create).await
    }

    /// Encodes the items, checks the mapping against the schema, then runs the pipeline.
    async fn write(&self, items: &[T], op: Op) -> Result<BatchReport> {
        let schema = self.client.schema().await?;
        T::check_schema(&schema).map_err(|violations| Error::Validation {
            type_name: T::TYPE_NAME.to_owned(),
            index: None,
            violations,
        })?;
        let encoded = encode_items(items);
        self.client.records(T::TYPE_NAME).write(encoded, op).await
    }

    /// Updates one entity (it must have an id). Collections and multi-selects are set to
    /// exactly the given items (missing ones added, extra ones removed).
    pub async fn update(&self, item: &T) -> Result<()> {
        self.update_all(std::slice::from_ref(item))
            .await?
            .into_result()
            .map(|_| ())
    }

    /// Updates many entities (see [`update`](Self::update)); an item without an id is
    /// reported as invalid.
    pub async fn update_all(&self, items: &[T]) -> Result<BatchReport> {
        self.write(items, Op::Update).await
    }

    /// Creates or updates by `conflict_field` (`fibery.entity.batch/create-or-update`,
    /// `update-latest`). Returns the id each item ended up with; an item without a
    /// conflict value is reported as invalid.
    pub async fn upsert_all(
        &self,
        items: impl IntoIterator<Item = T>,
        conflict_field: &str,
    ) -> Result<BatchReport> {
        let mut items: Vec<T> = items.into_iter().collect();
        set_missing_ids(&mut items);
        self.write(&items, Op::Upsert(conflict_field.to_owned()))
            .await
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
        Ok(BatchReport::new(
            results
                .into_iter()
                .zip(&ids)
                .map(|(r, id)| r.map(|_| *id))
                .collect(),
        ))
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
}

/// Gives every item without an id a fresh v4 id.
fn set_missing_ids<T: FiberyEntity>(items: &mut [T]) {
    for it in items.iter_mut() {
        if it.id().is_none() {
            it.set_id(Uuid::new_v4());
        }
    }
}

/// Substitutes document contents for rich-text secrets, then decodes rows into `T`.
async fn decode_rows<T: FiberyEntity>(client: &Client, mut rows: Vec<Value>) -> Result<Vec<T>> {
    for m in T::FIELDS {
        let MappingKind::RichText(fmt) = m.kind else {
            continue;
        };
        let secrets: Vec<String> = rows
            .iter()
            .filter_map(|r| r[m.fibery_name][SECRET].as_str().map(str::to_owned))
            .collect();
        let contents = if secrets.is_empty() {
            HashMap::new()
        } else {
            client.documents(&secrets, fmt).await?
        };
        for r in rows.iter_mut() {
            let secret = r[m.fibery_name][SECRET].as_str().map(str::to_owned);
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
        .map(|r| {
            T::decode(r)
                .map_err(|e| client.scrub(Error::decode(format!("{} row", T::TYPE_NAME), e)))
        })
        .collect()
}
