//! `--data` persistence: state survives a restart, written atomically.

mod common;

use common::{Api, TOKEN, pm_builder};
use serde_json::{Value, json};

#[tokio::test]
async fn state_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let (id, secret, file_secret, user) = {
        let emu = pm_builder().data_file(&path).start().await.unwrap();
        let api = Api::new(&emu);
        let p = api.project("P").await;
        let id = api
            .task(
                "persisted",
                json!({"Projects/Estimate": "3.5", "Projects/Project": {"fibery/id": p}}),
            )
            .await;
        let rows = api.query(json!({"q/from": "Projects/Task", "q/select": {"s": ["Projects/Description", "Collaboration~Documents/secret"]}, "q/limit": 1}), json!({})).await;
        let secret = rows[0]["s"].as_str().unwrap().to_string();
        api.http
            .put(format!("{}/api/documents/{secret}?format=md", api.base))
            .header("Authorization", format!("Token {TOKEN}"))
            .json(&json!({"content": "kept"}))
            .send()
            .await
            .unwrap();
        let part = reqwest::multipart::Part::bytes(vec![0u8, 159, 146, 150]).file_name("bin.dat");
        let f: Value = api
            .http
            .post(format!("{}/api/files", api.base))
            .header("Authorization", format!("Token {TOKEN}"))
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        api.http
            .post(format!("{}/api/webhooks/v2", api.base))
            .header("Authorization", format!("Token {TOKEN}"))
            .json(&json!({"url": "http://127.0.0.1:9/x", "type": "Projects/Task"}))
            .send()
            .await
            .unwrap();
        let user = emu.user_id();
        emu.shutdown().await;
        (
            id,
            secret,
            f["fibery/secret"].as_str().unwrap().to_string(),
            user,
        )
    };
    assert!(path.exists());
    assert!(
        !dir.path().join("state.json.tmp").exists(),
        "temp file renamed away"
    );
    let _: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect("valid JSON on disk");
    let emu = pm_builder().data_file(&path).start().await.unwrap();
    let api = Api::new(&emu);
    assert_eq!(emu.user_id(), user);
    let rows = api.query(json!({"q/from": "Projects/Task", "q/select": ["fibery/id", "Projects/Estimate", "fibery/public-id",
        {"Projects/Project": ["Projects/Name"]}], "q/limit": 5}), json!({})).await;
    assert_eq!(
        rows,
        json!([{"fibery/id": id, "Projects/Estimate": "3.5", "fibery/public-id": "1", "Projects/Project": {"Projects/Name": "P"}}])
    );
    // Sequences continue, enum options are not seeded twice.
    let r = api
        .create("Projects/Task", json!({"Projects/Name": "second"}))
        .await;
    assert_eq!(r["fibery/public-id"], "2");
    assert_eq!(emu.entities("Projects/Priority_Projects/Task").len(), 4);
    let doc: Value = api
        .get_json(&format!("/api/documents/{secret}?format=md"))
        .await;
    assert_eq!(doc["content"], "kept");
    let bytes = api
        .get(&format!("/api/files/{file_secret}"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), &[0u8, 159, 146, 150]);
    let hooks: Value = api.get_json("/api/webhooks/v2").await;
    assert_eq!(hooks[0]["id"], 1);
}

#[tokio::test]
async fn corrupt_data_file_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(&path, "{not json").unwrap();
    let err = pm_builder()
        .data_file(&path)
        .start()
        .await
        .expect_err("refuses corrupt state");
    assert!(
        matches!(err, fibery_emulator::EmulatorError::State(_)),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{not json",
        "corrupt file left untouched"
    );
}

/// A child process SIGKILLed when dropped (a failing assertion leaves no server behind).
struct Killed(std::process::Child);

