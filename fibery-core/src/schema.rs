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
    #[serde(rename = "fibery/id", skip_serializing_if = "Option::is_none")]
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
    #[serde(rename = "fibery/id", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Full name, `Space/Type`.
    #[serde(rename = "fibery/name")]
    pub name: String,
    /// Soft-deleted types linger with this flag set.
    #[serde(rename = "fibery/deleted?", default, skip_serializing_if = "is_false")]
    pub deleted: bool,
    /// Description (only when requested `with-description?`).
    #[serde(rename = "fibery/description", skip_serializing_if = "Option::is_none")]
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
    #[serde(
        rename = "fibery/primitive?",
        default,
        skip_serializing_if = "is_false"
    )]
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
    #[serde(
        rename = "app/mixins",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub mixins: BTreeMap<String, bool>,
    /// Every other key, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One field of a type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDef {
    /// Field id.
    #[serde(rename = "fibery/id", skip_serializing_if = "Option::is_none")]
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
    #[serde(
        rename = "fibery/collection?",
        default,
        skip_serializing_if = "is_false"
    )]
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
    #[serde(rename = "fibery/relation", skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    /// Default value (`"$now"`, `{"fibery/id": "$my-id"}`, an option ref, ...).
    #[serde(
        rename = "fibery/default-value",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_value: Option<Value>,
    /// Child lifecycle tied to the parent (documents, files, comments).
    #[serde(
        rename = "fibery/entity-component?",
        default,
        skip_serializing_if = "is_false"
    )]
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

/// Error from parsing a schema document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The JSON does not have the shape of a `fibery.schema/query` result.
    #[error("invalid schema JSON: {0}")]
    Invalid(String),
    /// A `{success: false, result: {...}}` envelope was given instead of a schema.
    #[error("schema query failed: {name}: {message}")]
    CommandFailed {
        /// Fibery's error name.
        name: String,
        /// Fibery's error message.
        message: String,
    },
}

/// A Fibery primitive (scalar) type, by its `fibery/type` name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrimitiveType {
    /// `fibery/text` (also phone/email/url styled text via `ui/type`).
    Text,
    /// `fibery/int`
    Int,
    /// `fibery/decimal` (read back as a string).
    Decimal,
    /// `fibery/bool`
    Bool,
    /// `fibery/date` (`YYYY-MM-DD`).
    Date,
    /// `fibery/date-time` (UTC, `YYYY-MM-DDTHH:MM:SS.mmmZ`).
    DateTime,
    /// `fibery/date-range` (`{"start", "end"}` dates).
    DateRange,
    /// `fibery/date-time-range` (`{"start", "end"}` date-times).
    DateTimeRange,
    /// `fibery/email` (legacy; new fields are text with `ui/type: email`).
    Email,
    /// `fibery/url` (legacy; new fields are text with `ui/type: url`).
    Url,
    /// `fibery/uuid`
    Uuid,
    /// `fibery/rank` (a number used for ordering).
    Rank,
    /// `fibery/json-value` (any JSON).
    JsonValue,
    /// `fibery/location` (`{longitude, latitude, fullAddress?, addressParts?}`).
    Location,
    /// `fibery/emoji`
    Emoji,
    /// `fibery/color` (`"#5357ac"`).
    Color,
    /// `fibery/duration` (legacy/internal).
    Duration,
    /// `fibery/rich-text` (legacy inline rich text, e.g. `comment/content`).
    LegacyRichText,
    /// A type marked `fibery/primitive?` that this crate does not know.
    Other(String),
}

impl PrimitiveType {
    /// Every known primitive, in the order Fibery lists them.
    pub const KNOWN: [PrimitiveType; 18] = [
        PrimitiveType::Text,
        PrimitiveType::Int,
        PrimitiveType::Decimal,
        PrimitiveType::Bool,
        PrimitiveType::Date,
        PrimitiveType::DateTime,
        PrimitiveType::DateRange,
        PrimitiveType::DateTimeRange,
        PrimitiveType::Email,
        PrimitiveType::Url,
        PrimitiveType::Uuid,
        PrimitiveType::Rank,
        PrimitiveType::JsonValue,
        PrimitiveType::Location,
        PrimitiveType::Emoji,
        PrimitiveType::Color,
        PrimitiveType::Duration,
        PrimitiveType::LegacyRichText,
    ];

