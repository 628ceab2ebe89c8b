//! [`CommandResult`]: the one reader of Fibery's answers.
//!
//! Each command's outcome comes back as an envelope `{"success": bool, "result": ...}`;
//! [`CommandResult::from_json`] reads one and is the only envelope parser in the workspace.
//! Its answers to the odd shapes, chosen when the client's second parser was merged in:
//!
//! | body | read as |
//! |---|---|
//! | `{"success": true, "result": r}` | `Success(r)` (`Success(null)` when `result` is absent) |
//! | `{"success": false, "result": {"name", "message", "data"?}}` | `Failure` with those fields |
//! | `{"success": false, "result": "text"}` | `Failure`: message `text`, empty name |
//! | `{"success": false, "result": other}` (no string `name`/`message`) | `Failure`: empty name, message `command failed`, `data` = the payload kept whole (nothing is dropped) |
//! | no boolean `success`, but an error payload (`{"name", "message"}`: an HTTP 500 body) | `Err(ResponseError::Fibery)` |
//! | anything else | `Err(ResponseError::Shape)` |
//!
//! An empty name means Fibery gave none; callers match on [`FiberyError::name`], never on
//! the message.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value, json};

use crate::error::FiberyError;

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
#[non_exhaustive]
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
