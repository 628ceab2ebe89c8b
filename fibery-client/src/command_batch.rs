//! [`Client::command_batch`]: several commands in one `fibery.command/batch`, reported per
//! command in both failure shapes a server may use.
//!
//! Fibery documents only the success shape (an outer success holding one envelope per
//! command). A failure is either **atomic** (the outer command fails, nothing is applied) or
//! **partial** (the outer command succeeds and a failed command's envelope says
//! `success: false` at its index); the emulator serves both (`--batch-failure`).

use fibery_core::command::{Command, CommandResult, names};
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};

impl Client {
    /// Sends `commands` as one `fibery.command/batch` in one request and returns one result
    /// per command, in order: a failed command's [`Error::Command`] (with its index and
    /// name) at its index, the others' results around it (the partial failure shape).
    ///
    /// The outer `Err` is for a batch that failed as a whole: with Fibery's atomic shape an
    /// [`Error::Command`] for `fibery.command/batch` carrying the first failure (nothing was
    /// applied), or a request-level error (transport, HTTP status).
    /// ([`command`](Client::command) and [`execute`](Client::execute) return a batch's
    /// result as Fibery sends it: the array of inner envelopes, unread.)
    ///
    /// ```no_run
    /// # async fn run(client: fibery_client::Client) -> fibery_client::Result<()> {
    /// use fibery_client::core::command::Command;
    /// use fibery_client::json;
    /// let results = client
    ///     .command_batch([
    ///         Command::create("Projects/Project", json!({"Projects/Name": "A"})),
    ///         Command::create("Projects/Project", json!({"Projects/Name": "B"})),
    ///     ])
    ///     .await?;
    /// assert_eq!(results.len(), 2);
    /// # Ok(()) }
    /// ```
    pub async fn command_batch(
        &self,
        commands: impl IntoIterator<Item = Command>,
    ) -> Result<Vec<Result<Value>>> {
        let cmds: Vec<Command> = commands.into_iter().collect();
        let names: Vec<String> = cmds.iter().map(|c| c.name().to_owned()).collect();
        let result = self.send_one(Command::batch(cmds)).await?;
        self.per_command(result, &names)
    }

    /// The inner envelopes of a successful batch, one result per command.
    fn per_command(&self, result: Value, names: &[String]) -> Result<Vec<Result<Value>>> {
        let context = names::BATCH;
        let envelopes = match CommandResult::Success(result).batch_results() {
            Some(Ok(envelopes)) => envelopes,
            Some(Err(e)) => return Err(self.scrub(Error::decode(context, e))),
            None => return Err(Error::decode(context, "the result is not an array")),
        };
        if envelopes.len() != names.len() {
            let message = format!(
                "sent {} commands, got {} results",
                names.len(),
                envelopes.len()
            );
            return Err(Error::decode(context, message));
        }
        Ok(envelopes
            .into_iter()
            .zip(names)
            .enumerate()
            .map(|(index, (env, command))| match env {
                CommandResult::Success(v) => Ok(v),
                CommandResult::Failure(error) => Err(self.scrub(Error::Command {
                    index,
                    command: command.clone(),
                    error: Box::new(error),
                })),
            })
            .collect())
    }
}
