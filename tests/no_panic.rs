//! Property tests: random JSON (arbitrary shapes, biased towards Fibery's query and command
//! vocabulary) fed to fibery-core's parsers and to the emulator's `/api/commands` endpoint
//! never panics. Parsers must answer `Ok` or a typed error; the emulator must answer every
//! request (a handler panic would drop the connection) and stay healthy afterwards.
//!
//! Case counts are modest (CI time); the cargo-fuzz targets in `fuzz/` explore further.

use fibery_core::command::{Command, CommandBatch, CommandResult};
use fibery_core::query::{Query, Select};
use fibery_core::schema::Schema;
use fibery_emulator::Faults;
use fibery_tests::{TASK, TOKEN, emulator, sample_schema};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};

const WORDS: &[&str] = &[
    "q/from",
    "q/select",
    "q/where",
    "q/limit",
    "q/offset",
    "q/order-by",
    "q/and",
    "q/or",
    "q/in",
    "q/not-in",
    "q/count",
    "q/sum",
    "q/asc",
    "q/desc",
    "q/no-limit",
    "q/contains",
    "q/null?",
    "=",
    "!=",
    "<",
    ">=",
    "query",
    "params",
    "command",
    "args",
    "type",
    "entity",
    "entities",
    "commands",
    "conflict-field",
    "fibery/id",
    "fibery/public-id",
    "fibery.entity/query",
    "fibery.entity/create",
    "fibery.entity/update",
    "fibery.entity/delete",
    "fibery.entity.batch/create-or-update",
    "fibery.entity/add-collection-items",
    "fibery.command/batch",
    "fibery.schema/query",
    "fibery.schema/batch",
    "schema.field/create",
    "Projects/Task",
    "Projects/Project",
    "Projects/Name",
    "Projects/Tasks",
    "Projects/Effort",
    "workflow/state",
    "enum/name",
    "$p1",
    "$my-id",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(WORDS).prop_map(str::to_string),
        1 => "[a-zA-Z/$ ?~-]{0,10}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..1000).prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        word().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ]
}

/// Arbitrary JSON whose strings and keys are often Fibery words.
fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((word(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// `{"query": {...}, "params": {...}}` with random parts in the right places.
fn query_args() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just(json!(TASK)),
            Just(json!("Projects/Project")),
            any_json()
        ],
        any_json(),
        proptest::option::of(any_json()),
        proptest::option::of(any_json()),
        prop_oneof![Just(json!(10)), Just(json!("q/no-limit")), leaf()],
        any_json(),
    )
        .prop_map(|(from, select, where_, order, limit, params)| {
            let mut q = Map::new();
            q.insert("q/from".into(), from);
            q.insert("q/select".into(), select);
            if let Some(w) = where_ {
                q.insert("q/where".into(), w);
            }
            if let Some(o) = order {
                q.insert("q/order-by".into(), o);
            }
            q.insert("q/limit".into(), limit);
            json!({"query": q, "params": params})
        })
}

/// A command envelope with a known or random name and random or query-shaped args.
fn command() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            3 => proptest::sample::select(&WORDS[31..42]).prop_map(|s| json!(s)),
            1 => leaf(),
        ],
        prop_oneof![query_args(), any_json()],
    )
        .prop_map(|(name, args)| json!({"command": name, "args": args}))
}

/// A request body: mostly arrays of commands, sometimes anything at all.
fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => proptest::collection::vec(command(), 1..4).prop_map(Value::Array),
        1 => command(),
        1 => any_json(),
    ]
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(384))]

    /// Core's query, command, result and schema parsers answer Ok or a typed error.
    #[test]
    fn core_parsers_never_panic(v in prop_oneof![query_args(), command(), body(), any_json()]) {
        let schema = sample_schema();
        if let Ok(q) = Query::from_args(&v) {
            let _ = schema.check_query(&q);
            let _ = schema.check_query_named(&q);
            // What parsed serializes to arguments that parse again.
            let again = Query::from_args(&q.to_args());
            prop_assert!(again.is_ok(), "re-parse of {} failed: {:?}", q.to_args(), again.err());
        }
        if let Some(q) = v.get("query") {
            let params = v.get("params").and_then(Value::as_object).cloned().unwrap_or_default();
            let _ = Query::from_json(q, &params);
            if let Some(s) = q.get("q/select") {
                let _ = Select::from_json(s);
            }
        }
        if let Ok(c) = Command::from_json(&v) {
            let _ = c.to_json();
            let _ = c.is_idempotent();
        }
        let _ = CommandBatch::from_json(&v);
        let _ = CommandResult::parse_response(&v);
        let _ = CommandResult::from_json(&v);
        let _ = Schema::from_json(&v);
    }
}

#[test]
fn emulator_command_endpoint_never_panics() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emu = rt.block_on(emulator(None, Faults::default()));
    let http = reqwest::Client::new();
    let url = format!("{}/api/commands", emu.base_url());
    let mut runner = TestRunner::new(config(192));
    runner
        .run(&body(), |b| {
            let sent = rt.block_on(
                http.post(&url)
                    .header("Authorization", format!("Token {TOKEN}"))
                    .json(&b)
                    .send(),
            );
            let resp = sent.map_err(|e| {
                TestCaseError::fail(format!("no answer (handler panic?) for {b}: {e}"))
            })?;
            let status = resp.status().as_u16();
            prop_assert!(
                status == 200 || status == 400 || status == 404 || status == 500,
                "status {status} for {b}"
            );
            let text = rt.block_on(resp.text()).unwrap_or_default();
            prop_assert!(
                serde_json::from_str::<Value>(&text).is_ok(),
                "non-JSON answer {text:?} for {b}"
            );
            Ok(())
        })
        .unwrap();
    // Still healthy: the store lock is not poisoned and queries work.
    let rows: Value = rt
        .block_on(async {
            http.post(&url)
                .header("Authorization", format!("Token {TOKEN}"))
                .json(&json!([{"command": "fibery.entity/query", "args": {"query": {
                    "q/from": "Projects/Project", "q/select": ["Projects/Name"], "q/limit": 100}}}]))
                .send()
                .await?
                .json()
                .await
        })
        .unwrap();
    assert_eq!(rows[0]["success"], true, "{rows}");
    assert!(!rows[0]["result"].as_array().unwrap().is_empty());
    rt.block_on(emu.shutdown());
}
