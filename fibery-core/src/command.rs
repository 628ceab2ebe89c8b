//! Fibery commands (`POST /api/commands`), batches and results.
//!
//! Every [`Command`] serializes to exactly `{"command": "<name>", "args": {...}}` (a
//! [`Command::Correlated`] adds the top-level `correlationId`). [`Command::from_json`] parses
//! the same shapes back, plus the shapes other clients send (the map form of collection
//! commands, omitted `args`), so the emulator can use it.
//!
//! ```
//! use fibery_core::command::{Command, CommandBatch};
//! use serde_json::json;
//!
//! let create = Command::create("Projects/Task", json!({"Projects/Name": "Write docs"}));
//! assert_eq!(
//!     create.to_json(),
//!     json!({"command": "fibery.entity/create",
//!            "args": {"type": "Projects/Task", "entity": {"Projects/Name": "Write docs"}}})
//! );
//! let batch = CommandBatch::from(vec![create.clone(), Command::schema_query()]);
//! assert_eq!(CommandBatch::from_json(&batch.to_json()).unwrap(), batch);
//! ```

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

use crate::error::FiberyError;
use crate::query::Query;

/// Command names.
pub mod names {
    /// `fibery.entity/query`
    pub const QUERY: &str = "fibery.entity/query";
    /// `fibery.entity/create`
    pub const CREATE: &str = "fibery.entity/create";
    /// `fibery.entity/update`
    pub const UPDATE: &str = "fibery.entity/update";
    /// `fibery.entity/delete`
    pub const DELETE: &str = "fibery.entity/delete";
    /// `fibery.entity/add-collection-items`
    pub const ADD_COLLECTION_ITEMS: &str = "fibery.entity/add-collection-items";
    /// `fibery.entity/remove-collection-items`
    pub const REMOVE_COLLECTION_ITEMS: &str = "fibery.entity/remove-collection-items";
    /// `fibery.entity.batch/create-or-update`
    pub const CREATE_OR_UPDATE: &str = "fibery.entity.batch/create-or-update";
    /// `fibery.command/batch`
    pub const BATCH: &str = "fibery.command/batch";
    /// `fibery.schema/query`
    pub const SCHEMA_QUERY: &str = "fibery.schema/query";
    /// `fibery.schema/batch`
    pub const SCHEMA_BATCH: &str = "fibery.schema/batch";
    /// `schema.type/create`
    pub const TYPE_CREATE: &str = "schema.type/create";
    /// `schema.type/rename`
    pub const TYPE_RENAME: &str = "schema.type/rename";
    /// `schema.type/delete`
    pub const TYPE_DELETE: &str = "schema.type/delete";
    /// `schema.field/create`
    pub const FIELD_CREATE: &str = "schema.field/create";
    /// `schema.field/rename`
    pub const FIELD_RENAME: &str = "schema.field/rename";
    /// `schema.field/delete`
    pub const FIELD_DELETE: &str = "schema.field/delete";
    /// `schema.field/set-meta`
    pub const FIELD_SET_META: &str = "schema.field/set-meta";
    /// `schema.field/delete-meta` (unverified, one source)
    pub const FIELD_DELETE_META: &str = "schema.field/delete-meta";
    /// `schema.enum/create`
    pub const ENUM_CREATE: &str = "schema.enum/create";
    /// `fibery.app/install-mixins`
    pub const INSTALL_MIXINS: &str = "fibery.app/install-mixins";
}

/// One Fibery command. Entity ids are kept as strings (Fibery's are UUIDs; anything
/// `Display` converts through the constructors).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `fibery.entity/query` with args `{"query", "params"}`.
    Query(Query),
    /// `fibery.entity/create`: `{"type", "entity"}`.
    Create {
        /// Type name.
        type_name: String,
        /// Field values (primitives, single refs; `fibery/id` optional).
        entity: Map<String, Value>,
    },
    /// `fibery.entity/update`: `{"type", "entity": {"fibery/id", ...changed}}`.
    Update {
        /// Type name.
        type_name: String,
        /// `fibery/id` plus the changed fields.
        entity: Map<String, Value>,
    },
    /// `fibery.entity/delete`: `{"type", "entity": {"fibery/id"}}`.
    Delete {
        /// Type name.
        type_name: String,
        /// The entity id.
        id: String,
    },
    /// `fibery.entity/add-collection-items` in the legacy shape
    /// `{"type", "field", "entity": {"fibery/id": parent}, "items": [{"fibery/id": ..}]}`.
    AddCollectionItems(CollectionChange),
    /// `fibery.entity/remove-collection-items` (same shape).
    RemoveCollectionItems(CollectionChange),
    /// `fibery.entity.batch/create-or-update` (upsert).
    CreateOrUpdate(Upsert),
    /// `fibery.command/batch`: `{"commands": [...]}`; result is an array of inner envelopes.
    Batch(Vec<Command>),
    /// `fibery.schema/query`; `args` omitted unless `with-description?` is set.
    SchemaQuery {
        /// `with-description?`
        with_description: Option<bool>,
    },
    /// `fibery.schema/batch`: `{"commands": [...schema commands...]}`; result `"ok"`.
    SchemaBatch(Vec<SchemaCommand>),
    /// Any command with a top-level `correlationId` (echoed in webhook events).
    Correlated {
        /// The id (any string; Fibery suggests a UUID).
        correlation_id: String,
        /// The command.
        command: Box<Command>,
    },
    /// A command this crate does not model (e.g. `fibery.entity/set-collection-items`).
    Raw {
        /// Command name.
        command: String,
        /// Args, if any.
        args: Option<Value>,
    },
}