    /// The known primitive with this `fibery/type` name, e.g. `fibery/int`.
    pub fn from_name(name: &str) -> Option<PrimitiveType> {
        Some(match name {
            "fibery/text" => PrimitiveType::Text,
            "fibery/int" => PrimitiveType::Int,
            "fibery/decimal" => PrimitiveType::Decimal,
            "fibery/bool" => PrimitiveType::Bool,
            "fibery/date" => PrimitiveType::Date,
            "fibery/date-time" => PrimitiveType::DateTime,
            "fibery/date-range" => PrimitiveType::DateRange,
            "fibery/date-time-range" => PrimitiveType::DateTimeRange,
            "fibery/email" => PrimitiveType::Email,
            "fibery/url" => PrimitiveType::Url,
            "fibery/uuid" => PrimitiveType::Uuid,
            "fibery/rank" => PrimitiveType::Rank,
            "fibery/json-value" => PrimitiveType::JsonValue,
            "fibery/location" => PrimitiveType::Location,
            "fibery/emoji" => PrimitiveType::Emoji,
            "fibery/color" => PrimitiveType::Color,
            "fibery/duration" => PrimitiveType::Duration,
            "fibery/rich-text" => PrimitiveType::LegacyRichText,
            _ => return None,
        })
    }

    /// The `fibery/type` name, e.g. `fibery/int`.
    pub fn name(&self) -> &str {
        match self {
            PrimitiveType::Text => "fibery/text",
            PrimitiveType::Int => "fibery/int",
            PrimitiveType::Decimal => "fibery/decimal",
            PrimitiveType::Bool => "fibery/bool",
            PrimitiveType::Date => "fibery/date",
            PrimitiveType::DateTime => "fibery/date-time",
            PrimitiveType::DateRange => "fibery/date-range",
            PrimitiveType::DateTimeRange => "fibery/date-time-range",
            PrimitiveType::Email => "fibery/email",
            PrimitiveType::Url => "fibery/url",
            PrimitiveType::Uuid => "fibery/uuid",
            PrimitiveType::Rank => "fibery/rank",
            PrimitiveType::JsonValue => "fibery/json-value",
            PrimitiveType::Location => "fibery/location",
            PrimitiveType::Emoji => "fibery/emoji",
            PrimitiveType::Color => "fibery/color",
            PrimitiveType::Duration => "fibery/duration",
            PrimitiveType::LegacyRichText => "fibery/rich-text",
            PrimitiveType::Other(n) => n,
        }
    }
}

impl std::fmt::Display for PrimitiveType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What kind of field a [`FieldDef`] is, derived from its `fibery/type` and the schema.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldType {
    /// A scalar value.
    Primitive(PrimitiveType),
    /// A rich-text document (`Collaboration~Documents/Document`), written via the documents API.
    RichText,
    /// Files (`fibery/file`): `Files/Files` is a collection; custom single-file fields exist.
    File {
        /// To-many.
        collection: bool,
    },
    /// A relation to `fibery/user` (e.g. `assignments/assignees`, `fibery/created-by`).
    User {
        /// To-many.
        collection: bool,
    },
    /// A relation to another (non-enum) type.
    Relation {
        /// The target type name.
        target: String,
        /// To-many.
        collection: bool,
    },
    /// A single-select: a non-collection field whose type is an enum type.
    SingleSelect {
        /// The enum type, e.g. `Projects/Priority_Projects/Task`.
        enum_type: String,
    },
    /// A multi-select: a collection field whose type is an enum type.
    MultiSelect {
        /// The enum type.
        enum_type: String,
    },
    /// The workflow state (`workflow/state`, type `workflow/state_<Space/Type>`).
    WorkflowState {
        /// The enum type, e.g. `workflow/state_Projects/Task`.
        enum_type: String,
    },
    /// A type name the schema does not define.
    Unknown(String),
}

