//! Seeded random commands built from Fibery's vocabulary: the emulator answers every one with
//! an envelope or a Fibery-shaped 500, never crashes, and keeps serving.

mod common;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

/// Fibery's vocabulary (each word once).
const WORDS: &[&str] = &[
    // Query clauses, each followed by what it takes.
    "q/from",
    "Projects/Task",
    "Projects/Project",
    "q/select",
    "fibery/id",
    "fibery/public-id",
    "Projects/Name",
    "Projects/Effort",
    "Projects/Estimate",
    "Projects/Description",
    "Projects/Tags",
    "Projects/Tasks",
    "workflow/state",
    "enum/name",
    "Collaboration~Documents/secret",
    "q/count",
    "q/sum",
    "q/where",
    "q/and",
    "q/or",
    "=",
    "<",
    "q/in",
    "q/not-in",
    "q/contains",
    "q/null?",
    "q/start",
    "$p",
    "$my-id",
    "q/order-by",
    "q/asc",
    "q/desc",
    "q/limit",
    "q/no-limit",
    "q/offset",
    // Command args.
    "type",
    "entity",
    "field",
    "items",
    "entities",
    "conflict-field",
    "conflict-action",
    "update-latest",
    "commands",
    "query",
    "params",
];
const COMMANDS: &[&str] = &[
    "fibery.entity/query",
    "fibery.entity/create",
    "fibery.entity/update",
    "fibery.entity/delete",
    "fibery.entity/add-collection-items",
    "fibery.entity/remove-collection-items",
    "fibery.command/batch",
    "fibery.entity.batch/create-or-update",
    "fibery.schema/batch",
    "fibery.entity/set-collection-items",
];

fn value(rng: &mut StdRng, depth: u32) -> Value {
    let pick = if depth > 3 {
        rng.random_range(0..5)
    } else {
        rng.random_range(0..8)
    };
    match pick {
        0 => Value::Null,
        1 => json!(rng.random_range(-3..1000)),
        2 => json!(rng.random_bool(0.5)),
        3 | 4 => json!(WORDS[rng.random_range(0..WORDS.len())]),
        5 | 6 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.random_range(0..4) {
                m.insert(
                    WORDS[rng.random_range(0..WORDS.len())].to_string(),
                    value(rng, depth + 1),
                );
            }
            Value::Object(m)
        }
    }
}

fn command(rng: &mut StdRng) -> Value {
    let name = COMMANDS[rng.random_range(0..COMMANDS.len())];
    let mut args = match value(rng, 1) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if rng.random_bool(0.6) {
        args.insert(
            "type".into(),
            json!(["Projects/Task", "Projects/Project", "Nope/X"][rng.random_range(0..3)]),
        );
    }
    if name == "fibery.entity/query" {
        let mut q = Map::new();
        for k in ["q/from", "q/select", "q/where", "q/limit", "q/order-by"] {
            if rng.random_bool(0.7) {
                q.insert(
                    k.into(),
                    if k == "q/from" {
                        json!("Projects/Task")
                    } else {
                        value(rng, 2)
                    },
                );
            }
        }
        args.insert("query".into(), Value::Object(q));
    }
    json!({"command": name, "args": args})
}

#[tokio::test]
async fn random_commands_never_break_the_emulator() {
    let emu = common::pm().await;
    let api = common::Api::new(&emu);
    api.task("seed", json!({"Projects/Effort": 1})).await;
    let mut rng = StdRng::seed_from_u64(20261123);
    for _ in 0..300 {
        let n = rng.random_range(1..4);
        let body = Value::Array((0..n).map(|_| command(&mut rng)).collect());
        let (st, v) = api.raw(&body).await;
        match st {
            200 => assert_eq!(v.as_array().map(Vec::len), Some(n), "{body} -> {v}"),
            500 => assert!(
                v["name"].is_string() && v["message"].is_string(),
                "{body} -> {v}"
            ),
            other => panic!("{body} -> HTTP {other}"),
        }
    }
    // Still consistent and serving.
    let rows = api
        .query(
            json!({"q/from": "Projects/Task", "q/select": ["fibery/id"], "q/limit": "q/no-limit"}),
            json!({}),
        )
        .await;
    assert_eq!(
        rows.as_array().unwrap().len(),
        emu.entities("Projects/Task").len()
    );
}