/// Args of the collection commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionChange {
    /// The parent's type.
    pub type_name: String,
    /// The collection field.
    pub field: String,
    /// The parent entity id.
    pub entity_id: String,
    /// Ids of the items to add/remove.
    pub items: Vec<String>,
}

/// What `create-or-update` does on a conflict.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConflictAction {
    /// `skip-create`: keep the existing entity.
    SkipCreate,
    /// `update-latest`: copy fields onto the latest duplicate.
    UpdateLatest,
    /// Another value (passed through).
    Other(String),
}

impl ConflictAction {
    /// Wire name.
    pub fn as_str(&self) -> &str {
        match self {
            ConflictAction::SkipCreate => "skip-create",
            ConflictAction::UpdateLatest => "update-latest",
            ConflictAction::Other(s) => s,
        }
    }

    /// Parses a wire name.
    pub fn from_name(s: &str) -> Self {
        match s {
            "skip-create" => ConflictAction::SkipCreate,
            "update-latest" => ConflictAction::UpdateLatest,
            other => ConflictAction::Other(other.to_owned()),
        }
    }
}

/// Args of `fibery.entity.batch/create-or-update`.
#[derive(Debug, Clone, PartialEq)]
pub struct Upsert {
    /// Type name.
    pub type_name: String,
    /// `conflict-field` (text, int or date field).
    pub conflict_field: String,
    /// `conflict-action`.
    pub conflict_action: ConflictAction,
    /// Entities (each should carry `fibery/id`).
    pub entities: Vec<Map<String, Value>>,
}

