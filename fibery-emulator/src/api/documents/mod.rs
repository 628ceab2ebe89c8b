//! `/api/documents`: rich-text documents by secret, read and written in md, html, json or
//! plain text, one at a time or through document commands.

mod rich_text;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::response::{self, Answer, HttpError, bad_request, server_error};
use crate::server::state::Shared;

#[derive(Deserialize, Default)]
pub(crate) struct FormatParam {
    format: Option<String>,
}

impl FormatParam {
    /// The requested format (default `md`), or 400 for an unknown one.
    fn get(&self) -> Result<&str, HttpError> {
        let f = self.format.as_deref().unwrap_or("md");
        if matches!(f, "md" | "html" | "json" | "plain-text") {
            Ok(f)
        } else {
            Err(bad_request(&format!(
                "Unknown format \"{f}\"; expected md, html, json or plain-text."
            )))
        }
    }
}

fn missing(secret: &str) -> HttpError {
    response::not_found(&format!("Document \"{secret}\" was not found."))
}

/// `{"secret", "content"}` of a stored document in a format.
fn document(secret: &str, md: &str, fmt: &str) -> Value {
    json!({"secret": secret, "content": rich_text::render(md, fmt)})
}

/// `GET /api/documents/{secret}?format=`.
pub(crate) async fn get(
    State(sh): State<Arc<Shared>>,
    Path(secret): Path<String>,
    Query(q): Query<FormatParam>,
) -> Answer {
    let fmt = q.get()?;
    let store = sh.read().map_err(server_error)?;
    match store.documents.get(&secret) {
        Some(md) => Ok(response::json(document(&secret, md, fmt))),
        None => Err(missing(&secret)),
    }
}

/// Stores (or, with `append`, appends a paragraph to) documents; all or nothing.
fn write(sh: &Shared, items: &[(String, Value)], fmt: &str, append: bool) -> Answer {
    let mut converted = vec![];
    for (secret, content) in items {
        let md = rich_text::ingest(content, fmt).map_err(|e| bad_request(&e))?;
        converted.push((secret.clone(), md));
    }
    let mut s = sh.store().map_err(server_error)?;
    for (secret, md) in converted {
        s.mark_doc(&secret);
        let entry = s.documents.entry(secret).or_default();
        if append && !entry.is_empty() {
            entry.push_str("\n\n");
            entry.push_str(&md);
        } else {
            *entry = md;
        }
    }
    sh.persistence.record(&mut s);
    Ok(response::json(true))
}

/// `PUT /api/documents/{secret}?format=` with `{"content": ...}`.
pub(crate) async fn put(
    State(sh): State<Arc<Shared>>,
    Path(secret): Path<String>,
    Query(q): Query<FormatParam>,
    body: Bytes,
) -> Answer {
    let fmt = q.get()?;
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| bad_request(&format!("Body must be JSON {{\"content\": ...}}: {e}")))?;
    let content = v
        .get("content")
        .cloned()
        .ok_or_else(|| bad_request("Body must be {\"content\": ...}"))?;
    write(&sh, &[(secret, content)], fmt, false)
}

/// `POST /api/documents/commands?format=`: `get-documents`, `create-or-update-documents`,
/// `create-or-append-documents`.
pub(crate) async fn commands(
    State(sh): State<Arc<Shared>>,
    Query(q): Query<FormatParam>,
    body: Bytes,
) -> Answer {
    let fmt = q.get()?;
    let v: Value =
        serde_json::from_slice(&body).map_err(|e| server_error(crate::error::invalid_json(e)))?;
    let Some(args) = v.get("args").and_then(Value::as_array) else {
        return Err(bad_request("\"args\" must be an array"));
    };
    match v.get("command").and_then(Value::as_str).unwrap_or("") {
        "get-documents" => get_documents(&sh, args, fmt),
        cmd @ ("create-or-update-documents" | "create-or-append-documents") => {
            let mut items = vec![];
            for a in args {
                let (Some(secret), Some(content)) =
                    (a.get("secret").and_then(Value::as_str), a.get("content"))
                else {
                    return Err(bad_request(
                        "args items must be {\"secret\": ..., \"content\": ...}",
                    ));
                };
                items.push((secret.to_string(), content.clone()));
            }
            write(&sh, &items, fmt, cmd == "create-or-append-documents")
        }
        other => Err(bad_request(&format!(
            "Unknown documents command \"{other}\"; expected get-documents, create-or-update-documents or create-or-append-documents."
        ))),
    }
}

/// `get-documents`: `[{"secret"}]` (bare strings tolerated) -> `[{"secret", "content"}]`.
fn get_documents(sh: &Shared, args: &[Value], fmt: &str) -> Answer {
    let s = sh.read().map_err(server_error)?;
    let mut out = vec![];
    for a in args {
        let Some(secret) = a
            .get("secret")
            .and_then(Value::as_str)
            .or_else(|| a.as_str())
        else {
            return Err(bad_request(
                "get-documents args must be [{\"secret\": ...}]",
            ));
        };
        let md = s.documents.get(secret).ok_or_else(|| missing(secret))?;
        out.push(document(secret, md, fmt));
    }
    Ok(response::json(out))
}
