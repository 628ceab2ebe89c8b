//! Schema commands (inside `fibery.schema/batch`), field definitions, and the mandatory
//! fields of a new domain type: the one definition client and emulator share.

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{Command, CommandParseError, names, parse, parsed, untyped};

/// A field definition as sent in `schema.type/create`'s `fibery/fields` (and, flattened, in
/// `schema.field/create`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSpec {
    /// `fibery/name`
    #[serde(rename = "fibery/name")]
    pub name: String,
    /// `fibery/type`
    #[serde(rename = "fibery/type")]
    pub type_name: String,
    /// `fibery/meta`, verbatim.
    #[serde(rename = "fibery/meta", default)]
    pub meta: Map<String, Value>,
}

impl FieldSpec {
    /// A field with empty meta.
    pub fn new(name: impl Into<String>, type_name: impl Into<String>) -> Self {
        FieldSpec {
            name: name.into(),
            type_name: type_name.into(),
            meta: Map::new(),
        }
    }

    /// Sets one meta key.
    pub fn meta(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.meta.insert(key.into(), value.into());
        self
    }

    /// The title field of a type (e.g. `Ops/Name`, `enum/name`): text, `ui/title?`.
    pub fn title(name: impl Into<String>) -> FieldSpec {
        FieldSpec::new(name, "fibery/text")
            .meta("fibery/secured?", false)
            .meta("ui/title?", true)
    }

    /// The four system fields every type has, exactly as Fibery documents them:
    /// `fibery/id`, `fibery/public-id`, `fibery/creation-date`, `fibery/modification-date`.
    pub fn system_fields() -> Vec<FieldSpec> {
        vec![
            FieldSpec::new("fibery/id", "fibery/uuid")
                .meta("fibery/secured?", false)
                .meta("fibery/id?", true)
                .meta("fibery/readonly?", true),
            FieldSpec::new("fibery/public-id", "fibery/text")
                .meta("fibery/secured?", false)
                .meta("fibery/public-id?", true)
                .meta("fibery/readonly?", true),
            FieldSpec::new("fibery/creation-date", "fibery/date-time")
                .meta("fibery/secured?", false)
                .meta("fibery/creation-date?", true)
                .meta("fibery/readonly?", true)
                .meta("fibery/default-value", "$now"),
            FieldSpec::new("fibery/modification-date", "fibery/date-time")
                .meta("fibery/secured?", false)
                .meta("fibery/modification-date?", true)
                .meta("fibery/required?", true)
                .meta("fibery/readonly?", true)
                .meta("fibery/default-value", "$now"),
        ]
    }

    /// The five mandatory fields of a domain type: the [`title`](FieldSpec::title) `title`
    /// (e.g. `Ops/Name`) and the [`system_fields`](FieldSpec::system_fields).
    pub fn mandatory(title: impl Into<String>) -> Vec<FieldSpec> {
        let mut fields = vec![FieldSpec::title(title)];
        fields.extend(FieldSpec::system_fields());
        fields
    }
}

/// A schema mutation, sent inside [`Command::SchemaBatch`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", tag = "command", content = "args")]
#[non_exhaustive]
pub enum SchemaCommand {
    /// `schema.type/create`: `{"fibery/id"?, "fibery/name", "fibery/meta", "fibery/fields"}`.
    #[serde(rename = "schema.type/create")]
    TypeCreate {
        /// Optional client id.
        #[serde(rename = "fibery/id", skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Type name `Space/Type`.
        #[serde(rename = "fibery/name")]
        name: String,
        /// Type meta (`fibery/domain?`, `fibery/secured?`, `ui/color`, ...).
        #[serde(rename = "fibery/meta", default)]
        meta: Map<String, Value>,
        /// Fields (see [`FieldSpec::mandatory`]).
        #[serde(rename = "fibery/fields", default)]
        fields: Vec<FieldSpec>,
    },
    /// `schema.type/rename`: `{"from-name", "to-name"}`.
    #[serde(rename = "schema.type/rename")]
    TypeRename {
        /// Old name.
        #[serde(rename = "from-name")]
        from: String,
        /// New name.
        #[serde(rename = "to-name")]
        to: String,
    },
    /// `schema.type/delete`: `{"name", "delete-entities?"?, "delete-related-fields?"?}`.
    #[serde(rename = "schema.type/delete")]
    TypeDelete {
        /// Type name.
        name: String,
        /// `delete-entities?` (Fibery default false).
        #[serde(rename = "delete-entities?", skip_serializing_if = "Option::is_none")]
        delete_entities: Option<bool>,
        /// `delete-related-fields?` (Fibery default false).
        #[serde(
            rename = "delete-related-fields?",
            skip_serializing_if = "Option::is_none"
        )]
        delete_related_fields: Option<bool>,
    },
    /// `schema.field/create`: `{"fibery/holder-type", "fibery/name", "fibery/type", "fibery/meta"}`.
    #[serde(rename = "schema.field/create")]
    FieldCreate {
        /// Type that gets the field.
        #[serde(rename = "fibery/holder-type")]
        holder_type: String,
        /// The field definition.
        #[serde(flatten)]
        field: FieldSpec,
    },
    /// `schema.field/rename`: `{"holder-type", "from-name", "to-name"}`.
    #[serde(rename = "schema.field/rename")]
    FieldRename {
        /// Holder type.
        #[serde(rename = "holder-type")]
        holder_type: String,
        /// Old name.
        #[serde(rename = "from-name")]
        from: String,
        /// New name.
        #[serde(rename = "to-name")]
        to: String,
    },
    /// `schema.field/delete`: `{"holder-type", "name", "delete-values?"?}`.
    #[serde(rename = "schema.field/delete")]
    FieldDelete {
        /// Holder type.
        #[serde(rename = "holder-type")]
        holder_type: String,
        /// Field name.
        name: String,
        /// `delete-values?` (Fibery default false).
        #[serde(rename = "delete-values?", skip_serializing_if = "Option::is_none")]
        delete_values: Option<bool>,
    },
    /// `schema.field/set-meta`: `{"holder-type", "name", "key", "value"}`.
    #[serde(rename = "schema.field/set-meta")]
    FieldSetMeta {
        /// Holder type.
        #[serde(rename = "holder-type")]
        holder_type: String,
        /// Field name.
        name: String,
        /// Meta key.
        key: String,
        /// New value.
        #[serde(default)]
        value: Value,
    },
    /// `schema.field/delete-meta`: `{"holder-type", "name", "key"}` (unverified, one source).
    #[serde(rename = "schema.field/delete-meta")]
    FieldDeleteMeta {
        /// Holder type.
        #[serde(rename = "holder-type")]
        holder_type: String,
        /// Field name.
        name: String,
        /// Meta key.
        key: String,
    },
    /// `schema.enum/create`: `{"fibery/name", "fibery/meta"?}`.
    #[serde(rename = "schema.enum/create")]
    EnumCreate {
        /// Enum type name, e.g. `Ops/Priority_Ops/Ticket`.
        #[serde(rename = "fibery/name")]
        name: String,
        /// Optional meta (`fibery/type-component?`).
        #[serde(rename = "fibery/meta", skip_serializing_if = "Option::is_none")]
        meta: Option<Map<String, Value>>,
    },
    /// `fibery.app/install-mixins`: `{"types": {"Ops/Ticket": ["fibery/rank-mixin"]}}`.
    #[serde(rename = "fibery.app/install-mixins")]
    InstallMixins {
        /// Type name -> mixins, in order.
        #[serde(with = "mixins")]
        types: Vec<(String, Vec<String>)>,
    },
    /// A schema command this crate does not model.
    #[serde(skip)]
    Raw {
        /// Command name.
        command: String,
        /// Args, if any.
        args: Option<Value>,
    },
}