/// A field definition as sent in `schema.type/create`'s `fibery/fields`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    /// `fibery/name`
    pub name: String,
    /// `fibery/type`
    pub type_name: String,
    /// `fibery/meta`, verbatim.
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

    /// The five mandatory fields of a domain type, with `title` (e.g. `Ops/Name`) as title
    /// field, exactly as Fibery documents them.
    pub fn mandatory(title: impl Into<String>) -> Vec<FieldSpec> {
        vec![
            FieldSpec::new(title, "fibery/text")
                .meta("fibery/secured?", false)
                .meta("ui/title?", true),
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

    fn to_json(&self) -> Value {
        json!({"fibery/name": self.name, "fibery/type": self.type_name, "fibery/meta": self.meta})
    }
}

/// A schema mutation, sent inside [`Command::SchemaBatch`].
#[derive(Debug, Clone, PartialEq)]
pub enum SchemaCommand {
    /// `schema.type/create`: `{"fibery/name", "fibery/meta", "fibery/fields", "fibery/id"?}`.
    TypeCreate {
        /// Optional client id.
        id: Option<String>,
        /// Type name `Space/Type`.
        name: String,
        /// Type meta (`fibery/domain?`, `fibery/secured?`, `ui/color`, ...).
        meta: Map<String, Value>,
        /// Fields (see [`FieldSpec::mandatory`]).
        fields: Vec<FieldSpec>,
    },
    /// `schema.type/rename`: `{"from-name", "to-name"}`.
    TypeRename {
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// `schema.type/delete`: `{"name", "delete-entities?"?, "delete-related-fields?"?}`.
    TypeDelete {
        /// Type name.
        name: String,
        /// `delete-entities?` (Fibery default false).
        delete_entities: Option<bool>,
        /// `delete-related-fields?` (Fibery default false).
        delete_related_fields: Option<bool>,
    },
    /// `schema.field/create`: `{"fibery/holder-type", "fibery/name", "fibery/type", "fibery/meta"}`.
    FieldCreate {
        /// Type that gets the field.
        holder_type: String,
        /// The field definition.
        field: FieldSpec,
    },
    /// `schema.field/rename`: `{"holder-type", "from-name", "to-name"}`.
    FieldRename {
        /// Holder type.
        holder_type: String,
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// `schema.field/delete`: `{"holder-type", "name", "delete-values?"?}`.
    FieldDelete {
        /// Holder type.
        holder_type: String,
        /// Field name.
        name: String,
        /// `delete-values?` (Fibery default false).
        delete_values: Option<bool>,
    },
    /// `schema.field/set-meta`: `{"holder-type", "name", "key", "value"}`.
    FieldSetMeta {
        /// Holder type.
        holder_type: String,
        /// Field name.
        name: String,
        /// Meta key.
        key: String,
        /// New value.
        value: Value,
    },
    /// `schema.field/delete-meta`: `{"holder-type", "name", "key"}` (unverified, one source).
    FieldDeleteMeta {
        /// Holder type.
        holder_type: String,
        /// Field name.
        name: String,
        /// Meta key.
        key: String,
    },
    /// `schema.enum/create`: `{"fibery/name", "fibery/meta"?}`.
    EnumCreate {
        /// Enum type name, e.g. `Ops/Priority_Ops/Ticket`.
        name: String,
        /// Optional meta (`fibery/type-component?`).
        meta: Option<Map<String, Value>>,
    },
    /// `fibery.app/install-mixins`: `{"types": {"Ops/Ticket": ["fibery/rank-mixin"]}}`.
    InstallMixins {
        /// Type name -> mixins, in order.
        types: Vec<(String, Vec<String>)>,
    },
    /// A schema command this crate does not model.
    Raw {
        /// Command name.
        command: String,
        /// Args, if any.
        args: Option<Value>,
    },
}

/// Error from parsing a command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (at `{pointer}`)")]
pub struct CommandParseError {
    /// JSON-pointer-like location.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

fn perr(pointer: impl Into<String>, message: impl Into<String>) -> CommandParseError {
    CommandParseError {
        pointer: pointer.into(),
        message: message.into(),
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn id_ref(id: &str) -> Value {
    json!({ "fibery/id": id })
}

impl Command {
    /// `fibery.entity/query`.
    pub fn query(query: Query) -> Self {
        Command::Query(query)
    }

    /// `fibery.entity/create` (`entity` should be a JSON object; other values become `{}`).
    pub fn create(type_name: impl Into<String>, entity: impl Into<Value>) -> Self {
        Command::Create {
            type_name: type_name.into(),
            entity: obj(entity.into()),
        }
    }

    /// `fibery.entity/update` of entity `id` with `fields` (`fibery/id` is added first).
    pub fn update(
        type_name: impl Into<String>,
        id: impl std::fmt::Display,
        fields: impl Into<Value>,
    ) -> Self {
        let mut entity = Map::new();
        entity.insert("fibery/id".into(), Value::String(id.to_string()));
        for (k, v) in obj(fields.into()) {
            if k != "fibery/id" {
                entity.insert(k, v);
            }
        }
        Command::Update {
            type_name: type_name.into(),
            entity,
        }
    }

    /// `fibery.entity/delete`.
    pub fn delete(type_name: impl Into<String>, id: impl std::fmt::Display) -> Self {
        Command::Delete {
            type_name: type_name.into(),
            id: id.to_string(),
        }
    }

    /// `fibery.entity/add-collection-items`.
    pub fn add_collection_items<I, D>(
        type_name: impl Into<String>,
        field: impl Into<String>,
        entity_id: impl std::fmt::Display,
        items: I,
    ) -> Self
    where
        I: IntoIterator<Item = D>,
        D: std::fmt::Display,
    {
        Command::AddCollectionItems(CollectionChange {
            type_name: type_name.into(),
            field: field.into(),
            entity_id: entity_id.to_string(),
            items: items.into_iter().map(|i| i.to_string()).collect(),
        })
    }

    /// `fibery.entity/remove-collection-items`.
    pub fn remove_collection_items<I, D>(
        type_name: impl Into<String>,
        field: impl Into<String>,
        entity_id: impl std::fmt::Display,
        items: I,
    ) -> Self
    where
        I: IntoIterator<Item = D>,
        D: std::fmt::Display,
    {
        Command::RemoveCollectionItems(CollectionChange {
            type_name: type_name.into(),
            field: field.into(),
            entity_id: entity_id.to_string(),
            items: items.into_iter().map(|i| i.to_string()).collect(),
        })
    }

    /// `fibery.entity.batch/create-or-update`.
    pub fn create_or_update(
        type_name: impl Into<String>,
        conflict_field: impl Into<String>,
        conflict_action: ConflictAction,
        entities: impl IntoIterator<Item = Map<String, Value>>,
    ) -> Self {
        Command::CreateOrUpdate(Upsert {
            type_name: type_name.into(),
            conflict_field: conflict_field.into(),
            conflict_action,
            entities: entities.into_iter().collect(),
        })
    }

    /// `fibery.command/batch`.
    pub fn batch(commands: impl IntoIterator<Item = Command>) -> Self {
        Command::Batch(commands.into_iter().collect())
    }

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

    /// Wraps the command with a top-level `correlationId`.
    pub fn with_correlation_id(self, id: impl Into<String>) -> Self {
        Command::Correlated {
            correlation_id: id.into(),
            command: Box::new(self),
        }
    }

    /// The command name, e.g. `fibery.entity/create`.
    pub fn name(&self) -> &str {
        match self {
            Command::Query(_) => names::QUERY,
            Command::Create { .. } => names::CREATE,
            Command::Update { .. } => names::UPDATE,
            Command::Delete { .. } => names::DELETE,
            Command::AddCollectionItems(_) => names::ADD_COLLECTION_ITEMS,
            Command::RemoveCollectionItems(_) => names::REMOVE_COLLECTION_ITEMS,
            Command::CreateOrUpdate(_) => names::CREATE_OR_UPDATE,
            Command::Batch(_) => names::BATCH,
            Command::SchemaQuery { .. } => names::SCHEMA_QUERY,
            Command::SchemaBatch(_) => names::SCHEMA_BATCH,
            Command::Correlated { command, .. } => command.name(),
            Command::Raw { command, .. } => command,
        }
    }

    /// Whether running the command twice has the same effect as once: queries, schema
    /// queries, deletes, collection add/remove, creates that carry a `fibery/id`, updates,
    /// upserts, and batches made only of such commands.
    pub fn is_idempotent(&self) -> bool {
        match self {
            Command::Query(_)
            | Command::SchemaQuery { .. }
            | Command::Update { .. }
            | Command::Delete { .. }
            | Command::AddCollectionItems(_)
            | Command::RemoveCollectionItems(_)
            | Command::CreateOrUpdate(_) => true,
            Command::Create { entity, .. } => entity.get("fibery/id").is_some_and(Value::is_string),
            Command::Batch(v) => v.iter().all(Command::is_idempotent),
            Command::Correlated { command, .. } => command.is_idempotent(),
            Command::SchemaBatch(_) | Command::Raw { .. } => false,
        }
    }

    /// The `args` value (`None` for an argument-less command).
    pub fn args(&self) -> Option<Value> {
        Some(match self {
            Command::Query(q) => q.to_args(),
            Command::Create { type_name, entity } | Command::Update { type_name, entity } => {
                json!({"type": type_name, "entity": entity})
            }
            Command::Delete { type_name, id } => json!({"type": type_name, "entity": id_ref(id)}),
            Command::AddCollectionItems(c) | Command::RemoveCollectionItems(c) => json!({
                "type": c.type_name,
                "field": c.field,
                "entity": id_ref(&c.entity_id),
                "items": c.items.iter().map(|i| id_ref(i)).collect::<Vec<_>>(),
            }),
            Command::CreateOrUpdate(u) => json!({
                "type": u.type_name,
                "conflict-field": u.conflict_field,
                "conflict-action": u.conflict_action.as_str(),
                "entities": u.entities,
            }),
            Command::Batch(cmds) => {
                json!({"commands": cmds.iter().map(Command::to_json).collect::<Vec<_>>()})
            }
            Command::SchemaQuery { with_description } => {
                json!({"with-description?": (*with_description)?})
            }
            Command::SchemaBatch(cmds) => {
                json!({"commands": cmds.iter().map(SchemaCommand::to_json).collect::<Vec<_>>()})
            }
            Command::Correlated { command, .. } => return command.args(),
            Command::Raw { args, .. } => return args.clone(),
        })
    }

    /// The wire JSON: `{"command", "args"}` (plus `correlationId` when correlated; `args`
    /// omitted only for argument-less commands).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("command".into(), Value::String(self.name().to_owned()));
        if let Command::Correlated { correlation_id, .. } = self {
            m.insert(
                "correlationId".into(),
                Value::String(correlation_id.clone()),
            );
        }
        if let Some(args) = self.args() {
            m.insert("args".into(), args);
        }
        Value::Object(m)
    }

    /// Parses a command object. Accepts both collection-command shapes (legacy
    /// `entity + items`, and the map form `{"entity": {"<parent>": ["<id>", ..]}}` with one
    /// parent), and omitted `args` for `fibery.schema/query`. Unknown command names become
    /// [`Command::Raw`].
    pub fn from_json(value: &Value) -> Result<Command, CommandParseError> {
        parse_command(value, "")
    }
}

fn get_str(args: &Map<String, Value>, key: &str, at: &str) -> Result<String, CommandParseError> {
    args.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            perr(
                format!("{at}/args/{key}"),
                format!("`{key}` must be a string"),
            )
        })
}

fn get_obj(
    args: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Map<String, Value>, CommandParseError> {
    args.get(key)
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| {
            perr(
                format!("{at}/args/{key}"),
                format!("`{key}` must be an object"),
            )
        })
}

fn opt_bool(
    args: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<bool>, CommandParseError> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(perr(
            format!("{at}/args/{key}"),
            format!("`{key}` must be a boolean"),
        )),
    }
}

fn ref_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) => m
            .get("fibery/id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    }
}

fn parse_collection(
    args: &Map<String, Value>,
    at: &str,
) -> Result<CollectionChange, CommandParseError> {
    let type_name = get_str(args, "type", at)?;
    let field = get_str(args, "field", at)?;
    let entity = get_obj(args, "entity", at)?;
    if let Some(parent) = entity.get("fibery/id") {
        let entity_id = ref_id(parent).ok_or_else(|| {
            perr(
                format!("{at}/args/entity/fibery~1id"),
                "parent id must be a string",
            )
        })?;
        let items = args
            .get("items")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                perr(
                    format!("{at}/args/items"),
                    "`items` must be an array of {\"fibery/id\"}",
                )
            })?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                ref_id(v).ok_or_else(|| {
                    perr(
                        format!("{at}/args/items/{i}"),
                        "item must be {\"fibery/id\": \"..\"}",
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(CollectionChange {
            type_name,
            field,
            entity_id,
            items,
        });
    }
    // Map form: {"entity": {"<parent>": ["<id>", ...]}}
    if entity.len() != 1 {
        return Err(perr(
            format!("{at}/args/entity"),
            "`entity` must be {\"fibery/id\": parent} (with `items`) or a map with exactly one parent",
        ));
    }
    let (parent, ids) = entity.iter().next().expect("one entry");
    let items = ids
        .as_array()
        .ok_or_else(|| {
            perr(
                format!("{at}/args/entity/{parent}"),
                "item ids must be an array",
            )
        })?
        .iter()
        .map(|v| {
            ref_id(v).ok_or_else(|| {
                perr(
                    format!("{at}/args/entity/{parent}"),
                    "item ids must be strings",
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CollectionChange {
        type_name,
        field,
        entity_id: parent.clone(),
        items,
    })
}

fn parse_commands<T>(
    args: &Map<String, Value>,
    at: &str,
    f: impl Fn(&Value, &str) -> Result<T, CommandParseError>,
) -> Result<Vec<T>, CommandParseError> {
    let arr = args
        .get("commands")
        .and_then(Value::as_array)
        .ok_or_else(|| perr(format!("{at}/args/commands"), "`commands` must be an array"))?;
    arr.iter()
        .enumerate()
        .map(|(i, c)| f(c, &format!("{at}/args/commands/{i}")))
        .collect()
}

fn parse_command(value: &Value, at: &str) -> Result<Command, CommandParseError> {
    let m = value
        .as_object()
        .ok_or_else(|| perr(at, "a command must be an object {\"command\", \"args\"}"))?;
    let name = m
        .get("command")
        .and_then(Value::as_str)
        .ok_or_else(|| perr(format!("{at}/command"), "`command` must be a string"))?;
    let empty = Map::new();
    let raw_args = m.get("args");
    let args = match raw_args {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(a)) => a,
        Some(_) if !is_known(name) => &empty,
        Some(_) => return Err(perr(format!("{at}/args"), "`args` must be an object")),
    };
    let cmd = match name {
        names::QUERY => Command::Query(
            Query::from_args(&Value::Object(args.clone()))
                .map_err(|e| perr(format!("{at}/args{}", e.pointer), e.message))?,
        ),
        names::CREATE => Command::Create {
            type_name: get_str(args, "type", at)?,
            entity: get_obj(args, "entity", at)?,
        },
        names::UPDATE => Command::Update {
            type_name: get_str(args, "type", at)?,
            entity: get_obj(args, "entity", at)?,
        },
        names::DELETE => {
            let entity = get_obj(args, "entity", at)?;
            Command::Delete {
                type_name: get_str(args, "type", at)?,
                id: get_str(&entity, "fibery/id", &format!("{at}/args/entity"))
                    .map_err(|e| perr(format!("{at}/args/entity/fibery~1id"), e.message))?,
            }
        }
        names::ADD_COLLECTION_ITEMS => Command::AddCollectionItems(parse_collection(args, at)?),
        names::REMOVE_COLLECTION_ITEMS => {
            Command::RemoveCollectionItems(parse_collection(args, at)?)
        }
        names::CREATE_OR_UPDATE => {
            let entities = args
                .get("entities")
                .and_then(Value::as_array)
                .ok_or_else(|| perr(format!("{at}/args/entities"), "`entities` must be an array"))?
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    e.as_object().cloned().ok_or_else(|| {
                        perr(
                            format!("{at}/args/entities/{i}"),
                            "entity must be an object",
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Command::CreateOrUpdate(Upsert {
                type_name: get_str(args, "type", at)?,
                conflict_field: get_str(args, "conflict-field", at)?,
                conflict_action: ConflictAction::from_name(&get_str(args, "conflict-action", at)?),
                entities,
            })
        }
        names::BATCH => Command::Batch(parse_commands(args, at, parse_command)?),
        names::SCHEMA_QUERY => Command::SchemaQuery {
            with_description: opt_bool(args, "with-description?", at)?,
        },
        names::SCHEMA_BATCH => {
            Command::SchemaBatch(parse_commands(args, at, parse_schema_command)?)
        }
        other => Command::Raw {
            command: other.to_owned(),
            args: raw_args.cloned(),
        },
    };
    Ok(match m.get("correlationId") {
        Some(Value::String(id)) => cmd.with_correlation_id(id.clone()),
        None | Some(Value::Null) => cmd,
        Some(_) => {
            return Err(perr(
                format!("{at}/correlationId"),
                "`correlationId` must be a string",
            ));
        }
    })
}

fn is_known(name: &str) -> bool {
    [
        names::QUERY,
        names::CREATE,
        names::UPDATE,
        names::DELETE,
        names::ADD_COLLECTION_ITEMS,
        names::REMOVE_COLLECTION_ITEMS,
        names::CREATE_OR_UPDATE,
        names::BATCH,
        names::SCHEMA_QUERY,
        names::SCHEMA_BATCH,
    ]
    .contains(&name)
}

fn parse_field_spec(v: &Value, at: &str) -> Result<FieldSpec, CommandParseError> {
    let m = v
        .as_object()
        .ok_or_else(|| perr(at, "field definition must be an object"))?;
    let s = |k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| perr(format!("{at}/{k}"), format!("`{k}` must be a string")))
    };
    Ok(FieldSpec {
        name: s("fibery/name")?,
        type_name: s("fibery/type")?,
        meta: m
            .get("fibery/meta")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    })
}

fn parse_schema_command(value: &Value, at: &str) -> Result<SchemaCommand, CommandParseError> {
    let m = value.as_object().ok_or_else(|| {
        perr(
            at,
            "a schema command must be an object {\"command\", \"args\"}",
        )
    })?;
    let name = m
        .get("command")
        .and_then(Value::as_str)
        .ok_or_else(|| perr(format!("{at}/command"), "`command` must be a string"))?;
    let empty = Map::new();
    let args = m.get("args").and_then(Value::as_object).unwrap_or(&empty);
    Ok(match name {
        names::TYPE_CREATE => SchemaCommand::TypeCreate {
            id: args
                .get("fibery/id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            name: get_str(args, "fibery/name", at)?,
            meta: args
                .get("fibery/meta")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
            fields: match args.get("fibery/fields") {
                None => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .enumerate()
                    .map(|(i, f)| parse_field_spec(f, &format!("{at}/args/fibery~1fields/{i}")))
                    .collect::<Result<_, _>>()?,
                Some(_) => {
                    return Err(perr(
                        format!("{at}/args/fibery~1fields"),
                        "`fibery/fields` must be an array",
                    ));
                }
            },
        },
        names::TYPE_RENAME => SchemaCommand::TypeRename {
            from: get_str(args, "from-name", at)?,
            to: get_str(args, "to-name", at)?,
        },
        names::TYPE_DELETE => SchemaCommand::TypeDelete {
            name: get_str(args, "name", at)?,
            delete_entities: opt_bool(args, "delete-entities?", at)?,
            delete_related_fields: opt_bool(args, "delete-related-fields?", at)?,
        },
        names::FIELD_CREATE => SchemaCommand::FieldCreate {
            holder_type: get_str(args, "fibery/holder-type", at)?,
            field: parse_field_spec(&Value::Object(args.clone()), &format!("{at}/args"))?,
        },
        names::FIELD_RENAME => SchemaCommand::FieldRename {
            holder_type: get_str(args, "holder-type", at)?,
            from: get_str(args, "from-name", at)?,
            to: get_str(args, "to-name", at)?,
        },
        names::FIELD_DELETE => SchemaCommand::FieldDelete {
            holder_type: get_str(args, "holder-type", at)?,
            name: get_str(args, "name", at)?,
            delete_values: opt_bool(args, "delete-values?", at)?,
        },
        names::FIELD_SET_META => SchemaCommand::FieldSetMeta {
            holder_type: get_str(args, "holder-type", at)?,
            name: get_str(args, "name", at)?,
            key: get_str(args, "key", at)?,
            value: args.get("value").cloned().unwrap_or(Value::Null),
        },
        names::FIELD_DELETE_META => SchemaCommand::FieldDeleteMeta {
            holder_type: get_str(args, "holder-type", at)?,
            name: get_str(args, "name", at)?,
            key: get_str(args, "key", at)?,
        },
        names::ENUM_CREATE => SchemaCommand::EnumCreate {
            name: get_str(args, "fibery/name", at)?,
            meta: args.get("fibery/meta").and_then(Value::as_object).cloned(),
        },
        names::INSTALL_MIXINS => {
            let types = get_obj(args, "types", at)?;
            let mut out = Vec::new();
            for (t, mixins) in types {
                let list = mixins
                    .as_array()
                    .and_then(|a| {
                        a.iter()
                            .map(|x| x.as_str().map(str::to_owned))
                            .collect::<Option<Vec<_>>>()
                    })
                    .ok_or_else(|| {
                        perr(
                            format!("{at}/args/types/{t}"),
                            "mixins must be an array of names",
                        )
                    })?;
                out.push((t, list));
            }
            SchemaCommand::InstallMixins { types: out }
        }
        other => SchemaCommand::Raw {
            command: other.to_owned(),
            args: m.get("args").cloned(),
        },
    })
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
        let mut args = Map::new();
        let mut put = |k: &str, v: Value| {
            args.insert(k.to_owned(), v);
        };
        match self {
            SchemaCommand::TypeCreate {
                id,
                name,
                meta,
                fields,
            } => {
                if let Some(id) = id {
                    put("fibery/id", json!(id));
                }
                put("fibery/name", json!(name));
                put("fibery/meta", Value::Object(meta.clone()));
                put(
                    "fibery/fields",
                    Value::Array(fields.iter().map(FieldSpec::to_json).collect()),
                );
            }
            SchemaCommand::TypeRename { from, to } => {
                put("from-name", json!(from));
                put("to-name", json!(to));
            }
            SchemaCommand::TypeDelete {
                name,
                delete_entities,
                delete_related_fields,
            } => {
                put("name", json!(name));
                if let Some(b) = delete_entities {
                    put("delete-entities?", json!(b));
                }
                if let Some(b) = delete_related_fields {
                    put("delete-related-fields?", json!(b));
                }
            }
            SchemaCommand::FieldCreate { holder_type, field } => {
                put("fibery/holder-type", json!(holder_type));
                put("fibery/name", json!(field.name));
                put("fibery/type", json!(field.type_name));
                put("fibery/meta", Value::Object(field.meta.clone()));
            }
            SchemaCommand::FieldRename {
                holder_type,
                from,
                to,
            } => {
                put("holder-type", json!(holder_type));
                put("from-name", json!(from));
                put("to-name", json!(to));
            }
            SchemaCommand::FieldDelete {
                holder_type,
                name,
                delete_values,
            } => {
                put("holder-type", json!(holder_type));
                put("name", json!(name));
                if let Some(b) = delete_values {
                    put("delete-values?", json!(b));
                }
            }
            SchemaCommand::FieldSetMeta {
                holder_type,
                name,
                key,
                value,
            } => {
                put("holder-type", json!(holder_type));
                put("name", json!(name));
                put("key", json!(key));
                put("value", value.clone());
            }
            SchemaCommand::FieldDeleteMeta {
                holder_type,
                name,
                key,
            } => {
                put("holder-type", json!(holder_type));
                put("name", json!(name));
                put("key", json!(key));
            }
            SchemaCommand::EnumCreate { name, meta } => {
                put("fibery/name", json!(name));
                if let Some(meta) = meta {
                    put("fibery/meta", Value::Object(meta.clone()));
                }
            }
            SchemaCommand::InstallMixins { types } => {
                let mut t = Map::new();
                for (ty, mixins) in types {
                    t.insert(ty.clone(), json!(mixins));
                }
                put("types", Value::Object(t));
            }
            SchemaCommand::Raw { command, args } => {
                let mut m = Map::new();
                m.insert("command".into(), json!(command));
                if let Some(a) = args {
                    m.insert("args".into(), a.clone());
                }
                return Value::Object(m);
            }
        }
        json!({"command": self.name(), "args": args})
    }

    /// Parses a schema command object.
    pub fn from_json(value: &Value) -> Result<SchemaCommand, CommandParseError> {
        parse_schema_command(value, "")
    }
}

impl Serialize for Command {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Command::from_json(&v).map_err(serde::de::Error::custom)
    }
}

impl Serialize for SchemaCommand {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for SchemaCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        SchemaCommand::from_json(&v).map_err(serde::de::Error::custom)
    }
}

/// The commands of one `POST /api/commands` request body (serialized as a JSON array).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommandBatch {
    /// The commands, in order; results come back in the same order.
    pub commands: Vec<Command>,
}

impl From<Vec<Command>> for CommandBatch {
    fn from(commands: Vec<Command>) -> Self {
        CommandBatch { commands }
    }
}

impl FromIterator<Command> for CommandBatch {
    fn from_iter<I: IntoIterator<Item = Command>>(iter: I) -> Self {
        CommandBatch {
            commands: iter.into_iter().collect(),
        }
    }
}

impl CommandBatch {
    /// An empty batch.
    pub fn new() -> Self {
        CommandBatch::default()
    }

    /// Appends a command.
    pub fn push(&mut self, command: Command) -> &mut Self {
        self.commands.push(command);
        self
    }

    /// Number of commands.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Splits into request bodies of at most `max` commands each (order kept; `max` 0 is
    /// treated as 1).
    pub fn chunks(&self, max: usize) -> Vec<CommandBatch> {
        self.commands
            .chunks(max.max(1))
            .map(|c| CommandBatch {
                commands: c.to_vec(),
            })
            .collect()
    }

    /// The request body: a JSON array of commands.
    pub fn to_json(&self) -> Value {
        Value::Array(self.commands.iter().map(Command::to_json).collect())
    }

    /// Parses a request body: an array of commands, or a single command object.
    pub fn from_json(value: &Value) -> Result<CommandBatch, CommandParseError> {
        match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, c)| parse_command(c, &format!("/{i}")))
                .collect::<Result<Vec<_>, _>>()
                .map(CommandBatch::from),
            single => Ok(CommandBatch::from(vec![parse_command(single, "")?])),
        }
    }

    /// Wraps everything into one `fibery.command/batch` command.
    pub fn into_batch_command(self) -> Command {
        Command::Batch(self.commands)
    }
}

