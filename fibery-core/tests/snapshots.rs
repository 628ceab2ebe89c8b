//! Wire-format snapshots of representative queries and commands. Each was checked by hand
//! against the documented examples in Fibery's API docs (see the comment on each).

mod common;

use fibery_core::command::*;
use fibery_core::query::*;
use insta::assert_json_snapshot;
use serde_json::{Map, Value, json};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

// Docs §4.1/§4.2/§4.7: params sibling of query; order-by path always an array.
#[test]
fn q01_design_example() {
    let q = common::design_example();
    assert_json_snapshot!("q01_design_example", Command::query(q).to_json());
}

// Docs §4.2 vector form: primitive, deref of single-select/relation, collection sub-query, aggregate.
#[test]
fn q02_vector_select() {
    let q = Query::from("Ops/Ticket")
        .select(["fibery/id", "Ops/Name", "Ops/Estimate"])
        .select_relation("Ops/Priority", ["enum/name"])
        .select_relation("Ops/Team", ["Ops/Name"])
        .select_collection(
            "Ops/Watchers",
            SubQuery::new().select(["user/name"]).limit(100),
        )
        .select_count("# watchers", "Ops/Watchers")
        .limit(10);
    assert_json_snapshot!("q02_vector_select", q.to_args());
}

// Docs §4.3 map form: aliases, path through single relation, document secret, sub-query with q/from.
#[test]
fn q03_map_select() {
    let q = Query::from("Ops/Ticket")
        .select_as("name", AliasedExpr::Path(vec!["Ops/Name".into()]))
        .select_as(
            "team",
            AliasedExpr::Path(vec!["Ops/Team".into(), "Ops/Name".into()]),
        )
        .select_as(
            "body",
            AliasedExpr::Path(vec![
                "Ops/Body".into(),
                "Collaboration~Documents/secret".into(),
            ]),
        )
        .select_as(
            "watchers",
            AliasedExpr::SubQuery {
                field: "Ops/Watchers".into(),
                query: Box::new(
                    SubQuery::new()
                        .select_as("n", AliasedExpr::Path(vec!["user/name".into()]))
                        .limit(50),
                ),
            },
        )
        .select_as(
            "count",
            AliasedExpr::Aggregate {
                func: Aggregate::Count,
                path: vec!["Ops/Watchers".into(), "fibery/id".into()],
            },
        )
        .limit(25);
    assert_json_snapshot!("q03_map_select", q.to_args());
}

// The q/where examples of the docs, one snapshot each.
#[test]
fn filter_examples() {
    let cases = [
        // Docs §4.6 example: open, high-priority tickets created this year assigned to either of two users.
        (
            "q04_where_example",
            Query::from("Ops/Ticket")
                .select(["fibery/id"])
                .filter(
                    Filter::ge("fibery/creation-date", "2026-01-01T00:00:00.000Z")
                        .and(Filter::eq(["Ops/Priority", "enum/name"], "High"))
                        .and(Filter::eq(["workflow/state", "workflow/Final"], false))
                        .and(Filter::in_list(
                            ["assignments/assignees", "fibery/id"],
                            [
                                "6a1e0000-0000-4000-8000-000000000001",
                                "b7c20000-0000-4000-8000-000000000002",
                            ],
                        )),
                )
                .limit(1000),
        ),
        // Docs §4.8 keyset cursor: order by fibery/id, limit page+1, id > last seen combined by q/and.
        (
            "q05_cursor_page",
            Query::from("Projects/Task")
                .select(["fibery/id", "Projects/Name"])
                .filter(Filter::eq("Projects/Done", false))
                .and_filter(Filter::gt(
                    "fibery/id",
                    "3f0c0000-0000-4000-8000-000000000000",
                ))
                .order_by("fibery/id", Order::Asc)
                .limit(1001),
        ),
        // Docs §4.6: q/null?, q/null-or-empty?, q/count emptiness, q/start/q/end of ranges.
        (
            "q06_functions",
            Query::from("Ops/Ticket")
                .select(["fibery/id"])
                .filter(
                    Filter::is_null("Ops/Due")
                        .or(Filter::not_null_or_empty("Ops/Name"))
                        .or(Filter::is_empty("Ops/Watchers"))
                        .or(Filter::start("Ops/Window", CompareOp::Lt, "2026-07-01"))
                        .or(Filter::end("Ops/Window", CompareOp::Ge, "2026-06-01")),
                )
                .order_by_expr(Operand::start("Ops/Window"), Order::Asc)
                .no_limit(),
        ),
        // Docs §4.6 text operators and q/not-in; offset.
        (
            "q07_text_ops",
            Query::from("Ops/Ticket")
                .select(["fibery/id", "Ops/Name"])
                .filter(
                    Filter::all([
                        Filter::equals_ignoring_case("Ops/Name", "printer"),
                        Filter::starts_with_ignoring_case("Ops/Name", "pri"),
                        Filter::ends_with_ignoring_case("Ops/Name", "fire"),
                        Filter::not_contains("Ops/Name", "test"),
                        Filter::not_in(["Ops/Priority", "enum/name"], ["Low", "Medium"]),
                    ])
                    .unwrap(),
                )
                .offset(200)
                .limit(100),
        ),
        // Docs §1/§6.5: current user via built-in $my-id (no params entry).
        (
            "q08_my_id",
            Query::from("fibery/user")
                .select(["fibery/id", "user/name"])
                .filter(Filter::is_me("fibery/id"))
                .limit(1),
        ),
    ];
    for (name, q) in cases {
        assert_json_snapshot!(name, q.to_args());
    }
}

