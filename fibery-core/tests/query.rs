//! Query builder, serialization and parsing.

mod common;

use fibery_core::query::*;
use serde_json::{Map, Value, json};

fn roundtrip(q: &Query) {
    let args = q.to_args();
    let back = Query::from_args(&args).unwrap_or_else(|e| panic!("{e}: {args}"));
    assert_eq!(&back, q, "args: {args}");
}

#[test]
fn design_doc_example_serializes_with_params() {
    let q = common::design_example();
    assert_eq!(
        q.to_args(),
        json!({
            "query": {
                "q/from": "Projects/Task",
                "q/select": ["fibery/id", "Projects/Name", {"Projects/Project": ["fibery/id", "Projects/Name"]}],
                "q/where": ["q/and",
                    ["=", ["workflow/state", "enum/name"], "$p1"],
                    ["q/contains", ["Projects/Name"], "$p2"]],
                "q/order-by": [[["fibery/creation-date"], "q/desc"]],
                "q/limit": 100
            },
            "params": {"$p1": "Done", "$p2": "api"}
        })
    );
    roundtrip(&q);
}

#[test]
fn parses_doc_vector_select_example() {
    // fibery-api.md §4.2
    let query = json!({
        "q/from": "Ops/Ticket",
        "q/select": ["fibery/id", "Ops/Name", "Ops/Estimate",
            {"Ops/Priority": ["enum/name"], "Ops/Team": ["Ops/Name"],
             "Ops/Watchers": {"q/select": ["user/name"], "q/limit": 100},
             "# watchers": ["q/count", ["Ops/Watchers", "fibery/id"]]}],
        "q/limit": 10
    });
    let q = Query::from_json(&query, &Map::new()).unwrap();
    let Select::Fields(items) = &q.select else {
        panic!("vector form")
    };
    assert_eq!(items.len(), 7);
    assert_eq!(items[3], SelectItem::deref("Ops/Priority", ["enum/name"]));
    assert_eq!(
        items[5],
        SelectItem::sub_query(
            "Ops/Watchers",
            SubQuery::new().select(["user/name"]).limit(100)
        )
    );
    assert_eq!(items[6], SelectItem::count("# watchers", "Ops/Watchers"));
    roundtrip(&q);
}

#[test]
fn parses_doc_map_select_and_where_example() {
    // fibery-api.md §4.3 and §4.6
    let args = json!({
        "query": {
            "q/from": "Ops/Ticket",
            "q/select": {
                "name": "Ops/Name",
                "team": ["Ops/Team", "Ops/Name"],
                "body": ["Ops/Body", "Collaboration~Documents/secret"],
                "watchers": {"q/from": ["Ops/Watchers"], "q/select": {"n": "user/name"}, "q/limit": 50},
                "n": ["q/count", ["Ops/Watchers", "fibery/id"]]
            },
            "q/where": ["q/and",
                [">=", ["fibery/creation-date"], "$from"],
                ["=", ["Ops/Priority", "enum/name"], "$prio"],
                ["=", ["workflow/state", "workflow/Final"], "$final"],
                ["q/in", ["assignments/assignees", "fibery/id"], "$users"]],
            "q/limit": 1000
        },
        "params": {"$from": "2026-01-01T00:00:00.000Z", "$prio": "High", "$final": false,
                   "$users": ["6a1e", "b7c2"]}
    });
    let q = Query::from_args(&args).unwrap();
    let expected_filter = Filter::ge("fibery/creation-date", "2026-01-01T00:00:00.000Z")
        .and(Filter::eq(["Ops/Priority", "enum/name"], "High"))
        .and(Filter::eq(["workflow/state", "workflow/Final"], false))
        .and(Filter::in_list(
            ["assignments/assignees", "fibery/id"],
            ["6a1e", "b7c2"],
        ));
    assert_eq!(q.filter, Some(expected_filter));
    let Select::Aliased(items) = &q.select else {
        panic!("map form")
    };
    assert_eq!(
        items[0],
        ("name".into(), AliasedExpr::Path(vec!["Ops/Name".into()]))
    );
    assert!(matches!(&items[3].1, AliasedExpr::SubQuery { field, .. } if field == "Ops/Watchers"));
    assert_eq!(
        items[4].1,
        AliasedExpr::Aggregate {
            func: Aggregate::Count,
            path: vec!["Ops/Watchers".into(), "fibery/id".into()]
        }
    );
    roundtrip(&q);
}

