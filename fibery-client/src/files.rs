//! Files: upload (multipart, streamed from disk), upload from a URL, download to any
//! `AsyncWrite`, attach to entities.
//!
//! Multipart requests never carry a JSON `Content-Type` (the client sets no default
//! content type; reqwest writes the multipart boundary). Uploading from a URL sends only the
//! URL to Fibery, which fetches it itself: our `Authorization` header never reaches the
//! remote host.

use std::path::Path;

use bytes::Bytes;
use fibery_core::command::Command;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use uuid::Uuid;

use crate::client::Client;
use crate::documents::check_secret;
use crate::error::{Error, Result};
use crate::retry::Safety;
use crate::transport::HttpResponse;

/// The body of `POST /api/files/from-url`.
#[derive(Serialize)]
struct FromUrl<'a> {
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

/// A stored file, as `POST /api/files` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Entity id (used to attach the file).
    #[serde(rename = "fibery/id")]
    pub id: Uuid,
    /// File name.
    #[serde(rename = "fibery/name", default)]
    pub name: String,
    /// Storage secret (used to download).
    #[serde(rename = "fibery/secret")]
    pub secret: String,
    /// MIME type.
    #[serde(rename = "fibery/content-type", default)]
    pub content_type: Option<String>,
    /// Size in bytes, when reported.
    #[serde(
        rename = "fibery/content-length",
        skip_serializing_if = "Option::is_none"
    )]
    pub content_length: Option<Value>,
}

fn decode_file(resp: &HttpResponse) -> Result<FileInfo> {
    let v: Value = resp.json("file")?;
    // Some servers answer with a one-element array.
    let v = match v {
        Value::Array(mut a) if a.len() == 1 => a.remove(0),
        v => v,
    };
    serde_json::from_value(v).map_err(|e| resp.scrub.error(Error::decode("file", e)))
}

/// `url`, normalized, if it is an http(s) URL; `what` names it in the error.
pub(crate) fn http_url(url: &str, what: &str) -> Result<String> {
    let parsed = url::Url::parse(url)
        .map_err(|e| Error::InvalidInput(format!("invalid {what} URL: {e}")))?;
    if matches!(parsed.scheme(), "http" | "https") {
        Ok(parsed.into())
    } else {
        Err(Error::InvalidInput(format!("{what} URLs must be http(s)")))
    }
}

/// A MIME type from the file extension (a few common ones; octet-stream otherwise).
fn guess_mime(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "md" => "text/markdown",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

fn file_stream(
    file: tokio::fs::File,
) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    futures::stream::unfold(Some(file), |state| async move {
        let mut f = state?;
        let mut buf = vec![0u8; 64 * 1024];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(f)))
            }
            Err(e) => Some((Err(e), None)),
        }
    })
}

impl Client {
    /// Uploads a file from disk, streamed (never read whole into memory). Retried only when
    /// the request surely did not arrive (429, connection refused).
    pub async fn upload_file(&self, path: impl AsRef<Path>) -> Result<FileInfo> {
        let path = path.as_ref().to_owned();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Error::InvalidInput(format!("{} has no file name", path.display())))?;
        let len = tokio::fs::metadata(&path).await?.len();
        // Opened per attempt so that a retry streams from the start.
        self.upload(&name, guess_mime(&name), len, || {
            let file = tokio::fs::File::from_std(std::fs::File::open(&path)?);
            Ok(reqwest::Body::wrap_stream(file_stream(file)))
        })
        .await
    }

    /// Uploads bytes as a file called `name`.
    pub async fn upload_bytes(
        &self,
        name: &str,
        content_type: &str,
        data: impl Into<Bytes>,
    ) -> Result<FileInfo> {
        let data: Bytes = data.into();
        self.upload(name, content_type, data.len() as u64, || {
            Ok(reqwest::Body::from(data.clone()))
        })
        .await
    }

    /// `POST /api/files` with one multipart part `file` whose body `body` makes afresh
    /// for each attempt.
    async fn upload<B>(&self, name: &str, mime: &str, len: u64, body: B) -> Result<FileInfo>
    where
        B: Fn() -> Result<reqwest::Body>,
    {
        let transport = self.transport();
        let resp = transport
            .send("/api/files", Safety::Unsafe, |http, url| {
                let part = reqwest::multipart::Part::stream_with_length(body()?, len)
                    .file_name(name.to_owned())
                    .mime_str(mime)
                    .map_err(|e| Error::InvalidInput(format!("invalid content type: {e}")))?;
                Ok(http
                    .post(url)
                    .timeout(transport.transfer_timeout)
                    .multipart(reqwest::multipart::Form::new().part("file", part)))
            })
            .await?;
        decode_file(&resp)
    }

    /// Asks Fibery to fetch `url` and store it as a file (`POST /api/files/from-url`). Only
    /// the URL (and optional name) is sent; no credentials of ours go to that host.
    pub async fn upload_from_url(&self, url: &str, name: Option<&str>) -> Result<FileInfo> {
        let body = FromUrl {
            url: http_url(url, "file")?,
            name,
        };
        let path = "/api/files/from-url";
        decode_file(
            &self
                .transport()
                .post_json(path, Safety::Unsafe, &body)
                .await?,
        )
    }

    /// Downloads a file by secret into `writer`, streaming. Returns the byte count.
    pub async fn download_file<W: AsyncWrite + Unpin>(
        &self,
        secret: &str,
        writer: &mut W,
    ) -> Result<u64> {
        check_secret(secret)?;
        let path = format!("/api/files/{secret}");
        let transport = self.transport();
        let resp = transport
            .send_streaming(&path, |http, url| {
                Ok(http.get(url).timeout(transport.transfer_timeout))
            })
            .await?;
        let mut n = 0u64;
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.scrub(Error::from_reqwest(e)))?;
            writer.write_all(&chunk).await?;
            n += chunk.len() as u64;
        }
        writer.flush().await?;
        Ok(n)
    }

    /// Links files to an entity's file field (e.g. `Files/Files`).
    pub async fn attach_files(
        &self,
        type_name: &str,
        entity: Uuid,
        field: &str,
        files: &[Uuid],
    ) -> Result<()> {
        let cmd = Command::add_collection_items(type_name, field, entity, files);
        self.submit(cmd).await.map(|_| ())
    }
}
