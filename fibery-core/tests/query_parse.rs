//! The one query parser: what it accepts beyond the builder's output (the leniencies the
//! emulator's former parser had), its typed error kinds and their Fibery names, and the
//! top-level count.

mod common;

use fibery_core::error::names;
use fibery_core::query::*;
use fibery_core::validate::Rule;
use serde_json::{Map, Value, json};

fn parse(query: Value, params: Value) -> Query {
    let args = json!({"query": query, "params": params});
    Query::from_args(&args).unwrap_or_else(|e| panic!("{e}: {args}"))
}

fn parse_where(filter: Value, params: Value) -> Filter {
    parse(
        json!({"q/from": "A/T", "q/select": ["fibery/id"], "q/where": filter, "q/limit": 1}),
        params,
    )
    .filter
    .expect("a filter")
}

/// Every filter shape the builder makes, under a select using every item kind, parses back to
/// the same AST (the cases of the test that kept the emulator's parser and core's in step).
#[test]
fn builder_output_round_trips_for_every_filter_shape() {
    let filters = [
        Filter::eq("A/x", 1).and(Filter::ne("A/y", "s")),
        Filter::lt("A/x", 1)
            .or(Filter::le("A/x", 2))
            .or(Filter::gt("A/x", 3).and(Filter::ge("A/x", 4))),
        Filter::is_me(["A/owner", "fibery/id"]),
        Filter::in_list(["A/tags", "fibery/id"], ["a", "b"]),
        Filter::not_in("A/x", [1, 2]),
        Filter::contains("A/n", "x").and(Filter::not_contains("A/n", "y")),
        Filter::equals_ignoring_case("A/n", "x").and(Filter::not_equals_ignoring_case("A/n", "y")),
        Filter::starts_with_ignoring_case("A/n", "x")
            .and(Filter::ends_with_ignoring_case("A/n", "y")),
        Filter::contains_ignoring_case("A/n", "x")
            .and(Filter::not_contains_ignoring_case("A/n", "y")),
        Filter::is_null("A/x").and(Filter::not_null("A/y")),
        Filter::null_or_empty("A/x").and(Filter::not_null_or_empty("A/y")),
        Filter::count_eq("A/tags", 0).and(Filter::count("A/tags", CompareOp::Gt, 2)),
        Filter::start("A/window", CompareOp::Lt, "2026-01-01").and(Filter::end(
            "A/window",
            CompareOp::Ge,
            "2026-02-01",
        )),
    ];
    for f in filters {
        let q = Query::from("A/T")
            .select(["fibery/id", "A/n"])
            .select_relation("A/owner", ["user/name"])
            .select_collection(
                "A/tags",
                SubQuery::new()
                    .select(["enum/name"])
                    .order_by("fibery/rank", Order::Asc)
                    .limit(100),
            )
            .select_count("# tags", "A/tags")
            .select_aggregate("sum", Aggregate::Sum, "A/items", "A/x")
            .filter(f)
            .order_by("A/n", Order::Desc)
            .order_by(["A/owner", "user/name"], Order::Asc)
            .limit(10)
            .offset(5);
        let args = q.to_args();
        assert_eq!(Query::from_args(&args), Ok(q), "{args}");
    }
    let q = Query::from("A/T")
        .select_as(
            "n",
            AliasedExpr::Path(vec!["A/owner".into(), "user/name".into()]),
        )
        .select_as(
            "c",
            AliasedExpr::Aggregate {
                func: Aggregate::Count,
                path: vec!["A/tags".into(), "fibery/id".into()],
            },
        )
        .no_limit();
    assert_eq!(Query::from_args(&q.to_args()), Ok(q));
}

