//! The errors the emulator answers with: fibery-core's [`FiberyError`] under the names Fibery
//! uses (see `FIDELITY.md` for which names are verified), built here so each name is spelled
//! once.

use fibery_core::error::{FiberyError, names};
use serde_json::{Map, Value, json};

/// An error named `name`. `data` is `{}` when there is nothing to add: Fibery always sends it.
pub(crate) fn new(name: &str, message: impl Into<String>) -> FiberyError {
    FiberyError::new(name, message).with_data(json!({}))
}

/// `command/not-found`: a command name the emulator does not serve (an HTTP 500).
pub(crate) fn command_not_found(command: &str) -> FiberyError {
    let mut data = Map::new();
    data.insert("command".into(), Value::from(command));
    new(
        "command/not-found",
        format!("Command \"{command}\" was not found."),
    )
    .with_data(Value::Object(data))
}

/// `command.error/invalid-args`: the command's arguments have the wrong shape.
pub(crate) fn bad_args(message: impl Into<String>) -> FiberyError {
    new("command.error/invalid-args", message)
}

/// `entity.error/schema-type-not-found`.
pub(crate) fn type_not_found(ty: &str) -> FiberyError {
    new(
        names::SCHEMA_TYPE_NOT_FOUND,
        format!("\"{ty}\" database was not found."),
    )
    .with_data(json!({"type": ty}))
}

/// `entity.error/schema-field-not-found`.
pub(crate) fn field_not_found(ty: &str, field: &str) -> FiberyError {
    new(
        names::SCHEMA_FIELD_NOT_FOUND,
        format!("\"{field}\" field was not found in \"{ty}\" database."),
    )
    .with_data(json!({"type": ty, "field": field}))
}

/// `entity.error/parse-entity-field-failed`: a value does not fit its field.
pub(crate) fn parse_field(ty: &str, field: &str, why: &str) -> FiberyError {
    new(
        "entity.error/parse-entity-field-failed",
        format!("Cannot parse \"{ty}\" entity \"{field}\" field. {why}"),
    )
    .with_data(json!({"type": ty, "field": field}))
}

/// `entity.error/field-readonly`.
pub(crate) fn field_readonly(ty: &str, field: &str) -> FiberyError {
    new(
        "entity.error/field-readonly",
        format!("\"{field}\" field of \"{ty}\" database is read-only."),
    )
    .with_data(json!({"type": ty, "field": field}))
}

/// `entity.error/not-found`: the entity a write names does not exist.
pub(crate) fn not_found(ty: &str, id: &str) -> FiberyError {
    new(
        names::NOT_FOUND,
        format!("\"{ty}\" entity with id \"{id}\" was not found."),
    )
    .with_data(json!({"type": ty, "id": id}))
}

/// `entity.error/query-expr-invalid`: a query expression the schema cannot evaluate.
pub(crate) fn query_expr_invalid(message: impl Into<String>) -> FiberyError {
    new("entity.error/query-expr-invalid", message)
}

/// `entity.error/query-primitive-field-expr-invalid`: a relation used where a value is needed.
pub(crate) fn primitive_expr_invalid(ty: &str, field: &str) -> FiberyError {
    new(
        names::QUERY_PRIMITIVE_FIELD_EXPR_INVALID,
        format!("\"{field}\" field of \"{ty}\" database is not primitive: select or compare one of its fields instead."),
    )
    .with_data(json!({"type": ty, "field": field}))
}

/// `request/invalid-json` (an HTTP 500 without envelope, like Fibery's).
pub(crate) fn invalid_json(why: impl std::fmt::Display) -> FiberyError {
    new(
        "request/invalid-json",
        format!("Request body is not valid JSON: {why}"),
    )
}

/// `server/poisoned`: a handler panicked while holding the state lock.
pub(crate) fn unavailable() -> FiberyError {
    new("server/poisoned", "Emulator state is unavailable.")
}

/// The name of [`query_too_complex`] errors.
pub(crate) const QUERY_TOO_COMPLEX: &str = "entity.error/query-too-complex";

/// `entity.error/query-too-complex`: the query is over the emulator's cost caps (order-by
/// keys, nesting, work per request). An emulator name in Fibery's style: Fibery times out.
pub(crate) fn query_too_complex(message: impl Into<String>) -> FiberyError {
    new(QUERY_TOO_COMPLEX, message)
}

/// `entity.error/limit-reached`: the workspace holds the configured maximum of entities
/// (`EmulatorBuilder::max_entities`); an emulator name in Fibery's style.
pub(crate) fn entity_limit_reached(max: u64) -> FiberyError {
    new(
        "entity.error/limit-reached",
        format!("The workspace holds the maximum of {max} entities this emulator allows."),
    )
    .with_data(json!({"max-entities": max}))
}

/// `entity.error/limit-reached`: the workspace holds the configured maximum of stored bytes
/// (`EmulatorBuilder::max_bytes`, an estimate); an emulator name in Fibery's style.
pub(crate) fn byte_limit_reached(max: u64) -> FiberyError {
    new(
        "entity.error/limit-reached",
        format!("The workspace holds the maximum of {max} bytes this emulator allows."),
    )
    .with_data(json!({"max-bytes": max}))
}
