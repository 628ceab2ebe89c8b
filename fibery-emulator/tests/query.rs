//! The query language: every operator, params, paths, sub-queries, aggregates, paging.

mod common;
mod query_cost;
mod query_plan;

use common::{Api, option_id, pm};
use serde_json::{Value, json};

struct Data {
    api: Api,
    _emu: fibery_emulator::Emulator,
    t: Vec<String>,
}

/// Four tasks in two projects (see the table in each test).
async fn data() -> Data {
    let emu = pm().await;
    let api = Api::new(&emu);
    let p1 = api.project("Alpha").await;
    let p2 = api.project("Beta").await;
    let pri = |n: &str| json!({"fibery/id": option_id("Projects/Priority_Projects/Task", n)});
    let t1 = api.task("Fix API bug", json!({"Projects/Effort": 5, "Projects/Estimate": "1.5", "Projects/Due": "2026-01-10",
        "Projects/Done": false, "Projects/Priority": pri("High"), "Projects/Project": {"fibery/id": p1}})).await;
    let t2 = api.task("Write docs", json!({"Projects/Effort": 2, "Projects/Estimate": "10", "Projects/Due": "2026-02-01",
        "Projects/Done": true, "Projects/Priority": pri("Low"), "Projects/Project": {"fibery/id": p2}})).await;
    let t3 = api
        .task(
            "api review",
            json!({"Projects/Done": false, "Projects/External Id": ""}),
        )
        .await;
    let t4 = api.task("Deploy", json!({"Projects/Effort": 8, "Projects/Estimate": "2.25", "Projects/Due": "2026-01-20",
        "Projects/Done": false, "Projects/Priority": pri("High"), "Projects/Project": {"fibery/id": p1}})).await;
    let tag = |n: &str| option_id("Projects/Tags_Projects/Task", n);
    for (t, tags) in [
        (&t1, vec!["api", "backend"]),
        (&t2, vec!["frontend"]),
        (&t4, vec!["backend"]),
    ] {
        api.ok(
            "fibery.entity/add-collection-items",
            json!({"type": "Projects/Task", "field": "Projects/Tags",
            "entity": {t.clone(): tags.iter().map(|n| tag(n)).collect::<Vec<_>>()}}),
        )
        .await;
    }
    Data {
        api,
        _emu: emu,
        t: vec![t1, t2, t3, t4],
    }
}

impl Data {
    /// Names of tasks matching `where` (default order = creation order).
    async fn names(&self, w: Value, params: Value) -> Vec<String> {
        let rows = self.api.query(json!({"q/from": "Projects/Task", "q/select": ["Projects/Name"], "q/where": w, "q/limit": 100}), params).await;
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["Projects/Name"].as_str().unwrap().to_string())
            .collect()
    }
}

