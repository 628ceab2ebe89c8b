//! Queries the id index answers (keyset pages, id equality, `q/in`, id ranges) give the same
//! rows as the full scan would.

use serde_json::{Value, json};

use crate::common::{Api, pm, pm_builder};

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

/// Names of the tasks a filter selects, sorted.
async fn names(api: &Api, filter: Value, params: Value) -> Vec<String> {
    let q = json!({"q/from": "Projects/Task", "q/select": ["Projects/Name"],
        "q/where": filter, "q/limit": "q/no-limit"});
    let mut out: Vec<String> = api
        .query(q, params)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Projects/Name"].as_str().unwrap().to_string())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn value_index_answers_text_equality_and_in_and_follows_updates() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let all = tasks(&api, 12).await;
    let eq = |v: &str| (json!(["=", ["Projects/Name"], "$v"]), json!({"$v": v}));
    let (f, p) = eq("t3");
    assert_eq!(names(&api, f.clone(), p.clone()).await, ["t3"]);
    let t3 = api
        .query(
            json!({"q/from": "Projects/Task", "q/select": ["fibery/id"],
        "q/where": f.clone(), "q/limit": 1}),
            p.clone(),
        )
        .await[0]["fibery/id"]
        .clone();
    assert!(all.iter().any(|(id, _)| json!(id) == t3));
    api.ok(
        "fibery.entity/update",
        json!({"type": "Projects/Task",
        "entity": {"fibery/id": t3, "Projects/Name": "renamed"}}),
    )
    .await;
    assert!(names(&api, f, p).await.is_empty());
    let (f, p) = eq("renamed");
    assert_eq!(names(&api, f, p).await, ["renamed"]);
    let within = json!([
        "q/and",
        ["q/in", ["Projects/Name"], "$names"],
        ["=", ["Projects/Effort"], "$effort"]
    ]);
    let got = names(
        &api,
        within,
        json!({"$names": ["t1", "t5", "t6", "nope"], "$effort": 1}),
    )
    .await;
    assert_eq!(got, ["t1", "t5"]);
    let many = json!(["q/in", ["Projects/Name"], "$names"]);
    let got = names(&api, many, json!({"$names": ["t1", "t2", "t3", "t11"]})).await;
    assert_eq!(got, ["t1", "t11", "t2"]);
}

#[tokio::test]
async fn value_index_answers_single_reference_filters_as_relations_move() {
    let emu = pm().await;
    let api = Api::new(&emu);
    let (a, b) = (api.project("A").await, api.project("B").await);
    let mut ids = vec![];
    for i in 0..6 {
        let project = if i % 2 == 0 { &a } else { &b };
        ids.push(
            api.task(
                &format!("t{i}"),
                json!({"Projects/Project": {"fibery/id": project}}),
            )
            .await,
        );
    }
    let in_project = json!(["=", ["Projects/Project", "fibery/id"], "$p"]);
    assert_eq!(
        names(&api, in_project.clone(), json!({"$p": a})).await,
        ["t0", "t2", "t4"]
    );
    // Moved by an update of the task, then by adding it to the other project's collection.
    api.ok(
        "fibery.entity/update",
        json!({"type": "Projects/Task",
        "entity": {"fibery/id": ids[0], "Projects/Project": {"fibery/id": b}}}),
    )
    .await;
    api.ok(
        "fibery.entity/add-collection-items",
        json!({"type": "Projects/Project",
        "field": "Projects/Tasks", "entity": {a.clone(): [ids[1].clone()]}}),
    )
    .await;
    assert_eq!(
        names(&api, in_project.clone(), json!({"$p": a})).await,
        ["t1", "t2", "t4"]
    );
    assert_eq!(
        names(&api, in_project, json!({"$p": b})).await,
        ["t0", "t3", "t5"]
    );
    let either = json!(["q/in", ["Projects/Project", "fibery/id"], "$ps"]);
    api.ok(
        "fibery.entity/delete",
        json!({"type": "Projects/Task", "entity": {"fibery/id": ids[2]}}),
    )
    .await;
    let got = names(&api, either, json!({"$ps": [a, b]})).await;
    assert_eq!(got, ["t0", "t1", "t3", "t4", "t5"]);
}

#[tokio::test]
async fn indexed_equality_reads_only_its_candidates() {
    // 200 rows with a 2-condition filter cost 200 * 3 units to scan: over a budget of 300.
    let emu = pm_builder().query_work_budget(300).start().await.unwrap();
    let api = Api::new(&emu);
    tasks(&api, 200).await;
    let q = |filter: Value| {
        json!({"query": {"q/from": "Projects/Task", "q/select": ["Projects/Name"],
        "q/where": filter, "q/limit": 10}, "params": {"$v": "t7", "$e": 3}})
    };
    let indexed = json!([
        "q/and",
        ["=", ["Projects/Name"], "$v"],
        ["=", ["Projects/Effort"], "$e"]
    ]);
    let env = api.cmd("fibery.entity/query", q(indexed)).await;
    assert_eq!(env["result"], json!([{"Projects/Name": "t7"}]), "{env}");
    let scanned = json!([
        "q/and",
        ["=", ["Projects/Effort"], "$e"],
        ["!=", ["Projects/Name"], "$v"]
    ]);
    let env = api.cmd("fibery.entity/query", q(scanned)).await;
    assert_eq!(env["success"], false, "{env}");
    assert_eq!(env["result"]["name"], "entity.error/query-too-complex");
}
