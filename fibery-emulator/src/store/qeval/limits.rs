//! Bounded query cost: caps on order-by keys and nesting checked before evaluation, and a work
//! budget charged while rows are filtered and sorted, so one query answers an error instead
//! of stalling the emulator.

use std::cell::Cell;

use fibery_core::error::FiberyError;
use fibery_core::query::{AliasedExpr, Filter, Operand, OrderBy, Query, Select, SelectItem};
use serde_json::json;

use crate::error;

/// Order-by keys allowed in one (sub-)query.
pub(crate) const MAX_ORDER_KEYS: usize = 32;
/// Depth of sub-queries and dereferences in a select, and of `q/and`/`q/or` nesting.
pub(crate) const MAX_NESTING: usize = 16;
/// Work units one query may spend by default (one unit ~ one field evaluation on one row).
pub(crate) const DEFAULT_WORK_BUDGET: u64 = 50_000_000;

/// Refuses a query whose shape is over the caps.
pub(crate) fn check(q: &Query) -> Result<(), FiberyError> {
    check_window(&q.order_by, q.filter.as_ref())?;
    check_select(&q.select, 1)
}

fn check_window(order: &[OrderBy], filter: Option<&Filter>) -> Result<(), FiberyError> {
    if order.len() > MAX_ORDER_KEYS {
        return Err(too_complex(format!(
            "\"q/order-by\" has {} keys; the emulator allows at most {MAX_ORDER_KEYS}.",
            order.len()
        )));
    }
    match filter.map(filter_depth) {
        Some(d) if d > MAX_NESTING => Err(too_complex(format!(
            "\"q/where\" nests {d} levels; the emulator allows at most {MAX_NESTING}."
        ))),
        _ => Ok(()),
    }
}

fn check_select(sel: &Select, depth: usize) -> Result<(), FiberyError> {
    if depth > MAX_NESTING {
        return Err(too_complex(format!(
            "\"q/select\" nests more than {MAX_NESTING} levels of sub-queries."
        )));
    }
    match sel {
        Select::Fields(items) => items.iter().try_for_each(|i| check_item(i, depth)),
        Select::Aliased(pairs) => pairs.iter().try_for_each(|(_, e)| match e {
            AliasedExpr::SubQuery { query, .. } => {
                check_window(&query.order_by, query.filter.as_ref())?;
                check_select(&query.select, depth + 1)
            }
            _ => Ok(()),
        }),
    }
}

fn check_item(item: &SelectItem, depth: usize) -> Result<(), FiberyError> {
    match item {
        SelectItem::Deref { select, .. } => {
            check_select(&Select::Fields(select.clone()), depth + 1)
        }
        SelectItem::SubQuery { query, .. } => {
            check_window(&query.order_by, query.filter.as_ref())?;
            check_select(&query.select, depth + 1)
        }
        _ => Ok(()),
    }
}

fn filter_depth(f: &Filter) -> usize {
    match f {
        Filter::And(fs) | Filter::Or(fs) => 1 + fs.iter().map(filter_depth).max().unwrap_or(0),
        _ => 1,
    }
}

/// Work units of evaluating `f` on one row.
pub(crate) fn filter_cost(f: &Filter) -> u64 {
    match f {
        Filter::And(fs) | Filter::Or(fs) => 1 + fs.iter().map(filter_cost).sum::<u64>(),
        Filter::Compare { left, right, .. }
        | Filter::In { left, right, .. }
        | Filter::Text { left, right, .. } => operand_cost(left) + operand_cost(right),
    }
}

fn operand_cost(o: &Operand) -> u64 {
    match o {
        Operand::Path(p) | Operand::Count(p) => p.len() as u64,
        Operand::Param(_) | Operand::Value(_) => 0,
        Operand::IsNull(x) | Operand::NullOrEmpty(x) | Operand::Start(x) | Operand::End(x) => {
            operand_cost(x)
        }
    }
}

/// The work a query has spent, against its limit.
pub(crate) struct Budget {
    spent: Cell<u64>,
    limit: u64,
}

impl Budget {
    /// Nothing spent yet, `limit` units allowed.
    pub fn new(limit: u64) -> Self {
        Budget {
            spent: Cell::new(0),
            limit,
        }
    }

    /// Adds `units`; the error once the query is over its limit.
    pub fn charge(&self, units: u64) -> Result<(), FiberyError> {
        let spent = self.spent.get().saturating_add(units);
        self.spent.set(spent);
        if spent > self.limit {
            let limit = self.limit;
            return Err(too_complex(format!(
                "The query needs more work than the emulator allows per query ({limit} field evaluations); narrow \"q/where\" or use fewer \"q/order-by\" keys."
            ))
            .with_data(json!({"budget": limit})));
        }
        Ok(())
    }
}

fn too_complex(message: String) -> FiberyError {
    error::query_too_complex(message)
}
