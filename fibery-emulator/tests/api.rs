//! Endpoint behaviour over real HTTP on 127.0.0.1.

mod common;
mod doors;

use common::{Api, TOKEN, option_id, pm};
use serde_json::{Value, json};

#[tokio::test]
async fn auth_accepts_token_and_bearer_and_rejects_others_with_plain_401() {
    let emu = pm().await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/commands", emu.base_url());
    let body = json!([{"command": "fibery.schema/query"}]);
    for h in [format!("Token {TOKEN}"), format!("Bearer {TOKEN}")] {
        let r = http
            .post(&url)
            .header("Authorization", h)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    for h in [
        None,
        Some("Token wrong"),
        Some("Basic dGVzdA=="),
        Some(TOKEN),
    ] {
        let mut rb = http.post(&url).json(&body);
        if let Some(h) = h {
            rb = rb.header("Authorization", h);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert_eq!(r.text().await.unwrap(), "Unauthorized");
    }
    assert_eq!(emu.stats().requests, 6);
}

#[tokio::test]
async fn envelope_single_object_and_array_forms() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let q = json!({"command": "fibery.entity/query", "args": {"query": {"q/from": "fibery/user", "q/select": ["user/name"], "q/limit": 1}}});
    let (st, single) = api.raw(&q).await;
    assert_eq!(st, 200);
    assert_eq!(single["success"], true);
    assert_eq!(single["result"][0]["user/name"], "Emulator User");
    let (st, arr) = api.raw(&json!([q, q])).await;
    assert_eq!(st, 200);
    assert_eq!(arr.as_array().unwrap().len(), 2);
    assert_eq!(arr[1], single);
    let (_, empty) = api.raw(&json!([])).await;
    assert_eq!(empty, json!([]));
}

#[tokio::test]
async fn unknown_command_and_bad_json_are_http_500_without_envelope() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let (st, v) = api
        .raw(&json!([{"command": "fibery.entity/nope", "args": {}}]))
        .await;
    assert_eq!(st, 500);
    assert!(v.get("success").is_none());
    assert_eq!(v["name"], "command/not-found");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("fibery.entity/nope")
    );
    let r = api
        .http
        .post(format!("{}/api/commands", api.base))
        .header("Authorization", format!("Token {TOKEN}"))
        .header("content-type", "application/json")
        .body("[{\"command\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["name"], "request/invalid-json");
    // One bad command inside an array fails the whole request and changes nothing.
    let (st, _) = api
        .raw(&json!([{"command": "fibery.entity/create", "args": {"type": "Projects/Project", "entity": {"Projects/Name": "x"}}},
                     {"command": "bogus"}]))
        .await;
    assert_eq!(st, 500);
    assert!(emu.entities("Projects/Project").is_empty());
}

#[tokio::test]
async fn empty_args_and_params_as_arrays_are_rejected() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let (_, v) = api
        .raw(&json!([{"command": "fibery.schema/query", "args": []}]))
        .await;
    assert_eq!(v[0]["success"], false);
    assert_eq!(v[0]["result"]["name"], "command.error/invalid-args");
    let name = api
        .err("fibery.entity/query", json!({"query": {"q/from": "Projects/Task", "q/select": ["fibery/id"], "q/limit": 1}, "params": []}))
        .await;
    assert_eq!(name, "command.error/invalid-args");
    // Omitted args are fine for argument-less commands.
    let (_, v) = api.raw(&json!([{"command": "fibery.schema/query"}])).await;
    assert_eq!(v[0]["success"], true);
}

#[tokio::test]
async fn create_assigns_ids_public_ids_dates_and_normalises_values() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let given = "0b8e2f0a-2a1d-4b0e-9a3a-6f6cc8f3c001";
    let high = option_id("Projects/Priority_Projects/Task", "High");
    let r1 = api
        .create(
            "Projects/Task",
            json!({"fibery/id": given, "Projects/Name": "A", "Projects/Estimate": 1.5, "Projects/Effort": 3,
                   "Projects/Due": "2026-07-01", "Projects/Done": false, "Projects/Priority": {"fibery/id": high}}),
        )
        .await;
    assert_eq!(r1["fibery/id"], given);
    assert_eq!(r1["fibery/public-id"], "1");
    assert_eq!(r1["Projects/Estimate"], "1.5");
    assert_eq!(r1["Projects/Effort"], 3);
    assert_eq!(r1["Projects/Priority"], json!({"fibery/id": high}));
    assert_eq!(r1["Projects/Project"], Value::Null);
    let created = r1["fibery/creation-date"].as_str().unwrap();
    assert_eq!(created.len(), 24, "{created}");
    assert!(
        created.ends_with('Z') && created.as_bytes()[19] == b'.',
        "{created}"
    );
    assert!(
        r1.get("Projects/Tags").is_none(),
        "collections are not part of the result"
    );
    let r2 = api
        .create(
            "Projects/Task",
            json!({"Projects/Name": "B", "Projects/Estimate": "2.50"}),
        )
        .await;
    assert_eq!(r2["fibery/public-id"], "2");
    assert!(uuid::Uuid::parse_str(r2["fibery/id"].as_str().unwrap()).is_ok());
    assert!(r2["fibery/creation-date"].as_str().unwrap() > created);
    // Creating the same id twice fails with a stable name.
    let name = api
        .err(
            "fibery.entity/create",
            json!({"type": "Projects/Task", "entity": {"fibery/id": given}}),
        )
        .await;
    assert_eq!(name, "entity.error/entity-already-exists");
    // Created-by defaults to the current user.
    let rows = api
        .query(json!({"q/from": "Projects/Task", "q/select": ["Projects/Name", {"fibery/created-by": ["user/name"]}], "q/limit": 1}), json!({}))
        .await;
    assert_eq!(rows[0]["fibery/created-by"]["user/name"], "Emulator User");
}

