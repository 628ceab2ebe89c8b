//! The write pipeline: [`Client::records`] for untyped records, and the engine under
//! [`Entities`](crate::Entities) and `fibery import`.
//!
//! Every batch write runs the same steps: **validate all** items (schema, enum option names,
//! ids and conflict keys; typed callers add their validator rules and encoding first) ->
//! **chunk** the valid ones -> per chunk, **create / update / upsert** -> **follow-ups**
//! (collection items, then documents) -> a **per-item report** ([`BatchReport`]).
//! An invalid item never holds back a valid one, and no request carries an invalid item.
//!
//! # What a batch write returns
//!
//! `Ok(report)` with one entry per input item, in input order: the id written, or that
//! item's error — [`Error::Validation`] (with `index`, and per field the [`Rule`](crate::Rule) and a
//! reason naming the rule's bounds) for an item refused locally, [`Error::Command`] for an
//! item the server refused, [`Error::Batch`] for an item whose request failed as a whole
//! after retries. `Err` only when nothing could be attempted: the schema or the option
//! lookups could not be read (transport or auth failure), or the type does not exist.
//!
//! # Requests
//!
//! Chunks of `c` = [`max_commands_per_request`](crate::ClientBuilder::max_commands_per_request)
//! items (one less when the items carry rich text) travel in up to
//! [`CHUNKS_IN_FLIGHT`] parallel lanes, each request started at the pacer's rate (the pacer
//! is shared and FIFO), so throughput does not depend on the server's latency. Within a
//! chunk the commands keep their order: the writes, then (same request when it fits) the
//! query of the new entities' document secrets, then one collection command per entity and
//! collection field. Writing `N` items costs, with `m` = max commands per request,
//! `A` = collection commands and `D` = documents of one format and chunk
//! (`d` = [`document_chunk`](crate::ClientBuilder::document_chunk)):
//!
//! ```text
//! before the first write: 1 schema read (cached) + 1 request for all option lookups (cached)
//! create, per chunk:  ceil((c + [rich text ? 1 : 0] + A) / m) + sum over formats ceil(D / d)
//! update, per chunk:  [A > 0 ? 1 : 0] (current collection items)
//!                     + ceil((c + [rich text ? 1 : 0] + A) / m) + sum ceil(D / d)
//! upsert, per chunk:  1 (the create-or-update command + the query of ids and secrets)
//!                     + [A > 0 ? 2 : 0] + sum ceil(D / d)
//!   with merge_collections: the adds join the first request (ceil((2 + A) / m));
//!   one more request only for items whose key matched an entity with another id
//!   (update: no read of the current items)
//! ```
//!
//! So 1,000 creates with one Markdown field and the defaults (`m` = 100, `d` = 100) cost
//! 11 chunks x 2 requests, plus the schema read: 23 requests.

mod fields;
mod pipeline;
mod prepare;
mod typed;

use std::sync::Arc;

use fibery_core::entity::EncodedEntity;
use fibery_core::validate::Violation;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::client::Client;
use crate::error::{Error, Result};

pub use pipeline::CHUNKS_IN_FLIGHT;
pub(crate) use typed::encode_items;

/// Per-item outcome of a batch write, in input order. A failed item never hides the others.
#[derive(Debug, Default)]
pub struct BatchReport {
    /// One result per input item: the entity id, or what went wrong for that item.
    pub results: Vec<Result<Uuid>>,
    /// Items whose entity was written but whose follow-up (collection items or document)
    /// failed, with the id written; their `results` entry holds the follow-up's error.
    pub partial: Vec<(usize, Uuid)>,
    /// Upserts: the items that updated an existing entity (the others were created).
    pub updated: Vec<usize>,
}

impl BatchReport {
    /// A report of these results (nothing partial, nothing updated).
    pub fn new(results: Vec<Result<Uuid>>) -> BatchReport {
        BatchReport {
            results,
            ..BatchReport::default()
        }
    }

    /// Ids of the items that succeeded (in input order).
    pub fn ids(&self) -> Vec<Uuid> {
        self.results
            .iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect()
    }

    /// Number of items written.
    pub fn written(&self) -> usize {
        self.results.iter().filter(|r| r.is_ok()).count()
    }

    /// Number of failed items (invalid, refused or lost with their request).
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

    /// The items refused locally (never sent), with their violations.
    pub fn invalid(&self) -> impl Iterator<Item = (usize, &[Violation])> {
        self.errors().filter_map(|(i, e)| match e {
            Error::Validation { violations, .. } => Some((i, violations.as_slice())),
            _ => None,
        })
    }

