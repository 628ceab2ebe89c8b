//! Security: the API token never appears in the CLI's output or files, in client errors
//! (Display and Debug), in TRACE-level logs (tracing and `log` records of reqwest/hyper), or
//! in panic messages; plain http to a non-loopback host and account names that are not a
//! single DNS label are refused; the emulator answers 401 without a valid token and 413 for
//! oversized bodies.
//!
//! This binary installs one global TRACE subscriber that captures every log line of every
//! test in it into memory; tests check that buffer.

use std::process::{Command, Output};
use std::time::Duration;

use fibery_client::{Client, Error, Query, RetryPolicy};
use fibery_emulator::{Emulator, Faults};
use fibery_tests::capture::{captured, install};
use fibery_tests::{
    IMPORT_TASKS, TASK, all_output, fibery_bin, sample_schema, sample_seed, shows_panic, tasks_csv,
};

/// The secret under test. Distinct from every other string in the suite.
const SECRET: &str = "SeCrEt-9f8e7d6c5b4a-token";
/// Another token the emulator accepts, for "wrong token" cases.
const OTHER: &str = "other-accepted-token-123";

async fn emulator(tokens: &[&str], faults: Faults) -> Emulator {
    let mut b = Emulator::builder()
        .schema(sample_schema())
        .seed_json(sample_seed())
        .without_rate_limits()
        .faults(faults);
    for t in tokens {
        b = b.token(*t);
    }
    b.start().await.unwrap()
}

fn client(base: &str, token: &str) -> Client {
    Client::builder()
        .base_url(base)
        .token(token)
        .requests_per_second(0)
        .retry(
            RetryPolicy::default()
                .with_max_retries(2)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_retry_after(Duration::from_millis(10)),
        )
        .build()
        .unwrap()
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} leaks the token: {text}");
}

fn assert_error_clean(e: &Error) {
    assert_clean("Display", &e.to_string());
    assert_clean("Debug", &format!("{e:?}"));
    assert_clean("alternate Debug", &format!("{e:#?}"));
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        assert_clean("source", &format!("{s} / {s:?}"));
        src = s.source();
    }
}

