//! `GET /api/schema`: the schema with an `ETag`, answering `If-None-Match` with 304.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::response::{Answer, server_error};
use crate::server::state::Shared;
use crate::store::schema::public_schema;

#[derive(Deserialize)]
pub(crate) struct SchemaParams {
    #[serde(rename = "with-description", default)]
    with_description: bool,
    #[serde(rename = "with-soft-deleted", default)]
    with_soft_deleted: bool,
}

/// The schema, or 304 when the client's `If-None-Match` (strong or weak) matches.
pub(crate) async fn get(
    State(sh): State<Arc<Shared>>,
    Query(p): Query<SchemaParams>,
    headers: HeaderMap,
) -> Answer {
    let body = {
        let store = sh.read().map_err(server_error)?;
        public_schema(&store.schema, p.with_description, p.with_soft_deleted)
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    let etag = format!("\"{:016x}\"", h.finish());
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Weak comparison, as for GET (RFC 9110 §13.1.2): `W/"x"` matches `"x"`.
    let matches = inm.split(',').any(|t| {
        let t = t.trim();
        t.strip_prefix("W/").unwrap_or(t) == etag || t == "*"
    });
    let mut r = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            bytes,
        )
            .into_response()
    };
    if let Ok(v) = HeaderValue::from_str(&etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    Ok(r)
}