    /// The items that were sent and failed (refused by the server, or their request failed).
    pub fn refused(&self) -> impl Iterator<Item = (usize, &Error)> {
        self.errors()
            .filter(|(_, e)| !matches!(e, Error::Validation { .. }))
    }

    /// All ids, or the first error.
    pub fn into_result(self) -> Result<Vec<Uuid>> {
        self.results.into_iter().collect()
    }
}

/// One item for the pipeline: a field map (split by the schema into fields, option names,
/// collections and rich text) or an already encoded entity.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// Field name -> value, as a user would write it: primitives, `{"fibery/id": ..}` or an
    /// id string for single relations, an option name for a single-select or workflow state,
    /// arrays of ids (or option names) for collections and multi-selects, a Markdown string
    /// for a rich-text field.
    Fields(Map<String, Value>),
    /// Parts already separated (what `#[derive(FiberyEntity)]` produces).
    Encoded(EncodedEntity),
}

impl From<Map<String, Value>> for Record {
    fn from(m: Map<String, Value>) -> Self {
        Record::Fields(m)
    }
}

impl From<EncodedEntity> for Record {
    fn from(e: EncodedEntity) -> Self {
        Record::Encoded(e)
    }
}

/// Which write the pipeline runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// `fibery.entity/create`; items without `fibery/id` get a fresh v4 id.
    Create,
    /// `fibery.entity/update`; items need `fibery/id`; collections are set exactly.
    Update,
    /// `fibery.entity.batch/create-or-update` by this field (`update-latest`); collections
    /// are set exactly.
    Upsert(String),
}

/// Untyped batch writes of one Fibery type. Created by [`Client::records`].
#[derive(Clone, Debug)]
pub struct Records {
    client: Client,
    type_name: Arc<str>,
    merge: bool,
}

impl Client {
    /// Untyped batch writes of `type_name` (e.g. `"Projects/Task"`) through the write
    /// pipeline (see [`records`](mod@crate::records)).
    pub fn records(&self, type_name: &str) -> Records {
        Records {
            client: self.clone(),
            type_name: type_name.into(),
            merge: false,
        }
    }
}

impl Records {
    /// The type written.
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// Updates and upserts add the given collection items to what an entity has instead
    /// of setting the collection exactly (nothing is removed). Saves the read of the
    /// current items: an upsert chunk's adds travel in its write request.
    pub fn merge_collections(mut self) -> Self {
        self.merge = true;
        self
    }

    /// Creates every valid item (items without `fibery/id` get a fresh v4 id, so a retried
    /// create cannot duplicate); the report lists the invalid and refused ones.
    pub async fn create_all<R: Into<Record>>(
        &self,
        items: impl IntoIterator<Item = R>,
    ) -> Result<BatchReport> {
        self.write_records(items, Op::Create).await
    }

    /// Updates every valid item (each needs `fibery/id`; only the given fields change;
    /// collections and multi-selects are set to exactly the given items).
    pub async fn update_all<R: Into<Record>>(
        &self,
        items: impl IntoIterator<Item = R>,
    ) -> Result<BatchReport> {
        self.write_records(items, Op::Update).await
    }

    /// Creates or updates by `conflict_field` (`update-latest`); every item must carry a
    /// value for it. The report holds the id each item ended up with.
    pub async fn upsert_all<R: Into<Record>>(
        &self,
        items: impl IntoIterator<Item = R>,
        conflict_field: &str,
    ) -> Result<BatchReport> {
        self.write_records(items, Op::Upsert(conflict_field.to_owned()))
            .await
    }

    async fn write_records<R: Into<Record>>(
        &self,
        items: impl IntoIterator<Item = R>,
        op: Op,
    ) -> Result<BatchReport> {
        let schema = self.client.schema().await?;
        crate::schema::type_def(&schema, &self.type_name)?;
        let encoded = items
            .into_iter()
            .map(|r| match r.into() {
                Record::Encoded(e) => Ok(e),
                Record::Fields(m) => fields::split(&schema, &self.type_name, m),
            })
            .collect();
        self.write(encoded, op).await
    }

    /// The pipeline proper, for items already encoded (or already found invalid).
    pub(crate) async fn write(
        &self,
        items: Vec<std::result::Result<EncodedEntity, Vec<Violation>>>,
        op: Op,
    ) -> Result<BatchReport> {
        let (valid, results) = self.prepare(items, &op).await?;
        let mut report = BatchReport::new(results);
        self.run_pipeline(&op, valid, &mut report).await;
        Ok(report)
    }
}