fn tasks() -> Query {
    Query::from(TASK)
        .select(["fibery/id", "Projects/Name"])
        .limit(5)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_and_trace_logs_never_show_the_token() {
    install();
    // Wrong token: the emulator does not know SECRET.
    let emu = emulator(&[OTHER], Faults::default()).await;
    let c = client(&emu.base_url(), SECRET);
    assert_clean("Client Debug", &format!("{c:?}"));
    assert_clean(
        "ClientBuilder Debug",
        &format!("{:?}", Client::builder().token(SECRET)),
    );
    let e = c.query(&tasks()).await.unwrap_err();
    assert!(matches!(e, Error::Auth { status: 401, .. }), "{e}");
    assert_error_clean(&e);
    drop(emu);

    // Accepted token: success, server errors after retries, command errors.
    let emu = emulator(&[SECRET], Faults::default()).await;
    let c = client(&emu.base_url(), SECRET);
    assert!(c.query(&tasks()).await.unwrap().is_empty());
    let e = c
        .query(&Query::from("Projects/Nope").select(["fibery/id"]))
        .await
        .unwrap_err();
    assert_error_clean(&e);
    let bad = c
        .execute([serde_json::json!({"command": "fibery.entity/create",
            "args": {"type": TASK, "entity": {"Projects/Name": 5}}})])
        .await
        .unwrap();
    assert_error_clean(bad[0].as_ref().unwrap_err());
    emu.set_faults(Faults {
        error_5xx: 1.0,
        ..Faults::default()
    });
    let e = c.query(&tasks()).await.unwrap_err();
    assert_eq!(e.status().map(|s| s >= 500), Some(true), "{e}");
    assert_error_clean(&e);
    emu.set_faults(Faults {
        drop: 1.0,
        ..Faults::default()
    });
    let e = c.query(&tasks()).await.unwrap_err();
    assert_error_clean(&e);
    drop(emu);

    // Nothing listening.
    let e = client("http://127.0.0.1:9", SECRET)
        .query(&tasks())
        .await
        .unwrap_err();
    assert_error_clean(&e);

    let log = captured();
    assert!(
        log.contains("sending Fibery request"),
        "the client logged nothing at TRACE"
    );
    assert!(log.contains("retrying Fibery request"));
    assert_clean("TRACE log", &log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_messages_never_show_the_token() {
    install();
    let emu = emulator(&[OTHER], Faults::default()).await;
    let c = client(&emu.base_url(), SECRET);
    // A caller that unwraps a client error: the panic payload carries the error's Debug.
    let j = tokio::spawn(async move {
        c.query(&tasks()).await.unwrap();
    })
    .await
    .unwrap_err();
    assert!(j.is_panic());
    let payload = j.into_panic();
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(msg.contains("401"), "{msg}");
    assert_clean("panic message", &msg);

    let p = std::panic::catch_unwind(|| {
        Client::builder()
            .account("evil.com/x")
            .token(SECRET)
            .build()
            .unwrap();
    })
    .unwrap_err();
    let msg = p.downcast_ref::<String>().unwrap();
    assert!(msg.contains("evil.com/x"), "{msg}");
    assert_clean("panic message", msg);
    assert_clean("TRACE log", &captured());
}

/// Building `b` with the secret token fails as a configuration error.
fn refused(b: fibery_client::ClientBuilder, what: &str) -> Error {
    let e = b.token(SECRET).build().unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{what}: {e}");
    e
}

#[test]
fn http_to_non_loopback_and_bad_accounts_are_refused() {
    for url in [
        "http://example.com",
        "http://10.0.0.1:8080",
        "http://192.168.1.10",
        "http://localhost.evil.com",
        "http://127.0.0.1.nip.io",
        "ftp://127.0.0.1",
        "https://user:pass@acme.fibery.io",
    ] {
        assert_error_clean(&refused(Client::builder().base_url(url), url));
    }
    for ok in [
        "http://127.0.0.1:1",
        "http://localhost:1",
        "http://[::1]:1",
        "https://acme.example",
    ] {
        assert!(
            Client::builder().base_url(ok).token(SECRET).build().is_ok(),
            "{ok}"
        );
    }
    for acc in [
        "evil.com/x",
        "evil.com",
        "acme.fibery.io.evil.com",
        "acme@evil.com",
        "acme/../x",
        "a b",
        "",
    ] {
        refused(Client::builder().account(acc), acc);
    }
    let c = Client::builder()
        .account("acme")
        .token(SECRET)
        .build()
        .unwrap();
    assert_eq!(c.base_url(), "https://acme.fibery.io");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_answers_401_without_a_valid_token_and_413_for_big_bodies() {
    let emu = Emulator::builder()
        .schema(sample_schema())
        .token(SECRET)
        .without_rate_limits()
        .max_body_bytes(64 * 1024)
        .start()
        .await
        .unwrap();
    let url = format!("{}/api/commands", emu.base_url());
    let body = serde_json::json!([{"command": "fibery.schema/query"}]);
    let http = reqwest::Client::new();
    let status = |auth: Option<String>, body: Vec<u8>| {
        let mut r = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    let small = serde_json::to_vec(&body).unwrap();
    assert_eq!(status(None, small.clone()).await, 401);
    assert_eq!(status(Some("Token nope".into()), small.clone()).await, 401);
    assert_eq!(status(Some("Token ".into()), small.clone()).await, 401);
    assert_eq!(status(Some(SECRET.into()), small.clone()).await, 401);
    assert_eq!(
        status(Some(format!("Basic {SECRET}")), small.clone()).await,
        401
    );
    assert_eq!(
        status(Some(format!("Token {SECRET}")), small.clone()).await,
        200
    );
    assert_eq!(
        status(Some(format!("Bearer {SECRET}")), small.clone()).await,
        200
    );
    // Oversized: a JSON body larger than the configured 64 KiB limit.
    let big = format!(
        "[{{\"command\": \"fibery.schema/query\", \"args\": {{\"pad\": \"{}\"}}}}]",
        "x".repeat(100 * 1024)
    );
    assert_eq!(
        status(Some(format!("Token {SECRET}")), big.into_bytes()).await,
        413
    );
    let stats = emu.stats();
    assert_eq!(stats.commands, 2, "rejected requests executed nothing");
    emu.shutdown().await;

    // The default limit (16 MiB) also answers 413.
    let emu = Emulator::builder()
        .schema(sample_schema())
        .token(SECRET)
        .without_rate_limits()
        .start()
        .await
        .unwrap();
    let r = http
        .post(format!("{}/api/commands", emu.base_url()))
        .header("Authorization", format!("Token {SECRET}"))
        .header("content-type", "application/json")
        .body(vec![b' '; 17 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    emu.shutdown().await;
}

fn cli(args: &[&str], env: &[(&str, &str)], dir: &std::path::Path) -> Output {
    let mut c = Command::new(fibery_bin());
    c.current_dir(dir)
        .env_clear()
        .env("RUST_LOG", "trace")
        .env("RUST_BACKTRACE", "1")
        .envs(env.iter().copied())
        .args(args);
    c.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_output_and_files_never_show_the_token() {
    let emu = emulator(&[OTHER], Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tasks.csv"), tasks_csv(30)).unwrap();
    let base = emu.base_url();
    let mut import = vec!["--base-url", base.as_str(), "--rps", "100"];
    import.extend(IMPORT_TASKS);
    let run = |args: Vec<&str>, env: Vec<(&str, &str)>| {
        let d = dir.path().to_path_buf();
        let args: Vec<String> = args.into_iter().map(String::from).collect();
        let env: Vec<(String, String)> = env
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        // The exit code and all the output of the run.
        let run = tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let e: Vec<(&str, &str)> = env.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            let o = cli(&a, &e, &d);
            (o.status.code(), all_output(&o))
        });
        async move { run.await.unwrap() }
    };

    // Wrong token in the environment: 401, a clear message, no token.
    let (code, out) = run(import.to_vec(), vec![("FIBERY_TOKEN", SECRET)]).await;
    assert_ne!(code, Some(0), "{out}");
    assert!(!shows_panic(&out), "{out}");
    assert!(
        out.to_lowercase().contains("auth") || out.contains("401"),
        "{out}"
    );
    assert_clean("CLI output (401)", &out);

    // Wrong token on the command line: warned about, still never printed.
    let mut a = import.to_vec();
    a.extend(["--token", SECRET]);
    let (_, out) = run(a, vec![]).await;
    assert!(out.contains("--token on the command line"), "{out}");
    assert_clean("CLI output (--token)", &out);

    // Accepted token: import, export and schema dump succeed without echoing it.
    let emu2 = emulator(&[SECRET], Faults::default()).await;
    let base2 = emu2.base_url();
    let mut a = import.to_vec();
    a[1] = base2.as_str();
    a.insert(0, "--json");
    let (code, out) = run(a, vec![("FIBERY_TOKEN", SECRET)]).await;
    assert_eq!(code, Some(0), "{out}");
    assert_clean("CLI output (import)", &out);
    for args in [
        vec!["--base-url", base2.as_str(), "export", "-t", TASK],
        vec!["--base-url", base2.as_str(), "schema", "dump"],
    ] {
        let (code, out) = run(args, vec![("FIBERY_TOKEN", SECRET)]).await;
        assert_eq!(code, Some(0), "{out}");
        assert_clean("CLI output", &out);
    }
    // Journal, rejects and any other file the CLI left behind.
    for (p, text) in fibery_tests::files_in(dir.path()) {
        assert_clean(&format!("file {}", p.display()), &text);
    }

    // Refused targets: plain http to a non-loopback host, a malformed account.
    for args in [
        vec!["--base-url", "http://example.com", "schema", "dump"],
        vec!["--account", "evil.com/x", "schema", "dump"],
    ] {
        let (code, out) = run(args.clone(), vec![("FIBERY_TOKEN", SECRET)]).await;
        assert_ne!(code, Some(0), "{args:?}: {out}");
        assert!(!shows_panic(&out), "{out}");
        assert!(out.contains("error:"), "{out}");
        assert_clean("CLI output (refused)", &out);
    }
    emu.shutdown().await;
    emu2.shutdown().await;
}