impl Serialize for CommandBatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for CommandBatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        CommandBatch::from_json(&v).map_err(serde::de::Error::custom)
    }
}

/// One command's outcome: Fibery's `{"success": true|false, "result": ...}` envelope.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandResult {
    /// `success: true`; the command-specific result.
    Success(Value),
    /// `success: false`; the error payload.
    Failure(FiberyError),
}

/// Error from reading a response body.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResponseError {
    /// The body is an error payload without an envelope (HTTP 500 style).
    #[error("request failed: {0}")]
    Fibery(FiberyError),
    /// The body has an unexpected shape.
    #[error("unexpected response shape: {0}")]
    Shape(String),
}

impl CommandResult {
    /// Reads one envelope.
    pub fn from_json(value: &Value) -> Result<CommandResult, ResponseError> {
        let m = value
            .as_object()
            .ok_or_else(|| ResponseError::Shape("an envelope must be an object".into()))?;
        match m.get("success").and_then(Value::as_bool) {
            Some(true) => Ok(CommandResult::Success(
                m.get("result").cloned().unwrap_or(Value::Null),
            )),
            Some(false) => {
                let result = m.get("result").cloned().unwrap_or(Value::Null);
                Ok(CommandResult::Failure(
                    FiberyError::from_value(&result).unwrap_or_else(|| {
                        FiberyError::new("", "command failed").with_data(result)
                    }),
                ))
            }
            None => match FiberyError::from_value(value) {
                Some(e) => Err(ResponseError::Fibery(e)),
                None => Err(ResponseError::Shape(
                    "envelope lacks a boolean `success`".into(),
                )),
            },
        }
    }