fn v(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn comparison_operators() {
    let d = data().await;
    let e = json!(["Projects/Effort"]);
    assert_eq!(
        d.names(json!(["=", e, "$x"]), json!({"$x": 5})).await,
        v(&["Fix API bug"])
    );
    assert_eq!(
        d.names(json!(["!=", e, "$x"]), json!({"$x": 5})).await,
        v(&["Write docs", "api review", "Deploy"])
    );
    assert_eq!(
        d.names(json!(["<", e, "$x"]), json!({"$x": 5})).await,
        v(&["Write docs"])
    );
    assert_eq!(
        d.names(json!(["<=", e, "$x"]), json!({"$x": 5})).await,
        v(&["Fix API bug", "Write docs"])
    );
    assert_eq!(
        d.names(json!([">", e, "$x"]), json!({"$x": 5})).await,
        v(&["Deploy"])
    );
    assert_eq!(
        d.names(json!([">=", e, "$x"]), json!({"$x": 5})).await,
        v(&["Fix API bug", "Deploy"])
    );
    // Decimals compare numerically although stored as strings ("10" > "2.25").
    assert_eq!(
        d.names(
            json!([">", ["Projects/Estimate"], "$x"]),
            json!({"$x": "2"})
        )
        .await,
        v(&["Write docs", "Deploy"])
    );
    // Dates, bools, ids.
    assert_eq!(
        d.names(
            json!(["<", ["Projects/Due"], "$d"]),
            json!({"$d": "2026-01-15"})
        )
        .await,
        v(&["Fix API bug"])
    );
    assert_eq!(
        d.names(json!(["=", ["Projects/Done"], "$b"]), json!({"$b": true}))
            .await,
        v(&["Write docs"])
    );
    assert_eq!(
        d.names(json!(["=", ["fibery/id"], "$id"]), json!({"$id": d.t[3]}))
            .await,
        v(&["Deploy"])
    );
    // Date-time params are normalised (no milliseconds given).
    assert_eq!(
        d.names(
            json!([">", ["fibery/creation-date"], "$t"]),
            json!({"$t": "2000-01-01T00:00:00Z"})
        )
        .await
        .len(),
        4
    );
    // Inline literals are refused unless allowed: see fidelity::inline_values_*.
}

#[tokio::test]
async fn boolean_combinators_nest() {
    let d = data().await;
    let w = json!([
        "q/or",
        [
            "q/and",
            ["=", ["Projects/Done"], "$f"],
            [">", ["Projects/Effort"], "$six"]
        ],
        ["=", ["Projects/Name"], "$docs"]
    ]);
    assert_eq!(
        d.names(w, json!({"$f": false, "$six": 6, "$docs": "Write docs"}))
            .await,
        v(&["Write docs", "Deploy"])
    );
}

#[tokio::test]
async fn paths_through_relations_and_enums() {
    let d = data().await;
    assert_eq!(
        d.names(
            json!(["=", ["Projects/Project", "Projects/Name"], "$p"]),
            json!({"$p": "Alpha"})
        )
        .await,
        v(&["Fix API bug", "Deploy"])
    );
    assert_eq!(
        d.names(
            json!(["=", ["Projects/Priority", "enum/name"], "$p"]),
            json!({"$p": "Low"})
        )
        .await,
        v(&["Write docs"])
    );
    let open = option_id("workflow/state_Projects/Task", "Open");
    // workflow/state defaults to the first state (fixture meta `fibery/default-value`).
    assert_eq!(
        d.names(
            json!(["=", ["workflow/state", "fibery/id"], "$s"]),
            json!({"$s": open})
        )
        .await
        .len(),
        4
    );
    assert_eq!(
        d.names(
            json!(["=", ["workflow/state", "workflow/Final"], "$f"]),
            json!({"$f": true})
        )
        .await
        .len(),
        0
    );
    // Comparing a reference field itself is an error.
    let name = d
        .api
        .err(
            "fibery.entity/query",
            json!({"query": {"q/from": "Projects/Task", "q/select": ["fibery/id"],
        "q/where": ["=", ["Projects/Priority"], "$p"], "q/limit": 1}, "params": {"$p": "Low"}}),
        )
        .await;
    assert_eq!(name, "entity.error/query-primitive-field-expr-invalid");
}

#[tokio::test]
async fn in_and_not_in_with_collection_any_match() {
    let d = data().await;
    assert_eq!(
        d.names(
            json!(["q/in", ["Projects/Effort"], "$l"]),
            json!({"$l": [2, 8, 99]})
        )
        .await,
        v(&["Write docs", "Deploy"])
    );
    assert_eq!(
        d.names(
            json!(["q/not-in", ["Projects/Effort"], "$l"]),
            json!({"$l": [2, 8]})
        )
        .await,
        v(&["Fix API bug", "api review"])
    );
    let backend = option_id("Projects/Tags_Projects/Task", "backend");
    let front = option_id("Projects/Tags_Projects/Task", "frontend");
    assert_eq!(
        d.names(
            json!(["q/in", ["Projects/Tags", "fibery/id"], "$l"]),
            json!({"$l": [backend]})
        )
        .await,
        v(&["Fix API bug", "Deploy"])
    );
    assert_eq!(
        d.names(
            json!(["q/not-in", ["Projects/Tags", "fibery/id"], "$l"]),
            json!({"$l": [backend, front]})
        )
        .await,
        v(&["api review"])
    );
    assert_eq!(
        d.names(
            json!(["=", ["Projects/Tags", "enum/name"], "$n"]),
            json!({"$n": "api"})
        )
        .await,
        v(&["Fix API bug"])
    );
}

#[tokio::test]
async fn text_operators() {
    let d = data().await;
    let n = json!(["Projects/Name"]);
    let q = |op: &str| json!([op, n, "$s"]);
    assert_eq!(
        d.names(q("q/contains"), json!({"$s": "api"})).await,
        v(&["api review"]),
        "q/contains is case-sensitive"
    );
    assert_eq!(
        d.names(q("q/not-contains"), json!({"$s": "api"})).await,
        v(&["Fix API bug", "Write docs", "Deploy"])
    );
    assert_eq!(
        d.names(q("q/equals-ignoring-case?"), json!({"$s": "DEPLOY"}))
            .await,
        v(&["Deploy"])
    );
    assert_eq!(
        d.names(q("q/not-equals-ignoring-case?"), json!({"$s": "DEPLOY"}))
            .await
            .len(),
        3
    );
    assert_eq!(
        d.names(q("q/starts-with-ignoring-case?"), json!({"$s": "WRITE"}))
            .await,
        v(&["Write docs"])
    );
    assert_eq!(
        d.names(q("q/ends-with-ignoring-case?"), json!({"$s": "BUG"}))
            .await,
        v(&["Fix API bug"])
    );
}

#[tokio::test]
async fn null_emptiness_and_count_functions() {
    let d = data().await;
    assert_eq!(
        d.names(
            json!(["=", ["q/null?", ["Projects/Effort"]], "$t"]),
            json!({"$t": true})
        )
        .await,
        v(&["api review"])
    );
    assert_eq!(
        d.names(
            json!(["=", ["q/null?", ["Projects/Project", "fibery/id"]], "$t"]),
            json!({"$t": false})
        )
        .await
        .len(),
        3
    );
    // "" is empty but not null.
    assert_eq!(
        d.names(
            json!(["=", ["q/null-or-empty?", ["Projects/External Id"]], "$t"]),
            json!({"$t": true})
        )
        .await
        .len(),
        4
    );
    assert_eq!(
        d.names(
            json!(["=", ["q/null?", ["Projects/External Id"]], "$t"]),
            json!({"$t": true})
        )
        .await
        .len(),
        3
    );
    assert_eq!(
        d.names(
            json!(["=", ["q/count", ["Projects/Tags", "fibery/id"]], "$z"]),
            json!({"$z": 0})
        )
        .await,
        v(&["api review"])
    );
    assert_eq!(
        d.names(
            json!([">", ["q/count", ["Projects/Tags", "fibery/id"]], "$one"]),
            json!({"$one": 1})
        )
        .await,
        v(&["Fix API bug"])
    );
}

#[tokio::test]
async fn my_id_and_missing_params() {
    let d = data().await;
    let rows = d.api.query(json!({"q/from": "fibery/user", "q/select": ["user/name"], "q/where": ["=", ["fibery/id"], "$my-id"], "q/limit": 1}), json!({})).await;
    assert_eq!(rows, json!([{"user/name": "Emulator User"}]));
    assert_eq!(
        d.names(
            json!(["=", ["fibery/created-by", "fibery/id"], "$my-id"]),
            json!({})
        )
        .await
        .len(),
        4
    );
    let name = d
        .api
        .err(
            "fibery.entity/query",
            json!({"query": {"q/from": "Projects/Task", "q/select": ["fibery/id"],
        "q/where": ["=", ["Projects/Effort"], "$nope"], "q/limit": 1}}),
        )
        .await;
    assert_eq!(name, "entity.error/query-param-not-found");
}

#[tokio::test]
async fn date_range_start_and_end() {
    let emu = common::prims().await;
    let api = Api::new(&emu);
    let full = json!({"Prims/Name": "all", "Prims/Text": "t", "Prims/Int": 7, "Prims/Decimal": 0.25, "Prims/Bool": true,
        "Prims/Date": "2026-03-01", "Prims/Date Time": "2026-03-01T10:20:30Z",
        "Prims/Date Range": {"start": "2026-01-01", "end": "2026-01-31"},
        "Prims/Date Time Range": {"start": "2026-01-01T00:00:00.000Z", "end": "2026-01-02T00:00:00.000Z"},
        "Prims/Email": "a@b.io", "Prims/Url": "https://x.io", "Prims/Uuid": "acb5ef80-9679-11e9-bc42-526af7764f64",
        "Prims/Json": {"paranoid?": true}, "Prims/Location": {"longitude": 2.35, "latitude": 48.89, "fullAddress": "Paris"},
        "Prims/Emoji": "🏏", "Prims/Color": "#5357ac"});
    let r = api.create("Prims/Record", full.clone()).await;
    assert_eq!(r["Prims/Decimal"], "0.25");
    assert_eq!(r["Prims/Date Time"], "2026-03-01T10:20:30.000Z");
    for k in [
        "Prims/Text",
        "Prims/Int",
        "Prims/Bool",
        "Prims/Date",
        "Prims/Date Range",
        "Prims/Date Time Range",
        "Prims/Json",
        "Prims/Location",
        "Prims/Emoji",
    ] {
        assert_eq!(r[k], full[k], "{k}");
    }
    api.create("Prims/Record", json!({"Prims/Name": "later", "Prims/Date Range": {"start": "2026-05-01", "end": "2026-05-02"}})).await;
    let names = |rows: Value| {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["Prims/Name"].clone())
            .collect::<Vec<_>>()
    };
    let rows = api.query(json!({"q/from": "Prims/Record", "q/select": ["Prims/Name"], "q/where": ["<", ["q/start", ["Prims/Date Range"]], "$d"], "q/limit": 10}), json!({"$d": "2026-02-01"})).await;
    assert_eq!(names(rows), vec![json!("all")]);
    let rows = api.query(json!({"q/from": "Prims/Record", "q/select": ["Prims/Name"], "q/where": [">", ["q/end", ["Prims/Date Range"]], "$d"], "q/limit": 10}), json!({"$d": "2026-02-01"})).await;
    assert_eq!(names(rows), vec![json!("later")]);
    let rows = api.query(json!({"q/from": "Prims/Record", "q/select": ["Prims/Name"], "q/order-by": [[["q/start", ["Prims/Date Range"]], "q/desc"]], "q/limit": 10}), json!({})).await;
    assert_eq!(names(rows), vec![json!("later"), json!("all")]);
}

