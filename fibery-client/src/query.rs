//! Reading: [`Client::query`], [`Client::query_stream`] (cursor pagination) and
//! [`Client::count`].
//!
//! Pagination follows Fibery's documented keyset cursor: order by `fibery/id` (after the
//! query's one order key, if any; see the `keyset` module), ask for `page_size + 1` rows (the
//! extra row only says "there is more"), and continue after the last row seen. `q/no-limit` is
//! never sent.

use fibery_core::query::{COUNT_ALIAS, Filter, Limit, Query, Select, SelectItem};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use fibery_core::command::{Command, names};
use futures::{Stream, TryStreamExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::keyset::{Cursor, Plan};

/// The rows of a query result.
fn rows_of(result: Value, context: &str) -> Result<Vec<Value>> {
    match result {
        Value::Array(rows) => Ok(rows),
        other => Err(Error::decode(
            context,
            format!("expected an array of rows, got {other}"),
        )),
    }
}

impl Client {
    /// Runs one `fibery.entity/query` and returns its rows.
    ///
    /// When the schema is cached, the query is checked against it first (unknown types and
    /// fields with did-you-mean suggestions, non-primitive selects, ...); a failing check
    /// revalidates the schema (ETag) once before rejecting, so a stale cache cannot block a
    /// valid query. With no schema cached yet, a query Fibery refuses is checked against
    /// the schema (fetched then), so a misspelt field gives the same did-you-mean
    /// [`Error::Validation`] on a cold cache as on a warm one.
    ///
    /// Concurrent `query` (and [`count`](Self::count)) calls are merged into one HTTP request
    /// by the automatic batcher (see [`batch_window`](crate::ClientBuilder::batch_window)).
    pub async fn query(&self, query: &Query) -> Result<Vec<Value>> {
        self.preflight(query).await?;
        match self.query_rows(query.clone()).await {
            Err(e @ Error::Command { .. }) => Err(self.explain_refusal(query, e).await),
            r => r,
        }
    }

    /// The schema's reading of a query Fibery refused with `refused`: its violations when
    /// the schema finds any, else `refused` itself.
    async fn explain_refusal(&self, q: &Query, refused: Error) -> Error {
        let Ok(schema) = self.schema().await else {
            return refused;
        };
        match schema.check_query(q) {
            Err(violations) => Error::Validation {
                type_name: q.from.clone(),
                index: None,
                violations,
            },
            Ok(()) => refused,
        }
    }

    /// Runs a query without the schema check (queries the client builds itself).
    pub(crate) async fn query_rows(&self, query: Query) -> Result<Vec<Value>> {
        rows_of(self.submit(Command::query(query)).await?, "query result")
            .map_err(|e| self.scrub(e))
    }

    async fn preflight(&self, q: &Query) -> Result<()> {
        let Some(schema) = self.inner.cache.schema() else {
            return Ok(());
        };
        if schema.check_query(q).is_ok() {
            return Ok(());
        }
        let schema = self.refresh_schema().await?;
        schema
            .check_query(q)
            .map_err(|violations| Error::Validation {
                type_name: q.from.clone(),
                index: None,
                violations,
            })
    }

    /// Runs a query and deserializes each row into `T`.
    pub async fn query_as<T: DeserializeOwned>(&self, query: &Query) -> Result<Vec<T>> {
        self.query(query)
            .await?
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                serde_json::from_value(row)
                    .map_err(|e| self.scrub(Error::decode(format!("query row {i}"), e)))
            })
            .collect()
    }

    /// Runs a query given as raw `fibery.entity/query` args (`{"query": .., "params": ..}`),
    /// without the schema check. Args that core's parser reads are sent as a typed
    /// [`Query`]; others are sent as given (as [`Command::Raw`], so Fibery judges them).
    pub async fn query_args(&self, args: Value) -> Result<Vec<Value>> {
        let cmd = match Query::from_args(&args) {
            Ok(q) => Command::query(q),
            Err(e) => {
                tracing::debug!(error = %e, "sending query args as given");
                Command::Raw {
                    command: names::QUERY.to_owned(),
                    args: Some(args),
                }
            }
        };
        rows_of(self.submit(cmd).await?, "query result").map_err(|e| self.scrub(e))
    }

    /// The rows of `query` in its order, as a stream over pages of
    /// [`page_size`](crate::ClientBuilder::page_size) rows, fetched
    /// [`pages_per_request`](crate::ClientBuilder::pages_per_request) pages per HTTP request
    /// (default 1).
    ///
    /// * `q/limit` caps the stream's total (note that [`Query::from`] starts at 100): call
    ///   [`Query::no_limit`] for every row. `q/offset` skips rows first.
    /// * The order is kept with a keyset on (order key, `fibery/id`): no order or
    ///   `fibery/id` gives id order; one field `k` (optionally followed by `fibery/id`) gives
    ///   `k` order with ties in id order, rows with `k` null last ascending and first
    ///   descending. Any other order (several keys, a path through a relation, `q/start`)
    ///   is refused: the stream's first item is [`Error::Unpageable`] saying why, and nothing
    ///   is sent.
    ///
    /// The returned [`QueryStream`] can be tuned before it is first polled:
    /// `client.query_stream(&q).page_size(1000).pages_per_request(4)`.
    pub fn query_stream(&self, query: &Query) -> QueryStream {
        QueryStream {
            client: self.clone(),
            query: query.clone(),
            page_size: self.limits().page_size,
            pages_per_request: self.limits().pages_per_request,
            inner: None,
        }
    }

    /// [`query_stream`](Self::query_stream) with an explicit page size.
    pub fn query_stream_with_page_size(&self, query: &Query, page_size: usize) -> QueryStream {
        self.query_stream(query).page_size(page_size)
    }

    /// One HTTP request's worth of rows from the page query `first` (`n + 1` rows at
    /// `offset`): `k` consecutive pages of `n` rows (see [`QueryStream::pages_per_request`]).
    /// Returns the rows (at most `k * n`) and whether more rows follow.
    async fn fetch_pages(
        &self,
        first: Query,
        offset: u64,
        n: usize,
        k: usize,
    ) -> Result<(Vec<Value>, bool)> {
        if k <= 1 {
            let mut rows = self.query(&first).await?;
            let more = rows.len() > n;
            rows.truncate(n);
            self.complete_collections(&first, &mut rows).await?;
            return Ok((rows, more));
        }
        self.preflight(&first).await?;
        let cmds: Vec<Command> = (0..k)
            .map(|i| {
                let mut q = first.clone();
                let at = offset + (i * n) as u64;
                q.offset = (at > 0).then_some(at);
                q.limit = Limit::Count(n as u64 + u64::from(i + 1 == k));
                Command::query(q)
            })
            .collect();
        // One request per `max_commands_per_request` commands (one request unless k is
        // larger), sent in order; a short page ends the round early.
        let max = self.limits().max_commands.max(1);
        let mut rows = Vec::with_capacity(k * n);
        let mut seen = std::collections::HashSet::new();
        let mut more = false;
        'requests: for (c, chunk) in cmds.chunks(max).enumerate() {
            let mut results = self.send_chunk(chunk, c * max).await;
            if let Some(i) = results.iter().position(Result::is_err)
                && let Err(e) = results.swap_remove(i)
            {
                drop(results); // so that a whole-request failure unwraps to its own error
                return Err(e.unshare());
            }
            for (j, page) in results.into_iter().flatten().enumerate() {
                let mut page = rows_of(page, "query page").map_err(|e| self.scrub(e))?;
                let short = page.len() < n;
                if c * max + j + 1 == k {
                    more = page.len() > n;
                }
                page.truncate(n);
                for row in page {
                    // An entity created between two of the request's queries shifts the
                    // later offsets by one; never hand out the same row twice.
                    let id = row
                        .get("fibery/id")
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    if id.is_none_or(|id| seen.insert(id)) {
                        rows.push(row);
                    }
                }
                if short {
                    break 'requests;
                }
            }
        }
        self.complete_collections(&first, &mut rows).await?;
        Ok((rows, more))
    }

    /// Collects [`query_stream`](Self::query_stream) into a vector.
    pub async fn query_all(&self, query: &Query) -> Result<Vec<Value>> {
        self.query_stream(query).try_collect().await
    }

    /// Number of entities matching the query's type and filter, via a top-level `q/count`
    /// aggregate. The query's `q/limit`, `q/offset` and order are ignored: this is the
    /// number of matching entities, not of the rows one query would return. When the server
    /// rejects the aggregate (unsupported, or a database with row-level permissions), falls
    /// back to paging through the ids.
    ///
    /// Concurrent `count` (and [`query`](Self::query)) calls are merged into one request
    /// by the automatic batcher (see [`batch_window`](crate::ClientBuilder::batch_window)).
    pub async fn count(&self, query: &Query) -> Result<u64> {
        match self.count_aggregate(query).await {
            Err(Error::Command { error, .. }) => {
                tracing::debug!(error = %error, "q/count rejected; counting by id pages");
                let mut ids = query
                    .clone()
                    .with_select(Select::Fields(vec![SelectItem::Field("fibery/id".into())]))
                    .no_limit();
                ids.order_by.clear();
                ids.offset = None;
                let mut n = 0u64;
                let mut s = self.query_stream_with_page_size(&ids, 1000);
                while s.try_next().await?.is_some() {
                    n += 1;
                }
                Ok(n)
            }
            other => other,
        }
    }

    async fn count_aggregate(&self, query: &Query) -> Result<u64> {
        let rows = self.query_rows(query.to_count()).await?;
        let n = rows
            .first()
            .and_then(|r| r.get(COUNT_ALIAS))
            .cloned()
            .unwrap_or(json!(0));
        n.as_u64()
            .or_else(|| n.as_str().and_then(|s| s.parse().ok()))
            .or_else(|| n.as_f64().map(|f| f as u64))
            .ok_or_else(|| self.scrub(Error::decode("count", format!("not a number: {n}"))))
    }
}

