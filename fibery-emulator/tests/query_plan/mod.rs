//! Queries the id index answers (keyset pages, id equality, `q/in`, id ranges) give the same
//! rows as the full scan would.

use serde_json::{Value, json};

use crate::common::{Api, pm};

async fn tasks(api: &Api, n: usize) -> Vec<(String, i64)> {
    let creates: Vec<Value> = (0..n)
        .map(|i| {
            json!({"command": "fibery.entity/create", "args": {"type": "Projects/Task",
            "entity": {"Projects/Name": format!("t{i}"), "Projects/Effort": i % 4}}})
        })
        .collect();
    let (st, out) = api.raw(&Value::Array(creates)).await;
    assert_eq!(st, 200);
    let mut all: Vec<(String, i64)> = out
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let r = &e["result"];
            (
                r["fibery/id"].as_str().unwrap().to_string(),
                r["Projects/Effort"].as_i64().unwrap(),
            )
        })
        .collect();
    all.sort();
    all
}

async fn ids(
    api: &Api,
    filter: Value,
    order: &str,
    limit: u64,
    offset: u64,
    params: Value,
) -> Vec<String> {
    let mut q = json!({"q/from": "Projects/Task", "q/select": ["fibery/id"],
        "q/order-by": [[["fibery/id"], order]], "q/limit": limit, "q/offset": offset});
    if !filter.is_null() {
        q["q/where"] = filter;
    }
    api.query(q, params)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fibery/id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn keyset_pages_walk_every_id_in_order_both_ways() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let all = tasks(&api, 30).await;
    let want: Vec<String> = all.iter().map(|(i, _)| i.clone()).collect();
    let mut got = ids(&api, Value::Null, "q/asc", 7, 0, json!({})).await;
    while got.len() < want.len() {
        let cursor = got.last().unwrap().clone();
        let page = ids(
            &api,
            json!([">", ["fibery/id"], "$c"]),
            "q/asc",
            7,
            0,
            json!({"$c": cursor}),
        )
        .await;
        assert!(!page.is_empty());
        got.extend(page);
    }
    assert_eq!(got, want);
    // Descending, below a cursor, with another condition and an offset.
    let cursor = &want[20];
    let page = ids(
        &api,
        json!([
            "q/and",
            ["<", ["fibery/id"], "$c"],
            ["=", ["Projects/Effort"], "$e"]
        ]),
        "q/desc",
        3,
        1,
        json!({"$c": cursor, "$e": 2}),
    )
    .await;
    let expect: Vec<String> = all[..20]
        .iter()
        .rev()
        .filter(|(_, e)| *e == 2)
        .skip(1)
        .take(3)
        .map(|(i, _)| i.clone())
        .collect();
    assert_eq!(page, expect);
}

#[tokio::test]
async fn id_equality_in_and_ranges_narrow_without_changing_results() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let all = tasks(&api, 12).await;
    let want: Vec<String> = all.iter().map(|(i, _)| i.clone()).collect();
    let one = ids(
        &api,
        json!(["=", ["fibery/id"], "$id"]),
        "q/asc",
        5,
        0,
        json!({"$id": want[4]}),
    )
    .await;
    assert_eq!(one, vec![want[4].clone()]);
    let none = ids(
        &api,
        json!(["=", ["fibery/id"], "$id"]),
        "q/asc",
        5,
        0,
        json!({"$id": "nope"}),
    )
    .await;
    assert!(none.is_empty());
    // q/in intersected with a range: only the listed ids at or after the bound.
    let picked = json!([want[1], want[5], want[9], "missing"]);
    let got = ids(
        &api,
        json!([
            "q/and",
            ["q/in", ["fibery/id"], "$ids"],
            [">=", ["fibery/id"], "$lo"]
        ]),
        "q/desc",
        10,
        0,
        json!({"$ids": picked, "$lo": want[5]}),
    )
    .await;
    assert_eq!(got, vec![want[9].clone(), want[5].clone()]);
    // A range ordered by another key goes through the sort: same rows.
    let q = json!({"q/from": "Projects/Task", "q/select": ["fibery/id"],
        "q/where": ["q/and", [">", ["fibery/id"], "$lo"], ["<=", ["fibery/id"], "$hi"]],
        "q/order-by": [[["Projects/Name"], "q/asc"]], "q/limit": 100});
    let rows = api.query(q, json!({"$lo": want[2], "$hi": want[6]})).await;
    let mut got: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["fibery/id"].as_str().unwrap().to_string())
        .collect();
    got.sort();
    assert_eq!(got, want[3..=6].to_vec());
    // An empty range.
    let empty = ids(
        &api,
        json!([
            "q/and",
            [">", ["fibery/id"], "$lo"],
            ["<", ["fibery/id"], "$hi"]
        ]),
        "q/asc",
        10,
        0,
        json!({"$lo": want[6], "$hi": want[2]}),
    )
    .await;
    assert!(empty.is_empty());
}