#[test]
fn every_operator_roundtrips() {
    let filters = vec![
        Filter::eq("A/x", 1),
        Filter::ne("A/x", "s"),
        Filter::lt("A/x", 1.5),
        Filter::le("A/x", 2),
        Filter::gt("A/x", 3),
        Filter::ge("A/x", 4),
        Filter::in_list("A/x", [1, 2]),
        Filter::not_in(["A/r", "fibery/id"], ["a"]),
        Filter::contains("A/t", "a"),
        Filter::not_contains("A/t", "a"),
        Filter::equals_ignoring_case("A/t", "a"),
        Filter::not_equals_ignoring_case("A/t", "a"),
        Filter::starts_with_ignoring_case("A/t", "a"),
        Filter::ends_with_ignoring_case("A/t", "a"),
        Filter::is_null("A/t"),
        Filter::not_null("A/t"),
        Filter::null_or_empty("A/t"),
        Filter::not_null_or_empty("A/t"),
        Filter::count_eq("A/c", 0),
        Filter::count_gt("A/c", 2),
        Filter::count_lt("A/c", 2),
        Filter::is_empty("A/c"),
        Filter::not_empty("A/c"),
        Filter::start("A/w", CompareOp::Lt, "2026-01-01"),
        Filter::end("A/w", CompareOp::Ge, "2026-01-01"),
        Filter::is_me(["A/owner", "fibery/id"]),
        Filter::eq("A/x", 1)
            .or(Filter::eq("A/x", 2))
            .or(Filter::is_null("A/x")),
    ];
    for f in filters {
        roundtrip(&Query::from("A/T").select(["fibery/id"]).filter(f));
    }
}

#[test]
fn operator_wire_names() {
    let (q, params) = Query::from("A/T")
        .select(["fibery/id"])
        .filter(
            Filter::is_null("A/t")
                .and(Filter::count_eq("A/c", 0))
                .and(Filter::start("A/w", CompareOp::Lt, "2026-01-01"))
                .and(Filter::not_in("A/x", [1]))
                .and(Filter::is_me(["A/o", "fibery/id"])),
        )
        .to_json();
    assert_eq!(
        q["q/where"],
        json!([
            "q/and",
            ["=", ["q/null?", ["A/t"]], "$p1"],
            ["=", ["q/count", ["A/c", "fibery/id"]], "$p2"],
            ["<", ["q/start", ["A/w"]], "$p3"],
            ["q/not-in", ["A/x"], "$p4"],
            ["=", ["A/o", "fibery/id"], "$my-id"]
        ])
    );
    assert_eq!(
        params,
        json!({"$p1": true, "$p2": 0, "$p3": "2026-01-01", "$p4": [1]})
            .as_object()
            .unwrap()
            .clone()
    );
}

#[test]
fn sub_query_with_filter_order_limit_and_no_limit_top_level_offset() {
    let q = Query::from("Projects/Project")
        .select(["fibery/id"])
        .select_collection(
            "Projects/Tasks",
            SubQuery::new()
                .select(["fibery/id", "Projects/Name"])
                .select_relation("workflow/state", ["enum/name"])
                .filter(Filter::eq("Projects/Done", false))
                .order_by("fibery/rank", Order::Asc)
                .limit(100),
        )
        .select_aggregate("total", Aggregate::Sum, "Projects/Tasks", "Projects/Effort")
        .order_by_expr(Operand::end("Projects/Window"), Order::Desc)
        .no_limit()
        .offset(20);
    let (json, params) = q.to_json();
    assert_eq!(
        json["q/select"][1]["Projects/Tasks"]["q/where"],
        json!(["=", ["Projects/Done"], "$p1"])
    );
    assert!(
        json["q/select"][1]["Projects/Tasks"]
            .get("q/offset")
            .is_none(),
        "sub-queries carry no q/offset"
    );
    assert_eq!(
        json["q/select"][2],
        json!({"total": ["q/sum", ["Projects/Tasks", "Projects/Effort"]]})
    );
    assert_eq!(
        json["q/order-by"],
        json!([[["q/end", ["Projects/Window"]], "q/desc"]])
    );
    assert_eq!(json["q/limit"], json!("q/no-limit"));
    assert_eq!(json["q/offset"], json!(20));
    assert_eq!(params.len(), 1);
    roundtrip(&q);
}

