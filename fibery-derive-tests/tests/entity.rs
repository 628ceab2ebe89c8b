//! Encode / decode / check_schema of derived entities, against the core schema fixtures.

use fibery_core::entity::{DocFormat, FieldMapping, MappingKind};
use fibery_core::query::{Select, SelectItem, SubQuery};
use fibery_core::validate::Rule;
use fibery_derive_tests::fixtures::{fixture, row_from};
use fibery_derive_tests::{EntityRef, FiberyEntity, FiberyEnum};
use serde_json::{Value, json};
use uuid::Uuid;
use validator::Validate;

#[derive(FiberyEnum, Debug, Clone, Copy, PartialEq)]
enum Priority {
    Low,
    High,
    #[fibery(name = "Very High")]
    Critical,
}

/// One field of every kind; validator's derive works on the same struct.
#[derive(FiberyEntity, Validate, Debug, Clone, PartialEq)]
#[fibery(type = "Projects/Task", crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id)]
    id: Option<Uuid>,
    #[fibery(field = "Projects/Name")]
    #[validate(length(min = 1, max = 200))]
    name: String,
    #[fibery(field = "Projects/External Id")]
    external_id: Option<String>,
    #[fibery(field = "Projects/Estimate")]
    #[validate(range(min = 0.0))]
    estimate: Option<f64>,
    #[fibery(field = "Projects/Effort")]
    effort: Option<i64>,
    #[fibery(field = "Projects/Due")]
    due: Option<String>,
    #[fibery(field = "Projects/Done")]
    done: bool,
    #[fibery(rich_text = "Projects/Description", format = "md")]
    description: Option<String>,
    #[fibery(relation = "Projects/Project")]
    project: Option<EntityRef>,
    #[fibery(enum_field = "workflow/state")]
    state: Option<String>,
    #[fibery(enum_field = "Projects/Priority")]
    priority: Option<Priority>,
    #[fibery(enum_field = "Projects/Tags")]
    tags: Vec<String>,
    #[fibery(files = "Files/Files")]
    files: Vec<Uuid>,
    #[fibery(relation = "assignments/assignees")]
    assignees: Vec<EntityRef>,
    #[fibery(field = "Projects/Days Left", readonly)]
    days_left: Option<i64>,
    #[fibery(skip)]
    local_note: String,
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn sample() -> Task {
    Task {
        id: Some(id(1)),
        name: "Write docs".into(),
        external_id: None,
        estimate: Some(1.5),
        effort: Some(3),
        due: Some("2026-07-01".into()),
        done: false,
        description: Some("# Hello\n\nworld".into()),
        project: Some(EntityRef::new(id(2))),
        state: Some("In Progress".into()),
        priority: Some(Priority::Critical),
        tags: vec!["docs".into(), "rust".into()],
        files: vec![id(3)],
        assignees: vec![EntityRef::new(id(4)), EntityRef::new(id(5))],
        days_left: Some(7),
        local_note: String::new(),
    }
}

#[test]
fn type_name_and_field_mappings() {
    assert_eq!(Task::TYPE_NAME, "Projects/Task");
    let f = |rust_name: &str| -> FieldMapping {
        *Task::FIELDS
            .iter()
            .find(|m| m.rust_name == rust_name)
            .unwrap_or_else(|| panic!("no mapping for {rust_name}"))
    };
    assert_eq!(Task::FIELDS.len(), 15, "skip fields are not mapped");
    assert_eq!(f("id").kind, MappingKind::Id);
    assert_eq!(f("id").fibery_name, "fibery/id");
    assert!(f("id").optional);
    assert_eq!(f("name").kind, MappingKind::Primitive);
    assert!(!f("name").optional);
    assert_eq!(f("description").kind, MappingKind::RichText(DocFormat::Md));
    assert_eq!(
        f("project").kind,
        MappingKind::Relation { collection: false }
    );
    assert_eq!(
        f("assignees").kind,
        MappingKind::Relation { collection: true }
    );
    assert_eq!(f("state").kind, MappingKind::Enum { multi: false });
    assert_eq!(f("tags").kind, MappingKind::Enum { multi: true });
    assert_eq!(f("files").kind, MappingKind::Files);
    assert_eq!(f("days_left").fibery_name, "Projects/Days Left");
}

#[test]
fn validator_derive_works_on_the_same_struct() {
    sample().validate().unwrap();
    let task = Task {
        name: String::new(),
        estimate: Some(-1.0),
        state: None,
        tags: vec![],
        ..sample()
    };
    let errors = task.validate().unwrap_err();
    assert!(errors.field_errors().contains_key("name"));
    assert!(errors.field_errors().contains_key("estimate"));
    assert_eq!(
        task.encode().unwrap().enums[0].1,
        vec!["Very High".to_owned()]
    );
}