#[tokio::test]
async fn server_side_validation_uses_fibery_error_names() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let create = |e: Value| json!({"type": "Projects/Task", "entity": e});
    let parse_failed = "entity.error/parse-entity-field-failed";
    let cases = [
        (
            json!({"type": "Projects/Nope", "entity": {}}),
            "entity.error/schema-type-not-found",
        ),
        (
            create(json!({"Projects/Nmae": "x"})),
            "entity.error/schema-field-not-found",
        ),
        // Names are case-sensitive.
        (
            create(json!({"projects/name": "x"})),
            "entity.error/schema-field-not-found",
        ),
        (create(json!({"Projects/Effort": "three"})), parse_failed),
        (create(json!({"Projects/Effort": 1.5})), parse_failed),
        (create(json!({"Projects/Due": "tomorrow"})), parse_failed),
        (create(json!({"Projects/Done": "yes"})), parse_failed),
        (create(json!({"Projects/Name": 5})), parse_failed),
        (create(json!({"Projects/Estimate": "abc"})), parse_failed),
        (
            create(json!({"Projects/Project": "not-an-object"})),
            parse_failed,
        ),
        (
            create(json!({"fibery/public-id": "9"})),
            "entity.error/field-readonly",
        ),
        (
            create(json!({"fibery/creation-date": "2020-01-01T00:00:00.000Z"})),
            "entity.error/field-readonly",
        ),
        (
            create(json!({"Projects/Tags": []})),
            "entity.error/collection-field-update-not-supported",
        ),
        (
            create(json!({"Projects/Description": "text"})),
            "entity.error/document-field-update-not-supported",
        ),
        (
            create(
                json!({"Projects/Project": {"fibery/id": "7c0a1d9e-0000-4000-8000-000000000000"}}),
            ),
            "entity.error/entity-not-found",
        ),
    ];
    for (args, name) in cases {
        let got = api.err("fibery.entity/create", args.clone()).await;
        assert_eq!(got, name, "{args}");
    }
    assert!(
        emu.entities("Projects/Task").is_empty(),
        "failed creates store nothing"
    );
}

#[tokio::test]
async fn update_and_delete() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let id = api.task("old", json!({"Projects/Effort": 1})).await;
    let before = emu.entities("Projects/Task")[0]["fibery/modification-date"].clone();
    let r = api
        .ok(
            "fibery.entity/update",
            json!({"type": "Projects/Task", "entity": {"fibery/id": id, "Projects/Name": "new"}}),
        )
        .await;
    assert_eq!(r["Projects/Name"], "new");
    assert_eq!(r["Projects/Effort"], 1, "unlisted fields are kept");
    assert!(r["fibery/modification-date"].as_str().unwrap() > before.as_str().unwrap());
    let missing = "11111111-1111-4111-8111-111111111111";
    assert_eq!(
        api.err(
            "fibery.entity/update",
            json!({"type": "Projects/Task", "entity": {"fibery/id": missing, "Projects/Name": "x"}})
        )
        .await,
        "entity.error/not-found"
    );
    assert_eq!(
        api.ok(
            "fibery.entity/delete",
            json!({"type": "Projects/Task", "entity": {"fibery/id": id}})
        )
        .await,
        json!("ok")
    );
    assert!(emu.entities("Projects/Task").is_empty());
    assert_eq!(
        api.err(
            "fibery.entity/delete",
            json!({"type": "Projects/Task", "entity": {"fibery/id": id}})
        )
        .await,
        "entity.error/not-found"
    );
}