impl Killed {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The binary on `data`; returns it, its base URL and its start-up lines after the first.
fn spawn_binary(data: &std::path::Path) -> (Killed, String, Vec<String>) {
    use std::io::{BufRead, BufReader};
    let schema = format!(
        "{}/../fibery-core/tests/fixtures/project-management.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fibery-emulator"))
        .args([
            "--port",
            "0",
            "--token",
            TOKEN,
            "--no-rate-limit",
            "--schema",
            &schema,
        ])
        .arg("--data")
        .arg(data)
        .env_remove("FIBERY_TOKEN")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = vec![];
    // "listening on", "admin token", and "recovered state" when the data file exists.
    let wanted = if data.exists() { 3 } else { 2 };
    for _ in 0..wanted {
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        lines.push(l.trim().to_string());
    }
    let base = lines[0].rsplit(' ').next().unwrap().to_string();
    (Killed(child), base, lines[1..].to_vec())
}

/// Creates batches of 20 tasks until the server goes away; returns the acknowledged ids.
async fn write_until_killed(
    base: String,
    writer: usize,
    answered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut acked = vec![];
    for round in 0..10_000 {
        let body: Vec<Value> = (0..20)
            .map(|i| json!({"command": "fibery.entity/create", "args": {"type": "Projects/Task",
                "entity": {"Projects/Name": format!("w{writer}-{round}-{i}"), "Projects/Effort": i}}}))
            .collect();
        let sent = http
            .post(format!("{base}/api/commands"))
            .header("Authorization", format!("Token {TOKEN}"))
            .json(&body)
            .send()
            .await;
        let Ok(resp) = sent else { break };
        let Ok(v) = resp.json::<Value>().await else {
            break;
        };
        for env in v.as_array().into_iter().flatten() {
            assert_eq!(env["success"], true, "{env}");
            acked.push(env["result"]["fibery/id"].as_str().unwrap().to_string());
        }
        answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    acked
}

/// Every stored task as (id, public id).
async fn stored_tasks(base: &str) -> Vec<(String, String)> {
    let q = json!({"command": "fibery.entity/query", "args": {"query": {"q/from": "Projects/Task",
        "q/select": ["fibery/id", "fibery/public-id"], "q/order-by": [[["fibery/id"], "q/asc"]],
        "q/limit": 1_000_000}}});
    let v: Value = reqwest::Client::new()
        .post(format!("{base}/api/commands"))
        .header("Authorization", format!("Token {TOKEN}"))
        .json(&q)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["success"], true, "{v}");
    v["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            (s("fibery/id"), s("fibery/public-id"))
        })
        .collect()
}

/// SIGKILL during concurrent writes, five times: every restart loads a valid state holding
/// every acknowledged entity, with unique public ids, and reports what it recovered.
#[tokio::test]
async fn sigkill_during_writes_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    let mut acked: Vec<String> = vec![];
    for kill in 0..6 {
        let (mut child, base, lines) = spawn_binary(&path);
        if kill > 0 {
            assert!(
                lines.iter().any(|l| l.starts_with("recovered state:")),
                "{lines:?}"
            );
        }
        let stored = stored_tasks(&base).await;
        let ids: std::collections::HashSet<&String> = stored.iter().map(|(i, _)| i).collect();
        let lost: Vec<&String> = acked.iter().filter(|i| !ids.contains(i)).collect();
        assert!(
            lost.is_empty(),
            "restart {kill}: {} acknowledged lost",
            lost.len()
        );
        let publics: std::collections::HashSet<&String> = stored.iter().map(|(_, p)| p).collect();
        assert_eq!(publics.len(), stored.len(), "public ids stay unique");
        if kill == 5 {
            break;
        }
        let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let writers: Vec<_> = (0..3)
            .map(|w| tokio::spawn(write_until_killed(base.clone(), w, answered.clone())))
            .collect();
        // Kill after a varying number of answered requests (bounded wait), mid-stream.
        for _ in 0..400 {
            if answered.load(std::sync::atomic::Ordering::SeqCst) > 2 * kill as usize {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(7 * kill)).await;
        child.kill();
        let before = acked.len();
        for w in writers {
            acked.extend(w.await.unwrap());
        }
        assert!(acked.len() > before, "round {kill} acknowledged writes");
    }
}
