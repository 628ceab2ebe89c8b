//! Wire-level edge cases the emulator must not fake: headers, odd status/body shapes,
//! Retry-After forms, redirects, token hygiene. Each test runs a wiremock server on loopback.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fibery_client::{AuthScheme, Client, Error, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, Request, Respond, ResponseTemplate};

mod common;

use common::{WIRE_TOKEN as TOKEN, query_cmd, wire_client as client};

/// Answers every command of the posted array with `{"success": true, "result": <index>}`.
struct Echo;
impl Respond for Echo {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let n = body.as_array().map(Vec::len).unwrap_or(1);
        let out: Vec<Value> = (0..n)
            .map(|i| json!({"success": true, "result": i}))
            .collect();
        ResponseTemplate::new(200).set_body_json(out)
    }
}

/// Mounts `n` answers `first`, then [`Echo`] for every later request.
async fn first_then_echo(server: &MockServer, first: ResponseTemplate, n: u64) {
    Mock::given(method("POST"))
        .respond_with(first)
        .up_to_n_times(n)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .respond_with(Echo)
        .mount(server)
        .await;
}

/// A mock of the POSTs whose body names `command`.
fn post_of(command: &str) -> MockBuilder {
    Mock::given(method("POST")).and(body_string_contains(command))
}

/// Up to `max` retries, backing off from 5 ms.
fn quick_retries(max: usize) -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(max)
        .with_initial_backoff(Duration::from_millis(5))
}

/// A mock server answering every POST with `answer`.
async fn answering(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    answer_again(&server, answer).await;
    server
}

/// Forgets what `server` was told and what it received; it answers every POST with `answer`.
async fn answer_again(server: &MockServer, answer: ResponseTemplate) {
    server.reset().await;
    let post = Mock::given(method("POST"));
    post.respond_with(answer).mount(server).await;
}

#[tokio::test]
async fn sends_token_scheme_user_agent_and_json() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/commands"))
        .and(header("authorization", format!("Token {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .respond_with(Echo)
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server).user_agent("my-agent/1").build().unwrap();
    assert_eq!(c.command(query_cmd()).await.unwrap(), json!(0));
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs[0].headers.get("user-agent").unwrap(), "my-agent/1");

    let server2 = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(Echo)
        .expect(1)
        .mount(&server2)
        .await;
    let c = client(&server2)
        .auth_scheme(AuthScheme::Bearer)
        .build()
        .unwrap();
    c.command(query_cmd()).await.unwrap();
}

#[tokio::test]
async fn batches_in_ceil_n_over_max_requests_in_order() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/commands"))
        .respond_with(Echo)
        .expect(3)
        .mount(&server)
        .await;
    let c = client(&server)
        .max_commands_per_request(100)
        .build()
        .unwrap();
    let cmds: Vec<Value> = (0..250).map(|_| query_cmd()).collect();
    let results = c.execute(cmds).await.unwrap();
    assert_eq!(results.len(), 250);
    // Each request answers 0..n; order within and across chunks is kept.
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r.as_ref().unwrap(), &json!(i % 100));
    }
    assert_eq!(c.stats().requests, 3);
}

#[tokio::test]
async fn one_failed_command_does_not_hide_the_others() {
    let server = answering(ResponseTemplate::new(200).set_body_json(json!([{"success": true, "result": "a"},{"success": false, "result": {"name": "entity.error/schema-type-not-found", "message": "\"X/Y\" database was not found.", "data": {}}},{"success": true, "result": "c"}]))).await;
    let c = client(&server).build().unwrap();
    let r = c
        .execute(vec![query_cmd(), query_cmd(), query_cmd()])
        .await
        .unwrap();
    assert_eq!(r[0].as_ref().unwrap(), "a");
    assert_eq!(r[2].as_ref().unwrap(), "c");
    common::assert_command_failed(
        &r[1],
        1,
        "fibery.entity/query",
        "entity.error/schema-type-not-found",
    );
}

#[tokio::test]
async fn retry_after_header_is_honoured() {
    let server = MockServer::start().await;
    let first = ResponseTemplate::new(429)
        .insert_header("Retry-After", "1")
        .set_body_string("Too Many Requests");
    first_then_echo(&server, first, 1).await;
    let c = client(&server).build().unwrap();
    let start = Instant::now();
    c.command(query_cmd()).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert_eq!(c.stats().rate_limited, 1);
    assert_eq!(c.stats().retries, 1);
}

