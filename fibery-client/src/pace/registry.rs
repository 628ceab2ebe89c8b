//! The process-wide registry of pacing budgets: every [`Client`](crate::Client) of one
//! workspace (same base URL) in the process shares the workspace's budget, and every client
//! using the same token there shares that token's budget, so separately built clients
//! together stay within Fibery's limits. Entries die with the last client using them.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use super::budget::Budget;

/// What a budget is shared by: the base URL, the token (as a keyed hash with a key drawn per
/// process, never the token itself; `None` for the workspace budget) and the settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    base: String,
    token: Option<u64>,
    limit: u32,
    burst: u32,
    margin: Duration,
}

fn budgets() -> &'static Mutex<HashMap<Key, Weak<Budget>>> {
    static BUDGETS: OnceLock<Mutex<HashMap<Key, Weak<Budget>>>> = OnceLock::new();
    BUDGETS.get_or_init(Default::default)
}

/// A hash of `token` that identifies it within this process only.
pub(crate) fn token_key(token: &str) -> u64 {
    static STATE: OnceLock<RandomState> = OnceLock::new();
    STATE.get_or_init(RandomState::new).hash_one(token)
}

/// The budget of `token` (a [`token_key`]) or, for `None`, of the whole workspace at `base`.
pub(crate) fn shared(
    base: &str,
    token: Option<u64>,
    limit: u32,
    burst: u32,
    margin: Duration,
) -> Arc<Budget> {
    let key = Key {
        base: base.to_owned(),
        token,
        limit,
        burst,
        margin,
    };
    let mut map = budgets().lock().expect("pacing registry lock");
    if let Some(w) = map.get(&key).and_then(Weak::upgrade) {
        return w;
    }
    map.retain(|_, w| w.strong_count() > 0);
    let w = Arc::new(Budget::new(limit, burst, margin));
    map.insert(key, Arc::downgrade(&w));
    w
}