#[test]
fn unknown_keys_are_kept_for_check_query_not_rejected() {
    let q = parse(
        json!({"q/from": "Projects/Task", "q/select": ["fibery/id",
                 {"Projects/Tags": {"q/select": ["enum/name"], "q/limit": 10, "q/sort": []}}],
               "q/limit": 1, "q/wher": ["=", ["fibery/id"], "$id"]}),
        json!({}),
    );
    assert_eq!(q.unknown_keys, vec!["q/wher".to_owned()]);
    assert_eq!(q.filter, None);
    let Select::Fields(items) = &q.select else {
        panic!("vector select")
    };
    let SelectItem::SubQuery { query: sub, .. } = &items[1] else {
        panic!("sub-query")
    };
    assert_eq!(sub.unknown_keys, vec!["q/sort".to_owned()]);
    // The builder never makes them, and they are not written back.
    assert!(Query::from("A/T").unknown_keys.is_empty() && SubQuery::new().unknown_keys.is_empty());
    assert!(q.to_args()["query"].get("q/wher").is_none());

    let got: Vec<(String, Rule, &str)> = common::project_management()
        .check_query_named(&q)
        .unwrap_err()
        .into_iter()
        .map(|(v, name)| (v.field, v.rule, name))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "q/wher".to_owned(),
                Rule::UnknownKey,
                names::QUERY_EXPR_INVALID
            ),
            (
                "Projects/Tags -> q/sort".to_owned(),
                Rule::UnknownKey,
                names::QUERY_EXPR_INVALID
            ),
        ]
    );
}

#[test]
fn null_where_and_offset_are_absent() {
    let q = parse(
        json!({"q/from": "A/T", "q/select": ["a"], "q/where": null, "q/limit": 3, "q/offset": null}),
        json!({}),
    );
    assert_eq!(q, Query::from("A/T").select(["a"]).limit(3));
}

#[test]
fn limit_and_offset_may_be_params() {
    let q = parse(
        json!({"q/from": "A/T", "q/select": ["a"], "q/limit": "$limit", "q/offset": "$offset",
               "q/order-by": [["a", "q/asc"]]}),
        json!({"$limit": 25, "offset": 50}),
    );
    assert_eq!((q.limit, q.offset), (Limit::Count(25), Some(50)));
    let q = parse(
        json!({"q/from": "A/T", "q/select": ["a"], "q/limit": "$all"}),
        json!({"$all": "q/no-limit"}),
    );
    assert_eq!(q.limit, Limit::NoLimit);
    // An unknown or non-numeric limit param is a bad shape, located at the key.
    for params in [json!({}), json!({"$limit": "ten"}), json!({"$limit": -1})] {
        let e = Query::from_args(&json!({"query": {"q/from": "A/T", "q/select": ["a"],
                                                    "q/limit": "$limit"}, "params": params}))
        .unwrap_err();
        assert_eq!(
            (e.kind, e.pointer.as_str(), &*e.expr),
            (ParseErrorKind::BadShape, "/query/q/limit", &json!("$limit")),
            "{params}"
        );
    }
}

#[test]
fn empty_and_or_are_accepted() {
    assert_eq!(
        parse_where(json!(["q/and"]), json!({})),
        Filter::And(vec![])
    );
    assert_eq!(
        parse_where(json!(["q/or", ["q/and"]]), json!({})),
        Filter::Or(vec![Filter::And(vec![])])
    );
}

#[test]
fn inline_values_are_accepted_on_the_right() {
    let f = parse_where(
        json!(["q/and",
               ["=", ["A/j"], {"k": 1}],
               ["q/in", ["A/x"], []],
               ["=", ["A/n"], null],
               ["=", ["A/b"], true],
               ["=", ["A/s"], "text"]]),
        json!({}),
    );
    assert_eq!(
        f,
        Filter::eq("A/j", json!({"k": 1}))
            .and(Filter::In {
                negated: false,
                left: Operand::path("A/x"),
                right: Operand::value(json!([])),
            })
            .and(Filter::eq("A/n", Value::Null))
            .and(Filter::eq("A/b", true))
            .and(Filter::eq("A/s", "text"))
    );
}

#[test]
fn params_resolve_with_or_without_dollar_and_unknown_ones_stay_named() {
    let f = parse_where(
        json!([
            "q/and",
            ["=", ["A/a"], "$a"],
            ["=", ["A/b"], "$b"],
            ["=", ["A/c"], "$my-id"]
        ]),
        json!({"$a": 1, "b": 2}),
    );
    assert_eq!(
        f,
        Filter::eq("A/a", 1)
            .and(Filter::eq("A/b", 2))
            .and(Filter::compare(
                CompareOp::Eq,
                Operand::path("A/c"),
                Operand::my_id()
            ))
    );
}