#[test]
fn select_reads_every_mapped_field() {
    let Select::Fields(typed) = Task::select() else {
        panic!("a vector-form select");
    };
    assert!(typed.contains(&SelectItem::deref("Projects/Project", ["fibery/id"])));
    assert!(typed.contains(&SelectItem::sub_query(
        "Projects/Tags",
        SubQuery::new().select(["enum/name"]).limit(100)
    )));
    // On the wire, as Fibery documents each shape.
    let wire = Task::select().to_json();
    let items = wire.as_array().unwrap();
    assert!(items.contains(&json!("fibery/id")));
    assert!(items.contains(&json!("Projects/Name")));
    assert!(items.contains(&json!({"Projects/Project": ["fibery/id"]})));
    assert!(items.contains(&json!({"workflow/state": ["enum/name"]})));
    assert!(items.contains(&json!({"Projects/Description": ["Collaboration~Documents/secret"]})));
    assert!(items.contains(&json!({"Projects/Tags": {"q/select": ["enum/name"], "q/limit": 100}})));
    assert_eq!(items.len(), Task::FIELDS.len());
}

#[test]
fn encode_splits_fields_collections_enums_and_documents() {
    let enc = sample().encode().unwrap();
    assert_eq!(enc.fields["fibery/id"], json!(id(1).to_string()));
    assert_eq!(enc.fields["Projects/Name"], json!("Write docs"));
    assert_eq!(enc.fields["Projects/Estimate"], json!(1.5));
    assert_eq!(enc.fields["Projects/Effort"], json!(3));
    assert_eq!(enc.fields["Projects/Done"], json!(false));
    assert_eq!(
        enc.fields["Projects/Project"],
        json!({"fibery/id": id(2).to_string()})
    );
    assert!(
        !enc.fields.contains_key("Projects/External Id"),
        "None is skipped"
    );
    assert!(
        !enc.fields.contains_key("Projects/Days Left"),
        "readonly fields are never written"
    );
    assert_eq!(
        enc.collections,
        vec![
            ("Files/Files".to_owned(), vec![id(3)]),
            ("assignments/assignees".to_owned(), vec![id(4), id(5)]),
        ]
    );
    assert_eq!(
        enc.enums,
        vec![
            (
                "workflow/state".to_owned(),
                vec!["In Progress".to_owned()],
                false
            ),
            (
                "Projects/Priority".to_owned(),
                vec!["Very High".to_owned()],
                false
            ),
            (
                "Projects/Tags".to_owned(),
                vec!["docs".to_owned(), "rust".to_owned()],
                true
            ),
        ]
    );
    assert_eq!(
        enc.rich_text,
        vec![(
            "Projects/Description".to_owned(),
            DocFormat::Md,
            "# Hello\n\nworld".to_owned()
        )]
    );
}

#[test]
fn encode_skips_none_everywhere() {
    let mut t = sample();
    t.id = None;
    t.estimate = None;
    t.description = None;
    t.project = None;
    t.state = None;
    t.priority = None;
    let enc = t.encode().unwrap();
    for k in ["fibery/id", "Projects/Estimate", "Projects/Project"] {
        assert!(!enc.fields.contains_key(k), "{k} should be absent");
    }
    assert!(enc.rich_text.is_empty());
    assert_eq!(enc.enums.len(), 1, "only the multi-select remains");
}

#[test]
fn decode_round_trips_encode() {
    let original = sample();
    let row = row_from(
        &original.encode().unwrap(),
        &[("Projects/Days Left", json!(7))],
    );
    let back = Task::decode(&row).unwrap();
    assert_eq!(back, original);
}

#[test]
fn decode_accepts_fibery_query_shapes() {
    // Decimals come back as strings, empty collections as null, missing optionals as absent.
    let row = json!({
        "fibery/id": id(9).to_string(),
        "Projects/Name": "From Fibery",
        "Projects/Estimate": "2.25",
        "Projects/Effort": 4,
        "Projects/Done": true,
        "Projects/Description": null,
        "Projects/Project": null,
        "workflow/state": {"enum/name": "Open"},
        "Projects/Priority": {"enum/name": "Low"},
        "Projects/Tags": null,
        "Files/Files": [],
        "assignments/assignees": [{"fibery/id": id(4).to_string()}],
    });
    let t = Task::decode(&row).unwrap();
    assert_eq!(t.id, Some(id(9)));
    assert_eq!(t.estimate, Some(2.25));
    assert_eq!(t.effort, Some(4));
    assert!(t.done);
    assert_eq!(t.description, None);
    assert_eq!(t.project, None);
    assert_eq!(t.state.as_deref(), Some("Open"));
    assert_eq!(t.priority, Some(Priority::Low));
    assert!(t.tags.is_empty());
    assert_eq!(t.assignees, vec![EntityRef::new(id(4))]);
    assert_eq!(t.external_id, None);
    assert_eq!(t.local_note, "", "skipped fields take their Default");
}

