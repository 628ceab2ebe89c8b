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

/// Captures this thread's tracing output at TRACE level until the guard drops.
fn capture() -> (Buf, tracing::subscriber::DefaultGuard) {
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    (buf, tracing::subscriber::set_default(subscriber))
}

impl Buf {
    /// Everything captured so far.
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn token_never_in_tracing_output() {
    let (buf, _guard) = capture();

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
    let out = buf.text();
    assert!(
        out.contains("retrying Fibery request"),
        "retries must be logged: {out}"
    );
    assert!(out.contains("[REDACTED]"));
    assert!(!out.contains(TOKEN), "token leaked into logs");
    assert!(!out.contains("sekrit"), "token leaked into logs");
}

#[tokio::test(flavor = "current_thread")]
async fn oauth_tokens_never_in_tracing_output() {
    use fibery_client::oauth::OAuthApp;
    use secrecy::ExposeSecret;

    let (buf, _guard) = capture();

    let emu = common::emulator("project-management", TOKEN, None).await;
    let (id, secret, redirect) = ("log-app", "log-client-secret-0123", "http://127.0.0.1:9/cb");
    emu.register_oauth_app(id, secret, redirect);
    let app = OAuthApp::new(id, secret, redirect).auth_base(emu.base_url());
    let auth = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(app.authorization_url("s", &["offline"]))
        .send()
        .await
        .unwrap();
    let location = url::Url::parse(auth.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens = app.exchange_code(&code).await.unwrap();
    let client = common::oauth_client(&emu.base_url(), &app, tokens.clone());
    emu.expire_oauth_tokens(); // a 401, a refresh, a retry: all logged at TRACE
    client.command(query_cmd()).await.ok();
    let now = client.oauth_tokens().unwrap();
    tracing::info!(client = ?client, tokens = ?now, app = ?app, "after refresh");
    let out = buf.text();
    assert!(
        out.contains("refreshing"),
        "the refresh must be logged: {out}"
    );
    for s in [
        tokens.access_token.expose_secret(),
        tokens.refresh_token.as_ref().unwrap().expose_secret(),
        now.access_token.expose_secret(),
        now.refresh_token.as_ref().unwrap().expose_secret(),
        secret,
        code.as_str(),
    ] {
        assert!(!out.contains(s), "an OAuth secret leaked into logs");
    }
}
