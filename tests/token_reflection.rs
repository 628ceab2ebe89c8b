//! Token reflection: a server or proxy that echoes the `Authorization` value back — in a
//! 401, 400 or 500 body, a command's error message, a redirect URL or an answer of the wrong
//! shape; raw, with its `Token `/`Bearer ` prefix, percent-, form- or JSON-encoded — never
//! gets the token into a fibery-client error (Display, Debug, the whole `source()` chain),
//! a TRACE-level log record (the WARN `retrying Fibery request` included), the CLI's stderr
//! or its rejects file on disk. The rest of the server's message survives the scrubbing,
//! and the rows a query returns are handed over untouched.
//!
//! The reflecting server is a wiremock mock. This binary installs one global TRACE
//! subscriber that captures every record of every test in it into memory.

use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fibery_client::{AuthScheme, Client, Error, RetryPolicy};
use fibery_tests::capture::{captured, install};
use fibery_tests::{TASK, all_output, fibery_bin, shows_panic};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The secret under test: `/`, `+` and `=` change under every encoding.
const SECRET: &str = "SeCrEt/9f8e+7d6c=5b4a.reflected";
/// Pieces of [`SECRET`] that no encoding changes: any leak, whole or cut, shows one.
const PIECES: [&str; 4] = ["SeCrEt", "9f8e", "7d6c", "5b4a"];

/// Percent-encodes everything but unreserved characters; `lower`: lower-case hex digits.
fn percent(s: &str, lower: bool) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ if lower => format!("%{b:02x}"),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// How the reflecting server writes the `Authorization` value it received.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Echo {
    /// The token alone.
    Raw,
    /// The whole value: `Token <t>` or `Bearer <t>`.
    Header,
    /// The whole value, percent-encoded (`%20`, `%2F`, ...).
    Percent,
    /// The whole value, percent-encoded with lower-case hex digits.
    PercentLower,
    /// The whole value, form-encoded (`+` for the space).
    Form,
    /// The whole value with `/` JSON-escaped as `\/` (as PHP writes JSON): in a text body
    /// the escape is in the text; in a JSON body the whole body is written that way.
    JsonEscaped,
}

impl Echo {
    const ALL: [Echo; 6] = [
        Echo::Raw,
        Echo::Header,
        Echo::Percent,
        Echo::PercentLower,
        Echo::Form,
        Echo::JsonEscaped,
    ];

    fn apply(self, auth: &str) -> String {
        match self {
            Echo::Raw => auth.split_once(' ').map_or(auth, |(_, t)| t).to_owned(),
            Echo::Header => auth.to_owned(),
            Echo::Percent => percent(auth, false),
            Echo::PercentLower => percent(auth, true),
            Echo::Form => percent(auth, false).replace("%20", "+"),
            Echo::JsonEscaped => auth.replace('/', "\\/"),
        }
    }
}

/// Every form of the secret that must never show, then its unencodable pieces.
fn forbidden() -> Vec<String> {
    let mut v: Vec<String> = [
        Echo::Raw,
        Echo::Percent,
        Echo::PercentLower,
        Echo::Form,
        Echo::JsonEscaped,
    ]
    .iter()
    .map(|e| e.apply(SECRET))
    .collect();
    v.extend(PIECES.iter().map(|p| p.to_string()));
    v
}

fn assert_clean(what: &str, text: &str) {
    for f in forbidden() {
        let lines: Vec<&str> = text.lines().filter(|l| l.contains(&f)).collect();
        assert!(lines.is_empty(), "{what} shows the token ({f}): {lines:#?}");
    }
}

/// Display, Debug, alternate Debug and every level of the `source()` chain are clean.
fn assert_error_clean(what: &str, e: &Error) {
    assert_clean(&format!("{what}: Display"), &e.to_string());
    assert_clean(&format!("{what}: Debug"), &format!("{e:?}"));
    assert_clean(&format!("{what}: alternate Debug"), &format!("{e:#?}"));
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        assert_clean(&format!("{what}: source"), &format!("{s} / {s:?}"));
        src = s.source();
    }
}