#[test]
fn map_form_sub_query_from_may_be_a_one_element_array() {
    let q = parse(
        json!({"q/from": "A/T", "q/limit": 1,
               "q/select": {"w": {"q/from": ["A/Watchers"], "q/select": ["user/name"], "q/limit": 5}}}),
        json!({}),
    );
    assert_eq!(
        q.select,
        Select::Aliased(vec![(
            "w".into(),
            AliasedExpr::SubQuery {
                field: "A/Watchers".into(),
                query: Box::new(SubQuery::new().select(["user/name"]).limit(5)),
            }
        )])
    );
}

#[test]
fn a_function_takes_exactly_one_argument() {
    let e = Query::from_args(
        &json!({"query": {"q/from": "A/T", "q/select": ["a"], "q/limit": 1,
        "q/where": ["=", ["q/null?", ["A/x"], ["A/y"]], true]}}),
    )
    .unwrap_err();
    assert_eq!(
        (e.kind, e.pointer.as_str()),
        (ParseErrorKind::BadShape, "/query/q/where/1")
    );
}

/// Each kind of parse error, where it points, what it quotes, and the Fibery error name the
/// emulator answers it with.
#[test]
fn error_kinds_are_located_and_name_fiberys_errors() {
    let base = |extra: Value| {
        let mut q = json!({"q/from": "A/T", "q/select": ["a"], "q/limit": 1});
        for (k, v) in extra.as_object().unwrap() {
            q[k] = v.clone();
        }
        json!({"query": q})
    };
    let cases: Vec<(Value, ParseErrorKind, &str, Value, &str)> = vec![
        (
            json!("nope"),
            ParseErrorKind::BadArgs,
            "",
            json!("nope"),
            names::INVALID_ARGS,
        ),
        (
            json!({}),
            ParseErrorKind::BadArgs,
            "/query",
            Value::Null,
            names::INVALID_ARGS,
        ),
        (
            json!({"query": []}),
            ParseErrorKind::BadArgs,
            "/query",
            json!([]),
            names::INVALID_ARGS,
        ),
        (
            json!({"query": {"q/from": "A/T", "q/select": ["a"], "q/limit": 1}, "params": []}),
            ParseErrorKind::BadArgs,
            "/params",
            json!([]),
            names::INVALID_ARGS,
        ),
        (
            json!({"query": {"q/select": ["a"], "q/limit": 1}}),
            ParseErrorKind::MissingFrom,
            "/query/q/from",
            Value::Null,
            names::QUERY_FROM_EXPR_NOT_FOUND,
        ),
        (
            base(json!({"q/from": 5})),
            ParseErrorKind::MissingFrom,
            "/query/q/from",
            json!(5),
            names::QUERY_FROM_EXPR_NOT_FOUND,
        ),
        (
            json!({"query": {"q/from": "A/T", "q/limit": 1}}),
            ParseErrorKind::MissingSelect,
            "/query/q/select",
            Value::Null,
            names::QUERY_SELECT_EXPR_NOT_FOUND,
        ),
        (
            base(json!({"q/select": [{"A/c": {"q/limit": 1}}]})),
            ParseErrorKind::MissingSelect,
            "/query/q/select/0/A/c/q/select",
            Value::Null,
            names::QUERY_SELECT_EXPR_NOT_FOUND,
        ),
        (
            json!({"query": {"q/from": "A/T", "q/select": ["a"]}}),
            ParseErrorKind::MissingLimit,
            "/query/q/limit",
            Value::Null,
            names::QUERY_LIMIT_EXPR_NOT_FOUND,
        ),
        (
            base(json!({"q/where": ["q/bogus", ["a"], "$x"]})),
            ParseErrorKind::UnknownOperator,
            "/query/q/where/0",
            json!(["q/bogus", ["a"], "$x"]),
            names::QUERY_FUNCTION_NOT_SUPPORTED,
        ),
        (
            base(json!({"q/where": ["=", ["q/lower", ["a"]], "$x"]})),
            ParseErrorKind::UnknownOperator,
            "/query/q/where/1/0",
            json!(["q/lower", ["a"]]),
            names::QUERY_FUNCTION_NOT_SUPPORTED,
        ),
        (
            base(json!({"q/select": ["a", 7]})),
            ParseErrorKind::BadShape,
            "/query/q/select/1",
            json!(7),
            names::QUERY_EXPR_INVALID,
        ),
        (
            base(json!({"q/where": "x"})),
            ParseErrorKind::BadShape,
            "/query/q/where",
            json!("x"),
            names::QUERY_EXPR_INVALID,
        ),
        (
            base(json!({"q/where": []})),
            ParseErrorKind::BadShape,
            "/query/q/where/0",
            json!([]),
            names::QUERY_EXPR_INVALID,
        ),
        (
            base(json!({"q/where": ["=", ["a", 1], "$x"]})),
            ParseErrorKind::BadShape,
            "/query/q/where/1/1",
            json!(1),
            names::QUERY_EXPR_INVALID,
        ),
        (
            base(json!({"q/order-by": [["a", "up"]]})),
            ParseErrorKind::BadShape,
            "/query/q/order-by/0/1",
            json!("up"),
            names::QUERY_EXPR_INVALID,
        ),
        (
            base(json!({"q/offset": "x"})),
            ParseErrorKind::BadShape,
            "/query/q/offset",
            json!("x"),
            names::QUERY_EXPR_INVALID,
        ),
    ];
    for (args, kind, pointer, expr, name) in cases {
        let e = Query::from_args(&args).unwrap_err();
        assert_eq!(
            (e.kind, e.pointer.as_str(), &*e.expr, e.kind.fibery_name()),
            (kind, pointer, &expr, name),
            "{args}"
        );
    }
}

