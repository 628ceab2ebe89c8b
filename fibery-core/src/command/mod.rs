//! Fibery commands (`POST /api/commands`), batches and results: the one typed model of the
//! protocol that the client sends and the emulator serves.
//!
//! [`Command`] is declared with serde as Fibery's adjacently tagged
//! `{"command": "<name>", "args": {...}}`, each command's args a named struct. Written by hand
//! are only the parts serde cannot say: a query's `$pN` params, the top-level
//! `correlationId` ([`Command::Correlated`]), [`Command::Raw`] for unmodelled commands, the
//! omitted `args` of `fibery.schema/query`, and reading the map form of collection commands.
//! [`Command::from_json`] also reads what other clients send (the map form, omitted `args`)
//! and locates every error ([`CommandParseError`]), so the emulator can answer with Fibery's
//! error names.
//!
//! | Module | What |
//! |---|---|
//! | `entity` | entity commands' args ([`EntityArgs`], [`DeleteArgs`], [`CollectionChange`], [`Upsert`]) and constructors |
//! | `schema` | [`SchemaCommand`], [`FieldSpec`] and the mandatory fields of a new type |
//! | `batch` | [`CommandBatch`], one request body |
//! | `result` | [`CommandResult`]: the one envelope parser |
//! | `parse` | [`CommandParseError`] and the located reading of commands |
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

mod batch;
mod entity;
mod parse;
mod result;
mod schema;

use serde::ser::{Error as _, SerializeMap};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::query::Query;

pub use batch::CommandBatch;
pub use entity::{CollectionChange, ConflictAction, DeleteArgs, EntityArgs, Upsert};
pub use parse::{CommandErrorKind, CommandParseError};
pub use result::{CommandResult, ResponseError, UpsertAction, UpsertItemResult};
pub use schema::{FieldSpec, SchemaCommand};

/// Command names (the serde renames of [`Command`] and [`SchemaCommand`] spell the same).
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
///
/// Serialize and deserialize it through serde's traits (`serde_json::to_value`,
/// `from_value`) or [`Command::to_json`] / [`Command::from_json`]; the associated functions
/// `Command::serialize(&c, s)` / `Command::deserialize(d)` that serde derives here handle
/// only the adjacently tagged modelled commands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", tag = "command", content = "args")]
#[non_exhaustive]
pub enum Command {
    /// `fibery.entity/query` with args `{"query", "params"}`.
    #[serde(
        rename = "fibery.entity/query",
        serialize_with = "query_args",
        skip_deserializing
    )]
    Query(Query),
    /// `fibery.entity/create`.
    #[serde(rename = "fibery.entity/create")]
    Create(EntityArgs),
    /// `fibery.entity/update` (`entity` holds `fibery/id` plus the changed fields).
    #[serde(rename = "fibery.entity/update")]
    Update(EntityArgs),
    /// `fibery.entity/delete`.
    #[serde(rename = "fibery.entity/delete")]
    Delete(DeleteArgs),
    /// `fibery.entity/add-collection-items`.
    #[serde(rename = "fibery.entity/add-collection-items")]
    AddCollectionItems(CollectionChange),
    /// `fibery.entity/remove-collection-items`.
    #[serde(rename = "fibery.entity/remove-collection-items")]
    RemoveCollectionItems(CollectionChange),
    /// `fibery.entity.batch/create-or-update` (upsert).
    #[serde(rename = "fibery.entity.batch/create-or-update")]
    CreateOrUpdate(Upsert),
    /// `fibery.command/batch`: `{"commands": [...]}`; result is an array of inner envelopes.
    #[serde(
        rename = "fibery.command/batch",
        serialize_with = "commands",
        skip_deserializing
    )]
    Batch(Vec<Command>),
    /// `fibery.schema/query`; `args` omitted unless `with-description?` is set.
    #[serde(rename = "fibery.schema/query")]
    SchemaQuery {
        /// `with-description?`
        #[serde(rename = "with-description?", skip_serializing_if = "Option::is_none")]
        with_description: Option<bool>,
    },
    /// `fibery.schema/batch`: `{"commands": [...schema commands...]}`; result `"ok"`.
    #[serde(
        rename = "fibery.schema/batch",
        serialize_with = "commands",
        skip_deserializing
    )]
    SchemaBatch(Vec<SchemaCommand>),
    /// Any command with a top-level `correlationId` (echoed in webhook events).
    #[serde(skip)]
    Correlated {
        /// The id (any string; Fibery suggests a UUID).
        correlation_id: String,
        /// The command.
        command: Box<Command>,
    },
    /// A command this crate does not model (e.g. `fibery.entity/set-collection-items`).
    #[serde(skip)]
    Raw {
        /// Command name.
        command: String,
        /// Args, if any.
        args: Option<Value>,
    },
}