// Docs §5.1 create example.
#[test]
fn c09_create() {
    let c = Command::create(
        "Ops/Ticket",
        json!({"fibery/id": "0b8e2f0a-2a1d-4b0e-9a3a-6f6cc8f3c001",
               "Ops/Name": "Printer on fire",
               "Ops/Due": "2026-07-01",
               "Ops/Window": {"start": "2026-06-28", "end": "2026-07-02"},
               "Ops/Estimate": "1.5",
               "Ops/Urgent": true,
               "Ops/Priority": {"fibery/id": "5d0f0000-0000-4000-8000-000000000000"},
               "Ops/Team": {"fibery/id": "9c410000-0000-4000-8000-000000000000"},
               "workflow/state": {"fibery/id": "a69f0000-0000-4000-8000-000000000000"}}),
    );
    assert_json_snapshot!("c09_create", c.to_json());
}

// Docs §5.2 / §5.3.
#[test]
fn c10_update_delete() {
    let id = "0b8e2f0a-2a1d-4b0e-9a3a-6f6cc8f3c001";
    let b = CommandBatch::from(vec![
        Command::update(
            "Ops/Ticket",
            id,
            json!({"Ops/Name": "Printer fixed", "Ops/Team": null}),
        ),
        Command::delete("Ops/Ticket", id),
    ]);
    assert_json_snapshot!("c10_update_delete", b.to_json());
}

// Docs §5.4 legacy collection shape.
#[test]
fn c11_collections() {
    let b = CommandBatch::from(vec![
        Command::add_collection_items("Ops/Ticket", "Ops/Watchers", "p1", ["u1", "u2"]),
        Command::remove_collection_items("Ops/Ticket", "Ops/Watchers", "p1", ["u2"]),
    ]);
    assert_json_snapshot!("c11_collections", b.to_json());
}

// The upsert, batch and schema command examples of the docs, one snapshot each.
#[test]
fn command_examples() {
    let cases = [
        // Docs §5.6 upsert.
        (
            "c12_upsert",
            Command::create_or_update(
                "Ops/Ticket",
                "Ops/External Id",
                ConflictAction::UpdateLatest,
                [
                    obj(json!({"fibery/id": "e1", "Ops/External Id": "JIRA-1", "Ops/Name": "A"})),
                    obj(json!({"fibery/id": "e2", "Ops/External Id": "JIRA-2", "Ops/Name": "B"})),
                ],
            )
            .to_json(),
        ),
        // Docs §5.5 batch with correlationId: create a comment and link it.
        (
            "c13_command_batch",
            Command::batch([
                Command::create(
                    "comments/comment",
                    json!({"fibery/id": "c1", "comment/author": {"fibery/id": "u1"}}),
                ),
                Command::add_collection_items("Ops/Ticket", "comments/comments", "t1", ["c1"]),
            ])
            .with_correlation_id("cd440000-0000-4000-8000-000000000000")
            .to_json(),
        ),
        // Docs §6.1.
        (
            "c14_schema_query",
            CommandBatch::from(vec![
                Command::schema_query(),
                Command::SchemaQuery {
                    with_description: Some(true),
                },
            ])
            .to_json(),
        ),
        // Docs §6.7: type with the five mandatory fields, then mixins.
        (
            "c15_create_type",
            Command::schema_batch([
                SchemaCommand::create_domain_type(
                    "Ops/Ticket",
                    vec![FieldSpec::new("Ops/Due", "fibery/date")],
                ),
                SchemaCommand::InstallMixins {
                    types: vec![("Ops/Ticket".into(), vec!["fibery/rank-mixin".into()])],
                },
            ])
            .to_json(),
        ),
    ];
    for (name, wire) in cases {
        assert_json_snapshot!(name, wire);
    }
}