impl FieldType {
    /// Whether the field is to-many (written with collection commands, not create/update).
    pub fn is_collection(&self) -> bool {
        matches!(
            self,
            FieldType::File { collection: true }
                | FieldType::User { collection: true }
                | FieldType::Relation {
                    collection: true,
                    ..
                }
                | FieldType::MultiSelect { .. }
        )
    }

    /// Whether values are entity references (`{"fibery/id": ..}`).
    pub fn is_reference(&self) -> bool {
        matches!(
            self,
            FieldType::File { .. }
                | FieldType::User { .. }
                | FieldType::Relation { .. }
                | FieldType::SingleSelect { .. }
                | FieldType::MultiSelect { .. }
                | FieldType::WorkflowState { .. }
        )
    }

    /// The enum type of a select or workflow field.
    pub fn enum_type(&self) -> Option<&str> {
        match self {
            FieldType::SingleSelect { enum_type }
            | FieldType::MultiSelect { enum_type }
            | FieldType::WorkflowState { enum_type } => Some(enum_type),
            _ => None,
        }
    }
}

/// Cardinality of a relation, derived from both ends (Fibery's own n8n node rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cardinality {
    /// Both ends single.
    OneToOne,
    /// This end is a collection, the other single (or absent).
    OneToMany,
    /// This end is single, the other a collection (or absent).
    ManyToOne,
    /// Both ends collections.
    ManyToMany,
}

impl Schema {
    /// Parses a bare `fibery.schema/query` result (or `GET /api/schema` body).
    pub fn from_json(value: &Value) -> Result<Schema, SchemaError> {
        Schema::deserialize(value).map_err(|e| SchemaError::Invalid(e.to_string()))
    }

