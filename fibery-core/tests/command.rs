//! Commands, batches and results: exact wire JSON, parsing, round-trips.

use fibery_core::command::*;
use fibery_core::error::FiberyError;
use fibery_core::query::{Filter, Query};
use serde_json::{Map, Value, json};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn all_commands() -> Vec<Command> {
    vec![
        Command::query(
            Query::from("Projects/Task")
                .select(["fibery/id"])
                .filter(Filter::eq("Projects/Done", true)),
        ),
        Command::create(
            "Projects/Task",
            json!({"fibery/id": "t1", "Projects/Name": "A"}),
        ),
        Command::update("Projects/Task", "t1", json!({"Projects/Name": "B"})),
        Command::delete("Projects/Task", "t1"),
        Command::add_collection_items("Projects/Task", "Projects/Tags", "t1", ["o1", "o2"]),
        Command::remove_collection_items("Projects/Task", "Projects/Tags", "t1", ["o1"]),
        Command::create_or_update(
            "Projects/Task",
            "Projects/External Id",
            ConflictAction::UpdateLatest,
            [obj(
                json!({"fibery/id": "e1", "Projects/External Id": "J-1"}),
            )],
        ),
        Command::batch([Command::delete("A/B", "x"), Command::schema_query()]),
        Command::schema_query(),
        Command::SchemaQuery {
            with_description: Some(true),
        },
        Command::schema_batch([
            SchemaCommand::create_domain_type(
                "Ops/Ticket",
                vec![FieldSpec::new("Ops/Due", "fibery/date")],
            ),
            SchemaCommand::TypeRename {
                from: "Ops/Ticket".into(),
                to: "Ops/Issue".into(),
            },
            SchemaCommand::TypeDelete {
                name: "Ops/Issue".into(),
                delete_entities: Some(true),
                delete_related_fields: None,
            },
            SchemaCommand::create_field(
                "Ops/Ticket",
                FieldSpec::new("Ops/Body", "Collaboration~Documents/Document")
                    .meta("fibery/entity-component?", true),
            ),
            SchemaCommand::FieldRename {
                holder_type: "Ops/Ticket".into(),
                from: "Ops/A".into(),
                to: "Ops/B".into(),
            },
            SchemaCommand::FieldDelete {
                holder_type: "Ops/Ticket".into(),
                name: "Ops/B".into(),
                delete_values: Some(false),
            },
            SchemaCommand::FieldSetMeta {
                holder_type: "Ops/Ticket".into(),
                name: "Ops/B".into(),
                key: "fibery/readonly?".into(),
                value: json!(false),
            },
            SchemaCommand::FieldDeleteMeta {
                holder_type: "Ops/Ticket".into(),
                name: "Ops/B".into(),
                key: "ui/title?".into(),
            },
            SchemaCommand::EnumCreate {
                name: "Ops/Priority_Ops/Ticket".into(),
                meta: Some(obj(json!({"fibery/type-component?": true}))),
            },
            SchemaCommand::EnumCreate {
                name: "Ops/Size_Ops/Ticket".into(),
                meta: None,
            },
            SchemaCommand::InstallMixins {
                types: vec![("Ops/Ticket".into(), vec!["fibery/rank-mixin".into()])],
            },
            SchemaCommand::Raw {
                command: "schema.type/set-meta".into(),
                args: Some(json!({"name": "Ops/Ticket"})),
            },
        ]),
        Command::delete("A/B", "x").with_correlation_id("cd44"),
        Command::Raw {
            command: "fibery.entity/set-collection-items".into(),
            args: Some(json!({"type": "A/B"})),
        },
        Command::Raw {
            command: "fibery.identity/me".into(),
            args: None,
        },
    ]
}

#[test]
fn every_command_roundtrips_through_json_and_serde() {
    for c in all_commands() {
        let j = c.to_json();
        assert_eq!(Command::from_json(&j).unwrap(), c, "{j}");
        let text = serde_json::to_string(&c).unwrap();
        let back: Command = serde_json::from_str(&text).unwrap();
        assert_eq!(back, c);
    }
    let batch: CommandBatch = all_commands().into_iter().collect();
    assert_eq!(CommandBatch::from_json(&batch.to_json()).unwrap(), batch);
}

