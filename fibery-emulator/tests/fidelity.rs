//! Behaviour settled against Fibery's sources in issue 13 (see FIDELITY.md), over HTTP.

mod common;

use common::{Api, pm, pm_schema_json, pm_schema_only_builder};
use serde_json::{Value, json};

/// The element of the JSON array `list` whose `fibery/name` is `name`.
fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    let items = list.as_array().unwrap();
    items.iter().find(|t| t["fibery/name"] == name).unwrap()
}

/// The schema's `fibery/default-value` for `workflow/state` names this state id.
fn task_state_default_id() -> String {
    let s = pm_schema_json();
    let task = named(&s["fibery/types"], "Projects/Task");
    let f = named(&task["fibery/fields"], "workflow/state");
    f["fibery/meta"]["fibery/default-value"]["fibery/id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// An emulator on the project-management fixture whose batches fail partially.
async fn partial_batches() -> fibery_emulator::Emulator {
    let b = common::pm_builder().batch_failure(fibery_emulator::BatchFailure::Partial);
    b.start().await.unwrap()
}

#[tokio::test]
async fn schema_without_seed_gives_new_entities_the_default_workflow_state() {
    let emu = pm_schema_only_builder().start().await.unwrap();
    let api = Api::new(&emu);
    let id = api.task("no state given", json!({})).await;
    let rows = api
        .query(
            json!({"q/from": "Projects/Task",
                   "q/select": {"s": ["workflow/state", "enum/name"],
                                "sid": ["workflow/state", "fibery/id"]},
                   "q/where": ["=", ["fibery/id"], "$id"], "q/limit": 1}),
            json!({"$id": id}),
        )
        .await;
    assert_eq!(rows[0]["s"], "Open", "{rows}");
    assert_eq!(rows[0]["sid"], json!(task_state_default_id()));
}

fn create_project(name: &str) -> Value {
    json!({"command": "fibery.entity/create",
           "args": {"type": "Projects/Project", "entity": {"Projects/Name": name}}})
}

#[tokio::test]
async fn inline_values_in_where_are_refused_naming_the_operand() {
    let emu = pm().await;
    let api = Api::new(&emu);
    api.project("Alpha").await;
    let q = |right: Value| {
        json!({"query": {"q/from": "Projects/Project", "q/select": ["Projects/Name"],
                         "q/where": ["=", ["Projects/Name"], right], "q/limit": 10}})
    };
    for inline in [json!("Alpha"), json!(3), json!(true), json!(null)] {
        let env = api.cmd("fibery.entity/query", q(inline.clone())).await;
        assert_eq!(env["success"], false, "{inline}: {env}");
        assert_eq!(env["result"]["name"], "entity.error/query-expr-invalid");
        assert_eq!(env["result"]["data"]["expr"], inline);
    }
    // In a sub-query and inside q/and too.
    let sub = json!({"query": {"q/from": "Projects/Project",
        "q/select": [{"Projects/Tasks": {"q/select": ["Projects/Name"],
                      "q/where": ["q/and", ["=", ["Projects/Name"], "x"]], "q/limit": 10}}],
        "q/limit": 10}});
    let env = api.cmd("fibery.entity/query", sub).await;
    assert_eq!(env["result"]["data"]["expr"], "x", "{env}");
    // The $param form works.
    let mut ok = q(json!("$n"));
    ok["params"] = json!({"$n": "Alpha"});
    assert_eq!(
        api.ok("fibery.entity/query", ok)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn inline_values_are_accepted_when_allowed() {
    let emu = common::pm_builder()
        .allow_inline_values(true)
        .start()
        .await
        .unwrap();
    let api = Api::new(&emu);
    api.project("Alpha").await;
    api.project("Beta").await;
    let rows = api
        .query(
            json!({"q/from": "Projects/Project", "q/select": ["Projects/Name"],
                   "q/where": ["=", ["Projects/Name"], "Beta"], "q/limit": 10}),
            json!({}),
        )
        .await;
    assert_eq!(rows, json!([{"Projects/Name": "Beta"}]));
}

#[tokio::test]
async fn unknown_command_inside_a_batch_fails_in_an_envelope_not_http_500() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let body = json!([{"command": "fibery.command/batch", "args": {"commands": [
        create_project("kept?"), {"command": "fibery.entity/nope", "args": {}}]}}]);
    let (st, v) = api.raw(&body).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v[0]["success"], false);
    assert_eq!(v[0]["result"]["name"], "command/not-found");
    assert!(
        emu.entities("Projects/Project").is_empty(),
        "atomic batch rolled back"
    );
    // Partial mode: the envelope at its index carries it; the create before it stays.
    let emu = partial_batches().await;
    let (st, v) = Api::new(&emu).raw(&body).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v[0]["success"], true, "{v}");
    assert_eq!(v[0]["result"][0]["success"], true);
    assert_eq!(v[0]["result"][1]["success"], false);
    assert_eq!(v[0]["result"][1]["result"]["name"], "command/not-found");
    assert_eq!(emu.entities("Projects/Project").len(), 1);
    // At top level an unknown command is still HTTP 500.
    let (st, _) = api.raw(&json!([{"command": "fibery.entity/nope"}])).await;
    assert_eq!(st, 500);
}

#[tokio::test]
async fn batch_failure_is_atomic_by_default_and_partial_when_configured() {
    let bad = json!({"command": "fibery.entity/create",
                     "args": {"type": "Projects/Project", "entity": {"Projects/Nope": 1}}});
    let body = json!({"command": "fibery.command/batch", "args": {"commands": [
        create_project("a"), bad, create_project("b")]}});
    let emu = pm().await;
    let (_, v) = Api::new(&emu).raw(&body).await;
    assert_eq!(v["success"], false, "{v}");
    assert_eq!(v["result"]["name"], "entity.error/schema-field-not-found");
    assert!(emu.entities("Projects/Project").is_empty());

    let emu = partial_batches().await;
    let (_, v) = Api::new(&emu).raw(&body).await;
    assert_eq!(v["success"], true, "{v}");
    let inner = v["result"].as_array().unwrap();
    let ok: Vec<&Value> = inner.iter().map(|e| &e["success"]).collect();
    assert_eq!(ok, [&json!(true), &json!(false), &json!(true)]);
    assert_eq!(
        inner[1]["result"]["name"],
        "entity.error/schema-field-not-found"
    );
    assert_eq!(emu.entities("Projects/Project").len(), 2);
}

#[tokio::test]
async fn sub_query_offset_is_refused() {
    let emu = pm().await;
    let api = Api::new(&emu);
    api.project("Alpha").await;
    let env = api
        .cmd(
            "fibery.entity/query",
            json!({"query": {"q/from": "Projects/Project",
                "q/select": [{"Projects/Tasks": {"q/select": ["Projects/Name"],
                              "q/offset": 1, "q/limit": 100}}],
                "q/limit": 10}}),
        )
        .await;
    assert_eq!(env["success"], false, "{env}");
    assert_eq!(env["result"]["name"], "entity.error/query-expr-invalid");
    assert_eq!(env["result"]["data"]["field"], "Projects/Tasks");
    // Top-level q/offset still pages.
    let rows = api
        .query(
            json!({"q/from": "Projects/Project", "q/select": ["Projects/Name"],
                   "q/offset": 1, "q/limit": 10}),
            json!({}),
        )
        .await;
    assert_eq!(rows, json!([]));
}

#[tokio::test]
async fn collection_commands_answer_null_inside_a_batch() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let p = api.project("Alpha").await;
    let t = api.task("t", json!({})).await;
    let change = |cmd: &str| {
        json!({"command": cmd, "args": {"type": "Projects/Project", "field": "Projects/Tasks",
               "entity": {"fibery/id": p}, "items": [{"fibery/id": t}]}})
    };
    let r = api
        .ok(
            "fibery.command/batch",
            json!({"commands": [change("fibery.entity/add-collection-items"),
                                change("fibery.entity/remove-collection-items")]}),
        )
        .await;
    assert_eq!(
        r,
        json!([{"success": true, "result": null}, {"success": true, "result": null}])
    );
    // At top level they still answer "ok".
    let top = api
        .ok(
            "fibery.entity/add-collection-items",
            change("x")["args"].clone(),
        )
        .await;
    assert_eq!(top, json!("ok"));
}