#[tokio::test]
async fn select_shapes_deref_subquery_aggregates() {
    let d = data().await;
    let rows = d.api.query(json!({"q/from": "Projects/Project", "q/select": [
        "Projects/Name",
        {"Projects/Tasks": {"q/select": ["Projects/Name", {"Projects/Priority": ["enum/name"]}], "q/order-by": [[["Projects/Effort"], "q/desc"]], "q/limit": 1},
         "# tasks": ["q/count", ["Projects/Tasks", "fibery/id"]],
         "effort": ["q/sum", ["Projects/Tasks", "Projects/Effort"]],
         "avg": ["q/avg", ["Projects/Tasks", "Projects/Effort"]],
         "est": ["q/sum", ["Projects/Tasks", "Projects/Estimate"]],
         "min due": ["q/min", ["Projects/Tasks", "Projects/Due"]],
         "max effort": ["q/max", ["Projects/Tasks", "Projects/Effort"]]}],
        "q/order-by": [[["Projects/Name"], "q/asc"]], "q/limit": 10}), json!({})).await;
    assert_eq!(
        rows[0],
        json!({"Projects/Name": "Alpha",
        "Projects/Tasks": [{"Projects/Name": "Deploy", "Projects/Priority": {"enum/name": "High"}}],
        "# tasks": 2, "effort": 13, "avg": 6.5, "est": "3.75", "min due": "2026-01-10", "max effort": 8})
    );
    assert_eq!(rows[1]["# tasks"], 1);
    // Map form: aliases, paths through single relations, sub-query with q/from.
    let rows = d.api.query(json!({"q/from": "Projects/Task", "q/select": {
        "name": "Projects/Name", "project": ["Projects/Project", "Projects/Name"], "prio": ["Projects/Priority", "enum/name"],
        "tags": {"q/from": "Projects/Tags", "q/select": {"n": "enum/name"}, "q/order-by": [[["fibery/rank"], "q/asc"]], "q/limit": 10},
        "n": ["q/count", ["Projects/Tags", "fibery/id"]]},
        "q/where": ["=", ["fibery/id"], "$id"], "q/limit": 1}), json!({"$id": d.t[0]})).await;
    assert_eq!(
        rows,
        json!([{"name": "Fix API bug", "project": "Alpha", "prio": "High",
        "tags": [{"n": "backend"}, {"n": "api"}], "n": 2}])
    );
    // Null single relation: deref -> null, path -> null.
    let rows = d.api.query(json!({"q/from": "Projects/Task", "q/select": ["Projects/Name", {"Projects/Project": ["Projects/Name"]}],
        "q/where": ["=", ["fibery/id"], "$id"], "q/limit": 1}), json!({"$id": d.t[2]})).await;
    assert_eq!(rows[0]["Projects/Project"], Value::Null);
    // Sub-query where.
    let rows = d.api.query(json!({"q/from": "Projects/Project", "q/select": [{"Projects/Tasks": {"q/select": ["Projects/Name"],
        "q/where": [">", ["Projects/Effort"], "$e"], "q/limit": 100}}], "q/where": ["=", ["Projects/Name"], "$n"], "q/limit": 1}),
        json!({"$e": 6, "$n": "Alpha"})).await;
    assert_eq!(
        rows[0]["Projects/Tasks"],
        json!([{"Projects/Name": "Deploy"}])
    );
}