fn query_args<S: Serializer>(q: &Query, s: S) -> Result<S::Ok, S::Error> {
    q.to_args().serialize(s)
}

/// `{"commands": [...]}`, the args of both batch commands.
fn commands<T: Serialize, S: Serializer>(commands: &[T], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Commands<'a, T> {
        commands: &'a [T],
    }
    Commands { commands }.serialize(s)
}

/// Writes `{"command", "args"?}` for a command written by hand.
fn untyped<S: Serializer>(command: &str, args: Option<&Value>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Untyped<'a> {
        command: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        args: Option<&'a Value>,
    }
    Untyped { command, args }.serialize(s)
}

/// Reads a command through its JSON parser (which places its errors), as the one
/// `Deserialize` of both command enums.
fn parsed<'de, T, D: Deserializer<'de>>(
    d: D,
    parse: fn(&Value) -> Result<T, CommandParseError>,
) -> Result<T, D::Error> {
    let v = Value::deserialize(d)?;
    parse(&v).map_err(serde::de::Error::custom)
}

impl Command {
    /// `fibery.entity/query`.
    pub fn query(query: Query) -> Self {
        Command::Query(query)
    }

    /// `fibery.command/batch`.
    pub fn batch(commands: impl IntoIterator<Item = Command>) -> Self {
        Command::Batch(commands.into_iter().collect())
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

    /// Whether the command is safe to send again after an unknown outcome (a timeout, a
    /// dropped connection, a 5xx): repeating it must leave the same state as sending it once,
    /// **and** the answer to the repeat must still tell the client what happened. The
    /// client's retries ask this and nothing else.
    ///
    /// | command | repeat? | why |
    /// |---|---|---|
    /// | query, schema query | yes | reads |
    /// | update | yes | writes the same values again |
    /// | add / remove collection items | yes | adding a present item or removing an absent one changes nothing |
    /// | create-or-update | yes | the conflict field finds what the first attempt wrote |
    /// | create with a client-chosen `fibery/id` | yes | a repeat after success answers with a duplicate id, which the client reconciles |
    /// | create without `fibery/id` | no | a repeat creates a second entity |
    /// | delete | no | a repeat after success answers "not found" for the entity the first attempt deleted, and nothing tells that apart from a wrong id |
    /// | schema batch, raw | no | not known to be repeatable |
    /// | command batch | when every inner command is | |
    /// | correlated | as the wrapped command | |
    pub fn is_idempotent(&self) -> bool {
        match self {
            Command::Query(_)
            | Command::SchemaQuery { .. }
            | Command::Update(_)
            | Command::AddCollectionItems(_)
            | Command::RemoveCollectionItems(_)
            | Command::CreateOrUpdate(_) => true,
            Command::Create(args) => args.entity.get("fibery/id").is_some_and(Value::is_string),
            Command::Batch(v) => v.iter().all(Command::is_idempotent),
            Command::Correlated { command, .. } => command.is_idempotent(),
            Command::Delete(_) | Command::SchemaBatch(_) | Command::Raw { .. } => false,
        }
    }

    /// The `args` value (`None` for an argument-less command).
    pub fn args(&self) -> Option<Value> {
        match self.to_json() {
            Value::Object(mut m) => m.remove("args"),
            _ => None,
        }
    }

    /// The wire JSON: `{"command", "args"}` (plus `correlationId` when correlated; `args`
    /// omitted only for argument-less commands).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a command is plain JSON data")
    }

    /// Parses a command object. Accepts both collection-command shapes (legacy
    /// `entity + items`, and the map form `{"entity": {"<parent>": ["<id>", ..]}}` with one
    /// parent), and omitted or `null` `args`. Unknown command names become
    /// [`Command::Raw`].
    pub fn from_json(value: &Value) -> Result<Command, CommandParseError> {
        parse::command(value, "")
    }
}

impl Serialize for Command {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Command::Raw { command, args } => untyped(command, args.as_ref(), s),
            Command::SchemaQuery {
                with_description: None,
            } => untyped(names::SCHEMA_QUERY, None, s),
            Command::Correlated {
                correlation_id,
                command,
            } => {
                let inner = serde_json::to_value(command).map_err(S::Error::custom)?;
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("command", command.name())?;
                m.serialize_entry("correlationId", correlation_id)?;
                if let Some(args) = inner.get("args") {
                    m.serialize_entry("args", args)?;
                }
                m.end()
            }
            modelled => Command::serialize(modelled, s),
        }
    }
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parsed(d, Command::from_json)
    }
}

/// `{}`: the args of a command sent without any.
fn no_args() -> Value {
    Value::Object(Map::new())
}
