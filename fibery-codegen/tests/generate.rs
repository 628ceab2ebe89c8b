//! `generate` on the core fixtures: output shape, naming, options and errors.

use fibery_codegen::{CodegenError, Options, generate};
use fibery_core::schema::Schema;

fn fixture(name: &str) -> Schema {
    let path = format!(
        "{}/../fibery-core/tests/fixtures/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    Schema::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The code generated with the default options for `types` of the fixture `name`.
fn generated(name: &str, types: &[&str]) -> String {
    generate(&fixture(name), types, &Options::default()).unwrap()
}

/// Asserts that `code` holds `needle` (showing `code` when not).
#[track_caller]
fn assert_has(code: &str, needle: &str) {
    assert!(code.contains(needle), "missing {needle:?} in\n{code}");
}

/// The lines of the struct generated for `name` (from `pub struct` to the closing brace).
fn struct_body<'a>(code: &'a str, name: &str) -> &'a str {
    let start = code
        .find(&format!("pub struct {name} {{"))
        .unwrap_or_else(|| panic!("no struct {name} in:\n{code}"));
    let end = code[start..].find("\n}\n").unwrap() + start;
    &code[start..end]
}

#[test]
fn task_fields_map_every_kind() {
    let code = generated("project-management", &["Projects/Task"]);
    let body = struct_body(&code, "Task");
    for expected in [
        "#[fibery(id)]\n    pub id: ::std::option::Option<::fibery_client::__private::uuid::Uuid>,",
        "#[fibery(field = \"Projects/Name\")]\n    pub name: ::std::option::Option<String>,",
        "#[fibery(field = \"Projects/External Id\")]\n    pub external_id: ::std::option::Option<String>,",
        "#[fibery(field = \"Projects/Estimate\")]\n    pub estimate: ::std::option::Option<f64>,",
        "#[fibery(field = \"Projects/Effort\")]\n    pub effort: ::std::option::Option<i64>,",
        "#[fibery(rich_text = \"Projects/Description\", format = \"md\")]",
        "#[fibery(relation = \"Projects/Project\")]\n    pub project: ::std::option::Option<::fibery_client::__private::fibery_core::entity::EntityRef>,",
        "#[fibery(enum_field = \"workflow/state\")]\n    pub state: ::std::option::Option<String>,",
        "#[fibery(enum_field = \"Projects/Tags\")]\n    pub tags: ::std::vec::Vec<String>,",
        "#[fibery(files = \"Files/Files\")]",
        "#[fibery(relation = \"assignments/assignees\")]\n    pub assignees: ::std::vec::Vec<",
        "#[fibery(field = \"Projects/Days Left\", readonly)]",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in\n{body}");
    }
    // System fields (other than the id) and owned comments are left out.
    for absent in [
        "fibery/public-id",
        "fibery/creation-date",
        "fibery/rank",
        "comments/comments",
    ] {
        assert!(!body.contains(absent), "{absent} should not be generated");
    }
    assert!(code.contains("#[fibery(type = \"Projects/Task\", crate = \"::fibery_client\")]"));
    assert!(code.contains("#[validate(crate = \"::fibery_client::__private::validator\")]"));
    assert!(code.contains("#[serde(crate = \"::fibery_client::__private::serde\")]"));
}

#[test]
fn validator_rules_follow_the_schema() {
    let code = generated("all-primitives", &["Prims/Record"]);
    let body = struct_body(&code, "Record");
    assert_has(body, "#[validate(email)]\n    pub email:");
    assert!(body.contains("#[validate(url)]\n    pub url:"), "{body}");
    // Required without a default: not optional, and must not be empty.
    assert_has(body, "#[validate(length(min = 1))]\n    pub code: String,");
    // Required with a default stays optional.
    assert_has(body, "pub count: ::std::option::Option<i64>,");
    assert!(body.contains(
        "pub json: ::std::option::Option<::fibery_client::__private::serde_json::Value>,"
    ));
    assert!(
        body.contains("pub uuid: ::std::option::Option<::fibery_client::__private::uuid::Uuid>,")
    );
    assert!(body.contains("pub bool: ::std::option::Option<bool>,"));
    // Soft-deleted fields are gone.
    assert!(!body.contains("Old Field"));

    let crm = generated("relations-enums", &["Crm/Contact"]);
    assert!(crm.contains("#[fibery(field = \"Crm/Email\")]\n    #[validate(email)]"));
}

#[test]
fn options_change_the_output() {
    let schema = fixture("all-primitives");
    let code = generate(
        &schema,
        &["Prims/Record"],
        &Options::default()
            .crate_path("my_client")
            .include_readonly(false)
            .serde(false),
    )
    .unwrap();
    assert!(code.contains("crate = \"my_client\""));
    assert!(code.contains("my_client::__private::fibery_derive::FiberyEntity"));
    assert!(!code.contains("serde::Serialize"));
    assert!(!code.contains("Prims/Locked"), "read-only fields excluded");
    assert!(!code.contains("Prims/Double"), "formulas excluded");
    let with_ro = generate(&schema, &["Prims/Record"], &Options::default()).unwrap();
    assert!(with_ro.contains("#[fibery(field = \"Prims/Locked\", readonly)]"));
}