#[tokio::test]
async fn top_level_count_and_array_q_from() {
    let d = data().await;
    let rows = d.api.query(json!({"q/from": "Projects/Task", "q/select": {"n": ["q/count", "fibery/id"], "effort": ["q/sum", ["Projects/Effort"]]},
        "q/where": ["=", ["Projects/Done"], "$f"], "q/limit": 1}), json!({"$f": false})).await;
    assert_eq!(rows, json!([{"n": 3, "effort": 13}]));
    let rows = d.api.query(json!({"q/from": "Projects/Project", "q/select": {"t": {"q/from": ["Projects/Tasks"], "q/select": ["Projects/Name"], "q/limit": 1}},
        "q/order-by": [[["Projects/Name"], "q/desc"]], "q/limit": 1}), json!({})).await;
    assert_eq!(rows, json!([{"t": [{"Projects/Name": "Write docs"}]}]));
}

#[tokio::test]
async fn select_errors_match_fibery() {
    let d = data().await;
    let q =
        |sel: Value| json!({"query": {"q/from": "Projects/Task", "q/select": sel, "q/limit": 1}});
    for bare in [
        "Projects/Project",
        "Projects/Tags",
        "Projects/Description",
        "workflow/state",
    ] {
        assert_eq!(
            d.api.err("fibery.entity/query", q(json!([bare]))).await,
            "entity.error/query-primitive-field-expr-invalid",
            "{bare}"
        );
    }
    assert_eq!(
        d.api
            .err(
                "fibery.entity/query",
                q(json!([{"Projects/Tags": ["enum/name"]}]))
            )
            .await,
        "entity.error/query-select-collection-field-vector-shape-invalid"
    );
    assert_eq!(
        d.api
            .err(
                "fibery.entity/query",
                q(json!({"x": ["Projects/Tags", "enum/name"]}))
            )
            .await,
        "entity.error/query-select-collection-field-path-invalid"
    );
    assert_eq!(
        d.api
            .err("fibery.entity/query", q(json!(["Projects/Nope"])))
            .await,
        "entity.error/schema-field-not-found"
    );
    assert_eq!(d.api.err("fibery.entity/query", json!({"query": {"q/from": "Projects/Tasks", "q/select": ["fibery/id"], "q/limit": 1}})).await,
        "entity.error/schema-type-not-found");
    assert_eq!(
        d.api
            .err(
                "fibery.entity/query",
                json!({"query": {"q/from": "Projects/Task", "q/select": ["fibery/id"]}})
            )
            .await,
        "entity.error/query-limit-expr-not-found"
    );
    assert_eq!(
        d.api
            .err(
                "fibery.entity/query",
                q(json!([{"Projects/Tags": {"q/select": ["enum/name"]}}]))
            )
            .await,
        "entity.error/query-limit-expr-not-found"
    );
    assert_eq!(d.api.err("fibery.entity/query", json!({"query": {"q/from": "Projects/Task", "q/select": ["fibery/id"], "q/where": ["q/bogus", ["fibery/id"], "$x"], "q/limit": 1}})).await,
        "entity.error/query-function-not-supported");
    // Errors don't depend on rows existing.
    assert_eq!(d.api.err("fibery.entity/query", json!({"query": {"q/from": "fibery/file", "q/select": ["fibery/id", "fibery/nope"], "q/limit": 1}})).await,
        "entity.error/schema-field-not-found");
}

