//! Closed doors: outbound calls obey the target rule at every redirect hop, and the admin
//! endpoints need a credential and JSON bodies.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use fibery_emulator::Emulator;

use crate::common::{Api, TOKEN, pm_builder};

/// Serves `path` (GET and POST) with what `reply` returns; counts hits.
async fn serve<R: IntoResponse + 'static>(
    host: &str,
    path: &str,
    reply: impl Fn() -> R + Clone + Send + Sync + 'static,
) -> (SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind((host, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let h = hits.clone();
    let answer = move || {
        let (h, reply) = (h.clone(), reply.clone());
        async move {
            h.fetch_add(1, Ordering::SeqCst);
            reply()
        }
    };
    let app = axum::Router::new().route(path, axum::routing::get(answer.clone()).post(answer));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, hits)
}

/// Serves `/r` answering a 307 to `to`.
async fn redirector(host: &str, to: String) -> (SocketAddr, Arc<AtomicUsize>) {
    let reply = move || {
        (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, to.clone())],
        )
    };
    serve(host, "/r", reply).await
}

/// Serves `/f` with three bytes.
async fn target(host: &str) -> (SocketAddr, Arc<AtomicUsize>) {
    serve(host, "/f", || {
        ([(header::CONTENT_TYPE, "image/png")], vec![1u8, 2, 3])
    })
    .await
}

async fn from_url(api: &Api, url: String) -> (u16, String) {
    let r = api
        .post_json("/api/files/from-url", &json!({"url": url}))
        .await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A redirector to a target that lives on another loopback address, and an emulator whose
/// outbound rule allows only the redirector.
struct Hops {
    far: SocketAddr,
    far_hits: Arc<AtomicUsize>,
    near: SocketAddr,
    near_hits: Arc<AtomicUsize>,
    strict: Emulator,
}

async fn hops() -> Hops {
    let (far, far_hits) = target("127.0.0.2").await;
    let (near, near_hits) = redirector("127.0.0.1", format!("http://{far}/f")).await;
    let strict = pm_builder().allow_outbound([near.to_string()]).start();
    let strict = strict.await.unwrap();
    Hops {
        far,
        far_hits,
        near,
        near_hits,
        strict,
    }
}

#[tokio::test]
async fn from_url_checks_every_redirect_hop() {
    let Hops {
        far,
        far_hits,
        near,
        near_hits,
        strict,
    } = hops().await;
    let (st, body) = from_url(&Api::new(&strict), format!("http://{near}/r")).await;
    assert_eq!(st, 400, "{body}");
    assert_eq!(near_hits.load(Ordering::SeqCst), 1, "first hop allowed");
    assert_eq!(far_hits.load(Ordering::SeqCst), 0, "redirect hop refused");
    assert_eq!(strict.entities("fibery/file").len(), 0);
    // The far target itself is refused up front.
    let (st, _) = from_url(&Api::new(&strict), format!("http://{far}/f")).await;
    assert_eq!(st, 400);
    assert_eq!(far_hits.load(Ordering::SeqCst), 0);
    // Under the default rule (any loopback target) the same redirect is followed.
    let open = pm_builder().start().await.unwrap();
    let (st, body) = from_url(&Api::new(&open), format!("http://{near}/r")).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(far_hits.load(Ordering::SeqCst), 1);
    assert_eq!(open.entities("fibery/file").len(), 1);
}

#[tokio::test]
async fn webhook_delivery_checks_every_redirect_hop() {
    let hops = hops().await;
    let (near, near_hits, far_hits) = (hops.near, hops.near_hits, hops.far_hits);
    let api = Api::new(&hops.strict);
    let hook = json!({"url": format!("http://{near}/r"), "type": "Projects/Task"});
    let r = api.post_json("/api/webhooks/v2", &hook).await;
    assert_eq!(r.status(), 200);
    api.task("hooked", json!({})).await;
    // Wait (bounded) for the delivery run to be recorded.
    let mut runs = Value::Null;
    for _ in 0..100 {
        let list: Value = api.get_json("/api/webhooks/v2").await;
        runs = list[0]["runs"].clone();
        if runs.as_array().is_some_and(|r| !r.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(runs[0]["http_status"], "error", "{runs}");
    assert_eq!(near_hits.load(Ordering::SeqCst), 1);
    assert_eq!(far_hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn admin_needs_a_credential() {
    let emu = pm_builder().start().await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/_emulator/stats", emu.base_url());
    let status = |auth: Option<String>| {
        let mut req = http.get(&url);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(status(None).await, 401);
    assert_eq!(status(Some("Token wrong".into())).await, 401);
    assert_eq!(status(Some(format!("Token {TOKEN}"))).await, 200);
    assert_eq!(
        status(Some(format!("Bearer {}", emu.admin_token()))).await,
        200
    );
    assert_ne!(emu.admin_token(), TOKEN);
    assert!(!format!("{emu:?}").contains(emu.admin_token()));
    let r = http
        .put(format!("{}/_emulator/faults", emu.base_url()))
        .json(&json!({"drop": 1.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(emu.request_log().len(), 0);
    assert_eq!(emu.stats().faults_injected, 0);
}

#[tokio::test]
async fn admin_bodies_must_be_declared_json() {
    let emu = pm_builder().start().await.unwrap();
    let http = reqwest::Client::new();
    let faults = format!("{}/_emulator/faults", emu.base_url());
    // What a cross-origin form or `fetch` without preflight can send.
    for ct in ["text/plain", "application/x-www-form-urlencoded"] {
        let r = http
            .post(&faults)
            .header("Authorization", format!("Token {TOKEN}"))
            .header("Content-Type", ct)
            .body(r#"{"drop": 1.0}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415, "{ct}");
    }
    let now = Api::new(&emu).admin_json("/_emulator/faults").await;
    assert_eq!(now["drop"], 0.0, "faults unchanged");
    let r = http
        .put(&faults)
        .header("Authorization", format!("Token {}", emu.admin_token()))
        .json(&json!({"latency_ms": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["latency_ms"], 5);
}
