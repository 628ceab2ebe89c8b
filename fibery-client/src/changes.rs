//! The incremental change feed: [`Client::changes`] reads the entities of a type modified
//! since a saved [`Cursor`], page by page, and hands back the next cursor.
//!
//! Paging is a keyset on (`fibery/modification-date`, `fibery/id`): each page continues
//! after the last row read (`date > d` or `date = d and id > i`), so entities sharing a
//! modification millisecond are neither skipped nor repeated. A write that commits while the
//! feed is read, with a modification date earlier than rows already read, would be missed by
//! a pure keyset; therefore a run starting from a cursor re-reads the last
//! [`overlap`](ChangeFeed::overlap) before the cursor's position (default 10 s) and skips the
//! versions the cursor says it already handed out. Every version of an entity (its id and
//! modification date) is returned once across runs; an entity modified again is returned
//! again, with its new values.
//!
//! **Deletions are invisible to queries**: a deleted entity simply stops matching, so a feed
//! cannot report it. Cover deletions with the webhook [`receiver`](crate::events) (a
//! `fibery.entity/delete` effect carries the id and the last values), or by comparing the
//! full set of ids now and then.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let emu = fibery_emulator::Emulator::builder()
//! #     .schema(fibery_client::Schema::parse(&std::fs::read_to_string(format!(
//! #         "{}/../fibery-core/tests/fixtures/project-management.json", env!("CARGO_MANIFEST_DIR")))?)?)
//! #     .token("secret-token").start().await?;
//! # let client = fibery_client::Client::builder().base_url(emu.base_url()).token("secret-token").build()?;
//! use fibery_client::changes::Cursor;
//!
//! let saved: Option<Cursor> = None; // e.g. read from a state file
//! let mut feed = client
//!     .changes("Projects/Task")
//!     .select(["fibery/id", "Projects/Name"])
//!     .since(saved.unwrap_or_default());
//! while let Some(rows) = feed.next_page().await? {
//!     for row in rows {
//!         println!("{row}");
//!     }
//! }
//! let next: Cursor = feed.cursor().clone(); // save it (it is serde-serializable)
//! # Ok(()) }
//! ```

use std::time::Duration;

use fibery_core::query::{Filter, Order, Query, Select, SelectItem};
use fibery_core::value::{format_date_time, parse_date_time};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};

const MODIFIED: &str = "fibery/modification-date";
const ID: &str = "fibery/id";

/// Where a change feed stopped; persist it between runs (it is JSON-serializable).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The keyset position: the last row read (`None` before the first run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// The versions handed out within the overlap window before `position`, so that a run
    /// re-reading the window skips them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<Position>,
}

/// One entity version: its modification date and id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    /// `fibery/modification-date` as Fibery wrote it.
    pub modified: String,
    /// `fibery/id`.
    pub id: String,
}

/// A change feed over one type; see the [module docs](self). Created by
/// [`Client::changes`].
#[derive(Debug)]
#[must_use]
pub struct ChangeFeed {
    client: Client,
    query: Query,
    cursor: Cursor,
    overlap: Duration,
    page_size: usize,
    /// Where the next page starts: `None` = at the window start (or the beginning).
    after: Option<Position>,
    started: bool,
    done: bool,
}

impl Client {
    /// The change feed of `type_name` (see [`changes`](crate::changes)): by default every
    /// entity with `fibery/id` and `fibery/modification-date`, from the beginning.
    pub fn changes(&self, type_name: impl Into<String>) -> ChangeFeed {
        ChangeFeed {
            client: self.clone(),
            query: Query::from(type_name.into()).select([ID, MODIFIED]),
            cursor: Cursor::default(),
            overlap: Duration::from_secs(10),
            page_size: self.limits().page_size,
            after: None,
            started: false,
            done: false,
        }
    }
}

impl ChangeFeed {
    /// Continue from `cursor` (the [`cursor`](Self::cursor) of an earlier run).
    pub fn since(mut self, cursor: Cursor) -> Self {
        self.cursor = cursor;
        self
    }