    /// Reads a whole response body: an array of envelopes, a single envelope (returned as a
    /// one-element vector), or an un-enveloped error payload (`Err(ResponseError::Fibery)`).
    pub fn parse_response(body: &Value) -> Result<Vec<CommandResult>, ResponseError> {
        match body {
            Value::Array(items) => items.iter().map(CommandResult::from_json).collect(),
            single => Ok(vec![CommandResult::from_json(single)?]),
        }
    }

    /// The envelope JSON.
    pub fn to_json(&self) -> Value {
        match self {
            CommandResult::Success(v) => json!({"success": true, "result": v}),
            CommandResult::Failure(e) => json!({"success": false, "result": e.to_value()}),
        }
    }

    /// Whether `success: true`.
    pub fn is_success(&self) -> bool {
        matches!(self, CommandResult::Success(_))
    }

    /// As a `Result`.
    pub fn into_result(self) -> Result<Value, FiberyError> {
        match self {
            CommandResult::Success(v) => Ok(v),
            CommandResult::Failure(e) => Err(e),
        }
    }

    /// The nested envelopes of a successful `fibery.command/batch`.
    pub fn batch_results(&self) -> Option<Result<Vec<CommandResult>, ResponseError>> {
        match self {
            CommandResult::Success(Value::Array(items)) => {
                Some(items.iter().map(CommandResult::from_json).collect())
            }
            _ => None,
        }
    }