#[tokio::test]
async fn relations_keep_both_sides_consistent_in_both_collection_shapes() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let p1 = api.project("P1").await;
    let p2 = api.project("P2").await;
    let t1 = api
        .task("t1", json!({"Projects/Project": {"fibery/id": p1}}))
        .await;
    let t2 = api.task("t2", json!({})).await;
    let tasks_of = |p: &str| {
        let all = emu.entities("Projects/Project");
        let e = all.iter().find(|e| e["fibery/id"] == p).unwrap().clone();
        e["Projects/Tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["fibery/id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(tasks_of(&p1), vec![t1.clone()]);
    // Legacy shape adds t2 to P1; adding again is idempotent.
    for _ in 0..2 {
        let r = api
            .ok(
                "fibery.entity/add-collection-items",
                json!({"type": "Projects/Project", "field": "Projects/Tasks",
                "entity": {"fibery/id": p1}, "items": [{"fibery/id": t2}]}),
            )
            .await;
        assert_eq!(r, json!("ok"));
    }
    assert_eq!(tasks_of(&p1), vec![t1.clone(), t2.clone()]);
    let t2row = api.query(json!({"q/from": "Projects/Task", "q/select": {"p": ["Projects/Project", "Projects/Name"]},
        "q/where": ["=", ["fibery/id"], "$id"], "q/limit": 1}), json!({"$id": t2})).await;
    assert_eq!(t2row[0]["p"], "P1");
    // Map shape moves t2 to P2 (single side moves it out of P1).
    api.ok("fibery.entity/add-collection-items", json!({"type": "Projects/Project", "field": "Projects/Tasks", "entity": {p2.clone(): [t2.clone()]}})).await;
    assert_eq!(tasks_of(&p1), vec![t1.clone()]);
    assert_eq!(tasks_of(&p2), vec![t2.clone()]);
    // Update the single side: t1 moves to P2.
    api.ok("fibery.entity/update", json!({"type": "Projects/Task", "entity": {"fibery/id": t1, "Projects/Project": {"fibery/id": p2}}})).await;
    assert!(tasks_of(&p1).is_empty());
    assert_eq!(tasks_of(&p2).len(), 2);
    // Remove (map shape) and clear with null.
    api.ok("fibery.entity/remove-collection-items", json!({"type": "Projects/Project", "field": "Projects/Tasks", "entity": {p2.clone(): [t2.clone()]}})).await;
    api.ok(
        "fibery.entity/update",
        json!({"type": "Projects/Task", "entity": {"fibery/id": t1, "Projects/Project": null}}),
    )
    .await;
    assert!(tasks_of(&p2).is_empty());
    assert!(
        emu.entities("Projects/Task")
            .iter()
            .all(|t| t["Projects/Project"].is_null())
    );
    // Multi-select: enum side back-collection is kept too; deleting a task detaches it.
    let api_tag = option_id("Projects/Tags_Projects/Task", "api");
    api.ok(
        "fibery.entity/add-collection-items",
        json!({"type": "Projects/Task", "field": "Projects/Tags",
        "entity": {"fibery/id": t1}, "items": [{"fibery/id": api_tag}]}),
    )
    .await;
    let tag = emu
        .entities("Projects/Tags_Projects/Task")
        .into_iter()
        .find(|o| o["fibery/id"] == api_tag.as_str())
        .unwrap();
    assert_eq!(tag["enum/objects"], json!([{"fibery/id": t1}]));
    api.ok(
        "fibery.entity/delete",
        json!({"type": "Projects/Task", "entity": {"fibery/id": t1}}),
    )
    .await;
    let tag = emu
        .entities("Projects/Tags_Projects/Task")
        .into_iter()
        .find(|o| o["fibery/id"] == api_tag.as_str())
        .unwrap();
    assert_eq!(tag["enum/objects"], json!([]));
    // Errors: not a collection, missing item.
    assert_eq!(
        api.err(
            "fibery.entity/add-collection-items",
            json!({"type": "Projects/Task", "field": "Projects/Name",
        "entity": {"fibery/id": t2}, "items": []})
        )
        .await,
        "entity.error/not-a-collection-field"
    );
    assert_eq!(api.err("fibery.entity/add-collection-items", json!({"type": "Projects/Project", "field": "Projects/Tasks",
        "entity": {"fibery/id": p1}, "items": [{"fibery/id": "22222222-2222-4222-8222-222222222222"}]})).await, "entity.error/not-found");
}

#[tokio::test]
async fn batch_is_all_or_nothing_and_nests_envelopes() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let id = "5d0f0000-0000-4000-8000-000000000001";
    let ok = api
        .ok("fibery.command/batch", json!({"commands": [
            {"command": "fibery.entity/create", "args": {"type": "Projects/Task", "entity": {"fibery/id": id, "Projects/Name": "in batch"}}},
            {"command": "fibery.entity/query", "args": {"query": {"q/from": "Projects/Task", "q/select": ["Projects/Name"],
                "q/where": ["=", ["fibery/id"], "$id"], "q/limit": 1}, "params": {"$id": id}}}]}))
        .await;
    assert_eq!(ok[0]["success"], true);
    assert_eq!(ok[1]["result"], json!([{"Projects/Name": "in batch"}]));
    let env = api
        .cmd("fibery.command/batch", json!({"commands": [
            {"command": "fibery.entity/create", "args": {"type": "Projects/Task", "entity": {"Projects/Name": "rolled back"}}},
            {"command": "fibery.entity/update", "args": {"type": "Projects/Task", "entity": {"fibery/id": id, "Projects/Effort": "NaN"}}}]}))
        .await;
    assert_eq!(env["success"], false);
    assert_eq!(
        env["result"]["name"],
        "entity.error/parse-entity-field-failed"
    );
    let names: Vec<Value> = emu
        .entities("Projects/Task")
        .iter()
        .map(|e| e["Projects/Name"].clone())
        .collect();
    assert_eq!(names, vec![json!("in batch")]);
    // Top-level arrays run independently.
    let (_, v) = api
        .raw(&json!([
            {"command": "fibery.entity/create", "args": {"type": "Projects/Task", "entity": {"Projects/Effort": "bad"}}},
            {"command": "fibery.entity/create", "args": {"type": "Projects/Task", "entity": {"Projects/Name": "kept"}}}]))
        .await;
    assert_eq!(
        (v[0]["success"].clone(), v[1]["success"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(emu.entities("Projects/Task").len(), 2);
    assert_eq!(emu.stats().commands, 2 + 1 + 2 + 1 + 2);
}

#[tokio::test]
async fn upsert_follows_conflict_rules() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let ext = "Projects/External Id";
    let up = |action: &str, ents: Value| json!({"type": "Projects/Task", "conflict-field": ext, "conflict-action": action, "entities": ents});
    let id = |n: u32| format!("00000000-0000-4000-8000-{n:012}");
    let r = api
        .ok(
            "fibery.entity.batch/create-or-update",
            up(
                "update-latest",
                json!([
        {"fibery/id": id(1), ext: "J-1", "Projects/Name": "a"},
        {"fibery/id": id(2), ext: "J-2", "Projects/Name": "b"}]),
            ),
        )
        .await;
    assert_eq!(r[0]["action"], "create");
    assert_eq!(r[0]["created"]["fibery/id"], id(1));
    // update-latest updates the existing entity, keeping its id; case matters; null never matches.
    let r = api
        .ok(
            "fibery.entity.batch/create-or-update",
            up(
                "update-latest",
                json!([
        {"fibery/id": id(3), ext: "J-1", "Projects/Name": "a2"},
        {"fibery/id": id(4), ext: "j-2", "Projects/Name": "lower"},
        {"fibery/id": id(5), ext: null, "Projects/Name": "n1"}]),
            ),
        )
        .await;
    assert_eq!(r[0]["action"], "update-latest");
    assert_eq!(r[0]["updated"]["fibery/id"], id(1));
    assert_eq!(r[0]["updated"]["Projects/Name"], "a2");
    assert_eq!(r[1]["action"], "create");
    assert_eq!(r[2]["action"], "create");
    let r = api
        .ok(
            "fibery.entity.batch/create-or-update",
            up(
                "skip-create",
                json!([
        {"fibery/id": id(6), ext: "J-2", "Projects/Name": "ignored"},
        {"fibery/id": id(7), ext: "J-9", "Projects/Name": "first"},
        {"fibery/id": id(8), ext: "J-9", "Projects/Name": "second"}]),
            ),
        )
        .await;
    assert_eq!(r[0]["action"], "skip-create");
    assert_eq!(r[1]["action"], "create");
    assert_eq!(r[2]["action"], "prefer-duplicate-found-in-the-batch");
    let r = api
        .ok(
            "fibery.entity.batch/create-or-update",
            up(
                "update-latest",
                json!([
        {"fibery/id": id(9), ext: "J-10", "Projects/Name": "first"},
        {"fibery/id": id(10), ext: "J-10", "Projects/Name": "last"}]),
            ),
        )
        .await;
    assert_eq!(r[0]["action"], "prefer-duplicate-found-in-the-batch");
    assert_eq!(r[1]["action"], "create");
    let rows = api.query(json!({"q/from": "Projects/Task", "q/select": ["Projects/Name"], "q/where": ["=", [ext], "$e"], "q/limit": 10}), json!({"$e": "J-10"})).await;
    assert_eq!(rows, json!([{"Projects/Name": "last"}]));
    let rows = api.query(json!({"q/from": "Projects/Task", "q/select": ["Projects/Name"], "q/where": ["=", [ext], "$e"], "q/limit": 10}), json!({"$e": "J-2"})).await;
    assert_eq!(rows, json!([{"Projects/Name": "b"}]));
    assert_eq!(emu.entities("Projects/Task").len(), 6);
    // Conflict field must be text/int/date; ids are mandatory.
    assert_eq!(
        api.err(
            "fibery.entity.batch/create-or-update",
            json!({"type": "Projects/Task", "conflict-field": "Projects/Done",
        "conflict-action": "skip-create", "entities": []})
        )
        .await,
        "entity.error/conflict-field-type-not-supported"
    );
    assert_eq!(
        api.err(
            "fibery.entity.batch/create-or-update",
            up("skip-create", json!([{ext: "x"}]))
        )
        .await,
        "command.error/invalid-args"
    );
}

#[tokio::test]
async fn schema_query_and_get_with_etag() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let s = api.ok("fibery.schema/query", json!({})).await;
    let names: Vec<&str> = s["fibery/types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["fibery/name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Projects/Task") && names.contains(&"fibery/user"));
    let url = format!("{}/api/schema", emu.base_url());
    let r = api
        .http
        .get(&url)
        .header("Authorization", format!("Token {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body, s,
        "GET /api/schema = fibery.schema/query result without envelope"
    );
    let r = api
        .http
        .get(&url)
        .header("Authorization", format!("Token {TOKEN}"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = api
        .http
        .get(&url)
        .header("Authorization", format!("Token {TOKEN}"))
        .header("If-None-Match", format!("W/{etag}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304, "weak validators match too");
    // A schema change changes the ETag.
    api.ok("fibery.schema/batch", json!({"commands": [{"command": "schema.field/create", "args": {
        "fibery/holder-type": "Projects/Project", "fibery/name": "Projects/Budget", "fibery/type": "fibery/decimal", "fibery/meta": {}}}]})).await;
    let r = api
        .http
        .get(&url)
        .header("Authorization", format!("Token {TOKEN}"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_ne!(r.headers()["etag"].to_str().unwrap(), etag);
}

#[tokio::test]
async fn schema_batch_mutations() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let mandatory = json!([
        {"fibery/name": "Ops/Name", "fibery/type": "fibery/text", "fibery/meta": {"fibery/secured?": false, "ui/title?": true}},
        {"fibery/name": "fibery/id", "fibery/type": "fibery/uuid", "fibery/meta": {"fibery/secured?": false, "fibery/id?": true, "fibery/readonly?": true}},
        {"fibery/name": "fibery/public-id", "fibery/type": "fibery/text", "fibery/meta": {"fibery/secured?": false, "fibery/public-id?": true, "fibery/readonly?": true}},
        {"fibery/name": "fibery/creation-date", "fibery/type": "fibery/date-time", "fibery/meta": {"fibery/secured?": false, "fibery/creation-date?": true, "fibery/readonly?": true, "fibery/default-value": "$now"}},
        {"fibery/name": "fibery/modification-date", "fibery/type": "fibery/date-time", "fibery/meta": {"fibery/secured?": false, "fibery/modification-date?": true, "fibery/required?": true, "fibery/readonly?": true, "fibery/default-value": "$now"}}]);
    let v0 = api.ok("fibery.schema/query", json!({})).await["fibery/version"]
        .as_u64()
        .unwrap();
    let r = api.ok("fibery.schema/batch", json!({"commands": [
        {"command": "schema.type/create", "args": {"fibery/name": "Ops/Ticket", "fibery/meta": {"fibery/domain?": true, "fibery/secured?": true}, "fibery/fields": mandatory}},
        {"command": "schema.enum/create", "args": {"fibery/name": "Ops/Priority_Ops/Ticket", "fibery/meta": {"fibery/type-component?": true}}},
        {"command": "schema.field/create", "args": {"fibery/holder-type": "Ops/Ticket", "fibery/name": "Ops/Priority", "fibery/type": "Ops/Priority_Ops/Ticket", "fibery/meta": {}}},
        {"command": "schema.field/create", "args": {"fibery/holder-type": "Ops/Ticket", "fibery/name": "Ops/Body", "fibery/type": "Collaboration~Documents/Document", "fibery/meta": {"fibery/entity-component?": true}}},
        {"command": "fibery.app/install-mixins", "args": {"types": {"Ops/Ticket": ["fibery/rank-mixin", "workflow/workflow"]}}}]})).await;
    assert_eq!(r, json!("ok"));
    let s = api.ok("fibery.schema/query", json!({})).await;
    assert_eq!(s["fibery/version"].as_u64().unwrap(), v0 + 1);
    let opt = api
        .create(
            "Ops/Priority_Ops/Ticket",
            json!({"enum/name": "High", "fibery/rank": 0}),
        )
        .await;
    let t = api
        .create(
            "Ops/Ticket",
            json!({"Ops/Name": "x", "Ops/Priority": {"fibery/id": opt["fibery/id"]}}),
        )
        .await;
    let rows = api.query(json!({"q/from": "Ops/Ticket", "q/select": {"p": ["Ops/Priority", "enum/name"], "s": ["workflow/state", "enum/name"]}, "q/limit": 1}), json!({})).await;
    assert_eq!(rows[0]["p"], "High");
    assert_eq!(
        rows[0]["s"], "Open",
        "installing workflow/workflow creates default states"
    );
    // Renames move data; set-meta changes flags; deleting a non-empty field needs delete-values?.
    api.ok("fibery.schema/batch", json!({"commands": [
        {"command": "schema.field/rename", "args": {"holder-type": "Ops/Ticket", "from-name": "Ops/Name", "to-name": "Ops/Title"}},
        {"command": "schema.field/set-meta", "args": {"holder-type": "Ops/Ticket", "name": "Ops/Title", "key": "fibery/unique?", "value": true}},
        {"command": "schema.type/rename", "args": {"from-name": "Ops/Ticket", "to-name": "Ops/Issue"}}]})).await;
    let rows = api
        .query(
            json!({"q/from": "Ops/Issue", "q/select": ["Ops/Title"], "q/limit": 5}),
            json!({}),
        )
        .await;
    assert_eq!(rows, json!([{"Ops/Title": "x"}]));
    assert_eq!(
        api.err(
            "fibery.entity/create",
            json!({"type": "Ops/Issue", "entity": {"Ops/Title": "x"}})
        )
        .await,
        "entity.error/unique-constraint-violation"
    );
    assert_eq!(
        api.err(
            "fibery.entity/query",
            json!({"query": {"q/from": "Ops/Ticket", "q/select": ["fibery/id"], "q/limit": 1}})
        )
        .await,
        "entity.error/schema-type-not-found"
    );
    let env = api.cmd("fibery.schema/batch", json!({"commands": [{"command": "schema.field/delete", "args": {"holder-type": "Ops/Issue", "name": "Ops/Title"}}]})).await;
    assert_eq!(env["result"]["name"], "schema.error/field-has-values");
    let env = api
        .cmd(
            "fibery.schema/batch",
            json!({"commands": [{"command": "schema.type/delete", "args": {"name": "Ops/Issue"}}]}),
        )
        .await;
    assert_eq!(env["result"]["name"], "schema.error/type-has-entities");
    api.ok("fibery.schema/batch", json!({"commands": [{"command": "schema.type/delete", "args": {"name": "Ops/Issue", "delete-entities?": true}}]})).await;
    assert!(emu.entities("Ops/Issue").is_empty());
    let _ = t;
    // Mandatory fields are enforced for domain types; a failing batch changes nothing.
    let env = api.cmd("fibery.schema/batch", json!({"commands": [
        {"command": "schema.enum/create", "args": {"fibery/name": "Ops/X_Ops/Y"}},
        {"command": "schema.type/create", "args": {"fibery/name": "Ops/Y", "fibery/meta": {"fibery/domain?": true}, "fibery/fields": []}}]})).await;
    assert_eq!(
        env["result"]["name"],
        "schema.error/mandatory-field-missing"
    );
    let s = api.ok("fibery.schema/query", json!({})).await;
    assert!(
        !s["fibery/types"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["fibery/name"] == "Ops/X_Ops/Y")
    );
}

#[tokio::test]
async fn documents_secrets_formats_and_commands() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let id = api.task("doc", json!({})).await;
    let rows = api.query(json!({"q/from": "Projects/Task", "q/select": ["fibery/id", {"Projects/Description": ["Collaboration~Documents/secret"]}],
        "q/where": ["=", ["fibery/id"], "$id"], "q/limit": 1}), json!({"$id": id})).await;
    let secret = rows[0]["Projects/Description"]["Collaboration~Documents/secret"]
        .as_str()
        .unwrap()
        .to_string();
    let alias = api.query(json!({"q/from": "Projects/Task", "q/select": {"s": ["Projects/Description", "Collaboration~Documents/secret"]}, "q/limit": 1}), json!({})).await;
    assert_eq!(alias[0]["s"], secret.as_str());
    let auth = format!("Token {TOKEN}");
    let url = format!("{}/api/documents/{secret}", emu.base_url());
    let r: Value = api
        .http
        .get(format!("{url}?format=md"))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({"secret": secret, "content": ""}));
    let put = api
        .http
        .put(format!("{url}?format=md"))
        .header("Authorization", &auth)
        .json(&json!({"content": "# Hi\n\nSome **bold** text"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let get = |fmt: &'static str| {
        let (http, url, auth) = (api.http.clone(), url.clone(), auth.clone());
        async move {
            http.get(format!("{url}?format={fmt}"))
                .header("Authorization", auth)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["content"]
                .clone()
        }
    };
    assert_eq!(get("md").await, "# Hi\n\nSome **bold** text");
    assert_eq!(
        get("html").await,
        "<h1>Hi</h1><p>Some <strong>bold</strong> text</p>"
    );
    assert_eq!(get("plain-text").await, "Hi\nSome bold text");
    assert_eq!(get("json").await["doc"]["content"][0]["type"], "heading");
    // Batch commands: create-or-update creates unknown secrets; append appends.
    let cmd_url = format!("{}/api/documents/commands?format=md", emu.base_url());
    let fresh = "9f0e0000-0000-4000-8000-00000000abcd";
    let r = api.http.post(&cmd_url).header("Authorization", &auth)
        .json(&json!({"command": "create-or-update-documents", "args": [{"secret": fresh, "content": "one"}]})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    api.http.post(&cmd_url).header("Authorization", &auth)
        .json(&json!({"command": "create-or-append-documents", "args": [{"secret": fresh, "content": "two"}]})).send().await.unwrap();
    let r: Value = api
        .http
        .post(format!(
            "{}/api/documents/commands?format=html",
            emu.base_url()
        ))
        .header("Authorization", &auth)
        .json(&json!({"command": "get-documents", "args": [{"secret": fresh}, {"secret": secret}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        r[0],
        json!({"secret": fresh, "content": "<p>one</p><p>two</p>"})
    );
    assert_eq!(r[1]["secret"], secret.as_str());
    // PUT in json format converts back to markdown.
    api.http.put(format!("{url}?format=json")).header("Authorization", &auth)
        .json(&json!({"content": {"doc": {"type": "doc", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "from json"}]}]}}}))
        .send().await.unwrap();
    assert_eq!(get("md").await, "from json");
    let r = api.get("/api/documents/nope?format=md").await;
    assert_eq!(r.status(), 404);
    let r = api
        .http
        .get(format!("{url}?format=docx"))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn files_upload_download_attach_and_from_url() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let auth = format!("Token {TOKEN}");
    let part = reqwest::multipart::Part::bytes(b"hello file".to_vec())
        .file_name("a.txt")
        .mime_str("text/plain")
        .unwrap();
    let r = api
        .http
        .post(format!("{}/api/files", emu.base_url()))
        .header("Authorization", &auth)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let f: Value = r.json().await.unwrap();
    assert_eq!(f["fibery/name"], "a.txt");
    assert_eq!(f["fibery/content-type"], "text/plain");
    assert_eq!(f["fibery/content-length"], 10);
    let secret = f["fibery/secret"].as_str().unwrap();
    let got = api.get(&format!("/api/files/{secret}")).await;
    assert_eq!(got.headers()["content-type"], "text/plain");
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"hello file");
    // Attach through the files collection and read it back with a sub-query.
    let t = api.task("with file", json!({})).await;
    api.ok("fibery.entity/add-collection-items", json!({"type": "Projects/Task", "field": "Files/Files", "entity": {"fibery/id": t}, "items": [{"fibery/id": f["fibery/id"]}]})).await;
    let rows = api.query(json!({"q/from": "Projects/Task", "q/select": [{"Files/Files": {"q/select": ["fibery/name", "fibery/secret"], "q/limit": 100}}], "q/limit": 1}), json!({})).await;
    assert_eq!(
        rows[0]["Files/Files"],
        json!([{"fibery/name": "a.txt", "fibery/secret": secret}])
    );
    // from-url: loopback only (fetch from the emulator's own file endpoint is not possible without auth,
    // so serve a tiny file from a local listener).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/pic.png",
            axum::routing::get(|| async { ([("content-type", "image/png")], vec![1u8, 2, 3]) }),
        );
        let _ = axum::serve(listener, app).await;
    });
    let r: Value = api
        .http
        .post(format!("{}/api/files/from-url", emu.base_url()))
        .header("Authorization", &auth)
        .json(&json!({"url": format!("http://{addr}/pic.png")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["fibery/name"], "pic.png");
    assert_eq!(r["fibery/content-type"], "image/png");
    assert_eq!(r["fibery/content-length"], 3);
    let r = api
        .http
        .post(format!("{}/api/files/from-url", emu.base_url()))
        .header("Authorization", &auth)
        .json(&json!({"url": "https://example.com/x.png"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("loopback"));
    assert_eq!(emu.entities("fibery/file").len(), 2);
}

#[tokio::test]
async fn webhooks_crud_and_delivery_to_loopback() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(v);
                    "ok"
                }
            }),
        );
        let _ = axum::serve(listener, app).await;
    });
    let hook = json!({"url": format!("http://{addr}/hook"), "type": "Projects/Task"});
    let w: Value = api
        .post_json("/api/webhooks/v2", &hook)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(w["id"], 1);
    assert_eq!(w["state"], "active");
    assert_eq!(w["version"], "2");
    assert_eq!(w["runs"], json!([]));
    let (st, _) = api.raw(&json!([{"command": "fibery.entity/create", "correlationId": "corr-1",
        "args": {"type": "Projects/Task", "entity": {"Projects/Name": "hooked", "Projects/Estimate": "2.5"}}}])).await;
    assert_eq!(st, 200);
    let ev = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ev["command"]["correlationId"], "corr-1");
    assert_eq!(ev["authorId"], emu.user_id());
    assert_eq!(ev["effects"][0]["effect"], "fibery.entity/create");
    assert_eq!(ev["effects"][0]["type"], "Projects/Task");
    assert_eq!(ev["effects"][0]["values"]["Projects/Estimate"], "2.5");
    let id = ev["effects"][0]["id"].as_str().unwrap().to_string();
    api.ok(
        "fibery.entity/update",
        json!({"type": "Projects/Task", "entity": {"fibery/id": id, "Projects/Name": "renamed"}}),
    )
    .await;
    let ev = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ev["effects"][0]["values"]["Projects/Name"], "renamed");
    assert_eq!(ev["effects"][0]["valuesBefore"]["Projects/Name"], "hooked");
    assert!(ev["sequenceId"].as_u64().unwrap() >= 2);
    // Other types do not trigger this hook.
    api.create("Projects/Project", json!({"Projects/Name": "quiet"}))
        .await;
    let list: Value = api.get_json("/api/webhooks/v2").await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    let delete = || {
        api.req(reqwest::Method::DELETE, "/api/webhooks/v2/1")
            .send()
    };
    assert!(delete().await.unwrap().status().is_success());
    assert_eq!(delete().await.unwrap().status(), 404);
    assert!(rx.try_recv().is_err(), "no delivery for Projects/Project");
}

