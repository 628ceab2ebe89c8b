//! Sending commands: splitting into requests, merging concurrent callers, ordered results.
//!
//! N commands cost `ceil(N / max_commands_per_request)` HTTP requests (a top-level JSON array
//! per request; Fibery answers with an array of envelopes in the same order). Each command's
//! outcome is its own `Result`, so one failed command never hides the others.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};

use fibery_core::command::{Command, CommandResult, ResponseError};
use fibery_core::query::{Filter, Query};
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::client::{Client, Inner};
use crate::error::{Error, FiberyError, Result};
use crate::retry::Safety;

/// How many chunks of independent commands may be in flight at once (the pacer still
/// spaces their start times).
const IN_FLIGHT: usize = 4;

struct Pending {
    cmd: Command,
    reply: oneshot::Sender<Result<Value>>,
}

/// Merges single commands issued by concurrent tasks into shared requests.
pub(crate) struct AutoBatcher {
    tx: mpsc::UnboundedSender<Pending>,
}

impl AutoBatcher {
    fn start(inner: &Arc<Inner>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run_batcher(Arc::downgrade(inner), rx));
        AutoBatcher { tx }
    }
}

async fn run_batcher(weak: Weak<Inner>, mut rx: mpsc::UnboundedReceiver<Pending>) {
    while let Some(first) = rx.recv().await {
        let Some(inner) = weak.upgrade() else { break };
        let client = Client { inner };
        let max = client.limits().max_commands;
        let deadline = tokio::time::Instant::now() + client.limits().batch_window;
        let mut batch = vec![first];
        while batch.len() < max {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(p)) => batch.push(p),
                _ => break,
            }
        }
        tracing::trace!(commands = batch.len(), "auto-batcher flushing");
        tokio::spawn(async move {
            // Idempotent and other commands travel separately so that a 5xx can still be
            // retried for the idempotent ones.
            let (idem, other): (Vec<_>, Vec<_>) =
                batch.into_iter().partition(|p| p.cmd.is_idempotent());
            for group in [idem, other] {
                if group.is_empty() {
                    continue;
                }
                let (cmds, replies): (Vec<_>, Vec<_>) =
                    group.into_iter().map(|p| (p.cmd, p.reply)).unzip();
                let results = client.send_chunk(&cmds, 0).await;
                for (reply, r) in replies.into_iter().zip(results) {
                    let _ = reply.send(r);
                }
            }
        });
    }
}

/// A caller's command as a typed [`Command`]. A `{"command", "args"}` value that core's
/// parser does not accept (a command core does not model, or args in a shape it rejects)
/// is sent as given, as [`Command::Raw`]: Fibery judges it, and it is never retried after
/// it may have arrived.
fn to_command<C: Serialize>(cmd: C) -> Result<Command> {
    let v = serde_json::to_value(cmd)
        .map_err(|e| Error::InvalidInput(format!("cannot serialize a command: {e}")))?;
    let Some(name) = v.get("command").and_then(Value::as_str) else {
        return Err(Error::InvalidInput(
            "a command must serialize to {\"command\": ..., \"args\": ...}".into(),
        ));
    };
    match Command::from_json(&v) {
        Ok(c) => Ok(c),
        Err(e) => {
            tracing::debug!(command = name, error = %e, "sending a command as given");
            let raw = Command::Raw {
                command: name.to_owned(),
                args: v.get("args").cloned(),
            };
            Ok(match v.get("correlationId").and_then(Value::as_str) {
                Some(id) => raw.with_correlation_id(id),
                None => raw,
            })
        }
    }
}

impl Client {
    /// Sends any number of commands (`fibery_core::command::Command`s or
    /// `{"command", "args"}` JSON values) in `ceil(N / max_commands_per_request)` requests,
    /// one after another, in input order. Returns one result per command, in input order.
    /// Every command is read into core's typed [`Command`] first (a value core does not
    /// parse is sent as given, as [`Command::Raw`]).
    ///
    /// The outer `Err` ([`Error::InvalidInput`]) is only for values that are not
    /// `{"command", ...}` objects (nothing is sent then). If a whole request fails (after
    /// retries), each of its commands gets an [`Error::Batch`] sharing that failure, and
    /// later requests are still sent.
    pub async fn execute<C, I>(&self, commands: I) -> Result<Vec<Result<Value>>>
    where
        C: Serialize,
        I: IntoIterator<Item = C>,
    {
        let cmds = commands
            .into_iter()
            .map(to_command)
            .collect::<Result<Vec<_>>>()?;
        Ok(self.run(cmds, false).await)
    }