    /// The per-entity results of a successful `create-or-update`.
    pub fn upsert_results(&self) -> Option<Result<Vec<UpsertItemResult>, ResponseError>> {
        match self {
            CommandResult::Success(v @ Value::Array(_)) => Some(UpsertItemResult::parse_all(v)),
            _ => None,
        }
    }
}

impl Serialize for CommandResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for CommandResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        CommandResult::from_json(&v).map_err(serde::de::Error::custom)
    }
}

/// What `create-or-update` did for one entity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UpsertAction {
    /// `create`: no duplicate, created.
    Create,
    /// `skip-create`: a duplicate existed, nothing written.
    SkipCreate,
    /// `update-latest`: the latest duplicate was updated.
    UpdateLatest,
    /// `prefer-duplicate-found-in-the-batch`: an earlier/later item of the same batch won.
    PreferDuplicateFoundInTheBatch,
    /// Another action name.
    Other(String),
}

impl UpsertAction {
    /// Wire name.
    pub fn as_str(&self) -> &str {
        match self {
            UpsertAction::Create => "create",
            UpsertAction::SkipCreate => "skip-create",
            UpsertAction::UpdateLatest => "update-latest",
            UpsertAction::PreferDuplicateFoundInTheBatch => "prefer-duplicate-found-in-the-batch",
            UpsertAction::Other(s) => s,
        }
    }

