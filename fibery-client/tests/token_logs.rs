//! The token never reaches tracing output, even at TRACE level with retries and errors.
//! Its own test binary: tracing's per-callsite interest cache is process-wide, so a test
//! installing a thread-local subscriber must not race other tests hitting the same callsites.

use std::io::Write;
use std::sync::{Arc, Mutex};

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

mod common;

use common::{WIRE_TOKEN as TOKEN, query_cmd, wire_client as client};

/// A `Write` that appends to a shared buffer (captures tracing output).
#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);
impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn token_never_in_tracing_output() {
    let buf = Buf::default();
    let b2 = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || b2.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string("boom"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_string("Unauthorized"))
        .mount(&server)
        .await;
    let c = client(&server).build().unwrap();
    tracing::info!(client = ?c, "built");
    let e = c.command(query_cmd()).await.unwrap_err();
    tracing::error!(error = %e, debug = ?e, "failed");
    let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        out.contains("retrying Fibery request"),
        "retries must be logged: {out}"
    );
    assert!(out.contains("[REDACTED]"));
    assert!(!out.contains(TOKEN), "token leaked into logs");
    assert!(!out.contains("sekrit"), "token leaked into logs");
}
