//! `fibery` against a port nothing listens on: fails in seconds, says which URL, and shows
//! its (few) retries as they happen.

use std::process::Command;
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;

const TOKEN: &str = "connect-token-41b7e2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_fails_within_ten_seconds_naming_the_url() {
    let mut c = Command::cargo_bin("fibery").unwrap();
    c.env_clear()
        .env("FIBERY_TOKEN", TOKEN)
        .args(["--base-url", "http://127.0.0.1:1", "query"])
        .arg(r#"{"q/from": "fibery/user", "q/select": ["user/name"], "q/limit": 1}"#)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    let pid = child.id();
    let waited = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()),
    )
    .await;
    let Ok(o) = waited else {
        // Do not leave the process behind when the assertion fails.
        let _ = Command::new("kill").arg(pid.to_string()).status();
        panic!("fibery did not fail within 10 s");
    };
    let o = o.unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("http://127.0.0.1:1"), "{err}");
    assert!(
        err.contains("retrying Fibery request"),
        "retries are shown: {err}"
    );
    assert!(!err.contains(TOKEN), "{err}");
}