#[test]
fn decode_errors_name_the_field() {
    let base = row_from(&sample().encode().unwrap(), &[]);
    let with = |k: &str, v: Value| {
        let mut r = base.clone();
        r[k] = v;
        r
    };
    let cases = [
        ("Projects/Effort", json!("many")),
        ("Projects/Name", Value::Null),
        ("Projects/Priority", json!({"enum/name": "Urgent"})),
        ("Projects/Project", json!({"fibery/id": "not-a-uuid"})),
        ("assignments/assignees", json!("x")),
        ("Projects/Tags", json!([{"enum/name": 3}])),
    ];
    for (field, value) in cases {
        let err = Task::decode(&with(field, value.clone())).unwrap_err();
        assert_eq!(err.field, field, "value {value}: {err}");
        assert_eq!(err.type_name, "Projects/Task");
        assert!(err.to_string().contains(field));
    }
    let err = Task::decode(&with("Projects/Priority", json!({"enum/name": "Urgent"}))).unwrap_err();
    assert!(err.reason.contains("Urgent"), "{err}");
    assert!(Task::decode(&json!([1, 2])).is_err());
}

#[test]
fn set_id_and_id() {
    let mut t = sample();
    t.id = None;
    assert_eq!(t.id(), None);
    t.set_id(id(42));
    assert_eq!(t.id(), Some(id(42)));
    assert_eq!(t.id, Some(id(42)));
}

#[test]
fn fibery_enum_names() {
    assert_eq!(Priority::FIBERY_NAMES, ["Low", "High", "Very High"]);
    assert_eq!(Priority::Critical.fibery_name(), "Very High");
    assert_eq!(Priority::from_fibery_name("High"), Some(Priority::High));
    assert_eq!(Priority::from_fibery_name("high"), None);

    #[derive(FiberyEnum, Debug, PartialEq)]
    #[fibery(rename_all = "lower case")]
    enum Stage {
        InProgress,
        #[fibery(name = "Won!")]
        Won,
    }
    assert_eq!(Stage::FIBERY_NAMES, ["in progress", "Won!"]);
    assert_eq!(
        Stage::from_fibery_name("in progress"),
        Some(Stage::InProgress)
    );
}

#[test]
fn check_schema_accepts_a_matching_struct() {
    let schema = fixture("project-management");
    Task::check_schema(&schema).unwrap();
}

#[test]
fn check_schema_reports_drift_with_suggestions() {
    #[derive(FiberyEntity)]
    #[fibery(type = "Projects/Task", crate = "fibery_derive_tests")]
    #[allow(dead_code)]
    struct Drifted {
        #[fibery(id)]
        id: Option<Uuid>,
        #[fibery(field = "Projects/Nmae")]
        name: String,
        #[fibery(field = "Projects/Project")]
        project: Option<String>,
        #[fibery(relation = "Projects/Tags")]
        tags: Vec<EntityRef>,
        #[fibery(enum_field = "Projects/Priority")]
        priority: Vec<String>,
    }
    let errs = Drifted::check_schema(&fixture("project-management")).unwrap_err();
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert_eq!(errs[0].rule, Rule::UnknownField);
    assert!(
        errs[0].reason.contains("Projects/Name"),
        "did-you-mean: {}",
        errs[0].reason
    );
    assert_eq!(errs[1].field, "Projects/Project");
    assert_eq!(errs[1].rule, Rule::WrongType);
    assert_eq!(errs[2].rule, Rule::WrongType);
    assert_eq!(
        errs[3].rule,
        Rule::WrongType,
        "single-select mapped as multi"
    );

    #[derive(FiberyEntity)]
    #[fibery(type = "Projects/Tsk", crate = "fibery_derive_tests")]
    #[allow(dead_code)]
    struct WrongType {
        #[fibery(id)]
        id: Option<Uuid>,
        #[fibery(field = "Projects/Name")]
        name: String,
    }
    let errs = WrongType::check_schema(&fixture("project-management")).unwrap_err();
    assert_eq!(errs[0].rule, Rule::UnknownType);
    assert!(errs[0].reason.contains("Projects/Task"));
}

