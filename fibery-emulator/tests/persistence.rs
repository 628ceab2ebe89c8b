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