impl Client {
    /// Collection sub-queries are capped by their `q/limit` (Fibery recommends 100). For
    /// every row whose collection came back full, reads the whole collection by paging the
    /// target type filtered by the relation's other end, and replaces the truncated array.
    pub(crate) async fn complete_collections(&self, q: &Query, rows: &mut [Value]) -> Result<()> {
        let Select::Fields(items) = &q.select else {
            return Ok(());
        };
        for item in items {
            let SelectItem::SubQuery { field, query: sub } = item else {
                continue;
            };
            let Limit::Count(cap) = sub.limit else {
                continue;
            };
            let full: Vec<usize> = rows
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    r.get(field)
                        .and_then(Value::as_array)
                        .is_some_and(|a| a.len() as u64 >= cap)
                })
                .map(|(i, _)| i)
                .collect();
            if full.is_empty() {
                continue;
            }
            let schema = self.schema().await?;
            let Some((target, back)) = schema.other_end(&q.from, field) else {
                tracing::warn!(field = %field, "collection may be truncated at {cap} items: relation has no other end to page by");
                continue;
            };
            let back_is_collection = back.meta.collection;
            let (target, back) = (target.name.clone(), back.name.clone());
            for i in full {
                let Some(parent) = rows[i]
                    .get("fibery/id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                else {
                    continue;
                };
                let by_parent = if back_is_collection {
                    Filter::in_list(vec![back.clone(), "fibery/id".to_owned()], [parent.clone()])
                } else {
                    Filter::eq(vec![back.clone(), "fibery/id".to_owned()], parent.clone())
                };
                let mut child = Query::from(target.clone())
                    .with_select(sub.select.clone())
                    .no_limit();
                child.filter = sub.filter.clone();
                let child = child.and_filter(by_parent);
                tracing::debug!(field = %field, parent = %parent, "paging a truncated collection");
                let fut: std::pin::Pin<
                    Box<dyn std::future::Future<Output = Result<Vec<Value>>> + Send + '_>,
                > = Box::pin(self.query_all(&child));
                let all = fut.await?;
                rows[i][field.as_str()] = Value::Array(all);
            }
        }
        Ok(())
    }
}