#[test]
fn rename_all_derives_names_that_exist_in_the_schema() {
    #[derive(FiberyEntity)]
    #[fibery(
        type = "Crm/Deal",
        rename_all = "Title Case",
        crate = "fibery_derive_tests"
    )]
    #[allow(dead_code)]
    struct Deal {
        #[fibery(id)]
        id: Option<Uuid>,
        name: String,
        amount: Option<f64>,
        close_window: Option<Value>,
        #[fibery(relation)]
        company: EntityRef,
        #[fibery(relation)]
        primary_contact: Option<EntityRef>,
        #[fibery(relation)]
        contacts: Vec<EntityRef>,
        #[fibery(enum_field)]
        stage: String,
        #[fibery(enum_field = "workflow/state")]
        state: Option<String>,
    }
    let names: Vec<&str> = Deal::FIELDS.iter().map(|f| f.fibery_name).collect();
    assert_eq!(
        names,
        [
            "fibery/id",
            "Crm/Name",
            "Crm/Amount",
            "Crm/Close Window",
            "Crm/Company",
            "Crm/Primary Contact",
            "Crm/Contacts",
            "Crm/Stage",
            "workflow/state"
        ]
    );
    Deal::check_schema(&fixture("relations-enums")).unwrap();
}

#[test]
fn check_schema_catches_read_only_writes_and_incompatible_primitives() {
    #[derive(FiberyEntity)]
    #[fibery(type = "Projects/Task", crate = "fibery_derive_tests")]
    #[allow(dead_code)]
    struct Mismatched {
        #[fibery(id)]
        id: Option<Uuid>,
        #[fibery(field = "Projects/Done")]
        done: Option<String>,
        #[fibery(field = "Projects/Effort")]
        effort: Option<bool>,
        #[fibery(field = "Projects/Days Left")]
        days_left: Option<i64>,
        #[fibery(field = "Projects/Estimate")]
        estimate: Option<f64>,
        #[fibery(field = "Projects/Name")]
        name: Option<Value>,
    }
    let errs = Mismatched::check_schema(&fixture("project-management")).unwrap_err();
    let summary: Vec<(&str, Rule)> = errs.iter().map(|v| (v.field.as_str(), v.rule)).collect();
    assert_eq!(
        summary,
        [
            ("Projects/Days Left", Rule::ReadOnly),
            ("Projects/Done", Rule::WrongType),
            ("Projects/Effort", Rule::WrongType),
        ],
        "{errs:#?}"
    );
    assert!(errs[0].reason.contains("#[fibery(readonly)]"));
    assert!(
        errs[1].reason.contains("Option<String>"),
        "{}",
        errs[1].reason
    );
    assert!(errs[1].reason.contains("fibery/bool"), "{}", errs[1].reason);
}

#[test]
fn multi_select_of_a_fibery_enum() {
    #[derive(FiberyEntity, Debug, PartialEq)]
    #[fibery(type = "Projects/Task", crate = "fibery_derive_tests")]
    struct Tagged {
        #[fibery(id)]
        id: Uuid,
        #[fibery(enum_field = "Projects/Tags")]
        tags: Vec<Priority>,
        #[fibery(enum_field = "workflow/state")]
        state: String,
    }
    let t = Tagged {
        id: id(7),
        tags: vec![Priority::High, Priority::Critical],
        state: "Open".into(),
    };
    let enc = t.encode().unwrap();
    assert_eq!(
        enc.enums[0],
        (
            "Projects/Tags".to_owned(),
            vec!["High".to_owned(), "Very High".to_owned()],
            true
        )
    );
    assert_eq!(enc.fields["fibery/id"], json!(id(7).to_string()));
    assert_eq!(Tagged::decode(&row_from(&enc, &[])).unwrap(), t);
    let err = Tagged::decode(&json!({
        "fibery/id": id(7).to_string(),
        "Projects/Tags": [{"enum/name": "High"}, {"enum/name": "Nope"}],
        "workflow/state": {"enum/name": "Open"},
    }))
    .unwrap_err();
    assert_eq!(err.field, "Projects/Tags");
    assert!(err.reason.contains("Nope"));
    // A required single enum that is null names its field too.
    let err = Tagged::decode(&json!({"fibery/id": id(7).to_string(), "workflow/state": null}))
        .unwrap_err();
    assert_eq!(err.field, "workflow/state");
}