/// `{"<type>": ["<mixin>", ..]}`, in order.
mod mixins {
    use super::*;

    pub(super) fn serialize<S: Serializer>(
        types: &[(String, Vec<String>)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(types.iter().map(|(t, m)| (t, m)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, Vec<String>)>, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Vec<(String, Vec<String>)>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of type names to arrays of mixin names")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(out)
            }
        }
        d.deserialize_map(Pairs)
    }
}

impl SchemaCommand {
    /// `schema.type/create` of a domain database with the five mandatory fields
    /// (`<Space>/Name` as title) plus `extra_fields`.
    pub fn create_domain_type(name: impl Into<String>, extra_fields: Vec<FieldSpec>) -> Self {
        let name = name.into();
        let space = name
            .split_once('/')
            .map(|(s, _)| s)
            .unwrap_or(&name)
            .to_owned();
        let mut fields = FieldSpec::mandatory(format!("{space}/Name"));
        fields.extend(extra_fields);
        let mut meta = Map::new();
        meta.insert("fibery/domain?".into(), Value::Bool(true));
        meta.insert("fibery/secured?".into(), Value::Bool(true));
        SchemaCommand::TypeCreate {
            id: None,
            name,
            meta,
            fields,
        }
    }

    /// `schema.field/create`.
    pub fn create_field(holder_type: impl Into<String>, field: FieldSpec) -> Self {
        SchemaCommand::FieldCreate {
            holder_type: holder_type.into(),
            field,
        }
    }

    /// The command name.
    pub fn name(&self) -> &str {
        match self {
            SchemaCommand::TypeCreate { .. } => names::TYPE_CREATE,
            SchemaCommand::TypeRename { .. } => names::TYPE_RENAME,
            SchemaCommand::TypeDelete { .. } => names::TYPE_DELETE,
            SchemaCommand::FieldCreate { .. } => names::FIELD_CREATE,
            SchemaCommand::FieldRename { .. } => names::FIELD_RENAME,
            SchemaCommand::FieldDelete { .. } => names::FIELD_DELETE,
            SchemaCommand::FieldSetMeta { .. } => names::FIELD_SET_META,
            SchemaCommand::FieldDeleteMeta { .. } => names::FIELD_DELETE_META,
            SchemaCommand::EnumCreate { .. } => names::ENUM_CREATE,
            SchemaCommand::InstallMixins { .. } => names::INSTALL_MIXINS,
            SchemaCommand::Raw { command, .. } => command,
        }
    }

    /// The wire JSON `{"command", "args"}`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a schema command is plain JSON data")
    }

    /// Parses a schema command object (omitted `args` read as `{}`; unknown names become
    /// [`SchemaCommand::Raw`]).
    pub fn from_json(value: &Value) -> Result<SchemaCommand, CommandParseError> {
        parse::schema_command(value, "")
    }
}

impl<'de> Deserialize<'de> for SchemaCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parsed(d, SchemaCommand::from_json)
    }
}

impl Serialize for SchemaCommand {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SchemaCommand::Raw { command, args } => untyped(command, args.as_ref(), s),
            modelled => SchemaCommand::serialize(modelled, s),
        }
    }
}

impl Command {
    /// `fibery.schema/query` without args.
    pub fn schema_query() -> Self {
        Command::SchemaQuery {
            with_description: None,
        }
    }

    /// `fibery.schema/batch`.
    pub fn schema_batch(commands: impl IntoIterator<Item = SchemaCommand>) -> Self {
        Command::SchemaBatch(commands.into_iter().collect())
    }
}