/// The rows of a query in its order, page by page along a keyset cursor; returned by
/// [`Client::query_stream`].
///
/// Nothing is sent until the stream is first polled; until then [`page_size`](Self::page_size)
/// and [`pages_per_request`](Self::pages_per_request) override the client's defaults.
///
/// ```no_run
/// # async fn run(client: fibery_client::Client) -> fibery_client::Result<()> {
/// use fibery_client::Query;
/// use futures::TryStreamExt;
/// let q = Query::from("Projects/Task").select(["Projects/Name"]);
/// // 4 pages of 500 rows in each request: 2,000 rows per request instead of 500.
/// let rows: Vec<_> = client
///     .query_stream(&q)
///     .page_size(500)
///     .pages_per_request(4)
///     .try_collect()
///     .await?;
/// # let _ = rows; Ok(()) }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct QueryStream {
    client: Client,
    query: Query,
    page_size: usize,
    pages_per_request: usize,
    inner: Option<Pin<Box<dyn Stream<Item = Result<Value>> + Send>>>,
}

impl std::fmt::Debug for QueryStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryStream")
            .field("from", &self.query.from)
            .field("page_size", &self.page_size)
            .field("pages_per_request", &self.pages_per_request)
            .field("started", &self.inner.is_some())
            .finish_non_exhaustive()
    }
}

