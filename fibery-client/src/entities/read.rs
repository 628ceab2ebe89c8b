//! The read side of [`Entities`]: filters, order, limit, paging, typed streams and decoding.

use std::collections::HashMap;

use fibery_core::entity::{FiberyEntity, MappingKind};
use fibery_core::query::{Filter, Order, Query};
use futures::{Stream, TryStreamExt};
use serde_json::Value;
use uuid::Uuid;

use super::Entities;
use crate::client::Client;
use crate::error::{Error, Result};

/// The secret field of a document, as selected through a rich-text field.
const SECRET: &str = "Collaboration~Documents/secret";

/// What a typed read asks for: filters, order, limit and page size.
#[derive(Debug, Clone, Default)]
pub(super) struct ReadSpec {
    pub(super) filter: Option<Filter>,
    order: Vec<(String, Order)>,
    limit: Option<u64>,
    offset: Option<u64>,
    page_size: Option<usize>,
}

impl<T: FiberyEntity + Send + 'static> Entities<T> {
    /// Adds a filter (combined with earlier ones by `q/and`).
    pub fn filter(mut self, f: Filter) -> Self {
        self.read.filter = Some(match self.read.filter.take() {
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

    /// Orders by a field of `T`'s type (rows with equal values in `fibery/id` order). A
    /// stream keeps one order key (see [`Client::query_stream`]); a second key makes
    /// [`stream`](Self::stream) and [`all`](Self::all) fail with
    /// [`Error::Unpageable`].
    pub fn order_by(mut self, field: &str, order: Order) -> Self {
        self.read.order.push((field.to_owned(), order));
        self
    }

    /// At most `n` entities in all (default: every matching entity).
    pub fn limit(mut self, n: u64) -> Self {
        self.read.limit = Some(n);
        self
    }

    /// Skips the first `n` matching entities (in the handle's order).
    pub fn offset(mut self, n: u64) -> Self {
        self.read.offset = Some(n);
        self
    }

    /// Entities per page (one query each, plus one document batch per rich-text field);
    /// default: the client's [`page_size`](crate::ClientBuilder::page_size).
    pub fn page_size(mut self, n: usize) -> Self {
        self.read.page_size = Some(n.max(1));
        self
    }

    /// The query this handle runs: every mapped field of `T` (the derive's typed select),
    /// with the handle's filter, order, limit and offset.
    pub fn to_query(&self) -> Query {
        let mut q = Query::from(T::TYPE_NAME).with_select(T::select());
        q = match self.read.limit {
            Some(n) => q.limit(n),
            None => q.no_limit(),
        };
        for (field, order) in &self.read.order {
            q = q.order_by(field.as_str(), *order);
        }
        q.filter = self.read.filter.clone();
        q.offset = self.read.offset;
        q
    }

    /// The matching entities as a stream, in the handle's order (pages of
    /// [`page_size`](Self::page_size); the documents of each page fetched in one batch per
    /// rich-text field).
    pub fn stream(&self) -> impl Stream<Item = Result<T>> + Send + 'static + use<T> {
        let client = self.client.clone();
        let page = self.read.page_size.unwrap_or(client.limits().page_size);
        client
            .query_stream(&self.to_query())
            .page_size(page)
            .try_chunks(page)
            .map_err(|e| e.1)
            .and_then(move |rows| {
                let client = client.clone();
                async move { decode_rows::<T>(&client, rows).await }
            })
            .map_ok(|v| futures::stream::iter(v.into_iter().map(Ok)))
            .try_flatten()
    }

    /// The matching entities, in the handle's order.
    pub async fn all(&self) -> Result<Vec<T>> {
        self.stream().try_collect().await
    }

    /// Number of matching entities (`q/count`; the handle's limit and offset are ignored).
    pub async fn count(&self) -> Result<u64> {
        self.client.count(&self.to_query()).await
    }

    /// The entity with this id, if it exists.
    pub async fn get(&self, id: Uuid) -> Result<Option<T>> {
        let mut q = self
            .to_query()
            .and_filter(Filter::eq("fibery/id", id.to_string()))
            .limit(1);
        q.offset = None;
        q.order_by.clear();
        let rows = self.client.query(&q).await?;
        Ok(self.decode(rows).await?.into_iter().next())
    }

    /// Decodes rows of a query that selected [`T::select()`](FiberyEntity::select) (for
    /// instance from [`Client::query`]), fetching the rich-text documents they reference in
    /// one batch per field. An empty document reads as `None` for an `Option` field.
    pub async fn decode(&self, rows: Vec<Value>) -> Result<Vec<T>> {
        decode_rows::<T>(&self.client, rows).await
    }
}

/// Substitutes document contents for rich-text secrets, then decodes rows into `T`.
async fn decode_rows<T: FiberyEntity>(client: &Client, mut rows: Vec<Value>) -> Result<Vec<T>> {
    for m in T::FIELDS {
        let MappingKind::RichText(fmt) = m.kind else {
            continue;
        };
        let secret = |r: &Value| r[m.fibery_name][SECRET].as_str().map(str::to_owned);
        let secrets: Vec<String> = rows.iter().filter_map(secret).collect();
        let contents = if secrets.is_empty() {
            HashMap::new()
        } else {
            client.documents(&secrets, fmt).await?
        };
        for r in rows.iter_mut() {
            let content = secret(r).and_then(|s| contents.get(&s).cloned());
            if let Value::Object(o) = r {
                // Blank content is an empty document: `None` for an `Option`.
                let v = match content {
                    Some(c) if m.optional && c.trim().is_empty() => Value::Null,
                    Some(c) => Value::String(c),
                    None if m.optional => Value::Null,
                    None => Value::String(String::new()),
                };
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