#[test]
fn wire_shapes_match_the_docs() {
    assert_eq!(
        Command::delete("Ops/Ticket", "id1").to_json(),
        json!({"command": "fibery.entity/delete", "args": {"type": "Ops/Ticket", "entity": {"fibery/id": "id1"}}})
    );
    assert_eq!(
        Command::add_collection_items("Ops/Ticket", "Ops/Watchers", "p", ["u1", "u2"]).to_json(),
        json!({"command": "fibery.entity/add-collection-items",
               "args": {"type": "Ops/Ticket", "field": "Ops/Watchers", "entity": {"fibery/id": "p"},
                        "items": [{"fibery/id": "u1"}, {"fibery/id": "u2"}]}})
    );
    assert_eq!(
        Command::schema_query().to_json(),
        json!({"command": "fibery.schema/query"})
    );
    assert_eq!(
        Command::delete("A/B", "x")
            .with_correlation_id("c1")
            .to_json(),
        json!({"command": "fibery.entity/delete", "correlationId": "c1", "args": {"type": "A/B", "entity": {"fibery/id": "x"}}})
    );
    let update = Command::update("A/B", "x", json!({"fibery/id": "ignored", "A/n": 1})).to_json();
    assert_eq!(
        update["args"]["entity"],
        json!({"fibery/id": "x", "A/n": 1})
    );
}

#[test]
fn map_shaped_collection_args_are_accepted() {
    let c = Command::from_json(&json!({"command": "fibery.entity/remove-collection-items",
        "args": {"type": "Ops/Ticket", "field": "Ops/Watchers", "entity": {"p1": ["u1", "u2"]}}}))
    .unwrap();
    assert_eq!(
        c,
        Command::remove_collection_items("Ops/Ticket", "Ops/Watchers", "p1", ["u1", "u2"])
    );
    let err = Command::from_json(&json!({"command": "fibery.entity/add-collection-items",
        "args": {"type": "T", "field": "F", "entity": {"p1": ["u"], "p2": ["v"]}}}))
    .unwrap_err();
    assert_eq!(err.pointer, "/args/entity");
}

#[test]
fn parse_errors_name_the_location() {
    let e = Command::from_json(&json!({"command": "fibery.entity/create", "args": {"entity": {}}}))
        .unwrap_err();
    assert_eq!(e.pointer, "/args/type");
    let e = CommandBatch::from_json(&json!([{"command": "fibery.schema/query"}, {"args": {}}]))
        .unwrap_err();
    assert_eq!(e.pointer, "/1/command");
    let e = Command::from_json(&json!({"command": "fibery.entity/query", "args": {"query": {"q/from": "A/B", "q/select": ["x"]}}})).unwrap_err();
    assert_eq!(e.pointer, "/args/query/q/limit");
    let e = Command::from_json(&json!({"command": "fibery.command/batch", "args": {"commands": [{"command": "fibery.entity/delete", "args": {"type": "A", "entity": {}}}]}})).unwrap_err();
    assert_eq!(e.pointer, "/args/commands/0/args/entity/fibery~1id");
    assert!(Command::from_json(&json!("x")).is_err());
}

#[test]
fn idempotency_classification() {
    assert!(Command::create("A/B", json!({"fibery/id": "x"})).is_idempotent());
    assert!(!Command::create("A/B", json!({"A/n": 1})).is_idempotent());
    assert!(Command::batch([Command::schema_query(), Command::delete("A/B", "x")]).is_idempotent());
    assert!(!Command::batch([Command::create("A/B", json!({}))]).is_idempotent());
    assert!(!Command::schema_batch([]).is_idempotent());
}

#[test]
fn chunks_keep_order_and_count() {
    let batch: CommandBatch = (0..7).map(|i| Command::delete("A/B", i)).collect();
    let chunks = batch.chunks(3);
    assert_eq!(
        chunks.iter().map(CommandBatch::len).collect::<Vec<_>>(),
        vec![3, 3, 1]
    );
    let flat: Vec<Command> = chunks.into_iter().flat_map(|c| c.commands).collect();
    assert_eq!(flat, batch.commands);
    assert_eq!(batch.chunks(0).len(), 7);
}

