//! Validation of entity fields against the workspace schema, before anything is sent.

use serde::{Deserialize, Serialize};

/// One reason a write (or a mapping) does not fit the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The field concerned (or the type name for type-level problems).
    pub field: String,
    /// Which rule was broken.
    pub rule: Rule,
    /// A short human reason (never contains secrets; may quote the offending value).
    pub reason: String,
}

/// The rules [`Violation`]s refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// The type does not exist.
    UnknownType,
    /// The field does not exist on the type.
    UnknownField,
    /// The value's shape does not fit the field type.
    WrongType,
    /// The field is read-only.
    ReadOnly,
    /// A required field is missing on create.
    Required,
    /// The enum option is not one the schema lists.
    UnknownOption,
    /// A relation value is not an id or `{"fibery/id": ..}`.
    BadReference,
    /// The field cannot be set in this command (collections and rich text on create).
    NotSettable,
    /// A validator rule on the user's struct failed.
    Validator,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({:?})", self.field, self.reason, self.rule)
    }
}
