//! `POST /api/commands`: each command parsed once with fibery-core into its typed
//! [`Command`](fibery_core::command::Command), run against the store, answered in Fibery's
//! envelopes; write effects go to the webhooks.

mod behaviour;
mod dispatch;
mod inline_values;
mod lanes;
mod parse_error;
mod request;
mod schema;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use fibery_core::command::{Command, CommandResult};
use fibery_core::error::FiberyError;
use serde_json::Value;

pub use behaviour::{BatchFailure, Behaviour};
pub(crate) use dispatch::{Ctx, is_read, run, run_read_within};
pub(crate) use lanes::HeavyLane;
pub(crate) use request::parse_one;

use crate::api::webhooks::{self, Changes};
use crate::response::{self, server_error};
use crate::server::request_log::CommandCount;
use crate::server::state::Shared;

/// Runs a commands body: a single object gets a single envelope, an array an array of them.
/// Request-level failures (bad JSON, unknown commands) are HTTP 500 without envelope.
pub(crate) async fn handler(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let req = match request::parse(&body, sh.behaviour) {
        Ok(r) => r,
        Err(e) => return server_error(e).into_response(),
    };
    let executed: usize = req.commands.iter().map(count).sum();
    let n = req.commands.len();
    let commands = Arc::new(req.commands);
    let done = if commands.iter().all(|c| c.as_ref().is_ok_and(is_read)) {
        lanes::read(&sh, commands).await.map(|e| (e, None))
    } else {
        // Off the async workers: a long batch must not hold up other connections.
        let worker = sh.clone();
        tokio::task::spawn_blocking(move || write(&worker, &commands))
            .await
            .unwrap_or_else(|_| Err(crate::error::unavailable()))
    };
    let (mut envelopes, changes) = match done {
        Ok(done) => done,
        Err(e) => return server_error(e).into_response(),
    };
    sh.commands.fetch_add(executed as u64, Ordering::Relaxed);
    if let Some(changes) = changes {
        webhooks::deliver(&sh, changes);
    }
    let mut resp = if req.single {
        response::json(envelopes.pop().unwrap_or(Value::Null))
    } else {
        response::json(envelopes)
    };
    resp.extensions_mut().insert(CommandCount(n));
    resp
}

/// Runs the commands of a request that writes in order under the write lock; persists if
/// anything changed.
fn write(
    sh: &Shared,
    commands: &[Result<Command, FiberyError>],
) -> Result<(Vec<Value>, Option<Changes>), FiberyError> {
    let mut store = sh.store()?;
    let mut ctx = Ctx::new(sh.behaviour);
    let envelopes = commands
        .iter()
        .map(|c| {
            envelope(match c {
                Ok(c) => run(&mut store, c, &mut ctx),
                Err(e) => Err(e.clone()),
            })
        })
        .collect();
    let changes = (!ctx.effects.is_empty()).then(|| {
        store.sequence += 1;
        Changes {
            effects: ctx.effects,
            author: store.me.clone(),
            sequence: store.sequence,
            correlation_id: commands.iter().find_map(|c| match c {
                Ok(Command::Correlated { correlation_id, .. }) => Some(correlation_id.clone()),
                _ => None,
            }),
        }
    });
    if ctx.mutated {
        sh.persistence.record(&mut store);
    }
    drop(store);
    // Compaction serialises the whole store: under the read lock, so readers go on.
    if sh.persistence.compaction_due()
        && let Ok(s) = sh.read()
    {
        sh.persistence.snapshot(&s);
    }
    Ok((envelopes, changes))
}

fn envelope(r: Result<Value, FiberyError>) -> Value {
    match r {
        Ok(v) => CommandResult::Success(v),
        Err(e) => CommandResult::Failure(e),
    }
    .to_json()
}

/// Commands a command stands for in the stats: a batch counts itself and its commands.
fn count(c: &Result<Command, FiberyError>) -> usize {
    fn of(c: &Command) -> usize {
        match c {
            Command::Batch(inner) => 1 + inner.iter().map(of).sum::<usize>(),
            Command::Correlated { command, .. } => of(command),
            _ => 1,
        }
    }
    c.as_ref().map_or(1, of)
}

/// Parses and runs a `/api/commands` body against a store directly (the benchmark hook).
pub(crate) fn run_body(
    store: &mut crate::store::Store,
    body: &[u8],
) -> Result<Vec<Value>, FiberyError> {
    let req = request::parse(body, Behaviour::default())?;
    let mut ctx = Ctx::new(Behaviour::default());
    Ok(req
        .commands
        .iter()
        .map(|c| {
            envelope(match c {
                Ok(c) => run(store, c, &mut ctx),
                Err(e) => Err(e.clone()),
            })
        })
        .collect())
}

/// Parses and runs `fibery.entity/query` args directly (the benchmark hook).
pub(crate) fn query(store: &crate::store::Store, args: &Value) -> Result<Value, FiberyError> {
    let q = fibery_core::query::Query::from_args(args).map_err(|e| parse_error::query_error(&e))?;
    crate::store::qeval::run(store, &q)
}