#[test]
fn and_filter_combines_for_cursor_pagination() {
    let q = Query::from("A/T")
        .select(["fibery/id"])
        .and_filter(Filter::eq("A/x", 1));
    assert_eq!(q.filter, Some(Filter::eq("A/x", 1)));
    let q = q.and_filter(Filter::gt("fibery/id", "abc"));
    assert_eq!(
        q.filter,
        Some(Filter::And(vec![
            Filter::eq("A/x", 1),
            Filter::gt("fibery/id", "abc")
        ]))
    );
    let or = Query::from("A/T")
        .filter(Filter::eq("A/x", 1).or(Filter::eq("A/x", 2)))
        .and_filter(Filter::gt("fibery/id", "abc"));
    assert!(
        matches!(&or.filter, Some(Filter::And(v)) if v.len() == 2 && matches!(v[0], Filter::Or(_)))
    );
    assert_eq!(Filter::all(Vec::new()), None);
    assert_eq!(Filter::all([Filter::eq("a", 1)]), Some(Filter::eq("a", 1)));
    assert_eq!(
        Filter::any([Filter::eq("a", 1), Filter::eq("a", 2)]),
        Some(Filter::eq("a", 1).or(Filter::eq("a", 2)))
    );
}

#[test]
fn tolerances_bare_paths_inline_values_and_unresolved_params() {
    let q = Query::from_json(
        &json!({"q/from": "A/T", "q/select": ["fibery/id"],
                "q/where": ["q/and", ["=", "fibery/id", "$id"], ["=", ["A/n"], 5], ["=", ["A/s"], "lit"]],
                "q/order-by": [["A/n", "q/asc"]],
                "q/limit": 1}),
        &json!({"id": "x"}).as_object().unwrap().clone(),
    )
    .unwrap();
    assert_eq!(
        q.filter,
        Some(Filter::And(vec![
            Filter::eq("fibery/id", "x"),
            Filter::eq("A/n", 5),
            Filter::eq("A/s", "lit"),
        ]))
    );
    assert_eq!(q.order_by[0].expr, Operand::path("A/n"));
    let q = Query::from_json(
        &json!({"q/from": "A/T", "q/select": ["fibery/id"], "q/where": ["=", ["A/x"], "$missing"], "q/limit": 1}),
        &Map::new(),
    )
    .unwrap();
    assert_eq!(
        q.filter,
        Some(Filter::compare(
            CompareOp::Eq,
            Operand::path("A/x"),
            Operand::param("$missing")
        ))
    );
}

#[test]
fn whole_command_is_accepted_by_from_args() {
    let q = Query::from("A/T")
        .select(["fibery/id"])
        .filter(Filter::eq("A/x", 1));
    let cmd = json!({"command": "fibery.entity/query", "args": q.to_args()});
    assert_eq!(Query::from_args(&cmd).unwrap(), q);
}

fn parse_err(query: Value) -> QueryParseError {
    Query::from_args(&json!({"query": query, "params": {}})).unwrap_err()
}

