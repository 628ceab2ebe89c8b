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

#[tokio::test(flavor = "current_thread")]
async fn oauth_tokens_never_in_tracing_output() {
    use fibery_client::oauth::OAuthApp;
    use secrecy::ExposeSecret;

    let buf = Buf::default();
    let b2 = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || b2.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

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
    let client = fibery_client::Client::builder()
        .base_url(emu.base_url())
        .oauth(app.clone(), tokens.clone())
        .requests_per_second(0)
        .build()
        .unwrap();
    emu.expire_oauth_tokens(); // a 401, a refresh, a retry: all logged at TRACE
    client.command(query_cmd()).await.ok();
    let now = client.oauth_tokens().unwrap();
    tracing::info!(client = ?client, tokens = ?now, app = ?app, "after refresh");
    let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
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