    /// Parses schema JSON text (a bare result or a `{success, result}` envelope).
    pub fn parse(text: &str) -> Result<Schema, SchemaError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| SchemaError::Invalid(e.to_string()))?;
        Schema::from_envelope(&value)
    }

    /// Parses either a bare result or a command envelope `{"success": true, "result": {...}}`
    /// (a one-element array of envelopes is accepted too).
    pub fn from_envelope(value: &Value) -> Result<Schema, SchemaError> {
        let value = match value {
            Value::Array(items) if items.len() == 1 => &items[0],
            other => other,
        };
        if let Some(obj) = value.as_object()
            && let Some(success) = obj.get("success").and_then(Value::as_bool)
        {
            let result = obj.get("result").unwrap_or(&Value::Null);
            if !success {
                let text = |k: &str| {
                    result
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                return Err(SchemaError::CommandFailed {
                    name: text("name"),
                    message: text("message"),
                });
            }
            return Schema::from_json(result);
        }
        Schema::from_json(value)
    }

    /// Serializes back to Fibery's JSON shape.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The (non-deleted) type with exactly this name.
    pub fn type_def(&self, name: &str) -> Option<&TypeDef> {
        self.types.iter().find(|t| t.name == name && !t.deleted)
    }

    /// The (non-deleted) field `field` of type `type_name`.
    pub fn field(&self, type_name: &str, field: &str) -> Option<&FieldDef> {
        self.type_def(type_name)?.field(field)
    }

    /// The classified type of `type_name`'s field `field`.
    pub fn field_type(&self, type_name: &str, field: &str) -> Option<FieldType> {
        Some(self.field(type_name, field)?.field_type(self))
    }

    /// User-visible databases (`fibery/domain?`), excluding deleted ones.
    pub fn domain_types(&self) -> impl Iterator<Item = &TypeDef> {
        self.types.iter().filter(|t| t.meta.domain && !t.deleted)
    }

    /// Enum types (select options and workflow states).
    pub fn enum_types(&self) -> impl Iterator<Item = &TypeDef> {
        self.types.iter().filter(|t| t.meta.is_enum && !t.deleted)
    }

    /// The closest type name to `name` (case-insensitive, small edit distance), for
    /// "did you mean" messages. `None` when nothing is close or `name` exists.
    pub fn suggest_type(&self, name: &str) -> Option<&str> {
        if self.type_def(name).is_some() {
            return None;
        }
        suggest(
            name,
            self.types
                .iter()
                .filter(|t| !t.deleted)
                .map(|t| t.name.as_str()),
        )
    }

    /// The other end of a relation field: the field on the target type sharing its
    /// `fibery/relation` id (for self-relations, a different field of the same type).
    pub fn other_end(&self, type_name: &str, field: &str) -> Option<(&TypeDef, &FieldDef)> {
        let f = self.field(type_name, field)?;
        let rel = f.meta.relation.as_deref()?;
        let target = self.type_def(&f.type_name)?;
        let other = target.fields.iter().find(|o| {
            !o.deleted
                && o.meta.relation.as_deref() == Some(rel)
                && !(target.name == type_name && o.name == f.name)
        })?;
        Some((target, other))
    }

    /// The cardinality of a relation field (one-way relations count the missing end as single
    /// for a collection and as a collection for a single field, as Fibery's n8n node does).
    pub fn cardinality(&self, type_name: &str, field: &str) -> Option<Cardinality> {
        let f = self.field(type_name, field)?;
        if !f.field_type(self).is_reference() {
            return None;
        }
        let this = f.meta.collection;
        let other = self
            .other_end(type_name, field)
            .map(|(_, o)| o.meta.collection)
            .unwrap_or(!this);
        Some(match (this, other) {
            (false, false) => Cardinality::OneToOne,
            (true, false) => Cardinality::OneToMany,
            (false, true) => Cardinality::ManyToOne,
            (true, true) => Cardinality::ManyToMany,
        })
    }

    /// Checks a struct mapping against the schema: the type exists, every mapped field
    /// exists and its kind fits the Fibery field type.
    pub fn check_mapping(
        &self,
        type_name: &str,
        fields: &[crate::entity::FieldMapping],
    ) -> Result<(), Vec<crate::validate::Violation>> {
        use crate::entity::MappingKind;
        use crate::validate::{Rule, Violation};
        let Some(ty) = self.type_def(type_name) else {
            let mut reason = format!("type `{type_name}` does not exist");
            if let Some(s) = self.suggest_type(type_name) {
                reason.push_str(&format!("; did you mean `{s}`?"));
            }
            return Err(vec![Violation {
                field: type_name.to_owned(),
                rule: Rule::UnknownType,
                reason,
            }]);
        };
        let mut out = Vec::new();
        for m in fields {
            let Some(def) = ty.field(m.fibery_name) else {
                let mut reason = format!(
                    "field `{}` (Rust field `{}`) does not exist on `{type_name}`",
                    m.fibery_name, m.rust_name
                );
                if let Some(s) = ty.suggest_field(m.fibery_name) {
                    reason.push_str(&format!("; did you mean `{s}`?"));
                }
                out.push(Violation {
                    field: m.fibery_name.to_owned(),
                    rule: Rule::UnknownField,
                    reason,
                });
                continue;
            };
            let ft = def.field_type(self);
            let ok = match m.kind {
                MappingKind::Id => {
                    def.name == "fibery/id" && ft == FieldType::Primitive(PrimitiveType::Uuid)
                }
                MappingKind::Primitive => matches!(ft, FieldType::Primitive(_)),
                MappingKind::RichText(_) => ft == FieldType::RichText,
                MappingKind::Relation { collection } => match &ft {
                    FieldType::Relation { collection: c, .. }
                    | FieldType::User { collection: c } => *c == collection,
                    _ => false,
                },
                MappingKind::Enum { multi: false } => matches!(
                    ft,
                    FieldType::SingleSelect { .. } | FieldType::WorkflowState { .. }
                ),
                MappingKind::Enum { multi: true } => matches!(ft, FieldType::MultiSelect { .. }),
                MappingKind::Files => matches!(ft, FieldType::File { .. }),
            };
            if !ok {
                out.push(Violation {
                    field: m.fibery_name.to_owned(),
                    rule: Rule::WrongType,
                    reason: format!(
                        "Rust field `{}` is mapped as {:?} but `{}` is {}",
                        m.rust_name,
                        m.kind,
                        m.fibery_name,
                        describe(&ft)
                    ),
                });
            }
        }
        if out.is_empty() { Ok(()) } else { Err(out) }
    }
}

