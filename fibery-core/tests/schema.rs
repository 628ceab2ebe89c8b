//! Schema parsing, field classification, relation ends, suggestions and mapping checks.

use fibery_core::entity::{DocFormat, FieldMapping, MappingKind};
use fibery_core::schema::{Cardinality, FieldType, PrimitiveType, Schema, SchemaError};
use fibery_core::validate::Rule;
use serde_json::json;

mod common;

use common::{options, schema as load};

#[test]
fn fixtures_parse_and_roundtrip() {
    for name in ["project-management", "all-primitives", "relations-enums"] {
        let raw = common::schema_json(name);
        let schema = Schema::from_json(&raw).unwrap();
        // Serializing drops `false` flags Fibery also sends; the parsed model is unchanged.
        let again = Schema::from_json(&schema.to_json()).unwrap();
        assert!(again == schema, "{name} does not round-trip");
        assert_eq!(
            schema.types.len(),
            raw["fibery/types"].as_array().unwrap().len()
        );
        for sys in [
            "fibery/user",
            "fibery/file",
            "Collaboration~Documents/Document",
            "fibery/text",
            "fibery/rank-mixin",
        ] {
            assert!(schema.type_def(sys).is_some(), "{name} lacks {sys}");
        }
    }
}

#[test]
fn envelope_is_tolerated_and_failure_reported() {
    let bare = load("project-management");
    let env = json!({"success": true, "result": bare.to_json()});
    assert_eq!(Schema::from_envelope(&env).unwrap(), bare);
    assert_eq!(Schema::from_envelope(&json!([env])).unwrap(), bare);
    let failed =
        json!({"success": false, "result": {"name": "x/y", "message": "boom", "data": {}}});
    assert_eq!(
        Schema::from_envelope(&failed),
        Err(SchemaError::CommandFailed {
            name: "x/y".into(),
            message: "boom".into()
        })
    );
    assert!(matches!(
        Schema::parse("{\"fibery/types\": 3}"),
        Err(SchemaError::Invalid(_))
    ));
    assert!(matches!(
        Schema::parse("not json"),
        Err(SchemaError::Invalid(_))
    ));
}

#[test]
fn project_management_field_types() {
    let s = load("project-management");
    let prim = FieldType::Primitive;
    let expected = [
        ("Projects/Name", prim(PrimitiveType::Text)),
        ("Projects/Estimate", prim(PrimitiveType::Decimal)),
        ("Projects/Effort", prim(PrimitiveType::Int)),
        ("Projects/Due", prim(PrimitiveType::Date)),
        ("Projects/Done", prim(PrimitiveType::Bool)),
        ("Projects/Description", FieldType::RichText),
        (
            "Projects/Project",
            FieldType::Relation {
                target: "Projects/Project".into(),
                collection: false,
            },
        ),
        (
            "workflow/state",
            FieldType::WorkflowState {
                enum_type: "workflow/state_Projects/Task".into(),
            },
        ),
        (
            "Projects/Priority",
            FieldType::SingleSelect {
                enum_type: "Projects/Priority_Projects/Task".into(),
            },
        ),
        (
            "Projects/Tags",
            FieldType::MultiSelect {
                enum_type: "Projects/Tags_Projects/Task".into(),
            },
        ),
        ("Files/Files", FieldType::File { collection: true }),
        (
            "assignments/assignees",
            FieldType::User { collection: true },
        ),
        ("fibery/created-by", FieldType::User { collection: false }),
    ];
    for (field, want) in expected {
        let got = s.field_type("Projects/Task", field);
        assert_eq!(got, Some(want), "{field}");
    }
    assert!(
        s.field("Projects/Task", "Projects/External Id")
            .unwrap()
            .meta
            .unique
    );
    assert_eq!(
        s.type_def("Projects/Task")
            .unwrap()
            .title_field()
            .unwrap()
            .name,
        "Projects/Name"
    );
    assert!(
        s.field("Projects/Task", "Projects/Days Left")
            .unwrap()
            .is_readonly()
    );
}

#[test]
fn every_primitive_is_classified() {
    let s = load("all-primitives");
    let rec = s.type_def("Prims/Record").unwrap();
    let mut seen = Vec::new();
    for f in rec.live_fields() {
        if let FieldType::Primitive(p) = f.field_type(&s) {
            assert!(
                !matches!(p, PrimitiveType::Other(_)),
                "{} unclassified",
                f.name
            );
            seen.push(p);
        }
    }
    for p in PrimitiveType::KNOWN {
        assert!(seen.contains(&p), "fixture lacks a {p} field");
        assert_eq!(PrimitiveType::from_name(p.name()), Some(p.clone()));
        assert!(s.type_def(p.name()).unwrap().meta.primitive);
    }
    // soft-deleted fields are invisible to lookups
    assert!(rec.field("Prims/Old Field_0rsgh1m_deleted").is_none());
    assert_eq!(
        s.field_type("Prims/Record", "Prims/Notes"),
        Some(FieldType::RichText)
    );
}

