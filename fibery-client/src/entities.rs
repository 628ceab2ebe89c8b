//! Typed CRUD over a [`FiberyEntity`]: [`Client::entities`].
//!
//! Batch writes are "encode, then the write pipeline" ([`records`](crate::records)): every
//! item is checked (validator rules, encoding, then the workspace schema), every valid one
//! is written, and the [`BatchReport`] has each item's outcome. The pipeline's docs give
//! the request cost.

use std::marker::PhantomData;

use fibery_core::command::Command;
use fibery_core::entity::FiberyEntity;
use fibery_core::query::Filter;
use fibery_core::validate::Rule;
use uuid::Uuid;
use validator::Validate;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::records::{BatchReport, Op, encode_items};
use crate::schema::{field_type, invalid};

mod options;
mod read;

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

impl<T> Entities<T>
where
    T: FiberyEntity + Validate + Send + Sync + 'static,
{
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