#[tokio::test]
async fn undocumented_contains_ignoring_case_operators_are_refused() {
    let emu = pm().await;
    let api = Api::new(&emu);
    for op in ["q/contains-ignoring-case?", "q/not-contains-ignoring-case?"] {
        let env = api
            .cmd(
                "fibery.entity/query",
                json!({"query": {"q/from": "Projects/Project", "q/select": ["Projects/Name"],
                                 "q/where": [op, ["Projects/Name"], "$s"], "q/limit": 1},
                       "params": {"$s": "a"}}),
            )
            .await;
        assert_eq!(
            env["result"]["name"], "entity.error/query-function-not-supported",
            "{op}: {env}"
        );
    }
}

#[tokio::test]
async fn unknown_type_error_data_carries_schema_version_query_and_params() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let version = api.ok("fibery.schema/query", json!({})).await["fibery/version"].clone();
    let env = api
        .cmd(
            "fibery.entity/query",
            json!({"query": {"q/from": "Ops/Nope", "q/select": ["fibery/id"],
                             "q/where": ["=", ["fibery/id"], "$id"], "q/limit": 1},
                   "params": {"$id": "x"}}),
        )
        .await;
    assert_eq!(env["result"]["name"], "entity.error/schema-type-not-found");
    let data = &env["result"]["data"];
    assert_eq!(data["type"], "Ops/Nope");
    assert_eq!(data["error/schema-version"], version, "{data}");
    assert_eq!(data["query"]["q/from"], "Ops/Nope");
    assert_eq!(data["query"]["q/limit"], 1);
    let p = data["query"]["q/where"][2].as_str().unwrap();
    assert_eq!(data["params"][p], "x", "{data}");
}

#[tokio::test]
async fn install_mixins_is_served_only_inside_the_schema_batch() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let mixins = json!({"command": "fibery.app/install-mixins",
                        "args": {"types": {"Projects/Project": ["Files/Files-mixin"]}}});
    // Top level: an unknown command, refused before anything runs.
    let (st, v) = api.raw(&json!([mixins.clone()])).await;
    assert_eq!(st, 500, "{v}");
    assert_eq!(v["name"], "command/not-found");
    let has_files = |s: &Value| {
        s["fibery/types"].as_array().unwrap().iter().any(|t| {
            t["fibery/name"] == "Projects/Project"
                && t["fibery/fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["fibery/name"] == "Files/Files")
        })
    };
    let before = api.ok("fibery.schema/query", json!({})).await;
    assert!(!has_files(&before), "the fixture has no files on projects");
    // Inside `fibery.schema/batch` it installs the mixin.
    let r = api
        .ok("fibery.schema/batch", json!({"commands": [mixins]}))
        .await;
    assert_eq!(r, json!("ok"));
    assert!(has_files(&api.ok("fibery.schema/query", json!({})).await));
}