#[test]
fn results_parse_success_failure_nested_and_500() {
    let body = json!([
        {"success": true, "result": [{"fibery/id": "a"}]},
        {"success": false, "result": {"name": "entity.error/schema-type-not-found",
            "message": "\"Ops/Nope\" database was not found.",
            "data": {"error/schema-version": 15738, "type": "Ops/Nope"}}},
        {"success": true, "result": [{"success": true, "result": "ok"}, {"success": true, "result": null}]}
    ]);
    let rs = CommandResult::parse_response(&body).unwrap();
    assert_eq!(rs.len(), 3);
    assert!(rs[0].is_success());
    let CommandResult::Failure(e) = &rs[1] else {
        panic!()
    };
    assert!(e.is_type_not_found());
    assert_eq!(e.data["type"], json!("Ops/Nope"));
    let nested = rs[2].batch_results().unwrap().unwrap();
    assert_eq!(
        nested,
        vec![
            CommandResult::Success(json!("ok")),
            CommandResult::Success(Value::Null)
        ]
    );
    for r in &rs {
        assert_eq!(&CommandResult::from_json(&r.to_json()).unwrap(), r);
        let back: CommandResult = serde_json::from_value(serde_json::to_value(r).unwrap()).unwrap();
        assert_eq!(&back, r);
    }
    let single = CommandResult::parse_response(&json!({"success": true, "result": "ok"})).unwrap();
    assert_eq!(single, vec![CommandResult::Success(json!("ok"))]);
    let five_hundred =
        json!({"name": "command/not-found", "message": "Unknown command", "data": {}});
    assert_eq!(
        CommandResult::parse_response(&five_hundred),
        Err(ResponseError::Fibery(
            FiberyError::new("command/not-found", "Unknown command").with_data(json!({}))
        ))
    );
    assert!(matches!(
        CommandResult::parse_response(&json!([1])),
        Err(ResponseError::Shape(_))
    ));
    let odd = CommandResult::from_json(&json!({"success": false, "result": "boom"})).unwrap();
    assert_eq!(odd, CommandResult::Failure(FiberyError::new("", "boom")));
}

#[test]
fn fibery_error_roundtrips() {
    let e = FiberyError::new("entity.error/not-found", "gone").with_data(json!({"id": "x"}));
    let back: FiberyError = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
    assert_eq!(back, e);
    assert_eq!(e.to_string(), "entity.error/not-found: gone");
    assert!(e.is_not_found());
    let bare = FiberyError::new("a", "b");
    assert_eq!(bare.to_value(), json!({"name": "a", "message": "b"}));
}

#[test]
fn upsert_results_are_typed() {
    let r = CommandResult::Success(json!([
        {"action": "create", "created": {"fibery/id": "n1"}},
        {"action": "skip-create", "entity": {"fibery/id": "e2"}, "duplicate": {"fibery/id": "d2"}},
        {"action": "update-latest", "entity": {"fibery/id": "e3"}, "duplicate": {"fibery/id": "d3"}, "updated": {"fibery/id": "d3"}},
        {"action": "prefer-duplicate-found-in-the-batch", "entity": {"fibery/id": "e4"}, "duplicate": {"fibery/id": "e1"}}
    ]));
    let items = r.upsert_results().unwrap().unwrap();
    assert_eq!(
        items.iter().map(|i| i.action.clone()).collect::<Vec<_>>(),
        vec![
            UpsertAction::Create,
            UpsertAction::SkipCreate,
            UpsertAction::UpdateLatest,
            UpsertAction::PreferDuplicateFoundInTheBatch
        ]
    );
    assert_eq!(
        items.iter().map(|i| i.id().unwrap()).collect::<Vec<_>>(),
        vec!["n1", "d2", "d3", "e1"]
    );
    for i in &items {
        assert_eq!(&UpsertItemResult::from_json(&i.to_json()).unwrap(), i);
    }
    assert!(
        CommandResult::Success(json!("ok"))
            .upsert_results()
            .is_none()
    );
}