/// What the reflecting server answers to every request.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Reply {
    /// 401, plain text.
    Auth401,
    /// 400 with a Fibery error payload (the value in `message` and nested in `data`).
    Json400,
    /// 400, plain text (an HTML error page of a proxy).
    Text400,
    /// 500, plain text: retried for reads.
    Text500,
    /// 200 with `success: false` envelopes (message and data).
    Envelope,
    /// 200 with a string where rows are expected.
    NotRows,
    /// 200 with a string where a webhook's integer id is expected.
    BadWebhookId,
    /// 302 to `/loop?auth=<value>`, forever.
    RedirectLoop,
    /// 200 with rows holding the secret as data (which must come back as is).
    Rows,
}

impl Reply {
    /// The text of the server's message that must survive the scrubbing.
    fn kept(self) -> &'static str {
        match self {
            Reply::Auth401 => "for user alice",
            Reply::Json400 => "bad header",
            Reply::Text400 => "(proxy debug page)",
            Reply::Text500 => "upstream exploded; request had",
            Reply::Envelope => "is not allowed here",
            Reply::NotRows => "debug echo",
            Reply::BadWebhookId => "expected i64",
            Reply::RedirectLoop => "/loop?auth=",
            Reply::Rows => "",
        }
    }
}

/// The value of the data rows of [`Reply::Rows`]: the secret, plain and encoded.
fn row_value(auth: &str) -> Value {
    json!({"plain": SECRET, "header": auth, "encoded": percent(auth, false)})
}

fn respond(state: &Mutex<(Reply, Echo)>, req: &Request) -> ResponseTemplate {
    let (reply, echo) = *state.lock().unwrap();
    let auth = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let v = echo.apply(&auth);
    // In JSON bodies the escape belongs to the wire format, not to the string's content.
    let jv = if echo == Echo::JsonEscaped {
        auth.clone()
    } else {
        v.clone()
    };
    let json_reply = |status: u16, body: Value| {
        let mut text = body.to_string();
        if echo == Echo::JsonEscaped {
            text = text.replace('/', "\\/");
        }
        ResponseTemplate::new(status).set_body_raw(text, "application/json")
    };
    let commands = req
        .body_json::<Value>()
        .ok()
        .and_then(|b| b.as_array().map(Vec::len))
        .unwrap_or(1);
    let envelopes = |result: Value| {
        let one = json!({"success": reply != Reply::Envelope, "result": result});
        json_reply(200, Value::Array(vec![one; commands]))
    };
    match reply {
        Reply::Auth401 => ResponseTemplate::new(401)
            .set_body_string(format!("proxy: rejected Authorization {v} for user alice")),
        Reply::Json400 => json_reply(
            400,
            json!({
                "name": "proxy/bad-request",
                "message": format!("bad header {jv} here"),
                "data": {"headers": {"authorization": jv}, "seen": [jv, 1]},
            }),
        ),
        Reply::Text400 => ResponseTemplate::new(400).set_body_string(format!(
            "<html>400 Bad Request: {v} (proxy debug page)</html>"
        )),
        Reply::Text500 => ResponseTemplate::new(500)
            .set_body_string(format!("upstream exploded; request had {v}")),
        Reply::Envelope => envelopes(json!({
            "name": "entity.error/proxy",
            "message": format!("the token {jv} is not allowed here"),
            "data": {"auth": jv},
        })),
        Reply::NotRows => envelopes(json!(format!("debug echo: {jv}"))),
        Reply::BadWebhookId => json_reply(
            200,
            json!([{"id": jv, "url": "https://x.example", "type": TASK}]),
        ),
        Reply::RedirectLoop => {
            ResponseTemplate::new(302).insert_header("location", format!("/loop?auth={v}"))
        }
        Reply::Rows => envelopes(json!([row_value(&auth)])),
    }
}

/// Mounts a mock answering every request as the returned shared state says (starting with
/// `reply`, raw echo). Every request matches, so wiremock never logs one as unexpected (with
/// its headers).
async fn reflect_everything(server: &MockServer, reply: Reply) -> Arc<Mutex<(Reply, Echo)>> {
    let state = Arc::new(Mutex::new((reply, Echo::Raw)));
    let s = state.clone();
    Mock::given(any())
        .respond_with(move |req: &Request| respond(&s, req))
        .mount(server)
        .await;
    state
}