    /// Parses a wire name.
    pub fn from_name(s: &str) -> Self {
        match s {
            "create" => UpsertAction::Create,
            "skip-create" => UpsertAction::SkipCreate,
            "update-latest" => UpsertAction::UpdateLatest,
            "prefer-duplicate-found-in-the-batch" => UpsertAction::PreferDuplicateFoundInTheBatch,
            other => UpsertAction::Other(other.to_owned()),
        }
    }
}

/// One item of a `create-or-update` result (payload keys per the one public typed client:
/// `created`, `entity`, `duplicate`, `updated`; all optional).
#[derive(Debug, Clone, PartialEq)]
pub struct UpsertItemResult {
    /// The action taken.
    pub action: UpsertAction,
    /// The created entity (`create`).
    pub created: Option<Value>,
    /// The input entity.
    pub entity: Option<Value>,
    /// The duplicate found.
    pub duplicate: Option<Value>,
    /// The updated entity (`update-latest`).
    pub updated: Option<Value>,
}

impl UpsertItemResult {
    /// The id of the entity that now holds the data: `created`, else `updated`, else
    /// `duplicate`, else `entity` (`fibery/id` of the first that has one).
    pub fn id(&self) -> Option<&str> {
        [&self.created, &self.updated, &self.duplicate, &self.entity]
            .into_iter()
            .flatten()
            .find_map(|v| v.get("fibery/id").and_then(Value::as_str))
    }