#[test]
fn relation_ends_and_cardinality() {
    let s = load("relations-enums");
    let pm = load("project-management");
    let ends = [
        (
            &s,
            "Crm/Company",
            "Crm/Contacts",
            "Crm/Contact",
            "Crm/Company",
        ),
        (
            &s,
            "Crm/Company",
            "Crm/Parent",
            "Crm/Company",
            "Crm/Subsidiaries",
        ),
        (
            &pm,
            "Projects/Task",
            "Projects/Project",
            "Projects/Project",
            "Projects/Tasks",
        ),
    ];
    for (schema, ty, field, other_ty, other_field) in ends {
        let (t, f) = schema.other_end(ty, field).unwrap();
        assert_eq!((t.name.as_str(), f.name.as_str()), (other_ty, other_field));
    }
    assert!(s.other_end("Crm/Contact", "Crm/Owner").is_none());
    let cardinalities = [
        ("Crm/Company", "Crm/Contacts", Some(Cardinality::OneToMany)),
        ("Crm/Contact", "Crm/Company", Some(Cardinality::ManyToOne)),
        ("Crm/Deal", "Crm/Contacts", Some(Cardinality::ManyToMany)),
        (
            "Crm/Deal",
            "Crm/Primary Contact",
            Some(Cardinality::OneToOne),
        ),
        ("Crm/Contact", "Crm/Owner", Some(Cardinality::ManyToOne)),
        ("Crm/Deal", "Crm/Name", None),
    ];
    for (ty, field, want) in cardinalities {
        assert_eq!(s.cardinality(ty, field), want, "{ty}.{field}");
    }
}

#[test]
fn suggestions() {
    let s = load("project-management");
    assert_eq!(s.suggest_type("Projects/Tsak"), Some("Projects/Task"));
    assert_eq!(s.suggest_type("projects/task"), Some("Projects/Task"));
    assert_eq!(s.suggest_type("Projects/Task"), None);
    assert_eq!(s.suggest_type("Totally/Different Thing"), None);
    let task = s.type_def("Projects/Task").unwrap();
    assert_eq!(task.suggest_field("Projects/Nmae"), Some("Projects/Name"));
    assert_eq!(task.suggest_field("Name"), Some("Projects/Name"));
    assert_eq!(
        task.suggest_field("projects/estimate"),
        Some("Projects/Estimate")
    );
    assert_eq!(task.suggest_field("Projects/Name"), None);
}

const fn m(rust: &'static str, fibery: &'static str, kind: MappingKind) -> FieldMapping {
    FieldMapping {
        rust_name: rust,
        fibery_name: fibery,
        kind,
        optional: true,
    }
}

#[test]
fn check_mapping_accepts_fitting_and_rejects_misfits() {
    let s = load("project-management");
    let good = [
        m("id", "fibery/id", MappingKind::Id),
        m("name", "Projects/Name", MappingKind::Primitive),
        m(
            "description",
            "Projects/Description",
            MappingKind::RichText(DocFormat::Md),
        ),
        m(
            "project",
            "Projects/Project",
            MappingKind::Relation { collection: false },
        ),
        m(
            "state",
            "workflow/state",
            MappingKind::Enum { multi: false },
        ),
        m(
            "priority",
            "Projects/Priority",
            MappingKind::Enum { multi: false },
        ),
        m("tags", "Projects/Tags", MappingKind::Enum { multi: true }),
        m("files", "Files/Files", MappingKind::Files),
        m(
            "assignees",
            "assignments/assignees",
            MappingKind::Relation { collection: true },
        ),
    ];
    assert_eq!(s.check_mapping("Projects/Task", &good), Ok(()));

    let bad = [
        m("nmae", "Projects/Nmae", MappingKind::Primitive),
        m(
            "project",
            "Projects/Project",
            MappingKind::Relation { collection: true },
        ),
        m("tags", "Projects/Tags", MappingKind::Enum { multi: false }),
        m("desc", "Projects/Description", MappingKind::Primitive),
    ];
    let v = s.check_mapping("Projects/Task", &bad).unwrap_err();
    assert_eq!(v.len(), 4);
    assert_eq!(v[0].rule, Rule::UnknownField);
    assert!(
        v[0].reason.contains("did you mean `Projects/Name`"),
        "{}",
        v[0].reason
    );
    assert!(v[1..].iter().all(|x| x.rule == Rule::WrongType));

    let v = s.check_mapping("Projects/Tasks", &good).unwrap_err();
    assert_eq!(v[0].rule, Rule::UnknownType);
    assert!(v[0].reason.contains("Projects/Task"));
}

#[test]
fn fixture_options_fit_their_schemas() {
    for (schema, opts) in [
        (load("project-management"), options("project-management")),
        (load("relations-enums"), options("relations-enums")),
    ] {
        // every enum type has options, and every default-value option id exists
        for t in schema.enum_types() {
            assert!(
                opts.get(&t.name).is_some_and(|o| !o.is_empty()),
                "{} has no options",
                t.name
            );
        }
        for t in schema.domain_types() {
            for f in t.live_fields() {
                if let (Some(et), Some(default)) = (
                    f.field_type(&schema).enum_type().map(str::to_owned),
                    f.meta.default_value.as_ref(),
                ) {
                    let id = default["fibery/id"].as_str().unwrap();
                    assert!(
                        opts.by_id(&et, id).is_some(),
                        "{}.{} default {id}",
                        t.name,
                        f.name
                    );
                }
            }
        }
    }
}