#[test]
fn parse_errors_are_typed_and_located() {
    let e = parse_err(json!({"q/from": "A/T", "q/select": ["fibery/id"]}));
    assert_eq!(
        (e.kind, e.pointer.as_str()),
        (ParseErrorKind::MissingLimit, "/query/q/limit")
    );
    let e = parse_err(json!({"q/select": ["fibery/id"], "q/limit": 1}));
    assert_eq!(
        (e.kind, e.pointer.as_str()),
        (ParseErrorKind::MissingFrom, "/query/q/from")
    );
    let e = parse_err(
        json!({"q/from": "A/T", "q/select": ["fibery/id"], "q/limit": 1,
                             "q/where": ["q/and", ["=", ["a"], "$x"], ["q/starts-with", ["a"], "$x"]]}),
    );
    assert_eq!(
        (e.kind, e.pointer.as_str()),
        (ParseErrorKind::UnknownOperator, "/query/q/where/2/0")
    );
    assert!(e.to_string().contains("q/starts-with"));
    let e = parse_err(
        json!({"q/from": "A/T", "q/select": ["fibery/id"], "q/limit": 1, "q/where": ["q/not", ["=", ["a"], "$x"]]}),
    );
    assert_eq!(e.kind, ParseErrorKind::UnknownOperator);
    let e = parse_err(json!({"q/from": "A/T", "q/select": ["fibery/id"], "q/limit": -1}));
    assert_eq!(
        (e.kind, e.pointer.as_str()),
        (ParseErrorKind::BadShape, "/query/q/limit")
    );
    let e = parse_err(json!({"q/from": "A/T", "q/select": [1], "q/limit": 1}));
    assert_eq!(
        (e.kind, e.pointer.as_str()),
        (ParseErrorKind::BadShape, "/query/q/select/0")
    );
    let e = parse_err(
        json!({"q/from": "A/T", "q/select": {"x": {"q/select": ["a"], "q/limit": 1}}, "q/limit": 1}),
    );
    assert_eq!(
        (e.kind, e.pointer.as_str()),
        (ParseErrorKind::BadShape, "/query/q/select/x/q/from")
    );
    let e = parse_err(
        json!({"q/from": "A/T", "q/select": ["a", {"c": {"q/select": ["x"]}}], "q/limit": 1}),
    );
    assert_eq!(
        (e.kind, e.pointer.as_str()),
        (ParseErrorKind::MissingLimit, "/query/q/select/1/c/q/limit")
    );
    let e = parse_err(
        json!({"q/from": "A/T", "q/select": ["a"], "q/limit": 1, "q/where": ["=", ["a"]]}),
    );
    assert_eq!(e.kind, ParseErrorKind::BadShape);
    let e = parse_err(
        json!({"q/from": "A/T", "q/select": ["a"], "q/limit": 1, "q/order-by": [[["a"], "up"]]}),
    );
    assert_eq!(e.pointer, "/query/q/order-by/0/1");
    assert!(Query::from_args(&json!("nope")).is_err());
    assert!(Query::from_args(&json!({"query": {}, "params": []})).is_err());
}

#[test]
fn undocumented_operators_are_rejected() {
    for op in [
        "q/starts-with",
        "q/ends-with",
        "q/in-or-null",
        "q/does_not_contain",
        "q/contains?",
        "q/not-contains?",
        // skill doc only (fibery-api.md §4.6): not in Fibery's operator list nor its n8n node
        "q/contains-ignoring-case?",
        "q/not-contains-ignoring-case?",
        "like",
    ] {
        let e = parse_err(json!({"q/from": "A/T", "q/select": ["a"], "q/limit": 1,
                                 "q/where": [op, ["A/x"], "$v"]}));
        assert_eq!(e.kind, ParseErrorKind::UnknownOperator, "{op}");
        assert_eq!(e.pointer, "/query/q/where/0");
    }
    let e = parse_err(json!({"q/from": "A/T", "q/select": ["a"], "q/limit": 1,
                             "q/where": ["=", ["q/lower", ["A/x"]], "$v"]}));
    assert_eq!(
        (e.kind, e.pointer.as_str()),
        (ParseErrorKind::UnknownOperator, "/query/q/where/1/0")
    );
    // and every documented one is accepted
    for op in ["=", "!=", "<", "<=", ">", ">=", "q/in", "q/not-in"]
        .into_iter()
        .chain(TextOp::ALL.iter().map(|t| t.as_str()))
    {
        let q = Query::from_args(
            &json!({"query": {"q/from": "A/T", "q/select": ["a"], "q/limit": 1,
                                                   "q/where": [op, ["A/x"], "$v"]},
                                         "params": {"$v": "x"}}),
        );
        assert!(q.is_ok(), "{op}: {q:?}");
    }
}