#[tokio::test]
async fn huge_bodies_get_413_and_state_survives() {
    let emu = common::pm_builder()
        .max_body_bytes(1024)
        .start()
        .await
        .unwrap();
    let api = Api::new(&emu);
    let big = "x".repeat(4096);
    let r = api.http.post(format!("{}/api/commands", api.base)).header("Authorization", format!("Token {TOKEN}"))
        .header("content-type", "application/json")
        .body(format!("[{{\"command\": \"fibery.entity/create\", \"args\": {{\"type\": \"Projects/Task\", \"entity\": {{\"Projects/Name\": \"{big}\"}}}}}}]"))
        .send().await.unwrap();
    assert_eq!(r.status(), 413);
    assert!(emu.entities("Projects/Task").is_empty());
    api.task("small", json!({})).await;
    assert_eq!(emu.entities("Projects/Task").len(), 1);
}

#[tokio::test]
async fn garbage_inputs_never_break_the_server() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let junk = [
        json!(null),
        json!(5),
        json!("str"),
        json!([1, 2]),
        json!([{"command": 5}]),
        json!({"args": {}}),
        json!([{"command": "fibery.entity/create", "args": {"type": 1, "entity": []}}]),
        json!([{"command": "fibery.entity/query", "args": {"query": {"q/from": "Projects/Task", "q/select": 5, "q/limit": -1}}}]),
        json!([{"command": "fibery.entity/query", "args": {"query": {"q/from": "Projects/Task", "q/select": [[]], "q/where": [], "q/limit": 1}}}]),
        json!([{"command": "fibery.entity/query", "args": {"query": {"q/from": "Projects/Task", "q/select": [{"Projects/Name": 3}], "q/where": ["=", [], "$x"], "q/limit": 1}}}]),
        json!([{"command": "fibery.command/batch", "args": {"commands": [{"command": "fibery.command/batch", "args": {"commands": 7}}]}}]),
        json!([{"command": "fibery.entity/add-collection-items", "args": {"type": "Projects/Task", "field": "Projects/Tags", "entity": {"x": 5}}}]),
        json!([{"command": "fibery.schema/batch", "args": {"commands": [{"command": "schema.field/create", "args": {"fibery/holder-type": "Projects/Task"}}]}}]),
    ];
    for j in junk {
        let (st, v) = api.raw(&j).await;
        assert!(st == 200 || st == 500, "{j} -> {st}");
        if st == 200 && v.is_array() {
            assert!(
                v.as_array().unwrap().iter().all(|e| e["success"] == false),
                "{j} -> {v}"
            );
        }
    }
    // Still healthy.
    api.task("alive", json!({})).await;
    assert_eq!(emu.entities("Projects/Task").len(), 1);
}