/// A short human description of a field type, for messages.
pub fn describe(ft: &FieldType) -> String {
    match ft {
        FieldType::Primitive(p) => format!("a primitive `{p}`"),
        FieldType::RichText => "a rich-text document".to_owned(),
        FieldType::File { collection: true } => "a files collection".to_owned(),
        FieldType::File { collection: false } => "a single file".to_owned(),
        FieldType::User { collection: true } => "a collection of users".to_owned(),
        FieldType::User { collection: false } => "a single user reference".to_owned(),
        FieldType::Relation {
            target,
            collection: true,
        } => format!("a collection relation to `{target}`"),
        FieldType::Relation {
            target,
            collection: false,
        } => format!("a single relation to `{target}`"),
        FieldType::SingleSelect { enum_type } => format!("a single-select (`{enum_type}`)"),
        FieldType::MultiSelect { enum_type } => format!("a multi-select (`{enum_type}`)"),
        FieldType::WorkflowState { enum_type } => format!("a workflow state (`{enum_type}`)"),
        FieldType::Unknown(t) => format!("of unknown type `{t}`"),
    }
}

impl TypeDef {
    /// The (non-deleted) field with exactly this name.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name && !f.deleted)
    }

    /// Non-deleted fields.
    pub fn live_fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter().filter(|f| !f.deleted)
    }

    /// The title field (`ui/title?`), e.g. `Projects/Name`.
    pub fn title_field(&self) -> Option<&FieldDef> {
        self.live_fields().find(|f| f.meta.title)
    }

    /// The space (namespace) part of the name: `Projects` for `Projects/Task`.
    pub fn space(&self) -> &str {
        self.name.split_once('/').map(|(s, _)| s).unwrap_or("")
    }

    /// The closest field name (case-insensitive, small edit distance, or a match on the part
    /// after the namespace: `Name` suggests `Projects/Name`). `None` when the field exists.
    pub fn suggest_field(&self, name: &str) -> Option<&str> {
        if self.field(name).is_some() {
            return None;
        }
        let names = || self.live_fields().map(|f| f.name.as_str());
        if !name.contains('/') {
            let lower = name.to_lowercase();
            if let Some(n) = names().find(|n| {
                n.split_once('/')
                    .is_some_and(|(_, local)| local.to_lowercase() == lower)
            }) {
                return Some(n);
            }
        }
        suggest(name, names())
    }
}

impl FieldDef {
    /// Classifies the field using the schema (the target type decides enum vs relation).
    pub fn field_type(&self, schema: &Schema) -> FieldType {
        let t = self.type_name.as_str();
        let collection = self.meta.collection;
        if let Some(p) = PrimitiveType::from_name(t) {
            return FieldType::Primitive(p);
        }
        match t {
            "Collaboration~Documents/Document" => return FieldType::RichText,
            "fibery/file" => return FieldType::File { collection },
            "fibery/user" => return FieldType::User { collection },
            _ => {}
        }
        let Some(target) = schema.type_def(t) else {
            return FieldType::Unknown(t.to_owned());
        };
        if target.meta.primitive {
            return FieldType::Primitive(PrimitiveType::Other(t.to_owned()));
        }
        if target.meta.is_enum {
            let enum_type = t.to_owned();
            if self.name == "workflow/state" || t.starts_with("workflow/state_") {
                return FieldType::WorkflowState { enum_type };
            }
            return if collection {
                FieldType::MultiSelect { enum_type }
            } else {
                FieldType::SingleSelect { enum_type }
            };
        }
        FieldType::Relation {
            target: t.to_owned(),
            collection,
        }
    }

    /// Whether the API refuses writes to this field (read-only, formula or lookup).
    pub fn is_readonly(&self) -> bool {
        self.meta.readonly || self.meta.formula || self.meta.lookup
    }
}

/// Levenshtein distance over chars.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j + 1] + 1).min(cur[j] + 1).min(prev[j] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `name`: an exact case-insensitive match first, then the smallest
/// edit distance (on lower-cased names) within `max(2, len / 3)`.
pub fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(2);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let d = if c.to_lowercase() == lower {
            0
        } else {
            edit_distance(&lower, &c.to_lowercase())
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}