#[tokio::test]
async fn order_limit_offset_and_default_order() {
    let d = data().await;
    let q = |order: Value, limit: Value, offset: Value| {
        let mut q =
            json!({"q/from": "Projects/Task", "q/select": ["Projects/Name"], "q/limit": limit});
        if !order.is_null() {
            q["q/order-by"] = order;
        }
        if !offset.is_null() {
            q["q/offset"] = offset;
        }
        q
    };
    let names = |rows: Value| {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["Projects/Name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    // Default: creation date then id = creation order.
    assert_eq!(
        names(
            d.api
                .query(q(Value::Null, json!(10), Value::Null), json!({}))
                .await
        ),
        v(&["Fix API bug", "Write docs", "api review", "Deploy"])
    );
    // Several keys; nulls sort last ascending and first descending (PostgreSQL's default).
    let rows = d
        .api
        .query(
            q(
                json!([
                    [["Projects/Done"], "q/asc"],
                    [["Projects/Effort"], "q/desc"]
                ]),
                json!(10),
                Value::Null,
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        names(rows),
        v(&["api review", "Deploy", "Fix API bug", "Write docs"])
    );
    let rows = d
        .api
        .query(
            q(
                json!([[["Projects/Effort"], "q/asc"]]),
                json!(10),
                Value::Null,
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        names(rows),
        v(&["Write docs", "Fix API bug", "Deploy", "api review"])
    );
    let rows = d
        .api
        .query(
            q(
                json!([
                    [["Projects/Project", "Projects/Name"], "q/desc"],
                    [["Projects/Name"], "q/asc"]
                ]),
                json!(10),
                Value::Null,
            ),
            json!({}),
        )
        .await;
    assert_eq!(
        names(rows),
        v(&["api review", "Write docs", "Deploy", "Fix API bug"])
    );
    assert_eq!(
        names(
            d.api
                .query(q(Value::Null, json!(2), json!(1)), json!({}))
                .await
        ),
        v(&["Write docs", "api review"])
    );
    assert_eq!(
        names(
            d.api
                .query(q(Value::Null, json!("q/no-limit"), json!(3)), json!({}))
                .await
        ),
        v(&["Deploy"])
    );
    assert_eq!(
        names(
            d.api
                .query(q(Value::Null, json!(0), Value::Null), json!({}))
                .await
        ),
        Vec::<String>::new()
    );
    // Keyset pagination by id visits every row exactly once.
    let mut seen = vec![];
    let mut last: Option<String> = None;
    loop {
        let mut query = json!({"q/from": "Projects/Task", "q/select": ["fibery/id"], "q/order-by": [[["fibery/id"], "q/asc"]], "q/limit": 2});
        let mut params = json!({});
        if let Some(l) = &last {
            query["q/where"] = json!([">", ["fibery/id"], "$last"]);
            params = json!({"$last": l});
        }
        let rows = d.api.query(query, params).await;
        let ids: Vec<String> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["fibery/id"].as_str().unwrap().to_string())
            .collect();
        if ids.is_empty() {
            break;
        }
        last = ids.last().cloned();
        seen.extend(ids);
    }
    let mut want = d.t.clone();
    want.sort();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn core_builder_queries_run_unchanged() {
    use fibery_core::query::{Filter, Order, Query};
    let d = data().await;
    let q = Query::from("Projects/Task")
        .select(["Projects/Name"])
        .select_relation("Projects/Project", ["Projects/Name"])
        .filter(Filter::eq("Projects/Done", false).and(Filter::contains("Projects/Name", "e")))
        .order_by("Projects/Effort", Order::Asc)
        .limit(10);
    let rows = d.api.ok("fibery.entity/query", q.to_args()).await;
    assert_eq!(
        rows,
        json!([
        {"Projects/Name": "Deploy", "Projects/Project": {"Projects/Name": "Alpha"}},
        {"Projects/Name": "api review", "Projects/Project": null}])
    );
}

#[tokio::test]
async fn sorting_mixed_json_values_is_total_and_never_panics() {
    let emu = common::prims().await;
    let api = Api::new(&emu);
    let vals = [
        json!(2),
        json!("b"),
        json!({"x": 1}),
        json!([1]),
        json!(true),
        json!(null),
        json!(1.5),
        json!("a"),
        json!(false),
    ];
    for (i, v) in vals.iter().enumerate() {
        api.create(
            "Prims/Record",
            json!({"Prims/Name": format!("r{i}"), "Prims/Json": v}),
        )
        .await;
    }
    for dir in ["q/asc", "q/desc"] {
        let rows = api.query(json!({"q/from": "Prims/Record", "q/select": ["Prims/Json"], "q/order-by": [[["Prims/Json"], dir]], "q/limit": 20}), json!({})).await;
        let got: Vec<Value> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Prims/Json"].clone())
            .collect();
        let mut want = vec![
            json!(false),
            json!(true),
            json!(1.5),
            json!(2),
            json!("a"),
            json!("b"),
            json!([1]),
            json!({"x": 1}),
            json!(null),
        ];
        if dir == "q/desc" {
            want.reverse();
        }
        assert_eq!(got, want, "{dir}");
    }
}

#[tokio::test]
async fn nested_derefs_and_nested_sub_queries() {
    let d = data().await;
    let rows = d
        .api
        .query(
            json!({"q/from": "Projects/Task", "q/select": ["Projects/Name",
        {"Projects/Project": ["Projects/Name", {"fibery/created-by": ["user/name"]}]}],
        "q/where": ["=", ["fibery/id"], "$id"], "q/limit": 1}),
            json!({"$id": d.t[0]}),
        )
        .await;
    assert_eq!(
        rows[0]["Projects/Project"],
        json!({"Projects/Name": "Alpha", "fibery/created-by": {"user/name": "Emulator User"}})
    );
    let rows = d.api.query(json!({"q/from": "Projects/Project", "q/select": ["Projects/Name",
        {"Projects/Tasks": {"q/select": ["Projects/Name", {"Projects/Tags": {"q/select": ["enum/name"], "q/order-by": [[["enum/name"], "q/asc"]], "q/limit": 1}}],
            "q/order-by": [[["Projects/Name"], "q/asc"]], "q/limit": 100}}],
        "q/where": ["=", ["Projects/Name"], "$n"], "q/limit": 1}), json!({"$n": "Alpha"})).await;
    assert_eq!(
        rows[0]["Projects/Tasks"],
        json!([
        {"Projects/Name": "Deploy", "Projects/Tags": [{"enum/name": "backend"}]},
        {"Projects/Name": "Fix API bug", "Projects/Tags": [{"enum/name": "api"}]}]),
        "inner limit truncates"
    );
}

/// Shapes other clients send that Fibery's parser tolerates (one shared parser in fibery-core
/// serves them): unknown keys, `$param` limit/offset, `null` where/offset, empty `q/and`,
/// params named without `$`, a one-element `q/from` array in a map-form sub-query.
#[tokio::test]
async fn lenient_query_shapes_are_served() {
    let d = data().await;
    let names = |rows: Value| -> Vec<String> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["Projects/Name"].as_str().unwrap().to_string())
            .collect()
    };
    let rows = d
        .api
        .query(
            json!({"q/from": "Projects/Task", "q/select": ["Projects/Name"], "q/where": null,
                "q/limit": "$n", "q/offset": "$o", "q/comment": "ignored"}),
            json!({"$n": 2, "$o": 1}),
        )
        .await;
    assert_eq!(names(rows), v(&["Write docs", "api review"]));
    let rows = d
        .api
        .query(
            json!({"q/from": "Projects/Task", "q/select": ["Projects/Name"], "q/offset": null,
                "q/where": ["q/and"], "q/limit": 1}),
            json!({}),
        )
        .await;
    assert_eq!(names(rows), v(&["Fix API bug"]));
    assert_eq!(
        d.names(json!(["=", ["Projects/Effort"], "$e"]), json!({"e": 8}))
            .await,
        v(&["Deploy"])
    );
    let rows = d
        .api
        .query(
            json!({"q/from": "Projects/Task", "q/select": {"n": "Projects/Name",
                "tags": {"q/from": ["Projects/Tags"], "q/select": ["enum/name"], "q/limit": 5}},
                "q/where": ["=", ["fibery/id"], "$id"], "q/limit": 1}),
            json!({"$id": d.t[1]}),
        )
        .await;
    assert_eq!(
        rows,
        json!([{"n": "Write docs", "tags": [{"enum/name": "frontend"}]}])
    );
}