#[tokio::test]
async fn admin_endpoints_expose_counters_faults_and_log() {
    let emu = pm().await;
    let api = Api::new(&emu);
    api.task("x", json!({})).await;
    let stats: Value = api.admin_json("/_emulator/stats").await;
    assert_eq!(stats["requests"], 1);
    assert_eq!(stats["commands"], 1);
    assert_eq!(stats["entities"].as_u64().unwrap(), emu.stats().entities);
    let f: Value = api
        .http
        .put(format!("{}/_emulator/faults", api.base))
        .header("Authorization", format!("Token {TOKEN}"))
        .json(&json!({"error_5xx": 1.0, "seed": 3}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(f["error_5xx"], 1.0);
    let (st, _) = api.raw(&json!([])).await;
    assert!([500, 502, 503].contains(&st));
    let f: Value = api.admin_json("/_emulator/faults").await;
    assert_eq!(f["seed"], 3);
    let log: Value = api.admin_json("/_emulator/requests").await;
    assert_eq!(log.as_array().unwrap().len(), 2);
    assert_eq!(log[0]["path"], "/api/commands");
    assert_eq!(log[0]["commands"], 1);
    assert_eq!(log[0]["status"], 200);
    let rl = emu.request_log();
    assert_eq!(rl.len(), 2);
    assert!([500, 502, 503].contains(&rl[1].status));
    assert_eq!(emu.stats().faults_injected, 1);
    let r = api
        .http
        .put(format!("{}/_emulator/faults", api.base))
        .header("Authorization", format!("Token {TOKEN}"))
        .header("Content-Type", "application/json")
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

/// The admin JSON is the public `Stats` and `Faults` types: what `GET` serves deserializes to
/// what the Rust API reports, and `PUT` clamps probabilities and caps latency (60 s).
#[tokio::test]
async fn admin_json_is_the_public_stats_and_faults_types() {
    use fibery_emulator::{Faults, Stats};
    use std::time::Duration;
    let emu = pm().await;
    let api = Api::new(&emu);
    api.task("x", json!({})).await;
    let get = |path: &'static str| {
        let http = api.http.clone();
        let url = format!("{}/_emulator/{path}", api.base);
        async move {
            http.get(url)
                .header("Authorization", format!("Token {TOKEN}"))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let stats: Stats = serde_json::from_value(get("stats").await).unwrap();
    assert_eq!(stats, emu.stats());
    assert_eq!((stats.requests, stats.commands), (1, 1));
    emu.set_faults(Faults {
        latency: Duration::from_millis(7),
        seed: 9,
        ..Faults::default()
    });
    let f = get("faults").await;
    assert_eq!(f["latency_ms"], 7, "latency is served in ms: {f}");
    assert_eq!(
        serde_json::from_value::<Faults>(f).unwrap(),
        Faults {
            latency: Duration::from_millis(7),
            seed: 9,
            ..Faults::default()
        }
    );
    let put: Faults = api
        .http
        .put(format!("{}/_emulator/faults", api.base))
        .header("Authorization", format!("Token {TOKEN}"))
        .json(&json!({"drop": 7.5, "rate_limited": -1.0, "latency_ms": 3_600_000}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let want = Faults {
        drop: 1.0,
        latency: Duration::from_secs(60),
        ..Faults::default()
    };
    assert_eq!(put, want);
    assert_eq!(
        serde_json::from_value::<Faults>(get("faults").await).unwrap(),
        want
    );
}

#[tokio::test]
async fn failed_batches_undo_relations_counters_and_documents() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let p = api.project("P").await;
    let docs_before = emu.stats().entities;
    let t = "7a000000-0000-4000-8000-000000000001";
    let env = api.cmd("fibery.command/batch", json!({"commands": [
        {"command": "fibery.entity/create", "args": {"type": "Projects/Task", "entity": {"fibery/id": t, "Projects/Name": "x", "Projects/Project": {"fibery/id": p}}}},
        {"command": "fibery.entity/update", "args": {"type": "Projects/Project", "entity": {"fibery/id": p, "Projects/Name": "renamed"}}},
        {"command": "fibery.entity.batch/create-or-update", "args": {"type": "Projects/Task", "conflict-field": "Projects/External Id",
            "conflict-action": "update-latest", "entities": [{"fibery/id": "7a000000-0000-4000-8000-000000000002", "Projects/External Id": "E"}]}},
        {"command": "fibery.entity/delete", "args": {"type": "Projects/Task", "entity": {"fibery/id": "7a000000-0000-4000-8000-0000000000ff"}}}]})).await;
    assert_eq!(env["result"]["name"], "entity.error/not-found");
    let proj = &emu.entities("Projects/Project")[0];
    assert_eq!(proj["Projects/Name"], "P");
    assert_eq!(proj["Projects/Tasks"], json!([]));
    assert!(emu.entities("Projects/Task").is_empty());
    assert_eq!(emu.stats().entities, docs_before);
    // Counters and indexes are as before: the next task is public id 1 and "E" is free.
    let r = api
        .create(
            "Projects/Task",
            json!({"Projects/Name": "y", "Projects/External Id": "E"}),
        )
        .await;
    assert_eq!(r["fibery/public-id"], "1");
    let up = api.ok("fibery.entity.batch/create-or-update", json!({"type": "Projects/Task", "conflict-field": "Projects/External Id",
        "conflict-action": "skip-create", "entities": [{"fibery/id": "7a000000-0000-4000-8000-000000000003", "Projects/External Id": "E"}]})).await;
    assert_eq!(up[0]["action"], "skip-create");
    // After an update the conflict index follows the new value.
    api.ok("fibery.entity/update", json!({"type": "Projects/Task", "entity": {"fibery/id": r["fibery/id"], "Projects/External Id": "F"}})).await;
    let up = api.ok("fibery.entity.batch/create-or-update", json!({"type": "Projects/Task", "conflict-field": "Projects/External Id",
        "conflict-action": "skip-create", "entities": [{"fibery/id": "7a000000-0000-4000-8000-000000000004", "Projects/External Id": "E"},
        {"fibery/id": "7a000000-0000-4000-8000-000000000005", "Projects/External Id": "F"}]})).await;
    assert_eq!(
        (up[0]["action"].as_str(), up[1]["action"].as_str()),
        (Some("create"), Some("skip-create"))
    );
}