// Docs §6.7 relation recipe: two field/create sharing one fibery/relation.
#[test]
fn c16_relation_fields() {
    let rel = "1cb0d620-0000-4000-8000-000000000000";
    let c = Command::schema_batch([
        SchemaCommand::create_field(
            "Ops/Ticket",
            FieldSpec::new("Ops/Team", "Ops/Team")
                .meta("fibery/relation", rel)
                .meta("fibery/collection?", false),
        ),
        SchemaCommand::create_field(
            "Ops/Team",
            FieldSpec::new("Ops/Tickets", "Ops/Ticket")
                .meta("fibery/relation", rel)
                .meta("fibery/collection?", true),
        ),
    ]);
    assert_json_snapshot!("c16_relation_fields", c.to_json());
}

// Docs §6.7 single-select recipe: enum + field, options as entities, then default + required.
#[test]
fn c17_single_select_recipe() {
    let enum_type = "Ops/Priority_Ops/Ticket";
    let c = Command::batch([
        Command::schema_batch([
            SchemaCommand::EnumCreate {
                name: enum_type.into(),
                meta: Some(obj(json!({"fibery/type-component?": true}))),
            },
            SchemaCommand::create_field(
                "Ops/Ticket",
                FieldSpec::new("Ops/Priority", enum_type).meta("fibery/type-component?", true),
            ),
        ]),
        Command::create(
            enum_type,
            json!({"fibery/id": "o1", "enum/name": "High", "fibery/rank": 0}),
        ),
        Command::create(
            enum_type,
            json!({"fibery/id": "o2", "enum/name": "Low", "fibery/rank": 1000000}),
        ),
        Command::schema_batch([
            SchemaCommand::FieldSetMeta {
                holder_type: "Ops/Ticket".into(),
                name: "Ops/Priority".into(),
                key: "fibery/default-value".into(),
                value: json!({"fibery/id": "o1"}),
            },
            SchemaCommand::FieldSetMeta {
                holder_type: "Ops/Ticket".into(),
                name: "Ops/Priority".into(),
                key: "fibery/required?".into(),
                value: json!(true),
            },
        ]),
    ]);
    assert_json_snapshot!("c17_single_select_recipe", c.to_json());
}

// Docs §6.7 renames and deletes.
#[test]
fn c18_renames_deletes() {
    let c = Command::schema_batch([
        SchemaCommand::TypeRename {
            from: "Ops/Ticket".into(),
            to: "Ops/Issue".into(),
        },
        SchemaCommand::FieldRename {
            holder_type: "Ops/Issue".into(),
            from: "Ops/Due".into(),
            to: "Ops/Deadline".into(),
        },
        SchemaCommand::FieldDelete {
            holder_type: "Ops/Issue".into(),
            name: "Ops/Deadline".into(),
            delete_values: Some(true),
        },
        SchemaCommand::TypeDelete {
            name: "Ops/Issue".into(),
            delete_entities: Some(true),
            delete_related_fields: Some(true),
        },
    ]);
    assert_json_snapshot!("c18_renames_deletes", c.to_json());
}

// Docs §3.2 failure envelope.
#[test]
fn r19_failure_envelope() {
    let body = json!({"success": false,
        "result": {"name": "entity.error/schema-type-not-found",
                   "message": "\"Ops/Nope\" database was not found.",
                   "data": {"error/schema-version": 15738, "type": "Ops/Nope",
                            "query": {"q/from": "Ops/Nope", "q/select": ["fibery/id"], "q/limit": 1},
                            "params": {}, "param-types": {}, "param-collections": null}}});
    let r = CommandResult::from_json(&body).unwrap();
    assert_eq!(r.to_json(), body);
    assert_json_snapshot!("r19_failure_envelope", r.to_json());
}
