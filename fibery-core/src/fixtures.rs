//! The shared schema fixtures (`tests/fixtures/*.json`), embedded so that tests, examples and
//! the emulator's demo mode can use them without file I/O. See `tests/fixtures/README.md`.
//! Only what you call ends up in your binary.

use crate::schema::Schema;
use crate::validate::EnumOptions;

/// `project-management.json`: `Projects/Task` and `Projects/Project`.
pub const PROJECT_MANAGEMENT: &str = include_str!("../tests/fixtures/project-management.json");
/// `project-management.options.json`: options of its enum types.
pub const PROJECT_MANAGEMENT_OPTIONS: &str =
    include_str!("../tests/fixtures/project-management.options.json");
/// `all-primitives.json`: `Prims/Record` with one field per primitive type.
pub const ALL_PRIMITIVES: &str = include_str!("../tests/fixtures/all-primitives.json");
/// `relations-enums.json`: `Crm/Company`, `Crm/Contact`, `Crm/Deal`.
pub const RELATIONS_ENUMS: &str = include_str!("../tests/fixtures/relations-enums.json");
/// `relations-enums.options.json`: options of its enum types.
pub const RELATIONS_ENUMS_OPTIONS: &str =
    include_str!("../tests/fixtures/relations-enums.options.json");

fn schema(text: &str) -> Schema {
    Schema::parse(text).expect("embedded fixture is a valid schema (checked by tests)")
}

fn options(text: &str) -> EnumOptions {
    serde_json::from_str(text)
        .ok()
        .and_then(|v| EnumOptions::from_seed_json(&v))
        .expect("embedded options fixture is valid (checked by tests)")
}

/// The parsed `project-management` schema.
pub fn project_management() -> Schema {
    schema(PROJECT_MANAGEMENT)
}

/// The enum options of the `project-management` schema.
pub fn project_management_options() -> EnumOptions {
    options(PROJECT_MANAGEMENT_OPTIONS)
}

/// The parsed `all-primitives` schema.
pub fn all_primitives() -> Schema {
    schema(ALL_PRIMITIVES)
}

/// The parsed `relations-enums` schema.
pub fn relations_enums() -> Schema {
    schema(RELATIONS_ENUMS)
}

/// The enum options of the `relations-enums` schema.
pub fn relations_enums_options() -> EnumOptions {
    options(RELATIONS_ENUMS_OPTIONS)
}