    /// Sends one command and returns its result. Concurrent callers are merged into shared
    /// requests by the automatic batcher (see
    /// [`ClientBuilder::batch_window`](crate::ClientBuilder::batch_window)).
    pub async fn command<C: Serialize>(&self, command: C) -> Result<Value> {
        self.submit(to_command(command)?).await
    }

    /// One typed command through the automatic batcher (or alone with a zero window).
    pub(crate) async fn submit(&self, cmd: Command) -> Result<Value> {
        if self.limits().batch_window.is_zero() {
            return self.send_one(cmd).await;
        }
        let batcher = self
            .inner
            .batcher
            .get_or_init(|| AutoBatcher::start(&self.inner));
        let (tx, rx) = oneshot::channel();
        batcher
            .tx
            .send(Pending { cmd, reply: tx })
            .map_err(|_| Error::BatcherStopped { sent: false })?;
        rx.await
            .map_err(|_| Error::BatcherStopped { sent: true })?
            .map_err(Error::unshare)
    }

    /// One command in a request of its own.
    pub(crate) async fn send_one(&self, cmd: Command) -> Result<Value> {
        self.send_chunk(std::slice::from_ref(&cmd), 0)
            .await
            .pop()
            .expect("one result")
            .map_err(Error::unshare)
    }

    /// Sends commands in chunks of `max_commands_per_request`. `concurrent`: chunks are
    /// independent and may be in flight together (still paced); otherwise chunk k+1 starts
    /// after chunk k answered.
    pub(crate) async fn run(&self, cmds: Vec<Command>, concurrent: bool) -> Vec<Result<Value>> {
        let max = self.limits().max_commands;
        let chunks: Vec<(usize, &[Command])> = cmds
            .chunks(max)
            .enumerate()
            .map(|(i, c)| (i * max, c))
            .collect();
        let per_chunk: Vec<Vec<Result<Value>>> = if concurrent {
            futures::stream::iter(chunks.into_iter().map(|(off, c)| self.send_chunk(c, off)))
                .buffered(IN_FLIGHT)
                .collect()
                .await
        } else {
            let mut out = Vec::new();
            for (off, c) in chunks {
                out.push(self.send_chunk(c, off).await);
            }
            out
        };
        per_chunk.into_iter().flatten().collect()
    }

    /// Like [`run`](Self::run) but fails on the first failed command.
    pub(crate) async fn run_all_ok(
        &self,
        cmds: Vec<Command>,
        concurrent: bool,
    ) -> Result<Vec<Value>> {
        self.run(cmds, concurrent).await.into_iter().collect()
    }

    /// One HTTP request carrying `cmds`; `offset` is the index of `cmds[0]` in the caller's
    /// input (for error messages).
    ///
    /// A request refused as too large (HTTP 413, nothing applied) is split in halves and
    /// resent, down to single commands; a single command still too large gets its own 413.
    pub(crate) async fn send_chunk(&self, cmds: &[Command], offset: usize) -> Vec<Result<Value>> {
        match self.send_chunk_inner(cmds, offset).await {
            Ok(r) => r,
            Err(e) if e.status() == Some(413) && cmds.len() > 1 => {
                let mid = cmds.len() / 2;
                tracing::debug!(commands = cmds.len(), "request too large (413): splitting");
                let mut first: Vec<Result<Value>> =
                    Box::pin(self.send_chunk(&cmds[..mid], offset)).await;
                let second: Vec<Result<Value>> =
                    Box::pin(self.send_chunk(&cmds[mid..], offset + mid)).await;
                first.extend(second);
                first
            }
            Err(e) => {
                let shared = Arc::new(e);
                cmds.iter()
                    .map(|_| {
                        Err(Error::Batch {
                            source: shared.clone(),
                        })
                    })
                    .collect()
            }
        }
    }