#[tokio::test]
async fn missing_retry_after_falls_back_to_backoff() {
    let server = MockServer::start().await;
    let first = ResponseTemplate::new(429).set_body_string("Too Many Requests");
    first_then_echo(&server, first, 2).await;
    let c = client(&server).build().unwrap();
    let start = Instant::now();
    c.command(query_cmd()).await.unwrap();
    // Two backoffs of ~20-80 ms, far below a 1 s default.
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn rate_limit_budget_exhausted_is_typed() {
    let server = answering(ResponseTemplate::new(429).insert_header("Retry-After", "0")).await;
    let c = client(&server).retry(quick_retries(2)).build().unwrap();
    let e = c.command(query_cmd()).await.unwrap_err();
    assert!(
        matches!(e, Error::RateLimited { retry_after: Some(d) } if d.is_zero()),
        "{e:?}"
    );
    assert!(!e.may_have_been_sent());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn server_errors_retried_only_when_idempotent() {
    let server =
        answering(ResponseTemplate::new(503).set_body_string("upstream unavailable")).await;
    let c = client(&server).build().unwrap();
    // A query is safe: 1 + 3 retries.
    let e = c.command(query_cmd()).await.unwrap_err();
    assert!(
        matches!(&e, Error::Server { status: 503, error } if error.message.contains("upstream")),
        "{e:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    // An update is safe too (it sets the same values again): 1 + 3 retries.
    answer_again(&server, ResponseTemplate::new(503)).await;
    let upd = json!({"command": "fibery.entity/update", "args": {"type": "A/B", "entity": {"fibery/id": "x", "A/Name": "n"}}});
    let e = c.command(upd).await.unwrap_err();
    assert!(e.may_have_been_sent());
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    // A delete is not (a repeat would fail as "not found"): exactly one attempt.
    answer_again(&server, ResponseTemplate::new(503)).await;
    let del = json!({"command": "fibery.entity/delete", "args": {"type": "A/B", "entity": {"fibery/id": "x"}}});
    let e = c.command(del).await.unwrap_err();
    assert!(e.may_have_been_sent());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn server_error_payload_outside_envelope() {
    let server = answering(ResponseTemplate::new(500).set_body_json(
        json!({"name": "command/unknown", "message": "no such command", "data": {}}),
    ))
    .await;
    let c = client(&server).retry(RetryPolicy::none()).build().unwrap();
    let e = c
        .command(json!({"command": "fibery.nope/x", "args": {}}))
        .await
        .unwrap_err();
    assert_eq!(e.fibery_error().unwrap().name, "command/unknown");
    assert_eq!(e.status(), Some(500));
}

#[tokio::test]
async fn truncated_and_malformed_bodies_are_decode_errors() {
    let server = answering(
        ResponseTemplate::new(200).set_body_raw(r#"[{"success": true, "res"#, "application/json"),
    )
    .await;
    let c = client(&server).retry(RetryPolicy::none()).build().unwrap();
    let e = c.command(query_cmd()).await.unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");

    answer_again(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(json!([{"success": true, "result": 1}, {"success": true, "result": 2}])),
    )
    .await;
    let e = c.command(query_cmd()).await.unwrap_err();
    assert!(
        e.to_string().contains("sent 1 commands, got 2 results"),
        "{e}"
    );

    answer_again(
        &server,
        ResponseTemplate::new(200).set_body_json(json!([{"result": 1}])),
    )
    .await;
    assert!(matches!(
        c.command(query_cmd()).await.unwrap_err(),
        Error::Decode { .. }
    ));
}

#[tokio::test]
async fn unauthorized_is_typed_and_token_free() {
    let server = answering(ResponseTemplate::new(401).set_body_string("Unauthorized")).await;
    let c = client(&server).build().unwrap();
    let e = c.command(query_cmd()).await.unwrap_err();
    assert!(matches!(e, Error::Auth { status: 401, .. }), "{e:?}");
    assert!(!e.to_string().contains(TOKEN));
    assert!(!format!("{e:?}").contains(TOKEN));
    assert!(!format!("{c:?}").contains(TOKEN));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn redirects_never_forward_the_token_to_another_host() {
    let storage = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/blob/abc"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"hello file".to_vec()))
        .expect(1)
        .mount(&storage)
        .await;
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/files/abc-123"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/blob/abc", storage.uri()).as_str()),
        )
        .mount(&api)
        .await;
    let c = client(&api).build().unwrap();
    let mut out = Vec::new();
    let n = c.download_file("abc-123", &mut out).await.unwrap();
    assert_eq!(n, 10);
    assert_eq!(out, b"hello file");
    let api_req = &api.received_requests().await.unwrap()[0];
    assert!(api_req.headers.get("authorization").is_some());
    let storage_req = &storage.received_requests().await.unwrap()[0];
    assert!(
        storage_req.headers.get("authorization").is_none(),
        "token forwarded to another host"
    );
}

#[tokio::test]
async fn multipart_upload_has_no_json_content_type() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "fibery/id": "b0a6e1a6-1111-4222-8333-444455556666", "fibery/name": "a.txt",
            "fibery/secret": "c0a6e1a6-1111-4222-8333-444455556666", "fibery/content-type": "text/plain"})))
        .mount(&server)
        .await;
    let c = client(&server).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.txt");
    std::fs::File::create(&p)
        .unwrap()
        .write_all(b"streamed content")
        .unwrap();
    let f = c.upload_file(&p).await.unwrap();
    assert_eq!(f.name, "a.txt");
    let f2 = c
        .upload_bytes("b.bin", "application/octet-stream", b"xyz".to_vec())
        .await
        .unwrap();
    assert_eq!(f2.secret, "c0a6e1a6-1111-4222-8333-444455556666");
    for req in server.received_requests().await.unwrap() {
        let ct = req
            .headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(ct.starts_with("multipart/form-data; boundary="), "{ct}");
        let body = String::from_utf8_lossy(&req.body);
        assert!(body.contains("name=\"file\""), "{body}");
    }
    let bodies: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(bodies[0].contains("streamed content"));
    assert!(bodies[1].contains("xyz"));
}