#[test]
fn struct_names_are_disambiguated() {
    let code = generated(
        "relations-enums",
        &["Crm/Company", "Crm/Contact", "Crm/Deal"],
    );
    for s in ["Company", "Contact", "Deal"] {
        struct_body(&code, s);
    }
    // `Crm/Company` has `Crm/Deals` and Files; `Crm/Contact` has `Crm/Company`.
    assert!(struct_body(&code, "Contact").contains("pub company: ::std::option::Option<"));
}

#[test]
fn clashing_names_get_their_namespace() {
    let schema: Schema = serde_json::from_value(serde_json::json!({
        "fibery/version": 1,
        "fibery/types": [
            {"fibery/name": "fibery/text", "fibery/meta": {"fibery/primitive?": true}},
            {"fibery/name": "Sales/Task", "fibery/meta": {"fibery/domain?": true}, "fibery/fields": [
                {"fibery/name": "Sales/State", "fibery/type": "fibery/text"},
                {"fibery/name": "workflow/state", "fibery/type": "fibery/text"},
                {"fibery/name": "Sales/Type", "fibery/type": "fibery/text"},
                {"fibery/name": "Sales/2nd Owner", "fibery/type": "fibery/text"}
            ]},
            {"fibery/name": "Dev/Task", "fibery/meta": {"fibery/domain?": true}, "fibery/fields": []}
        ]
    }))
    .unwrap();
    let code = generate(&schema, &["Sales/Task", "Dev/Task"], &Options::default()).unwrap();
    let sales = struct_body(&code, "SalesTask");
    struct_body(&code, "DevTask");
    assert!(sales.contains("pub sales_state:"), "{sales}");
    assert!(sales.contains("pub workflow_state:"), "{sales}");
    assert!(sales.contains("pub type_:"), "{sales}");
    assert!(sales.contains("pub field_2nd_owner:"), "{sales}");
}

#[test]
fn errors_are_typed() {
    let schema = fixture("project-management");
    let err = generate(&schema, &["Projects/Tsk"], &Options::default()).unwrap_err();
    assert_eq!(
        err,
        CodegenError::UnknownType {
            name: "Projects/Tsk".into(),
            suggestion: Some("Projects/Task".into())
        }
    );
    assert!(err.to_string().contains("did you mean `Projects/Task`"));
    assert!(matches!(
        generate(&schema, &["fibery/text"], &Options::default()),
        Err(CodegenError::NotAnEntityType(_))
    ));
    assert!(matches!(
        generate(
            &schema,
            &["Projects/Priority_Projects/Task"],
            &Options::default()
        ),
        Err(CodegenError::NotAnEntityType(_))
    ));
    assert_eq!(
        generate::<&str>(&schema, &[], &Options::default()),
        Err(CodegenError::NoTypes)
    );
    assert_eq!(
        generate(
            &schema,
            &["Projects/Task", "Projects/Task"],
            &Options::default()
        ),
        Err(CodegenError::DuplicateType("Projects/Task".into()))
    );
}

#[test]
fn output_is_deterministic() {
    let schema = fixture("relations-enums");
    let a = generate(&schema, &["Crm/Deal"], &Options::default()).unwrap();
    let b = generate(&schema, &["Crm/Deal"], &Options::default()).unwrap();
    assert_eq!(a, b);
    assert!(a.starts_with("// Generated by fibery-codegen"));
}

#[test]
fn dates_are_typed_and_structs_derive_default() {
    let code = generate(
        &fixture("project-management"),
        &["Projects/Task", "Projects/Project"],
        &Options::default(),
    )
    .unwrap();
    let task = struct_body(&code, "Task");
    assert_has(
        task,
        "pub due: ::std::option::Option<::fibery_client::__private::time::Date>,",
    );
    assert_has(task, "/// `Projects/Due`: `fibery/date`.");
    // Every field of the fixture's types is optional or a collection: both derive Default.
    assert_eq!(code.matches("::std::default::Default").count(), 2, "{code}");
}

#[test]
fn selects_with_known_options_become_enums() {
    let options = fibery_codegen::enum_options_from_json(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fibery-core/tests/fixtures/project-management.options.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        options["workflow/state_Projects/Task"],
        ["Open", "In Progress", "Done"]
    );
    let code = generate(
        &fixture("project-management"),
        &["Projects/Task"],
        &Options::default().enum_options(options),
    )
    .unwrap();
    let task = struct_body(&code, "Task");
    assert_has(task, "pub state: ::std::option::Option<TaskState>,");
    assert_has(task, "pub tags: ::std::vec::Vec<TaskTags>,");
    let state = &code[code.find("pub enum TaskState {").expect("the state enum")..];
    let state = &state[..state.find("\n}\n").unwrap()];
    assert_has(state, "#[default]\n    #[fibery(name = \"Open\")]");
    assert!(state.contains("#[fibery(name = \"In Progress\")]\n    #[serde(rename = \"In Progress\")]\n    InProgress,"), "{state}");
    assert!(code.contains("/// The options of `workflow/state`."));
    // Without options a select stays a `String`.
    let plain = generate(
        &fixture("project-management"),
        &["Projects/Task"],
        &Options::default(),
    )
    .unwrap();
    assert!(!plain.contains("pub enum"));
    assert!(fibery_codegen::enum_options_from_json("[1]").is_err());
}