    async fn send_chunk_inner(
        &self,
        cmds: &[Command],
        offset: usize,
    ) -> Result<Vec<Result<Value>>> {
        let safety = if cmds.iter().all(Command::is_idempotent) {
            Safety::Idempotent
        } else {
            Safety::Unsafe
        };
        let transport = self.transport();
        let (resp, maybe_applied) = transport
            .send_tracking("/api/commands", safety, |http, url| {
                transport.count_commands(cmds.len());
                Ok(http.post(url).json(cmds))
            })
            .await?;
        let mut results: Vec<Result<Value>> = results(resp.json("command results")?, cmds, offset)
            .map_err(|e| self.scrub(e))?
            .into_iter()
            .map(|r| r.map_err(|e| self.scrub(e)))
            .collect();
        if maybe_applied {
            self.reconcile_creates(cmds, &mut results).await;
        }
        Ok(results)
    }

    /// After a retry of a request that may already have been applied, a create with a
    /// client id can fail because the first attempt created it. Check which of those ids
    /// exist and count them as created.
    async fn reconcile_creates(&self, cmds: &[Command], results: &mut [Result<Value>]) {
        let mut by_type: BTreeMap<&str, Vec<(usize, &str)>> = BTreeMap::new();
        for (i, (cmd, r)) in cmds.iter().zip(results.iter()).enumerate() {
            if let (Err(_), Some((type_name, id))) = (r, created_id(cmd)) {
                by_type.entry(type_name).or_default().push((i, id));
            }
        }
        for (type_name, items) in by_type {
            let ids: Vec<&str> = items.iter().map(|(_, id)| *id).collect();
            let q = Query::from(type_name)
                .select(["fibery/id"])
                .filter(Filter::in_list("fibery/id", ids.iter().copied()))
                .limit(ids.len() as u64);
            let Ok(Ok(rows)) = Box::pin(self.send_chunk_inner(&[Command::query(q)], 0))
                .await
                .map(|mut v| v.remove(0))
            else {
                continue;
            };
            let found: HashMap<&str, &Value> = rows
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r["fibery/id"].as_str().map(|id| (id, r)))
                .collect();
            for (i, id) in &items {
                if let Some(row) = found.get(id) {
                    tracing::debug!(id, "create reconciled after retry: entity exists");
                    results[*i] = Ok((*row).clone());
                }
            }
        }
    }
}

/// The type and client id of a create that carries one.
fn created_id(cmd: &Command) -> Option<(&str, &str)> {
    match cmd {
        Command::Create(args) => args
            .entity
            .get("fibery/id")
            .and_then(Value::as_str)
            .map(|id| (args.type_name.as_str(), id)),
        Command::Correlated { command, .. } => created_id(command),
        _ => None,
    }
}

/// The results of one request: one envelope per command, in order, each read by core's
/// envelope parser ([`CommandResult::from_json`]).
fn results(body: Value, cmds: &[Command], offset: usize) -> Result<Vec<Result<Value>>> {
    let envelopes = match body {
        Value::Array(a) => a,
        single => vec![single],
    };
    if envelopes.len() != cmds.len() {
        return Err(Error::decode(
            "command results",
            format!(
                "sent {} commands, got {} results",
                cmds.len(),
                envelopes.len()
            ),
        ));
    }
    Ok(envelopes
        .iter()
        .zip(cmds)
        .enumerate()
        .map(|(i, (env, cmd))| outcome(env, cmd.name(), offset + i))
        .collect())
}

/// One command's outcome. An error payload in place of the envelope is that command's
/// failure; any other shape is undecodable.
fn outcome(envelope: &Value, command: &str, index: usize) -> Result<Value> {
    let failed = |error: FiberyError| Error::Command {
        index,
        command: command.to_owned(),
        error: Box::new(error),
    };
    match CommandResult::from_json(envelope) {
        Ok(CommandResult::Success(v)) => Ok(v),
        Ok(CommandResult::Failure(e)) | Err(ResponseError::Fibery(e)) => Err(failed(e)),
        Err(e) => Err(Error::decode("command result", e)),
    }
}