#[tokio::test]
async fn schema_is_cached_and_revalidated_with_etag() {
    let schema = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fibery-core/tests/fixtures/project-management.json"
    ))
    .unwrap();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/schema"))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/schema"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("ETag", "\"v1\"")
                .set_body_raw(schema, "application/json"),
        )
        .mount(&server)
        .await;
    let c = client(&server).build().unwrap();
    let s1 = c.schema().await.unwrap();
    let s2 = c.schema().await.unwrap(); // cached: no request
    assert!(Arc::ptr_eq(&s1, &s2));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let s3 = c.refresh_schema().await.unwrap(); // 304
    assert!(Arc::ptr_eq(&s1, &s3));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert!(s1.type_def("Projects/Task").is_some());
}

#[test]
fn builder_rejects_bad_config_without_leaking() {
    let e = Client::builder()
        .account("evil.com/x")
        .token(TOKEN)
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)));
    let e = Client::builder()
        .base_url("http://example.com")
        .token(TOKEN)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("loopback"));
    assert!(Client::builder().account("acme").build().is_err());
    assert!(
        Client::builder()
            .account("acme")
            .token("bad\ntoken")
            .build()
            .is_err()
    );
    let b = Client::builder().account("acme").token(TOKEN);
    assert!(!format!("{b:?}").contains(TOKEN));
    let c = b.build().unwrap();
    assert_eq!(c.base_url(), "https://acme.fibery.io");
}

#[tokio::test]
async fn retried_create_that_already_landed_is_reconciled() {
    // Attempt 1 gets a 503 (it may have been applied); attempt 2 is told the id exists;
    // the client checks the id and reports the create as done.
    let id = "0b8e2f0a-2a1d-4b0e-9a3a-6f6cc8f3c001";
    let server = MockServer::start().await;
    post_of("fibery.entity/create")
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    post_of("fibery.entity/create")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"success": false, "result": {"name": "entity.error/entity-already-exists", "message": "exists"}},
            {"success": false, "result": {"name": "entity.error/entity-already-exists", "message": "exists"}}])))
        .mount(&server)
        .await;
    post_of("fibery.entity/query")
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"success": true, "result": [{"fibery/id": id}]}])),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server).build().unwrap();
    let other = "1b8e2f0a-2a1d-4b0e-9a3a-6f6cc8f3c002";
    let cmds = [id, other].map(|i| json!({"command": "fibery.entity/create", "args": {"type": "A/B", "entity": {"fibery/id": i, "A/Name": "x"}}}));
    let r = c.execute(cmds).await.unwrap();
    assert_eq!(r[0].as_ref().unwrap()["fibery/id"], id);
    // The other id does not exist: its error stays.
    assert!(
        matches!(&r[1], Err(Error::Command { index: 1, .. })),
        "{:?}",
        r[1]
    );
}