    /// The fields to read (`fibery/id` and `fibery/modification-date` are always added).
    pub fn select<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.query = self
            .query
            .with_select(Select::Fields(vec![]))
            .select(fields);
        self
    }

    /// A full select (relations, sub-queries); the key fields are added.
    pub fn with_select(mut self, select: Select) -> Self {
        self.query = self.query.with_select(select);
        self
    }

    /// Only entities matching `filter`.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.query = self.query.filter(filter);
        self
    }

    /// How far before the cursor a run re-reads (default 10 s); longer than any write
    /// takes to commit.
    pub fn overlap(mut self, overlap: Duration) -> Self {
        self.overlap = overlap;
        self
    }

    /// Rows per page (default: the client's [`page_size`](crate::ClientBuilder::page_size)).
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// The cursor after the pages read so far (the one passed to [`since`](Self::since)
    /// before the first page).
    pub fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    /// The next page of changed entities, `None` when the feed is exhausted. A page may
    /// come back empty when all its rows were already handed out by an earlier run.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>> {
        if self.done {
            return Ok(None);
        }
        let q = self.page_query()?;
        let mut rows = self.client.query(&q).await?;
        self.started = true;
        let more = rows.len() > self.page_size;
        rows.truncate(self.page_size);
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let pos = position_of(&row).map_err(|e| self.client.scrub(e))?;
            self.after = Some(pos.clone());
            if !self.cursor.recent.contains(&pos) {
                self.remember(pos);
                out.push(row);
            }
        }
        self.done = !more;
        self.prune();
        Ok(Some(out))
    }

    /// Reads every remaining page; returns the rows and the next cursor.
    pub async fn all(mut self) -> Result<(Vec<Value>, Cursor)> {
        let mut all = vec![];
        while let Some(rows) = self.next_page().await? {
            all.extend(rows);
        }
        Ok((all, self.cursor))
    }

    fn remember(&mut self, pos: Position) {
        if self.cursor.position.as_ref().is_none_or(|p| *p < pos) {
            self.cursor.position = Some(pos.clone());
        }
        self.cursor.recent.push(pos);
    }

    /// Forgets versions older than the window before the position.
    fn prune(&mut self) {
        let Some(start) = self
            .cursor
            .position
            .as_ref()
            .and_then(|p| self.window_start(p))
        else {
            return;
        };
        self.cursor.recent.retain(|p| p.modified >= start);
        self.cursor.recent.sort();
    }

    fn window_start(&self, p: &Position) -> Option<String> {
        let t = parse_date_time(&p.modified).ok()?;
        Some(format_date_time(t - self.overlap))
    }

    /// This page's query: the keyset after the last row read, or (first page) everything
    /// from the overlap window before the cursor's position.
    fn page_query(&self) -> Result<Query> {
        let mut q = with_keys(self.query.clone());
        q.order_by.clear();
        q.offset = None;
        let q = q
            .order_by(MODIFIED, Order::Asc)
            .order_by(ID, Order::Asc)
            .limit(self.page_size as u64 + 1);
        Ok(match (&self.after, &self.cursor.position) {
            (Some(a), _) => q.and_filter(
                Filter::gt(MODIFIED, a.modified.clone()).or(Filter::eq(
                    MODIFIED,
                    a.modified.clone(),
                )
                .and(Filter::gt(ID, a.id.clone()))),
            ),
            (None, Some(p)) if !self.started => {
                let start = self.window_start(p).ok_or_else(|| {
                    Error::InvalidInput(format!("cursor date {:?} is not RFC 3339", p.modified))
                })?;
                q.and_filter(Filter::ge(MODIFIED, start))
            }
            _ => q,
        })
    }
}

/// The row's (modification date, id).
fn position_of(row: &Value) -> Result<Position> {
    let field = |k: &str| {
        row.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::decode("change feed row", format!("`{k}` missing or not a string"))
            })
    };
    Ok(Position {
        modified: field(MODIFIED)?,
        id: field(ID)?,
    })
}

/// Adds `fibery/id` and `fibery/modification-date` to the select when missing.
fn with_keys(q: Query) -> Query {
    let Select::Fields(items) = &q.select else {
        return q;
    };
    let has = |k: &str| {
        items
            .iter()
            .any(|i| matches!(i, SelectItem::Field(f) if f == k))
    };
    let missing: Vec<&str> = [ID, MODIFIED].into_iter().filter(|k| !has(k)).collect();
    let mut q = q;
    if let Select::Fields(items) = &mut q.select {
        for (i, k) in missing.into_iter().enumerate() {
            items.insert(i, SelectItem::field(k));
        }
    }
    q
}