    /// Reads one item.
    pub fn from_json(v: &Value) -> Result<Self, ResponseError> {
        let m = v
            .as_object()
            .ok_or_else(|| ResponseError::Shape("upsert item must be an object".into()))?;
        let action = m
            .get("action")
            .and_then(Value::as_str)
            .ok_or_else(|| ResponseError::Shape("upsert item lacks `action`".into()))?;
        let opt = |k: &str| m.get(k).filter(|v| !v.is_null()).cloned();
        Ok(UpsertItemResult {
            action: UpsertAction::from_name(action),
            created: opt("created"),
            entity: opt("entity"),
            duplicate: opt("duplicate"),
            updated: opt("updated"),
        })
    }

    /// Reads the result array.
    pub fn parse_all(v: &Value) -> Result<Vec<Self>, ResponseError> {
        v.as_array()
            .ok_or_else(|| ResponseError::Shape("upsert result must be an array".into()))?
            .iter()
            .map(UpsertItemResult::from_json)
            .collect()
    }

    /// The item JSON (absent parts omitted).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("action".into(), json!(self.action.as_str()));
        for (k, v) in [
            ("created", &self.created),
            ("entity", &self.entity),
            ("duplicate", &self.duplicate),
            ("updated", &self.updated),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), v.clone());
            }
        }
        Value::Object(m)
    }
}