#[tokio::test]
async fn timeouts_are_typed_and_retried_only_when_safe() {
    let server = answering(
        ResponseTemplate::new(200)
            .set_body_json(json!([{"success": true, "result": []}]))
            .set_delay(Duration::from_secs(2)),
    )
    .await;
    let c = client(&server)
        .timeout(Duration::from_millis(150))
        .retry(quick_retries(1))
        .build()
        .unwrap();
    let e = c.command(query_cmd()).await.unwrap_err();
    assert!(matches!(e, Error::Timeout { sent: true }), "{e:?}");
    assert!(e.may_have_been_sent());
    assert_eq!(c.stats().requests, 2, "a query is retried after a timeout");
    let upd = json!({"command": "fibery.entity/update", "args": {"type": "A/B", "entity": {"fibery/id": "x"}}});
    let del = json!({"command": "fibery.entity/delete", "args": {"type": "A/B", "entity": {"fibery/id": "x"}}});
    for (cmd, requests, why) in [
        (upd, 4, "an update is retried after a timeout"),
        (del, 5, "a delete is not retried after a timeout"),
    ] {
        let e = c.command(cmd).await.unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
        assert_eq!(c.stats().requests, requests, "{why}");
    }
}

#[tokio::test]
async fn a_429_pauses_every_clone_sharing_the_pacer() {
    let server = MockServer::start().await;
    let first = ResponseTemplate::new(429).insert_header("Retry-After", "1");
    first_then_echo(&server, first, 1).await;
    let a = client(&server).build().unwrap();
    let b = a.clone();
    a.command(query_cmd()).await.unwrap(); // 429, waits ~1 s, retried
    let start = Instant::now();
    // The clone shares the pacer; the pause is over by now, so this goes straight out.
    b.command(query_cmd()).await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(500));
    // Concurrent: while one clone is paused by a 429, the other waits too.
    server.reset().await;
    let first = ResponseTemplate::new(429).insert_header("Retry-After", "1");
    first_then_echo(&server, first, 1).await;
    let start = Instant::now();
    let t_a = tokio::spawn(async move { a.command(query_cmd()).await.map(|_| a) });
    tokio::time::sleep(Duration::from_millis(100)).await; // a has met the 429 by now
    let done_b = {
        b.command(query_cmd()).await.unwrap();
        Instant::now()
    };
    let a = t_a.await.unwrap().unwrap();
    assert!(
        done_b.duration_since(start) >= Duration::from_millis(900),
        "{:?}",
        done_b.duration_since(start)
    );
    assert_eq!(a.stats().rate_limited, 2);
}

/// A server that answers every request with a head promising 100 bytes, sends 11 and
/// closes the connection. Returns its base URL and the number of connections accepted.
async fn cut_off_server() -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                // Read the whole request (head, then content-length bytes) before answering.
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(n) = sock.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    req.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&req).to_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if req.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n";
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(br#"[{"success""#).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (base, accepted)
}

