//! Rich text: read and write documents in md, html, json and plain text, one at a time or
//! batched through `/api/documents/commands`.

use std::collections::HashMap;

use fibery_core::entity::DocFormat;
use fibery_core::query::{Filter, Query};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::retry::Safety;
use crate::transport::HttpResponse;

/// The secret field of a document, as selected through a rich-text field.
const SECRET: &str = "Collaboration~Documents/secret";

/// A body of `POST /api/documents/commands`: `{"command": "<name>", "args": [...]}`.
#[derive(Serialize)]
#[serde(tag = "command", content = "args")]
enum DocumentsCommand<'a> {
    /// Reads documents by secret.
    #[serde(rename = "get-documents")]
    Get(Vec<SecretRef<'a>>),
    /// Writes documents (unknown secrets are created).
    #[serde(rename = "create-or-update-documents")]
    Set(Vec<DocumentWrite<'a>>),
}

#[derive(Serialize)]
struct SecretRef<'a> {
    secret: &'a str,
}

#[derive(Serialize)]
struct DocumentWrite<'a> {
    secret: &'a str,
    content: Value,
}

/// The body of `PUT /api/documents/{secret}`.
#[derive(Serialize)]
struct DocumentContent {
    content: Value,
}

pub(crate) fn check_secret(secret: &str) -> Result<()> {
    if !secret.is_empty()
        && secret.len() <= 128
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "invalid document or file secret {secret:?}"
        )))
    }
}

/// Content as text: strings stay strings; JSON documents become their JSON text.
pub(crate) fn content_text(v: Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

fn content_value(format: DocFormat, content: &str) -> Result<Value> {
    match format {
        DocFormat::Json => serde_json::from_str(content).map_err(|e| {
            Error::InvalidInput(format!("json document content is not valid JSON: {e}"))
        }),
        DocFormat::PlainText => Err(Error::InvalidInput(
            "plain-text is a read-only document format".into(),
        )),
        _ => Ok(Value::String(content.to_owned())),
    }
}

impl Client {
    /// Reads one document by secret (`GET /api/documents/{secret}?format=..`). JSON
    /// documents come back as their JSON text.
    pub async fn document(&self, secret: &str, format: DocFormat) -> Result<String> {
        check_secret(secret)?;
        let path = format!("/api/documents/{secret}");
        let resp = self
            .transport()
            .send(&path, Safety::Idempotent, |http, url| {
                Ok(http.get(url).query(&[("format", format.as_str())]))
            })
            .await?;
        let v: Value = resp.json("document")?;
        Ok(content_text(v.get("content").cloned().unwrap_or(Value::Null)).unwrap_or_default())
    }

    /// Writes one document (`PUT /api/documents/{secret}?format=..`). For
    /// [`DocFormat::Json`] `content` must be the JSON text of a document.
    pub async fn set_document(&self, secret: &str, format: DocFormat, content: &str) -> Result<()> {
        check_secret(secret)?;
        let body = DocumentContent {
            content: content_value(format, content)?,
        };
        let path = format!("/api/documents/{secret}");
        self.transport()
            .send(&path, Safety::Idempotent, |http, url| {
                Ok(http
                    .put(url)
                    .query(&[("format", format.as_str())])
                    .json(&body))
            })
            .await?;
        Ok(())
    }

    /// Reads many documents in chunks of
    /// [`document_chunk`](crate::ClientBuilder::document_chunk) (`get-documents`).
    /// Returns secret -> content.
    pub async fn documents(
        &self,
        secrets: &[String],
        format: DocFormat,
    ) -> Result<HashMap<String, String>> {
        let mut out = HashMap::with_capacity(secrets.len());
        for chunk in secrets.chunks(self.limits().document_chunk) {
            let mut args = Vec::with_capacity(chunk.len());
            for secret in chunk {
                check_secret(secret)?;
                args.push(SecretRef { secret });
            }
            let body = DocumentsCommand::Get(args);
            let resp = self.documents_command(format, &body).await?;
            let v: Value = resp.json("documents")?;
            for d in v.as_array().into_iter().flatten() {
                if let Some(secret) = d.get("secret").and_then(Value::as_str) {
                    let content = content_text(d.get("content").cloned().unwrap_or(Value::Null))
                        .unwrap_or_default();
                    out.insert(secret.to_owned(), content);
                }
            }
        }
        Ok(out)
    }

    /// Writes many documents in chunks (`create-or-update-documents`); unknown secrets are
    /// created.
    pub async fn set_documents(&self, docs: &[(String, String)], format: DocFormat) -> Result<()> {
        for chunk in docs.chunks(self.limits().document_chunk) {
            let mut args = Vec::with_capacity(chunk.len());
            for (secret, content) in chunk {
                check_secret(secret)?;
                let content = content_value(format, content)?;
                args.push(DocumentWrite { secret, content });
            }
            self.documents_command(format, &DocumentsCommand::Set(args))
                .await?;
        }
        Ok(())
    }

    async fn documents_command(
        &self,
        format: DocFormat,
        body: &DocumentsCommand<'_>,
    ) -> Result<HttpResponse> {
        self.transport()
            .send(
                "/api/documents/commands",
                Safety::Idempotent,
                |http, url| {
                    Ok(http
                        .post(url)
                        .query(&[("format", format.as_str())])
                        .json(body))
                },
            )
            .await
    }

    /// The document secrets of a rich-text `field` for many entities: entity id -> secret.
    pub(crate) async fn document_secrets(
        &self,
        type_name: &str,
        field: &str,
        ids: &[Uuid],
    ) -> Result<HashMap<Uuid, String>> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(1000) {
            let q = Query::from(type_name)
                .select(["fibery/id"])
                .select_relation(field, [SECRET])
                .filter(Filter::in_list(
                    "fibery/id",
                    chunk.iter().map(Uuid::to_string),
                ))
                .limit(chunk.len() as u64);
            for row in self.query_rows(q).await? {
                let id = row["fibery/id"]
                    .as_str()
                    .and_then(|s| Uuid::parse_str(s).ok());
                let secret = row[field][SECRET].as_str();
                if let (Some(id), Some(secret)) = (id, secret) {
                    out.insert(id, secret.to_owned());
                }
            }
        }
        Ok(out)
    }

    async fn document_secret(&self, type_name: &str, field: &str, id: Uuid) -> Result<String> {
        self.document_secrets(type_name, field, &[id])
            .await?
            .remove(&id)
            .ok_or_else(|| Error::NotFound(format!("{type_name} {id} ({field})")))
    }

    /// Reads the rich-text `field` of one entity.
    pub async fn rich_text(
        &self,
        type_name: &str,
        field: &str,
        id: Uuid,
        format: DocFormat,
    ) -> Result<String> {
        let secret = self.document_secret(type_name, field, id).await?;
        self.document(&secret, format).await
    }

    /// Writes the rich-text `field` of one entity.
    pub async fn set_rich_text(
        &self,
        type_name: &str,
        field: &str,
        id: Uuid,
        format: DocFormat,
        content: &str,
    ) -> Result<()> {
        let secret = self.document_secret(type_name, field, id).await?;
        self.set_document(&secret, format, content).await
    }
}
