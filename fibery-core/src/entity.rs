//! The contract between user structs (usually `#[derive(FiberyEntity)]`) and the client.
//!
//! A [`FiberyEntity`] describes how a Rust struct maps onto one Fibery type: which fields it
//! reads (the select list), how it encodes into create/update commands, and how it decodes
//! from query rows. The client drives the multi-step Fibery dance (create, then collections,
//! then documents) from the [`EncodedEntity`] parts.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::query::{DEFAULT_LIMIT, Select, SelectItem, SubQuery};
use crate::schema::Schema;
use crate::validate::Violation;

/// A reference to another entity, as Fibery writes it: `{"fibery/id": "..."}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntityRef {
    /// The referenced entity's `fibery/id`.
    #[serde(rename = "fibery/id")]
    pub id: Uuid,
}

impl EntityRef {
    /// A reference to the entity with this id.
    pub fn new(id: Uuid) -> Self {
        Self { id }
    }
}

impl From<Uuid> for EntityRef {
    fn from(id: Uuid) -> Self {
        Self { id }
    }
}

/// The format of rich-text content exchanged with the documents API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocFormat {
    /// Markdown (Fibery's default).
    #[default]
    Md,
    /// HTML.
    Html,
    /// ProseMirror JSON.
    Json,
    /// Plain text (read only).
    PlainText,
}

impl DocFormat {
    /// The value of the `format` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            DocFormat::Md => "md",
            DocFormat::Html => "html",
            DocFormat::Json => "json",
            DocFormat::PlainText => "plain-text",
        }
    }
}

/// How one Rust field maps onto a Fibery field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingKind {
    /// The entity id, `fibery/id`.
    Id,
    /// A primitive field (text, numbers, dates, ...).
    Primitive,
    /// A rich-text document field, exchanged in the given format.
    RichText(DocFormat),
    /// A relation: single (`EntityRef`) or collection (`Vec<EntityRef>`).
    Relation {
        /// `true` for to-many relations.
        collection: bool,
    },
    /// A single-select, multi-select or workflow-state field, mapped by option name.
    Enum {
        /// `true` for multi-selects.
        multi: bool,
    },
    /// A files collection (`Files/Files` or a custom file field).
    Files,
}

/// One mapped field of a [`FiberyEntity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldMapping {
    /// The Rust field name.
    pub rust_name: &'static str,
    /// The Fibery field name, e.g. `Projects/Name`.
    pub fibery_name: &'static str,
    /// What kind of Fibery field it is.
    pub kind: MappingKind,
    /// Whether the Rust field is an `Option` (may be absent or null).
    pub optional: bool,
}

/// An entity split into the parts Fibery accepts in separate steps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EncodedEntity {
    /// Fields settable in `fibery.entity/create|update`: primitives and single relations
    /// (as `{"fibery/id": ..}`), plus `fibery/id` when known.
    pub fields: Map<String, Value>,
    /// Collection relations and files: field name -> ids to link after the entity exists.
    pub collections: Vec<(String, Vec<Uuid>)>,
    /// Enum fields by option name: field name -> names, and whether the field is multi-select.
    /// The client resolves names to option ids against the schema's enum type.
    pub enums: Vec<(String, Vec<String>, bool)>,
    /// Rich-text fields: field name -> (format, content), written through the documents API.
    pub rich_text: Vec<(String, DocFormat, String)>,
}

/// Error from encoding a struct into Fibery fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode field `{field}`: {reason}")]
pub struct EncodeError {
    /// The Fibery field name.
    pub field: String,
    /// Why it failed.
    pub reason: String,
}

/// Error from decoding a query row into a struct; names the field that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot decode field `{field}` of `{type_name}`: {reason}")]
pub struct DecodeError {
    /// The Fibery type being decoded.
    pub type_name: String,
    /// The Fibery field name.
    pub field: String,
    /// Why it failed.
    pub reason: String,
}

/// A Rust type mapped onto a Fibery type. Usually derived with `#[derive(FiberyEntity)]` or
/// `#[fibery_client::entity(type = "..")]`, whose attribute reference is on the derive
/// macro's page (`fibery_client::FiberyEntity`, the macro).
///
/// Row shape expected by [`FiberyEntity::decode`]: the row of a query that used
/// [`FiberyEntity::select`], except that each rich-text field holds the document content as a
/// string (or null) — the client fetches documents and substitutes them before decoding.
pub trait FiberyEntity: Sized {
    /// The Fibery type name, e.g. `Projects/Task`.
    const TYPE_NAME: &'static str;
    /// The mapped fields, in declaration order.
    const FIELDS: &'static [FieldMapping];

    /// The entity id, if known.
    fn id(&self) -> Option<Uuid>;
    /// Sets the entity id (the client assigns client-generated ids before creating).
    fn set_id(&mut self, id: Uuid);
    /// Splits the entity into the parts the client writes.
    fn encode(&self) -> Result<EncodedEntity, EncodeError>;
    /// Builds the entity from one query row (see the trait docs for the row shape).
    fn decode(row: &Value) -> Result<Self, DecodeError>;

    /// The `q/select` (vector form) that reads every mapped field; see [`select_for`].
    fn select() -> Select {
        select_for(Self::FIELDS)
    }

    /// Checks that every mapped field exists in `schema` with a compatible type.
    fn check_schema(schema: &Schema) -> Result<(), Vec<Violation>> {
        schema.check_mapping(Self::TYPE_NAME, Self::FIELDS)
    }
}

/// The select for a list of field mappings: `fibery/id` first (added when unmapped),
/// primitives by name, single relations and single-selects dereferenced (`fibery/id`,
/// `enum/name`), rich text by its document secret, collections, files and multi-selects as
/// sub-queries capped at [`DEFAULT_LIMIT`] (the client pages past the cap).
pub fn select_for(fields: &[FieldMapping]) -> Select {
    let sub = |inner: &str| SubQuery::new().select([inner]).limit(DEFAULT_LIMIT);
    let mut items = Vec::with_capacity(fields.len() + 1);
    if !fields.iter().any(|f| f.fibery_name == "fibery/id") {
        items.push(SelectItem::field("fibery/id"));
    }
    items.extend(fields.iter().map(|f| {
        let name = f.fibery_name;
        match f.kind {
            MappingKind::Id | MappingKind::Primitive => SelectItem::field(name),
            MappingKind::RichText(_) => SelectItem::deref(name, ["Collaboration~Documents/secret"]),
            MappingKind::Relation { collection: false } => SelectItem::deref(name, ["fibery/id"]),
            MappingKind::Enum { multi: false } => SelectItem::deref(name, ["enum/name"]),
            MappingKind::Relation { collection: true } | MappingKind::Files => {
                SelectItem::sub_query(name, sub("fibery/id"))
            }
            MappingKind::Enum { multi: true } => SelectItem::sub_query(name, sub("enum/name")),
        }
    }));
    Select::Fields(items)
}
