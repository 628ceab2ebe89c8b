//! Bounded query cost: order-by keys, nesting and work per query are capped and answered with
//! `entity.error/query-too-complex`, and the emulator keeps answering afterwards.

use serde_json::{Value, json};

use crate::common::{Api, pm, pm_builder};

const TOO_COMPLEX: &str = "entity.error/query-too-complex";

fn order_keys(n: usize) -> Value {
    let fields = ["Projects/Name", "Projects/Effort", "fibery/id"];
    Value::Array(
        (0..n)
            .map(|i| json!([[fields[i % 3]], if i % 2 == 0 { "q/asc" } else { "q/desc" }]))
            .collect(),
    )
}

fn query(order: Value, filter: Option<Value>) -> Value {
    let mut q = json!({"q/from": "Projects/Task", "q/select": ["Projects/Name"],
        "q/order-by": order, "q/limit": 10});
    if let Some(f) = filter {
        q["q/where"] = f;
    }
    json!({"query": q, "params": {"$e": 1}})
}

#[tokio::test]
async fn order_by_keys_are_capped() {
    let emu = pm().await;
    let api = Api::new(&emu);
    api.task("a", json!({})).await;
    let ok = api
        .cmd("fibery.entity/query", query(order_keys(32), None))
        .await;
    assert_eq!(ok["success"], true, "{ok}");
    let name = api
        .err("fibery.entity/query", query(order_keys(33), None))
        .await;
    assert_eq!(name, TOO_COMPLEX);
}

#[tokio::test]
async fn filter_and_select_nesting_is_capped() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let mut f = json!(["=", ["Projects/Effort"], "$e"]);
    for _ in 0..15 {
        f = json!(["q/and", f, ["=", ["Projects/Effort"], "$e"]]);
    }
    let ok = api
        .cmd("fibery.entity/query", query(json!([]), Some(f.clone())))
        .await;
    assert_eq!(ok["success"], true, "16 levels pass: {ok}");
    let f = json!(["q/or", f, ["=", ["Projects/Effort"], "$e"]]);
    let name = api
        .err("fibery.entity/query", query(json!([]), Some(f)))
        .await;
    assert_eq!(name, TOO_COMPLEX);
    // Seventeen levels of dereferences in a select.
    let mut sel = json!(["fibery/id"]);
    for _ in 0..17 {
        sel = json!([{"Projects/Project": sel}]);
    }
    let q = json!({"query": {"q/from": "Projects/Task", "q/select": sel, "q/limit": 1}});
    assert_eq!(api.err("fibery.entity/query", q).await, TOO_COMPLEX);
}

#[tokio::test]
async fn work_per_query_is_capped_and_the_emulator_keeps_answering() {
    let emu = pm_builder().query_work_budget(2_000).start().await.unwrap();
    let api = Api::new(&emu);
    let creates: Vec<Value> = (0..50)
        .map(|i| {
            json!({"command": "fibery.entity/create", "args": {"type": "Projects/Task",
            "entity": {"Projects/Name": format!("t{i}"), "Projects/Effort": i}}})
        })
        .collect();
    let (st, _) = api.raw(&Value::Array(creates)).await;
    assert_eq!(st, 200);
    // 50 rows, 3 sort keys (with the default tie-breaks): well under 2,000 units.
    let ok = api
        .cmd("fibery.entity/query", query(order_keys(1), None))
        .await;
    assert_eq!(ok["success"], true, "{ok}");
    assert_eq!(ok["result"].as_array().unwrap().len(), 10);
    // 20 keys over the same rows: over the budget.
    let env = api
        .cmd("fibery.entity/query", query(order_keys(20), None))
        .await;
    assert_eq!(env["success"], false, "{env}");
    assert_eq!(env["result"]["name"], TOO_COMPLEX);
    assert_eq!(env["result"]["data"]["budget"], 2_000);
    let again = api
        .cmd("fibery.entity/query", query(order_keys(1), None))
        .await;
    assert_eq!(again["result"], ok["result"]);
}

/// A query over the light lane's budget (1,000,000 units) is run again with the full one:
/// it succeeds under the full budget, and over it the error names the full budget.
#[tokio::test]
async fn queries_over_the_light_lane_budget_run_with_the_full_budget() {
    let emu = pm_builder()
        .query_work_budget(1_500_000)
        .start()
        .await
        .unwrap();
    let api = Api::new(&emu);
    for chunk in 0..8 {
        let creates: Vec<Value> = (0..500)
            .map(|i| {
                json!({"command": "fibery.entity/create", "args": {"type": "Projects/Task",
                "entity": {"Projects/Name": format!("t{chunk}-{i:03}"), "Projects/Effort": i % 7}}})
            })
            .collect();
        let (st, _) = api.raw(&Value::Array(creates)).await;
        assert_eq!(st, 200);
    }
    // 4,000 rows, 22 sort keys: about 1,060,000 units, over the light lane's budget.
    let heavy = json!({"command": "fibery.entity/query", "args": query(order_keys(20), None)});
    let light = json!({"command": "fibery.entity/query", "args": query(json!([]), None)});
    let (st, both) = api.raw(&json!([light, heavy])).await;
    assert_eq!(st, 200);
    assert_eq!(both[0]["success"], true, "{both}");
    assert_eq!(both[1]["success"], true, "{both}");
    let names: Vec<&str> = both[1]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Projects/Name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "t0-000");
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
    // 34 keys: about 1,630,000 units, over the full budget too.
    let env = api
        .cmd("fibery.entity/query", query(order_keys(32), None))
        .await;
    assert_eq!(env["result"]["name"], TOO_COMPLEX, "{env}");
    assert_eq!(env["result"]["data"]["budget"], 1_500_000);
}
