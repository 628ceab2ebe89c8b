//! The `fibery-emulator` binary starts from flags and serves the API.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

#[tokio::test]
async fn binary_serves_with_schema_and_seed_flags() {
    let fx = format!(
        "{}/../fibery-core/tests/fixtures",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_fibery-emulator"))
        .args(["--port", "0", "--token", "bin-token", "--no-rate-limit"])
        .args([
            "--schema",
            &format!("{fx}/project-management.json"),
            "--seed",
            &format!("{fx}/project-management.options.json"),
        ])
        .env_remove("FIBERY_TOKEN")
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    let r: Value = reqwest::Client::new()
        .post(format!("{base}/api/commands"))
        .header("Authorization", "Bearer bin-token")
        .json(&json!([{"command": "fibery.entity/query", "args": {"query": {"q/from": "Projects/Priority_Projects/Task",
            "q/select": ["enum/name"], "q/order-by": [[["fibery/rank"], "q/asc"]], "q/limit": 10}}}]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = r[0]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["enum/name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Low", "Medium", "High", "Critical"]);
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn help_documents_every_flag_and_bad_flags_fail() {
    let out = Command::new(env!("CARGO_BIN_EXE_fibery-emulator"))
        .arg("--help")
        .env("FIBERY_TOKEN", "secret-value")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--port",
        "--host",
        "--token",
        "--schema",
        "--data",
        "--seed",
        "--rate-per-token",
        "--rate-per-workspace",
        "--no-rate-limit",
        "--no-retry-after",
        "--fault-5xx",
        "--fault-429",
        "--fault-drop",
        "--latency-ms",
        "--fault-seed",
        "--max-body-bytes",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    assert!(!help.contains("secret-value"), "token value never shown");
    let out = Command::new(env!("CARGO_BIN_EXE_fibery-emulator"))
        .args([
            "--token",
            "t",
            "--schema",
            "/nonexistent/schema.json",
            "--port",
            "0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fibery-emulator:"));
}
