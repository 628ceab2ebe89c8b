//! `fibery -v/-vv` and `RUST_LOG`: retries and requests are logged to stderr, the token never.

use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;
use fibery_emulator::{Emulator, Faults};

const TOKEN: &str = "logging-token-7c1d93ab";
const QUERY: &str = r#"{"q/from": "fibery/user", "q/select": ["user/name"], "q/limit": 1}"#;

/// An emulator where about half the requests fail with a 5xx (seeded, so reproducible).
async fn flaky_emulator() -> Emulator {
    Emulator::builder()
        .token(TOKEN)
        .without_rate_limits()
        .faults(Faults {
            error_5xx: 0.5,
            seed: 7,
            ..Faults::default()
        })
        .start()
        .await
        .unwrap()
}

/// `fibery [flags] query QUERY` against `emu`, with a clean environment plus `env`.
async fn query(emu: &Emulator, flags: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::cargo_bin("fibery").unwrap();
    c.env_clear()
        .env("FIBERY_TOKEN", TOKEN)
        .envs(env.iter().copied())
        .args([
            "--base-url",
            &emu.base_url(),
            "--rps",
            "200",
            "--retries",
            "20",
        ])
        .args(flags)
        .args(["query", QUERY]);
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn all_output(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(o))
}

/// Runs the query until the seeded faults made the client retry at least once (a run's
/// first attempt may succeed), returning that run's output.
async fn query_with_retries(emu: &Emulator, flags: &[&str], env: &[(&str, &str)]) -> Output {
    for _ in 0..10 {
        let o = query(emu, flags, env).await;
        assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
        if stderr(&o).contains("retrying Fibery request") {
            return o;
        }
    }
    panic!("no run retried: {:?}", emu.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vv_logs_every_request_and_retry_to_stderr_without_the_token() {
    let emu = flaky_emulator().await;
    let o = query_with_retries(&emu, &["-vv"], &[]).await;
    let err = stderr(&o);
    let requests = err.matches("sending Fibery request").count();
    assert!(
        requests >= 2,
        "a retried query is at least two requests: {err}"
    );
    assert!(err.contains("retrying Fibery request"), "{err}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("Emulator User"));
    assert!(
        !all_output(&o).contains(TOKEN),
        "the token leaked: {}",
        all_output(&o)
    );
    // The rows are on stdout, the log is not.
    assert!(!String::from_utf8_lossy(&o.stdout).contains("sending Fibery request"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_show_by_default_requests_only_with_vv() {
    let emu = flaky_emulator().await;
    let o = query_with_retries(&emu, &[], &[]).await;
    let err = stderr(&o);
    assert!(err.contains("WARN"), "{err}");
    assert!(!err.contains("sending Fibery request"), "{err}");
    assert!(!all_output(&o).contains(TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_log_selects_the_filter_and_quiet_silences_retries() {
    let emu = flaky_emulator().await;
    let o = query_with_retries(&emu, &[], &[("RUST_LOG", "fibery_client=debug")]).await;
    assert!(
        stderr(&o).contains("sending Fibery request"),
        "{}",
        stderr(&o)
    );
    assert!(!all_output(&o).contains(TOKEN));

    // --quiet: errors only, so the retries of a successful run print nothing.
    for _ in 0..10 {
        let before = emu.stats().faults_injected;
        let o = query(&emu, &["--quiet"], &[]).await;
        assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
        if emu.stats().faults_injected > before {
            assert_eq!(stderr(&o), "", "a retried run under --quiet");
            return;
        }
    }
    panic!("no --quiet run retried");
}
