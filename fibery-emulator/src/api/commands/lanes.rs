//! Where a read-only request runs, so one expensive query cannot starve cheap ones.
//!
//! Every read starts in the light lane (the blocking pool, any number at once) with each query
//! limited to a small work budget (default [`LIGHT_BUDGET`]). A request with a query over it is run again in the
//! heavy lane with the full budget: one request at a time, and after each the lane rests as
//! long as that request ran. However many clients send expensive queries, they get at most
//! half of one core; the light lane keeps the rest. Reads are side-effect free, so the
//! abandoned light attempt (bounded by the light budget) changes nothing.

use std::sync::Arc;
use std::time::Duration;

use fibery_core::command::Command;
use fibery_core::error::FiberyError;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{envelope, run_read_within};
use crate::error;
use crate::server::state::Shared;

/// Work units a query may spend in the light lane by default (a 500-row page, a filtered scan of a few
/// tens of thousands of rows; well under a few milliseconds).
pub(crate) const LIGHT_BUDGET: u64 = 1_000_000;

/// The longest the heavy lane rests after one request.
const MAX_REST: Duration = Duration::from_secs(5);

/// The heavy lane: its queue (the lock), when it may run again, and the light lane's budget.
#[derive(Debug)]
pub(crate) struct HeavyLane {
    rest_until: Mutex<Instant>,
    light_budget: u64,
}

impl HeavyLane {
    /// Queries over `light_budget` units (default [`LIGHT_BUDGET`]) go to the heavy lane.
    pub fn new(light_budget: Option<u64>) -> Self {
        HeavyLane {
            rest_until: Mutex::new(Instant::now()),
            light_budget: light_budget.unwrap_or(LIGHT_BUDGET),
        }
    }
}

/// Runs read-only `commands` (light lane first, heavy lane when a query needs more); one
/// envelope per command.
pub(crate) async fn read(
    sh: &Arc<Shared>,
    commands: Arc<Vec<Result<Command, FiberyError>>>,
) -> Result<Vec<Value>, FiberyError> {
    if let Some(envelopes) = attempt(sh, &commands, true).await? {
        return Ok(envelopes);
    }
    let mut rest_until = sh.heavy.rest_until.lock().await;
    tokio::time::sleep_until(*rest_until).await;
    let started = Instant::now();
    let answer = attempt(sh, &commands, false).await;
    *rest_until = Instant::now() + started.elapsed().min(MAX_REST);
    Ok(answer?.unwrap_or_default())
}

/// Runs the commands on the blocking pool under the read lock, in the light lane (each query
/// within the light budget; `None` when one needs more) or with the store's full budget.
async fn attempt(
    sh: &Arc<Shared>,
    commands: &Arc<Vec<Result<Command, FiberyError>>>,
    light: bool,
) -> Result<Option<Vec<Value>>, FiberyError> {
    let (sh, commands) = (sh.clone(), commands.clone());
    let done = tokio::task::spawn_blocking(move || {
        let store = sh.read()?;
        let full = store.work_budget;
        let demotable = light && sh.heavy.light_budget < full;
        let budget = if demotable {
            sh.heavy.light_budget
        } else {
            full
        };
        let mut envelopes = Vec::with_capacity(commands.len());
        for c in commands.iter().flatten() {
            let r = run_read_within(&store, c, budget);
            if demotable && r.as_ref().is_err_and(|e| over_budget(e, budget)) {
                return Ok(None);
            }
            envelopes.push(envelope(r));
        }
        Ok(Some(envelopes))
    });
    done.await.map_err(|_| error::unavailable())?
}

/// Whether `e` is the work-budget error of a query limited to `budget`.
fn over_budget(e: &FiberyError, budget: u64) -> bool {
    e.name == error::QUERY_TOO_COMPLEX && e.data.get("budget") == Some(&Value::from(budget))
}
