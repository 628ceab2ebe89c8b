//! `/api/files`: upload (multipart or from a loopback URL) and download by secret.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::response::{self, Answer, bad_request, server_error};
use crate::server::state::Shared;
use crate::store::FileBlob;
use crate::store::schema::has_field;

/// Stores the bytes as a `fibery/file` entity; answers its fields.
fn store_file(sh: &Shared, name: String, content_type: String, bytes: &[u8]) -> Answer {
    let mut s = sh.store().map_err(server_error)?;
    let secret = uuid::Uuid::new_v4().to_string();
    let id = uuid::Uuid::new_v4().to_string();
    let mut e = Map::new();
    e.insert("fibery/id".into(), json!(id));
    e.insert("fibery/name".into(), json!(name));
    e.insert("fibery/content-type".into(), json!(content_type));
    e.insert("fibery/secret".into(), json!(secret));
    e.insert("fibery/content-length".into(), json!(bytes.len()));
    if has_field(&s.schema, "fibery/file", "fibery/rank") {
        e.insert("fibery/rank".into(), json!(0));
    }
    let answer = Value::Object(e.clone());
    s.insert_raw("fibery/file", e);
    s.mark_file(&secret);
    s.files
        .insert(secret, FileBlob::new(id, name, content_type, bytes));
    sh.persistence.record(&mut s);
    Ok(response::json(answer))
}

/// `POST /api/files`: the multipart part named `file`.
pub(crate) async fn upload(State(sh): State<Arc<Shared>>, mut mp: Multipart) -> Response {
    // Multipart failures keep axum's own status and text.
    let failed = |e: MultipartError| (e.status(), e.body_text()).into_response();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => {
                return bad_request("multipart body needs a part named \"file\"").into_response();
            }
            Err(e) => return failed(e),
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("file").to_string();
        let ct = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_string();
        return match field.bytes().await {
            Ok(bytes) => store_file(&sh, name, ct, &bytes).into_response(),
            Err(e) => failed(e),
        };
    }
}

/// `POST /api/files/from-url` `{url, name?, method?, headers?}`: fetches what the outbound
/// rule allows, every redirect hop included.
pub(crate) async fn from_url(State(sh): State<Arc<Shared>>, body: Bytes) -> Answer {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| bad_request(&format!("Body must be JSON {{\"url\": ...}}: {e}")))?;
    let url = v
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request("\"url\" is required"))?;
    if !sh.outbound.allows_str(url) {
        return Err(bad_request(&format!(
            "The emulator only fetches allowed loopback URLs (http://127.0.0.1, http://localhost); refusing \"{url}\"."
        )));
    }
    let method = v.get("method").and_then(Value::as_str).unwrap_or("GET");
    let m = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| bad_request("invalid \"method\""))?;
    let mut req = sh.http.request(m, url);
    for (k, val) in v
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(s) = val.as_str() {
            req = req.header(k.as_str(), s);
        }
    }
    let resp = req
        .send()
        .await
        .map_err(|e| bad_request(&format!("Fetching \"{url}\" failed: {e}")))?;
    if !resp.status().is_success() {
        return Err(bad_request(&format!(
            "Fetching \"{url}\" answered HTTP {}.",
            resp.status().as_u16()
        )));
    }
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let name = match v.get("name").and_then(Value::as_str) {
        Some(n) => n.to_string(),
        None => url
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or("file")
            .to_string(),
    };
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| bad_request(&format!("Reading \"{url}\" failed: {e}")))?;
    store_file(&sh, name, ct, &bytes)
}

/// `GET /api/files/{secret}`: the bytes with the stored content type.
pub(crate) async fn download(State(sh): State<Arc<Shared>>, Path(secret): Path<String>) -> Answer {
    let f = sh.read().map_err(server_error)?.files.get(&secret).cloned();
    let f = f.ok_or_else(|| response::not_found(&format!("File \"{secret}\" was not found.")))?;
    let ct = HeaderValue::from_str(&f.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, ct)], f.bytes()).into_response())
}