impl QueryStream {
    /// Rows per page (at least 1). Has no effect once the stream has been polled.
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Pages fetched per HTTP request (at least 1; default: the client's
    /// [`pages_per_request`](crate::ClientBuilder::pages_per_request), itself 1).
    ///
    /// With `k > 1`, each request carries `k` `fibery.entity/query` commands, all filtered by
    /// `fibery/id > cursor` and ordered by `fibery/id`: command `i` asks for `page_size` rows
    /// at `q/offset = i * page_size` (the last one for one extra row, which only says "there
    /// is more"), so offsets stay below `k * page_size` whatever the export's size. One
    /// request counts once against Fibery's rate limit, so at the limit this reads up to `k`
    /// times as many rows per second as `k = 1`. The stream ends at the first short page.
    ///
    /// The offset pages of one request are only as consistent as the server's execution of
    /// the batch: an entity created or deleted (with an id after the cursor) between two of
    /// its queries can shift the later pages by one row. Duplicates are dropped; a deletion
    /// can hide one row from that request. `k = 1` (pure keyset) has no such window. A
    /// request carries at most [`max_commands_per_request`](crate::ClientBuilder::max_commands_per_request)
    /// commands; larger `k` is split over several requests.
    pub fn pages_per_request(mut self, k: usize) -> Self {
        self.pages_per_request = k.max(1);
        self
    }

    fn start(&self) -> Pin<Box<dyn Stream<Item = Result<Value>> + Send>> {
        let plan = match Plan::new(&self.query) {
            Ok(plan) => Arc::new(plan),
            Err(reason) => {
                let e = Error::Unpageable {
                    type_name: self.query.from.clone(),
                    reason,
                };
                return Box::pin(futures::stream::once(async move { Err(e) }));
            }
        };
        let (client, page_size, k) = (
            self.client.clone(),
            self.page_size.max(1),
            self.pages_per_request.max(1),
        );
        let start = Position {
            phase: 0,
            cursor: None,
            offset: plan.offset,
            emitted: 0,
        };
        let added = plan.added.clone();
        let pages = futures::stream::try_unfold(start, move |at| {
            let (client, plan) = (client.clone(), plan.clone());
            async move { next_rows(&client, &plan, at, page_size, k).await }
        });
        Box::pin(
            pages
                .map_ok(move |rows| {
                    let added = added.clone();
                    futures::stream::iter(rows.into_iter().map(move |mut r| {
                        if let Value::Object(m) = &mut r {
                            for f in &added {
                                m.remove(f);
                            }
                        }
                        Ok(r)
                    }))
                })
                .try_flatten(),
        )
    }
}

/// Where a stream stands: its phase, the cursor in it, the offset still to skip and the
/// rows handed out so far.
struct Position {
    phase: usize,
    cursor: Option<Cursor>,
    offset: u64,
    emitted: u64,
}

/// The next non-empty batch of rows (one HTTP request, or a few when phases end), or `None`
/// at the end of the stream.
async fn next_rows(
    client: &Client,
    plan: &Plan,
    mut at: Position,
    page_size: usize,
    k: usize,
) -> Result<Option<(Vec<Value>, Position)>> {
    loop {
        let Some(phase) = plan.phases.get(at.phase) else {
            return Ok(None);
        };
        let remaining = plan.cap.map(|cap| cap.saturating_sub(at.emitted) as usize);
        // Never ask for more rows than the cap leaves.
        let (n, k) = match remaining {
            Some(0) => return Ok(None),
            Some(r) if r <= page_size => (r, 1),
            Some(r) => (page_size, k.min(r.div_ceil(page_size))),
            None => (page_size, k),
        };
        let first = plan.page(phase, at.cursor.as_ref(), n, at.offset);
        let (mut rows, more) = client.fetch_pages(first, at.offset, n, k).await?;
        if let Some(r) = remaining {
            rows.truncate(r);
        }
        if rows.is_empty() && at.offset > 0 {
            // The offset skips this whole phase: carry the rest of it to the next one.
            let phase_rows = plan.phase_query(phase);
            let count: Pin<Box<dyn std::future::Future<Output = Result<u64>> + Send + '_>> =
                Box::pin(client.count(&phase_rows));
            at.offset = at.offset.saturating_sub(count.await?);
            at.phase += 1;
            continue;
        }
        at.offset = 0;
        let cursor = match rows.last() {
            None => None,
            Some(last) => Some(
                phase
                    .cursor(last)
                    .map_err(|reason| Error::Unpageable {
                        type_name: plan.base.from.clone(),
                        reason,
                    })?
                    .ok_or_else(|| {
                        Error::decode("query page", "row without a string `fibery/id`")
                    })?,
            ),
        };
        if more && cursor == at.cursor {
            return Err(Error::decode("query page", "cursor did not advance"));
        }
        if more {
            at.cursor = cursor;
        } else {
            at.phase += 1;
            at.cursor = None;
        }
        if rows.is_empty() {
            continue;
        }
        at.emitted += rows.len() as u64;
        return Ok(Some((rows, at)));
    }
}

impl Stream for QueryStream {
    type Item = Result<Value>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.inner.is_none() {
            let s = self.start();
            self.inner = Some(s);
        }
        self.inner.as_mut().expect("started").as_mut().poll_next(cx)
    }
}