#[tokio::test]
async fn a_body_cut_off_midway_is_a_transport_error_retried_only_when_safe() {
    let (base, accepted) = cut_off_server().await;
    let policy = RetryPolicy::default()
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_retries(2);
    let c = common::client_for(&base).retry(policy).build().unwrap();
    // A query is safe to repeat: 1 + 2 retries.
    let e = c.command(query_cmd()).await.unwrap_err();
    assert!(matches!(e, Error::Transport { sent: true, .. }), "{e:?}");
    assert!(e.may_have_been_sent());
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    assert_eq!(c.stats().retries, 2);
    // A delete is not: one attempt.
    let del = json!({"command": "fibery.entity/delete", "args": {"type": "A/B", "entity": {"fibery/id": "x"}}});
    let e = c.command(del).await.unwrap_err();
    assert!(matches!(e, Error::Transport { sent: true, .. }), "{e:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 4);
}

#[test]
fn a_stopped_batcher_is_its_own_error_not_a_configuration_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(Echo)
            .mount(&server)
            .await;
        server
    });
    let c = client(&server)
        .batch_window(Duration::from_millis(5))
        .build()
        .unwrap();
    // The batcher task starts on the runtime of the first merged command...
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(first.block_on(c.command(query_cmd())).unwrap(), json!(0));
    // ...and ends with it.
    drop(first);
    let e = rt.block_on(c.command(query_cmd())).unwrap_err();
    assert!(matches!(e, Error::BatcherStopped { sent: false }), "{e:?}");
    assert!(!e.may_have_been_sent());
    // The server is fine: a client that does not merge commands still gets through.
    let direct = client(&server).build().unwrap();
    assert_eq!(rt.block_on(direct.command(query_cmd())).unwrap(), json!(0));
}

#[tokio::test]
async fn odd_envelopes_are_read_by_cores_parser() {
    let server = answering(ResponseTemplate::new(200).set_body_json(json!([{"success": false, "result": 42},{"name": "entity.error/not-found", "message": "gone"},"not an envelope",]))).await;
    let c = client(&server).build().unwrap();
    let r = c
        .execute(vec![query_cmd(), query_cmd(), query_cmd()])
        .await
        .unwrap();
    // A failure without an error payload keeps the payload whole, with no name.
    let e = r[0].as_ref().unwrap_err();
    assert!(matches!(e, Error::Command { index: 0, .. }), "{e:?}");
    let fe = e.fibery_error().unwrap();
    assert_eq!((fe.name.as_str(), &fe.data), ("", &json!(42)));
    // An error payload in place of the envelope is that command's failure.
    let e = r[1].as_ref().unwrap_err();
    assert!(matches!(e, Error::Command { index: 1, .. }), "{e:?}");
    assert!(e.fibery_error().unwrap().is_not_found());
    // Anything else is undecodable.
    assert!(matches!(&r[2], Err(Error::Decode { .. })), "{:?}", r[2]);
}

/// One answer of the classification test: a status with a JSON or a text body.
fn refusal(status: u16, json_body: bool) -> ResponseTemplate {
    let t = ResponseTemplate::new(status);
    if json_body {
        t.set_body_json(json!({"name": "some/error", "message": "refused", "data": {}}))
    } else {
        t.set_body_string("refused")
    }
}

#[tokio::test]
async fn errors_are_classified_by_status_whatever_the_body_on_every_endpoint() {
    let server = MockServer::start().await;
    let c = client(&server).retry(RetryPolicy::none()).build().unwrap();
    type Kind = fn(&Error) -> bool;
    let cases: [(u16, Kind); 5] = [
        (404, |e| matches!(e, Error::NotFound(_))),
        (400, |e| matches!(e, Error::Http { status: 400, .. })),
        (409, |e| matches!(e, Error::Http { status: 409, .. })),
        (405, |e| matches!(e, Error::Http { status: 405, .. })),
        (500, |e| matches!(e, Error::Server { status: 500, .. })),
    ];
    for (status, kind) in cases {
        for json_body in [true, false] {
            server.reset().await;
            Mock::given(wiremock::matchers::any())
                .respond_with(refusal(status, json_body))
                .mount(&server)
                .await;
            let mut sink = Vec::new();
            let errors = [
                ("commands", c.command(query_cmd()).await.unwrap_err()),
                ("webhooks", c.delete_webhook(7).await.unwrap_err()),
                (
                    "documents",
                    c.document("abc", fibery_client::DocFormat::Md)
                        .await
                        .unwrap_err(),
                ),
                (
                    "files",
                    c.download_file("abc", &mut sink).await.unwrap_err(),
                ),
            ];
            for (endpoint, e) in errors {
                assert!(kind(&e), "{status} json={json_body} {endpoint}: {e:?}");
                assert_eq!(e.may_have_been_sent(), status >= 500, "{endpoint}: {e:?}");
            }
        }
    }
    // A 5xx JSON payload keeps Fibery's name; a text one gets `http/<status>`.
    answer_again(&server, refusal(503, false)).await;
    let e = c.command(query_cmd()).await.unwrap_err();
    assert_eq!(e.fibery_error().unwrap().name, "http/503");
}
