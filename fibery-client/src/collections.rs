//! The current items of collection fields, read in full: what set-semantics writes
//! (`update`, `update_all`, `upsert_all`) compare against to know what to add and remove.

use std::collections::HashMap;

use fibery_core::query::{Filter, Query, SubQuery};
use serde_json::Value;
use uuid::Uuid;

use crate::client::Client;
use crate::error::Result;

/// Items per collection sub-query (Fibery's recommended cap); fuller collections are paged
/// separately by [`Client::complete_collections`].
const SUB_QUERY_LIMIT: u64 = 100;

/// Entities per read.
const ENTITIES_PER_QUERY: usize = 500;

impl Client {
    /// The current items of the collection `fields` of the entities `ids` of `type_name`,
    /// keyed by (entity id, field). Collections longer than one sub-query are completed, so
    /// a comparison against them never misses the items past the cap.
    pub(crate) async fn current_collections(
        &self,
        type_name: &str,
        fields: &[String],
        ids: &[Uuid],
    ) -> Result<HashMap<(Uuid, String), Vec<Uuid>>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(ENTITIES_PER_QUERY) {
            let mut q = Query::from(type_name).select(["fibery/id"]);
            for f in fields {
                let items = SubQuery::new().select(["fibery/id"]).limit(SUB_QUERY_LIMIT);
                q = q.select_collection(f.as_str(), items);
            }
            let q = q
                .filter(Filter::in_list(
                    "fibery/id",
                    chunk.iter().map(Uuid::to_string),
                ))
                .limit(chunk.len() as u64);
            let mut rows = self.query_rows(q.clone()).await?;
            self.complete_collections(&q, &mut rows).await?;
            for row in rows {
                let Some(id) = row_id(&row) else { continue };
                for f in fields {
                    let items = row[f].as_array().into_iter().flatten();
                    out.insert((id, f.clone()), items.filter_map(row_id).collect());
                }
            }
        }
        Ok(out)
    }
}

/// The `fibery/id` of a row, if it is a UUID.
fn row_id(row: &Value) -> Option<Uuid> {
    row["fibery/id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
}
