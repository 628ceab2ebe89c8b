//! The shared fixtures: the schemas (`tests/fixtures/*.json`, see its README), read from
//! disk, and the design document's example query.
#![allow(dead_code)]

use fibery_core::query::{Filter, Order, Query};
use fibery_core::schema::Schema;
use fibery_core::validate::EnumOptions;
use serde_json::Value;

fn read(file: &str) -> String {
    let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The parsed schema `<name>.json`.
pub fn schema(name: &str) -> Schema {
    Schema::parse(&read(&format!("{name}.json"))).expect("fixture parses")
}

/// The raw JSON of `<name>.json`.
pub fn schema_json(name: &str) -> Value {
    serde_json::from_str(&read(&format!("{name}.json"))).expect("fixture is JSON")
}

/// The enum options `<name>.options.json`.
pub fn options(name: &str) -> EnumOptions {
    let v: Value = serde_json::from_str(&read(&format!("{name}.options.json"))).expect("JSON");
    EnumOptions::from_seed_json(&v).expect("options fixture")
}

/// `project-management.json`: `Projects/Task` and `Projects/Project`.
pub fn project_management() -> Schema {
    schema("project-management")
}

/// The example query of the design document: a select with a relation, a filter with two
/// params, an order and a limit.
pub fn design_example() -> Query {
    Query::from("Projects/Task")
        .select(["fibery/id", "Projects/Name"])
        .select_relation("Projects/Project", ["fibery/id", "Projects/Name"])
        .filter(
            Filter::eq(["workflow/state", "enum/name"], "Done")
                .and(Filter::contains("Projects/Name", "api")),
        )
        .order_by("fibery/creation-date", Order::Desc)
        .limit(100)
}
