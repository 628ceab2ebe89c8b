//! Fibery's rules for a `/api/commands` body, and each command parsed with fibery-core.
//!
//! A body is one command object or an array of them. Whatever breaks the envelope rules (bad
//! JSON, a command that is not an object or has no name, a top-level name the emulator does
//! not serve) fails the whole request with HTTP 500 before anything runs ([D] response
//! envelope: 500 is for commands that never reached the dispatcher). An unknown command inside
//! `fibery.command/batch` was dispatched with its batch: it fails in its envelope. A command
//! whose arguments do not parse, or whose `q/where` holds inline values, fails in its own
//! envelope.

use fibery_core::command::{Command, names};
use fibery_core::error::FiberyError;
use serde_json::Value;

use super::Behaviour;
use super::inline_values;
use super::parse_error::command_error;
use crate::error;

/// `fibery.entity/set-collection-items` (not modelled by fibery-core: a `Command::Raw`).
pub(super) const SET_COLLECTION_ITEMS: &str = "fibery.entity/set-collection-items";
/// `fibery.entity.batch/create` (a `Command::Raw`).
pub(super) const BATCH_CREATE: &str = "fibery.entity.batch/create";
/// `fibery.entity.batch/delete` (a `Command::Raw`).
pub(super) const BATCH_DELETE: &str = "fibery.entity.batch/delete";

/// Every top-level command the emulator serves. `fibery.app/install-mixins` is not one:
/// Fibery documents it only inside `fibery.schema/batch`, so at top level it is an unknown
/// command (HTTP 500).
const SERVED: &[&str] = &[
    names::QUERY,
    names::CREATE,
    names::UPDATE,
    names::DELETE,
    names::ADD_COLLECTION_ITEMS,
    names::REMOVE_COLLECTION_ITEMS,
    SET_COLLECTION_ITEMS,
    names::CREATE_OR_UPDATE,
    BATCH_CREATE,
    BATCH_DELETE,
    names::BATCH,
    names::SCHEMA_QUERY,
    names::SCHEMA_BATCH,
];

/// A body that passed the envelope rules.
pub(super) struct Request {
    /// Each command, or the error its envelope carries.
    pub commands: Vec<Result<Command, FiberyError>>,
    /// The body was a single object (answered with a single envelope).
    pub single: bool,
}

/// Reads a body; `Err` is a request-level failure (HTTP 500).
pub(super) fn parse(body: &[u8], behaviour: Behaviour) -> Result<Request, FiberyError> {
    let (raw, single) = match serde_json::from_slice(body).map_err(error::invalid_json)? {
        Value::Array(a) => (a, false),
        v @ Value::Object(_) => (vec![v], true),
        other => {
            return Err(error::new(
                "request/invalid-body",
                format!("Expected a command object or an array of commands, got {other}"),
            ));
        }
    };
    for c in &raw {
        check_envelope(c)?;
    }
    Ok(Request {
        commands: raw
            .iter()
            .map(|c| {
                if !behaviour.allow_inline_values {
                    inline_values::check_command(c)?;
                }
                parse_command(c)
            })
            .collect(),
        single,
    })
}

/// One command (seed files): the envelope rules, then parsing.
pub(crate) fn parse_one(raw: &Value) -> Result<Command, FiberyError> {
    check_envelope(raw)?;
    parse_command(raw)
}

/// The command name of a raw command object.
fn name_of(raw: &Value) -> Option<&str> {
    raw.get("command").and_then(Value::as_str)
}

/// An object with a served command name (a batch's commands are checked when it runs).
fn check_envelope(raw: &Value) -> Result<(), FiberyError> {
    if !raw.is_object() {
        return Err(error::new(
            "command/invalid",
            format!("A command must be an object {{\"command\", \"args\"}}, got {raw}."),
        ));
    }
    let name =
        name_of(raw).ok_or_else(|| error::new("command/invalid", "Missing \"command\" name."))?;
    if !SERVED.contains(&name) {
        return Err(error::command_not_found(name));
    }
    Ok(())
}

/// Parses a command that passed [`check_envelope`].
fn parse_command(raw: &Value) -> Result<Command, FiberyError> {
    Command::from_json(raw).map_err(|e| command_error(&e))
}
