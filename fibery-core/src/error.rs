//! Fibery's server-side error payload ([`FiberyError`]) and the error names it uses.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Fibery's error payload: the `result` of a `{"success": false, ...}` envelope, or the body
/// of an HTTP 500 (`{"name", "message", "data"}` without `success`). Switch on `name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{name}: {message}")]
pub struct FiberyError {
    /// Stable error code, e.g. `entity.error/schema-type-not-found`.
    #[serde(default)]
    pub name: String,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// Extra details (often the offending query, params, schema version); `null` when absent.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
}

/// Error names Fibery is known to return (see `fibery-api.md` §3.4).
pub mod names {
    /// Unknown type in `q/from` or a write's `type`.
    pub const SCHEMA_TYPE_NOT_FOUND: &str = "entity.error/schema-type-not-found";
    /// Unknown field in a write or upsert.
    pub const SCHEMA_FIELD_NOT_FOUND: &str = "entity.error/schema-field-not-found";
    /// A relation/document/collection selected as a bare string.
    pub const QUERY_PRIMITIVE_FIELD_EXPR_INVALID: &str =
        "entity.error/query-primitive-field-expr-invalid";
    /// A dereference (`{field: [...]}`) used on a collection field.
    pub const QUERY_SELECT_COLLECTION_VECTOR_SHAPE_INVALID: &str =
        "entity.error/query-select-collection-field-vector-shape-invalid";
    /// Selecting an unknown relation such as `documents/documents`.
    pub const SCHEMA_TYPE_FIELD_RELATION_NOT_FOUND: &str =
        "entity.error/schema-type-field-relation-not-found";
    /// `q/limit` missing.
    pub const QUERY_LIMIT_EXPR_NOT_FOUND: &str = "entity.error/query-limit-expr-not-found";
    /// `q/from` missing or not a type name.
    pub const QUERY_FROM_EXPR_NOT_FOUND: &str = "entity.error/query-from-expr-not-found";
    /// `q/select` missing.
    pub const QUERY_SELECT_EXPR_NOT_FOUND: &str = "entity.error/query-select-expr-not-found";
    /// An operator or function outside the query language.
    pub const QUERY_FUNCTION_NOT_SUPPORTED: &str = "entity.error/query-function-not-supported";
    /// A query expression of the wrong shape.
    pub const QUERY_EXPR_INVALID: &str = "entity.error/query-expr-invalid";
    /// A command's `args` are not what the command takes.
    pub const INVALID_ARGS: &str = "command.error/invalid-args";
    /// Deleting (or updating) a missing entity.
    pub const NOT_FOUND: &str = "entity.error/not-found";
}

impl FiberyError {
    /// An error with this name and message and no data.
    pub fn new(name: impl Into<String>, message: impl Into<String>) -> Self {
        FiberyError {
            name: name.into(),
            message: message.into(),
            data: Value::Null,
        }
    }

    /// Attaches `data`.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }

    /// Reads an error payload; `None` unless it is an object with a string `name` or `message`.
    /// A bare string payload becomes the message.
    pub fn from_value(value: &Value) -> Option<FiberyError> {
        match value {
            Value::String(s) => Some(FiberyError::new("", s.clone())),
            Value::Object(m)
                if m.get("name").is_some_and(Value::is_string)
                    || m.get("message").is_some_and(Value::is_string) =>
            {
                let text = |k: &str| {
                    m.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                Some(FiberyError {
                    name: text("name"),
                    message: text("message"),
                    data: m.get("data").cloned().unwrap_or(Value::Null),
                })
            }
            _ => None,
        }
    }

    /// The JSON payload (`{"name", "message", "data"?}`).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// `entity.error/schema-type-not-found`
    pub fn is_type_not_found(&self) -> bool {
        self.name == names::SCHEMA_TYPE_NOT_FOUND
    }

    /// `entity.error/schema-field-not-found`
    pub fn is_field_not_found(&self) -> bool {
        self.name == names::SCHEMA_FIELD_NOT_FOUND
    }

    /// `entity.error/not-found`
    pub fn is_not_found(&self) -> bool {
        self.name == names::NOT_FOUND
    }
}