#[test]
fn top_level_count_is_a_typed_query() {
    let q = Query::from("Projects/Task")
        .select(["fibery/id"])
        .filter(Filter::eq("Projects/Done", false))
        .order_by("fibery/creation-date", Order::Desc)
        .limit(500)
        .offset(1000);
    let count = q.to_count();
    assert_eq!(
        count.to_args(),
        json!({"query": {
                "q/from": "Projects/Task",
                "q/select": {"count": ["q/count", "fibery/id"]},
                "q/where": ["=", ["Projects/Done"], "$p1"],
                "q/limit": 1},
               "params": {"$p1": false}})
    );
    assert_eq!(
        count.select,
        Select::Aliased(vec![(COUNT_ALIAS.into(), AliasedExpr::count_rows())])
    );
    assert_eq!(Query::from_args(&count.to_args()), Ok(count.clone()));
    // Both spellings of a one-field aggregate path parse to the same AST.
    let bracketed = parse(
        json!({"q/from": "Projects/Task", "q/select": {"count": ["q/count", ["fibery/id"]]},
               "q/where": ["=", ["Projects/Done"], "$p1"], "q/limit": 1}),
        json!({"$p1": false}),
    );
    assert_eq!(bracketed, count);

    let schema = common::project_management();
    assert_eq!(schema.check_query(&count), Ok(()));
    let typo = Query::from("Projects/Task").select_as(
        "n",
        AliasedExpr::Aggregate {
            func: Aggregate::Count,
            path: vec!["fibery/idd".into()],
        },
    );
    let e = schema.check_query(&typo).unwrap_err();
    assert_eq!((e[0].field.as_str(), e[0].rule), ("n", Rule::UnknownField));
}

#[test]
fn parts_parse_on_their_own() {
    let mut params = Map::new();
    params.insert("$v".into(), json!(3));
    assert_eq!(
        Filter::from_json(&json!([">", ["A/x"], "$v"]), &params),
        Ok(Filter::gt("A/x", 3))
    );
    assert_eq!(
        Select::from_json(&json!(["a", {"A/r": ["b"]}])),
        Ok(Select::Fields(vec![
            SelectItem::field("a"),
            SelectItem::deref("A/r", ["b"])
        ]))
    );
    let e = Select::from_json(&json!(3)).unwrap_err();
    assert_eq!(
        (e.kind, e.pointer.as_str()),
        (ParseErrorKind::BadShape, "/q/select")
    );
}
