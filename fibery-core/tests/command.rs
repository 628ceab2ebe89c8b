//! Commands, batches and results: exact wire JSON, parsing, round-trips.

use fibery_core::command::*;
use fibery_core::error::FiberyError;
use fibery_core::query::{Filter, ParseErrorKind, Query};
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

/// The one idempotency rule (see `Command::is_idempotent`): safe to repeat after an unknown
/// outcome when the repeat leaves the same state and its answer still tells what happened.
#[test]
fn idempotency_rule_table() {
    let raw = Command::Raw {
        command: "fibery.entity/set-collection-items".into(),
        args: None,
    };
    let cases: Vec<(&str, Command, bool)> = vec![
        (
            "query",
            Command::query(Query::from("A/B").select(["fibery/id"])),
            true,
        ),
        ("schema query", Command::schema_query(), true),
        (
            "update",
            Command::update("A/B", "x", json!({"A/n": 1})),
            true,
        ),
        (
            "add items",
            Command::add_collection_items("A/B", "A/c", "x", ["i"]),
            true,
        ),
        (
            "remove items",
            Command::remove_collection_items("A/B", "A/c", "x", ["i"]),
            true,
        ),
        (
            "create-or-update",
            Command::create_or_update("A/B", "A/k", ConflictAction::UpdateLatest, []),
            true,
        ),
        (
            "create with id",
            Command::create("A/B", json!({"fibery/id": "x"})),
            true,
        ),
        (
            "create without id",
            Command::create("A/B", json!({"A/n": 1})),
            false,
        ),
        (
            "create with a non-string id",
            Command::create("A/B", json!({"fibery/id": 7})),
            false,
        ),
        ("delete", Command::delete("A/B", "x"), false),
        ("schema batch", Command::schema_batch([]), false),
        ("raw", raw, false),
        (
            "batch of repeatable commands",
            Command::batch([
                Command::schema_query(),
                Command::update("A/B", "x", json!({})),
            ]),
            true,
        ),
        (
            "batch with a delete",
            Command::batch([Command::schema_query(), Command::delete("A/B", "x")]),
            false,
        ),
        (
            "batch with a create without id",
            Command::batch([Command::create("A/B", json!({}))]),
            false,
        ),
        (
            "correlated update",
            Command::update("A/B", "x", json!({})).with_correlation_id("c"),
            true,
        ),
        (
            "correlated delete",
            Command::delete("A/B", "x").with_correlation_id("c"),
            false,
        ),
    ];
    for (what, command, repeatable) in cases {
        assert_eq!(command.is_idempotent(), repeatable, "{what}");
    }
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

#[test]
fn every_name_is_the_wire_name() {
    for c in all_commands() {
        assert_eq!(c.to_json()["command"], json!(c.name()), "{c:?}");
        if let Command::SchemaBatch(inner) = &c {
            for s in inner {
                assert_eq!(s.to_json()["command"], json!(s.name()));
            }
        }
    }
}

/// What the emulator maps to Fibery's error names: each failure has a kind and a location.
#[test]
fn parse_errors_are_typed() {
    let cases = [
        (json!(5), CommandErrorKind::NotACommand, ""),
        (
            json!({"args": {}}),
            CommandErrorKind::NotACommand,
            "/command",
        ),
        (
            json!({"command": "fibery.entity/delete", "correlationId": 5,
                   "args": {"type": "A", "entity": {"fibery/id": "x"}}}),
            CommandErrorKind::NotACommand,
            "/correlationId",
        ),
        (
            json!({"command": "fibery.entity/create", "args": {"type": 5, "entity": {}}}),
            CommandErrorKind::InvalidArgs,
            "/args/type",
        ),
        (
            json!({"command": "fibery.entity/update", "args": {"type": "A", "entity": []}}),
            CommandErrorKind::InvalidArgs,
            "/args/entity",
        ),
        // An array never fills args by position.
        (
            json!({"command": "fibery.entity/create", "args": ["A", {}]}),
            CommandErrorKind::InvalidArgs,
            "/args",
        ),
        (
            json!({"command": "fibery.schema/query", "args": []}),
            CommandErrorKind::InvalidArgs,
            "/args",
        ),
        (
            json!({"command": "fibery.entity.batch/create-or-update", "args": {"type": "A",
                   "conflict-field": "A/k", "conflict-action": "skip-create", "entities": [{}, 3]}}),
            CommandErrorKind::InvalidArgs,
            "/args/entities/1",
        ),
        (
            json!({"command": "fibery.entity/add-collection-items", "args": {"type": "A",
                   "field": "A/c", "entity": {"fibery/id": "p"}}}),
            CommandErrorKind::InvalidArgs,
            "/args/items",
        ),
        (
            json!({"command": "fibery.entity/add-collection-items", "args": {"type": "A",
                   "field": "A/c", "entity": {"fibery/id": "p"}, "items": ["a", 5]}}),
            CommandErrorKind::InvalidArgs,
            "/args/items/1",
        ),
        (
            json!({"command": "fibery.command/batch", "args": {}}),
            CommandErrorKind::InvalidArgs,
            "/args/commands",
        ),
        (
            json!({"command": "fibery.schema/batch", "args": {"commands": [
                {"command": "schema.type/rename", "args": {"from-name": "A/B"}}]}}),
            CommandErrorKind::InvalidArgs,
            "/args/commands/0/args/to-name",
        ),
        (
            json!({"command": "fibery.schema/batch", "args": {"commands": [
                {"command": "schema.field/create", "args": {"fibery/holder-type": "A/B",
                 "fibery/name": "A/c", "fibery/type": "fibery/text", "fibery/meta": 1}}]}}),
            CommandErrorKind::InvalidArgs,
            "/args/commands/0/args",
        ),
        (
            json!({"command": "fibery.schema/batch", "args": {"commands": [
                {"command": "fibery.app/install-mixins", "args": {"types": {"A/B": "x"}}}]}}),
            CommandErrorKind::InvalidArgs,
            "/args/commands/0/args/types/A~1B",
        ),
        (
            json!({"command": "fibery.entity/query", "args": {"query": {"q/from": "A/B", "q/select": ["x"],
                   "q/limit": 1, "q/where": ["q/bogus", ["x"], "$v"]}}}),
            CommandErrorKind::Query(ParseErrorKind::UnknownOperator),
            "/args/query/q/where/0",
        ),
        (
            json!({"command": "fibery.entity/query", "args": {"query": {"q/from": "A/B", "q/select": ["x"],
                   "q/limit": 1}, "params": []}}),
            CommandErrorKind::Query(ParseErrorKind::BadArgs),
            "/args/params",
        ),
    ];
    for (json, kind, pointer) in cases {
        let e = Command::from_json(&json).unwrap_err();
        assert_eq!((e.kind, e.pointer.as_str()), (kind, pointer), "{json}: {e}");
    }
    let e = Command::from_json(&json!({"command": "fibery.entity/query",
        "args": {"query": {"q/from": "A/B", "q/select": ["x"]}}}))
    .unwrap_err();
    assert_eq!(
        e.kind.fibery_name(),
        fibery_core::error::names::QUERY_LIMIT_EXPR_NOT_FOUND
    );
    assert_eq!(
        CommandErrorKind::InvalidArgs.fibery_name(),
        fibery_core::error::names::INVALID_ARGS
    );
    let e = Command::from_json(&json!({"command": "fibery.entity/create",
        "args": {"type": "A", "entity": "x"}}))
    .unwrap_err();
    assert_eq!(*e.expr, json!("x"));
}

#[test]
fn lenient_shapes_other_clients_send() {
    // Omitted or null args are `{}`: fine where nothing is required.
    for args in [None, Some(Value::Null)] {
        let mut c = json!({"command": "fibery.schema/query"});
        if let Some(a) = args {
            c["args"] = a;
        }
        assert_eq!(Command::from_json(&c).unwrap(), Command::schema_query());
    }
    // Collection items as bare ids or refs, parent as a ref.
    let c = Command::from_json(&json!({"command": "fibery.entity/add-collection-items",
        "args": {"type": "A", "field": "A/c", "entity": {"fibery/id": "p"},
                 "items": ["a", {"fibery/id": "b"}]}}))
    .unwrap();
    assert_eq!(
        c,
        Command::add_collection_items("A", "A/c", "p", ["a", "b"])
    );
    // Unmodelled commands keep whatever args they had; a null correlationId is none.
    let c = Command::from_json(&json!({"command": "x.y/z", "args": [1], "correlationId": null}))
        .unwrap();
    assert_eq!(
        c,
        Command::Raw {
            command: "x.y/z".into(),
            args: Some(json!([1]))
        }
    );
    let s = SchemaCommand::from_json(&json!({"command": "schema.type/set-meta"})).unwrap();
    assert_eq!(
        s,
        SchemaCommand::Raw {
            command: "schema.type/set-meta".into(),
            args: None
        }
    );
}

#[test]
fn mandatory_fields_are_one_definition() {
    let fields = FieldSpec::mandatory("Ops/Name");
    assert_eq!(fields[0], FieldSpec::title("Ops/Name"));
    assert_eq!(fields[1..], FieldSpec::system_fields()[..]);
    assert_eq!(
        fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        [
            "Ops/Name",
            "fibery/id",
            "fibery/public-id",
            "fibery/creation-date",
            "fibery/modification-date"
        ]
    );
    let spec: FieldSpec =
        serde_json::from_value(json!({"fibery/name": "A/x", "fibery/type": "fibery/int"})).unwrap();
    assert_eq!(spec, FieldSpec::new("A/x", "fibery/int"));
}