/// A mock server reflecting the `Authorization` value as the shared state says.
async fn reflecting_server() -> (MockServer, Arc<Mutex<(Reply, Echo)>>) {
    let server = MockServer::start().await;
    let state = reflect_everything(&server, Reply::Auth401).await;
    (server, state)
}

fn client(server: &MockServer, token: &str, scheme: AuthScheme) -> Client {
    unpaced(server)
        .token(token)
        .auth_scheme(scheme)
        .build()
        .unwrap()
}

/// A builder for `server`: no pacing, no batching delay, one quick retry.
fn unpaced(server: &MockServer) -> fibery_client::ClientBuilder {
    Client::builder()
        .base_url(server.uri())
        .requests_per_second(0)
        .batch_window(Duration::ZERO)
        .retry(
            RetryPolicy::default()
                .with_max_retries(1)
                .with_initial_backoff(Duration::from_millis(1)),
        )
}

fn query_cmd() -> Value {
    json!({"command": "fibery.entity/query", "args": {"query": {
        "q/from": TASK, "q/select": ["fibery/id"], "q/limit": 1}}})
}

fn query_args() -> Value {
    json!({"query": {"q/from": TASK, "q/select": ["fibery/id"], "q/limit": 1}})
}

/// Whether `e` is the error `reply` must produce (matched by kind, not text).
fn expected_kind(reply: Reply, e: &Error) -> bool {
    let e = match e {
        Error::Batch { source } => &**source,
        e => e,
    };
    match reply {
        Reply::Auth401 => matches!(e, Error::Auth { status: 401, .. }),
        // Classified by status: a JSON body and a text body give the same kind.
        Reply::Json400 | Reply::Text400 => matches!(e, Error::Http { status: 400, .. }),
        Reply::Text500 => matches!(e, Error::Server { status: 500, .. }),
        Reply::Envelope => {
            matches!(e, Error::Command { error, .. } if error.name == "entity.error/proxy")
        }
        Reply::NotRows | Reply::BadWebhookId => matches!(e, Error::Decode { .. }),
        Reply::RedirectLoop => matches!(e, Error::Transport { .. }),
        Reply::Rows => false,
    }
}

