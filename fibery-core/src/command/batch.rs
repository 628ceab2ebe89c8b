//! [`CommandBatch`]: the commands of one request body.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{Command, CommandParseError, parse};

/// The commands of one `POST /api/commands` request body (serialized as a JSON array).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
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
        serde_json::to_value(self).expect("commands are plain JSON data")
    }

    /// Parses a request body: an array of commands, or a single command object.
    pub fn from_json(value: &Value) -> Result<CommandBatch, CommandParseError> {
        match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, c)| parse::command(c, &format!("/{i}")))
                .collect::<Result<Vec<_>, _>>()
                .map(CommandBatch::from),
            single => Ok(CommandBatch::from(vec![parse::command(single, "")?])),
        }
    }

    /// Wraps everything into one `fibery.command/batch` command.
    pub fn into_batch_command(self) -> Command {
        Command::Batch(self.commands)
    }
}

impl<'de> Deserialize<'de> for CommandBatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        CommandBatch::from_json(&v).map_err(serde::de::Error::custom)
    }
}
