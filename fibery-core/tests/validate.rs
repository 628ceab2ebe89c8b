//! Schema::validate: every rule, against the shared fixtures.

use fibery_core::validate::{EnumOptions, Mode, Rule, Violation};
use serde_json::{Map, Value, json};

mod common;

use common::{options, schema as load};

fn map(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn rules(r: Result<(), Vec<Violation>>) -> Vec<(String, Rule)> {
    r.err()
        .unwrap_or_default()
        .into_iter()
        .map(|v| (v.field, v.rule))
        .collect()
}

/// Asserts the (field, rule) pairs, in order.
#[track_caller]
fn assert_rules(got: Vec<(String, Rule)>, want: &[(&str, Rule)]) {
    let want: Vec<(String, Rule)> = want.iter().map(|&(f, r)| (f.to_owned(), r)).collect();
    assert_eq!(got, want);
}

const ID: &str = "0b8e2f0a-2a1d-4b0e-9a3a-6f6cc8f3c001";

#[test]
fn valid_task_create_and_update_pass() {
    let s = load("project-management");
    let opts = options("project-management");
    let high = opts
        .resolve("Projects/Priority_Projects/Task", "high")
        .unwrap()
        .id
        .clone();
    let fields = map(json!({
        "fibery/id": ID,
        "Projects/Name": "Write docs",
        "Projects/External Id": "JIRA-1",
        "Projects/Estimate": "1.5",
        "Projects/Effort": 3,
        "Projects/Due": "2026-07-01",
        "Projects/Done": false,
        "Projects/Project": {"fibery/id": "9c41a1f4-5d3c-4a43-9d7e-1b8f3f1a2b3c"},
        "Projects/Priority": {"fibery/id": high},
        "fibery/rank": 1000,
    }));
    assert_eq!(
        s.validate_with("Projects/Task", &fields, Mode::Create, &opts),
        Ok(())
    );
    assert_eq!(
        s.validate(
            "Projects/Task",
            &map(json!({"fibery/id": ID, "Projects/Estimate": 2})),
            Mode::Update
        ),
        Ok(())
    );
}

#[test]
fn unknown_type_and_field_with_suggestions() {
    let s = load("project-management");
    let e = s
        .validate("Projects/Tsk", &Map::new(), Mode::Create)
        .unwrap_err();
    assert_eq!(e[0].rule, Rule::UnknownType);
    assert!(
        e[0].reason.contains("did you mean `Projects/Task`"),
        "{}",
        e[0].reason
    );
    let e = s
        .validate(
            "Projects/Task",
            &map(json!({"Projects/Nme": "x"})),
            Mode::Create,
        )
        .unwrap_err();
    assert_eq!(e[0].rule, Rule::UnknownField);
    assert!(e[0].reason.contains("`Projects/Name`"));
}

#[test]
fn wrong_shapes_for_every_primitive() {
    let s = load("all-primitives");
    let cases = [
        ("Prims/Text", json!(5)),
        ("Prims/Int", json!("12")),
        ("Prims/Int", json!(1.5)),
        ("Prims/Decimal", json!("1,5")),
        ("Prims/Decimal", json!(true)),
        ("Prims/Bool", json!("true")),
        ("Prims/Date", json!("2026-13-01")),
        ("Prims/Date Time", json!("2026-01-01 10:00")),
        ("Prims/Date Range", json!({"start": "2026-01-01"})),
        (
            "Prims/Date Time Range",
            json!({"start": "2026-01-01T00:00:00Z", "end": "nope"}),
        ),
        ("Prims/Email", json!("not-an-email")),
        ("Prims/Url", json!("not a url")),
        ("Prims/Uuid", json!("1234")),
        ("Prims/Location", json!({"longitude": 200, "latitude": 1})),
        ("Prims/Color", json!("red")),
        ("Prims/Emoji", json!("")),
        ("fibery/rank", json!("first")),
    ];
    for (field, value) in cases {
        let mut f = map(json!({"Prims/Code": "c"}));
        f.insert(field.into(), value.clone());
        assert_eq!(
            rules(s.validate("Prims/Record", &f, Mode::Create)),
            vec![(field.to_owned(), Rule::WrongType)],
            "{field} = {value}"
        );
    }
    let good = map(json!({
        "Prims/Code": "c", "Prims/Text": "t", "Prims/Int": 3, "Prims/Decimal": 2.01,
        "Prims/Bool": true, "Prims/Date": "2026-01-01", "Prims/Date Time": "2026-01-01T10:00:00+02:00",
        "Prims/Date Range": {"start": "2026-01-01", "end": "2026-01-03"},
        "Prims/Date Time Range": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00.5Z"},
        "Prims/Email": "a@b.io", "Prims/Url": "https://fibery.io/x", "Prims/Uuid": ID,
        "Prims/Json": {"paranoid?": true}, "Prims/Location": {"longitude": 2.35, "latitude": 48.89, "fullAddress": "Paris"},
        "Prims/Emoji": "🏏", "Prims/Color": "#5357ac", "fibery/rank": -6569916191130599i64,
        "Prims/Phone": "+1 555", "Prims/Duration": {"days": 1}, "Prims/Text": null
    }));
    assert_eq!(s.validate("Prims/Record", &good, Mode::Create), Ok(()));
}

#[test]
fn readonly_required_and_not_settable() {
    let s = load("all-primitives");
    let r = rules(s.validate(
        "Prims/Record",
        &map(
            json!({"Prims/Locked": "x", "Prims/Double": "2", "fibery/public-id": "3",
                    "fibery/creation-date": "2026-01-01T00:00:00.000Z", "Prims/Notes": "# hi"}),
        ),
        Mode::Create,
    ));
    assert_rules(
        r,
        &[
            ("Prims/Locked", Rule::ReadOnly),
            ("Prims/Double", Rule::ReadOnly),
            ("fibery/public-id", Rule::ReadOnly),
            ("fibery/creation-date", Rule::ReadOnly),
            ("Prims/Notes", Rule::NotSettable),
            // required without default; Prims/Count has a default so is not reported
            ("Prims/Code", Rule::Required),
        ],
    );
    // update: required fields need not be present, but fibery/id must; null on required is refused
    let r = rules(s.validate(
        "Prims/Record",
        &map(json!({"Prims/Code": null})),
        Mode::Update,
    ));
    assert_rules(
        r,
        &[
            ("Prims/Code", Rule::Required),
            ("fibery/id", Rule::Required),
        ],
    );
    let r = rules(s.validate(
        "Prims/Record",
        &map(json!({"fibery/id": "nope"})),
        Mode::Update,
    ));
    assert_eq!(r, vec![("fibery/id".into(), Rule::WrongType)]);
    let r = rules(s.validate(
        "Prims/Record",
        &map(json!({"fibery/id": {"fibery/id": ID}})),
        Mode::Update,
    ));
    assert_eq!(r, vec![("fibery/id".into(), Rule::WrongType)]);
    // soft-deleted fields are unknown
    let r = rules(s.validate(
        "Prims/Record",
        &map(json!({"Prims/Code": "c", "Prims/Old Field_0rsgh1m_deleted": "x"})),
        Mode::Create,
    ));
    assert_eq!(
        r,
        vec![("Prims/Old Field_0rsgh1m_deleted".into(), Rule::UnknownField)]
    );
}

#[test]
fn relations_collections_and_enum_options() {
    let s = load("relations-enums");
    let opts = options("relations-enums");
    let company = "9c41a1f4-5d3c-4a43-9d7e-1b8f3f1a2b3c";
    let r = rules(s.validate_with(
        "Crm/Deal",
        &map(
            json!({"Crm/Name": "Big", "Crm/Company": "ACME Inc", "Crm/Contacts": [company],
                    "Crm/Stage": {"fibery/id": ID}, "Crm/Primary Contact": 42}),
        ),
        Mode::Create,
        &opts,
    ));
    assert_rules(
        r,
        &[
            ("Crm/Company", Rule::BadReference),
            ("Crm/Contacts", Rule::NotSettable),
            ("Crm/Stage", Rule::UnknownOption),
            ("Crm/Primary Contact", Rule::BadReference),
        ],
    );
    // required relation missing on create
    let r = rules(s.validate("Crm/Deal", &map(json!({"Crm/Name": "x"})), Mode::Create));
    assert_eq!(r, vec![("Crm/Company".into(), Rule::Required)]);
    // an option name instead of its id: BadReference that names the id
    let e = s
        .validate_with(
            "Crm/Deal",
            &map(json!({"fibery/id": ID, "Crm/Stage": "Won"})),
            Mode::Update,
            &opts,
        )
        .unwrap_err();
    let won = &opts.resolve("Crm/Stage_Crm/Deal", "Won").unwrap().id;
    assert_eq!(e[0].rule, Rule::BadReference);
    assert!(e[0].reason.contains(won.as_str()), "{}", e[0].reason);
    // known option id, bare-string id, user relation and workflow state
    let new_state = &opts.resolve("workflow/state_Crm/Deal", "new").unwrap().id;
    let ok = map(
        json!({"fibery/id": ID, "Crm/Stage": won, "Crm/Company": company,
                        "workflow/state": {"fibery/id": new_state}}),
    );
    assert_eq!(
        s.validate_with("Crm/Deal", &ok, Mode::Update, &opts),
        Ok(())
    );
    // without options, any well-formed id passes
    let any = map(json!({"fibery/id": ID, "Crm/Stage": {"fibery/id": ID}}));
    assert_eq!(s.validate("Crm/Deal", &any, Mode::Update), Ok(()));
    // multi-select is a collection: not settable in create/update
    let r = rules(s.validate(
        "Crm/Company",
        &map(json!({"Crm/Name": "A", "Crm/Industries": []})),
        Mode::Create,
    ));
    assert_eq!(r, vec![("Crm/Industries".into(), Rule::NotSettable)]);
    // lookups are read-only
    let r = rules(s.validate(
        "Crm/Contact",
        &map(json!({"Crm/Company Name": "A"})),
        Mode::Create,
    ));
    assert_eq!(r, vec![("Crm/Company Name".into(), Rule::ReadOnly)]);
}

#[test]
fn enum_options_helpers() {
    let mut o = EnumOptions::new();
    o.insert_rows(
        "A/E",
        &[
            json!({"fibery/id": "1", "enum/name": "High"}),
            json!({"fibery/id": "2"}),
            json!({"fibery/id": "3", "enum/name": "high"}),
        ],
    );
    assert_eq!(o.get("A/E").unwrap().len(), 2);
    assert_eq!(o.resolve("A/E", "high").unwrap().id, "3");
    assert_eq!(o.resolve("A/E", "HIGH").unwrap().id, "1");
    assert_eq!(o.by_id("A/E", "3").unwrap().name, "high");
    assert!(o.resolve("A/X", "x").is_none());
    assert_eq!(o.enum_types().collect::<Vec<_>>(), vec!["A/E"]);
    assert!(EnumOptions::from_seed_json(&json!([1])).is_none());
    let v = Violation {
        field: "f".into(),
        rule: Rule::Required,
        reason: "missing".into(),
    };
    assert_eq!(v.to_string(), "f: missing (Required)");
}