/// The errors one reply produces through the client's entry points.
async fn errors(c: &Client, reply: Reply) -> Vec<Error> {
    let mut out = Vec::new();
    match reply {
        Reply::NotRows => out.push(c.query_args(query_args()).await.unwrap_err()),
        Reply::BadWebhookId => out.push(c.webhooks().await.unwrap_err()),
        _ => {
            out.push(c.command(query_cmd()).await.unwrap_err());
            // Two commands in one request: a request-level failure is shared (Error::Batch).
            let results = c.execute([query_cmd(), query_cmd()]).await.unwrap();
            out.extend(results.into_iter().map(Result::unwrap_err));
        }
    }
    if matches!(reply, Reply::Text400 | Reply::Text500 | Reply::RedirectLoop) {
        // Downloads take the streaming path.
        let mut sink = Vec::new();
        out.push(c.download_file("abc", &mut sink).await.unwrap_err());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_and_logs_never_show_a_reflected_token() {
    install();
    let (server, state) = reflecting_server().await;
    let replies = [
        Reply::Auth401,
        Reply::Json400,
        Reply::Text400,
        Reply::Text500,
        Reply::Envelope,
        Reply::NotRows,
        Reply::BadWebhookId,
        Reply::RedirectLoop,
    ];
    let mut checked = 0;
    for scheme in [AuthScheme::Token, AuthScheme::Bearer] {
        let c = client(&server, SECRET, scheme);
        for reply in replies {
            for echo in Echo::ALL {
                // A JSON escape inside a URL is not something a server writes.
                if reply == Reply::RedirectLoop && echo == Echo::JsonEscaped {
                    continue;
                }
                *state.lock().unwrap() = (reply, echo);
                let what = format!("{scheme:?}/{reply:?}/{echo:?}");
                for e in errors(&c, reply).await {
                    assert!(expected_kind(reply, &e), "{what}: {e:?}");
                    assert_error_clean(&what, &e);
                    let text = e.to_string();
                    assert!(text.contains(reply.kept()), "{what}: message lost: {text}");
                    assert!(
                        text.contains("redacted"),
                        "{what}: nothing scrubbed: {text}"
                    );
                    checked += 1;
                }
            }
        }
    }
    // Per scheme: 3 errors (command, and the two of a shared request) for each echo, one
    // more for downloads; one for each decode case; 5 echoes for the redirect loop.
    let per_scheme = 6 * (3 + 3 + 4 + 4 + 3 + 1 + 1) + 5 * 4;
    assert_eq!(checked, 2 * per_scheme);
    let logs = captured();
    assert_clean("TRACE capture", &logs);
    let retries: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("retrying Fibery request"))
        .collect();
    for kept in [Reply::Text500.kept(), "/api/files/abc"] {
        assert!(
            retries
                .iter()
                .any(|l| l.contains(kept) && l.contains("[redacted]")),
            "no scrubbed WARN retry record with {kept:?}: {retries:#?}"
        );
    }
    server.reset().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_results_holding_the_token_are_returned_untouched() {
    install();
    let (server, state) = reflecting_server().await;
    *state.lock().unwrap() = (Reply::Rows, Echo::Raw);
    for scheme in [AuthScheme::Token, AuthScheme::Bearer] {
        let c = client(&server, SECRET, scheme);
        let auth = match scheme {
            AuthScheme::Bearer => format!("Bearer {SECRET}"),
            _ => format!("Token {SECRET}"),
        };
        let rows = c.query_args(query_args()).await.unwrap();
        assert_eq!(rows, vec![row_value(&auth)]);
        assert_eq!(rows[0]["plain"], SECRET);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_token_is_scrubbed_only_where_it_stands_as_a_word() {
    install();
    let (server, state) = reflecting_server().await;
    // "re" occurs inside "rejected", "request", "here": those words must survive.
    let c = client(&server, "re", AuthScheme::Token);
    let fail = async |c: &Client, reply: Reply, echo: Echo| {
        *state.lock().unwrap() = (reply, echo);
        c.command(query_cmd()).await.unwrap_err()
    };
    let Error::Auth { message, .. } = fail(&c, Reply::Auth401, Echo::Raw).await else {
        panic!("expected an auth error")
    };
    assert_eq!(
        message,
        "proxy: rejected Authorization [redacted] for user alice"
    );
    let Error::Command { error, .. } = fail(&c, Reply::Envelope, Echo::Percent).await else {
        panic!("expected a command error")
    };
    assert_eq!(error.message, "the token [redacted] is not allowed here");
    assert_eq!(error.data, json!({"auth": "[redacted]"}));
    let e = fail(&c, Reply::Text500, Echo::Header).await;
    let Error::Server { error, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(error.message, "upstream exploded; request had [redacted]");
    // One character: every "e" inside a word stays.
    let c = client(&server, "e", AuthScheme::Bearer);
    let Error::Http { body, .. } = fail(&c, Reply::Text400, Echo::Raw).await else {
        panic!("expected an HTTP error")
    };
    assert_eq!(
        body,
        "<html>400 Bad Request: [redacted] (proxy debug page)</html>"
    );
}

fn cli(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(fibery_bin())
        .current_dir(dir)
        .env_clear()
        .env("FIBERY_TOKEN", SECRET)
        .env("RUST_LOG", "trace")
        .args(args)
        .output()
        .unwrap()
}

/// Serves the sample schema on `GET /api/schema` and reflects on everything else.
async fn reflecting_workspace() -> (MockServer, Arc<Mutex<(Reply, Echo)>>) {
    let server = MockServer::start().await;
    let schema: Value = serde_json::from_str(include_str!("../examples/data/schema.json")).unwrap();
    Mock::given(wiremock::matchers::path("/api/schema"))
        .respond_with(ResponseTemplate::new(200).set_body_json(schema))
        .with_priority(1)
        .mount(&server)
        .await;
    let state = reflect_everything(&server, Reply::Envelope).await;
    (server, state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_stderr_and_rejects_file_never_show_a_reflected_token() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), "Name\nalpha\nbeta\n").unwrap();
    let (stderr_server, stderr_state) = reflecting_server().await;
    let (workspace, workspace_state) = reflecting_workspace().await;
    let run = |base: String, args: &'static [&'static str]| {
        let d = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let mut a = vec![
                "--base-url",
                base.as_str(),
                "--rps",
                "100",
                "--retries",
                "0",
            ];
            a.extend_from_slice(args);
            cli(&a, &d)
        })
    };
    const IMPORT: &[&str] = &["import", "t.csv", "-t", TASK, "--create"];
    for echo in Echo::ALL {
        // Request-level failures: one line on stderr, exit code 1.
        for reply in [
            Reply::Auth401,
            Reply::Json400,
            Reply::Text400,
            Reply::Text500,
        ] {
            *stderr_state.lock().unwrap() = (reply, echo);
            let o = run(stderr_server.uri(), &["schema", "dump"]).await.unwrap();
            let out = all_output(&o);
            let what = format!("schema dump {reply:?}/{echo:?}");
            assert_eq!(o.status.code(), Some(1), "{what}: {out}");
            assert!(!shows_panic(&out), "{what}: {out}");
            assert_clean(&what, &out);
            assert!(out.contains(reply.kept()), "{what}: message lost: {out}");
            assert!(out.contains("[redacted]"), "{what}: {out}");
        }
        // A batch refused as a whole (500 on the commands) stops the import.
        *workspace_state.lock().unwrap() = (Reply::Text500, echo);
        let o = run(workspace.uri(), IMPORT).await.unwrap();
        let out = all_output(&o);
        assert_eq!(o.status.code(), Some(1), "import 500/{echo:?}: {out}");
        assert_clean(&format!("import 500/{echo:?}"), &out);
        assert!(out.contains(Reply::Text500.kept()), "{out}");

        // Every row refused by its command: the rejects file carries the server's reason.
        *workspace_state.lock().unwrap() = (Reply::Envelope, echo);
        let o = run(workspace.uri(), IMPORT).await.unwrap();
        let out = all_output(&o);
        let what = format!("import envelope/{echo:?}");
        assert_eq!(o.status.code(), Some(3), "{what}: {out}");
        assert_clean(&what, &out);
        let rejects = std::fs::read_to_string(dir.path().join("t.rejects.jsonl")).unwrap();
        assert_clean(&format!("{what}: rejects file"), &rejects);
        let reasons: Vec<String> = rejects
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["reason"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(reasons.len(), 2, "{what}: {rejects}");
        for r in &reasons {
            assert!(
                r.contains("the token [redacted] is not allowed here"),
                "{what}: {r}"
            );
        }
        for (p, text) in fibery_tests::files_in(dir.path()) {
            assert_clean(&format!("{what}: file {}", p.display()), &text);
        }
    }
}

/// A second token of the same workspace; it shares [`PIECES`], so [`assert_clean`] catches
/// a leak of either.
const SECOND: &str = "SeCrEt/9f8e+7d6c=5b4a.second-key";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_token_of_a_several_token_client_is_scrubbed() {
    install();
    let (server, state) = reflecting_server().await;
    let c = unpaced(&server).tokens([SECOND, SECRET]).build().unwrap();
    assert_clean("client Debug", &format!("{c:?}"));
    for reply in [Reply::Auth401, Reply::Json400, Reply::Text400] {
        for echo in Echo::ALL {
            *state.lock().unwrap() = (reply, echo);
            let what = format!("two tokens/{reply:?}/{echo:?}");
            for e in errors(&c, reply).await {
                assert_error_clean(&what, &e);
                assert!(e.to_string().contains("redacted"), "{what}: {e}");
            }
        }
    }
    let presented: std::collections::HashSet<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter_map(|r| {
            r.headers
                .get("authorization")?
                .to_str()
                .ok()
                .map(str::to_owned)
        })
        .collect();
    for t in [SECOND, SECRET] {
        assert!(
            presented.contains(&format!("Token {t}")),
            "a token was never used"
        );
    }
    assert_clean("TRACE capture", &captured());
    server.reset().await;
}
