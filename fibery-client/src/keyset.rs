//! How [`Client::query_stream`](crate::Client::query_stream) pages a query in its own order:
//! a keyset on (order key, `fibery/id`).
//!
//! A query ordered by one field `k` is read in two phases, rows with `k` set (ordered by `k`,
//! then `fibery/id`, continuing after the last row with `k > last.k or (k = last.k and
//! fibery/id > last.id)`) and rows with `k` null (ordered by `fibery/id`). Null comparisons
//! never match, so the split keeps every row; the phases come in PostgreSQL's order (nulls
//! last ascending, first descending), which is what Fibery's engine is assumed to use.

use std::fmt;

use fibery_core::query::{AliasedExpr, Filter, Limit, Operand, Order, Query, Select, SelectItem};
use serde_json::Value;

const ID: &str = "fibery/id";

/// Why [`Client::query_stream`](crate::Client::query_stream) refused to page a query
/// (carried by [`Error::Unpageable`](crate::Error::Unpageable)): its order cannot be kept by
/// a keyset on (one order key, `fibery/id`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unpageable {
    /// More than one order key besides a final `fibery/id`: order by one field (rows with
    /// equal values come in `fibery/id` order).
    SeveralOrderKeys {
        /// The order keys, as paths joined by ` / `.
        keys: Vec<String>,
    },
    /// The order key is a path through a relation: select and order by a field of the
    /// queried type instead.
    RelationPath {
        /// The path.
        path: Vec<String>,
    },
    /// The order key is an expression (`q/start`/`q/end` of a range, a count, ...), not a
    /// field.
    NotAField,
    /// A row's order key is not a number, string or boolean (a relation or collection), so
    /// it cannot continue a keyset.
    NotComparable {
        /// The order key.
        field: String,
    },
}

impl fmt::Display for Unpageable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unpageable::SeveralOrderKeys { keys } => write!(
                f,
                "ordered by {} keys ({}); a stream keeps one order key (then fibery/id)",
                keys.len(),
                keys.join(", ")
            ),
            Unpageable::RelationPath { path } => write!(
                f,
                "ordered by the relation path {}; a stream orders by a field of the queried type",
                path.join(" / ")
            ),
            Unpageable::NotAField => {
                f.write_str("ordered by an expression; a stream orders by a field")
            }
            Unpageable::NotComparable { field } => write!(
                f,
                "order key {field} holds a relation or collection, which cannot continue a keyset"
            ),
        }
    }
}

/// One phase of a stream: the rows matching `filter`, ordered by `key` (if any) and then
/// `fibery/id` in direction `tie`.
#[derive(Debug, Clone)]
pub(crate) struct Phase {
    filter: Option<Filter>,
    key: Option<(String, Order)>,
    tie: Order,
}

/// The position after the last row handed out: its order key value and id.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cursor {
    key: Option<Value>,
    id: String,
}

/// How a query is streamed.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The query with the cursor columns selected and no order, limit or offset.
    pub base: Query,
    /// The phases, in output order.
    pub phases: Vec<Phase>,
    /// At most this many rows in all (`q/limit`); `None` for `q/no-limit`.
    pub cap: Option<u64>,
    /// Rows to skip first (`q/offset`).
    pub offset: u64,
    /// Columns selected only for the cursor, removed from the rows handed out.
    pub added: Vec<String>,
}

impl Plan {
    /// The plan for `q`, or why its order cannot be kept.
    pub fn new(q: &Query) -> Result<Plan, Unpageable> {
        let (key, tie) = order_key(q)?;
        let mut base = q.clone();
        base.order_by.clear();
        base.offset = None;
        let mut added = Vec::new();
        for field in std::iter::once(ID).chain(key.as_ref().map(|(k, _)| k.as_str())) {
            if select_field(&mut base.select, field) {
                added.push(field.to_owned());
            }
        }
        let phases = match key {
            None => vec![Phase {
                filter: None,
                key: None,
                tie,
            }],
            Some((k, order)) => {
                let set = Phase {
                    filter: Some(Filter::not_null(k.as_str())),
                    key: Some((k.clone(), order)),
                    tie,
                };
                let null = Phase {
                    filter: Some(Filter::is_null(k.as_str())),
                    key: None,
                    tie,
                };
                match order {
                    Order::Asc => vec![set, null],
                    Order::Desc => vec![null, set],
                }
            }
        };
        Ok(Plan {
            base,
            phases,
            cap: match q.limit {
                Limit::Count(n) => Some(n),
                Limit::NoLimit => None,
            },
            offset: q.offset.unwrap_or(0),
            added,
        })
    }

    /// The query of one page of `phase` after `cursor`: `n` rows plus one that only says
    /// "there is more", at `offset`.
    pub fn page(&self, phase: &Phase, cursor: Option<&Cursor>, n: usize, offset: u64) -> Query {
        let mut q = self.base.clone();
        if let Some(f) = &phase.filter {
            q = q.and_filter(f.clone());
        }
        if let Some((k, order)) = &phase.key {
            q = q.order_by(k.as_str(), *order);
        }
        q = q.order_by(ID, phase.tie).limit(n as u64 + 1);
        q.offset = (offset > 0).then_some(offset);
        match cursor {
            Some(c) => q.and_filter(phase.after(c)),
            None => q,
        }
    }

    /// The rows of phase `phase` alone (to count the rows an offset skips).
    pub fn phase_query(&self, phase: &Phase) -> Query {
        match &phase.filter {
            Some(f) => self.base.clone().and_filter(f.clone()),
            None => self.base.clone(),
        }
    }
}

impl Phase {
    /// Rows after `c` in this phase's order.
    fn after(&self, c: &Cursor) -> Filter {
        let id_after = compare(ID, self.tie, Value::String(c.id.clone()));
        match (&self.key, &c.key) {
            (Some((k, order)), Some(v)) => {
                compare(k.as_str(), *order, v.clone())
                    .or(Filter::eq(k.as_str(), v.clone()).and(id_after))
            }
            _ => id_after,
        }
    }

    /// The cursor after `row`, or `None` when the row has no string `fibery/id`.
    pub fn cursor(&self, row: &Value) -> Result<Option<Cursor>, Unpageable> {
        let Some(id) = row.get(ID).and_then(Value::as_str) else {
            return Ok(None);
        };
        let key = match &self.key {
            None => None,
            Some((k, _)) => match row.get(k) {
                Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => Some(v.clone()),
                _ => return Err(Unpageable::NotComparable { field: k.clone() }),
            },
        };
        Ok(Some(Cursor {
            key,
            id: id.to_owned(),
        }))
    }
}

/// `field > v` in ascending order, `field < v` in descending order.
fn compare(field: &str, order: Order, v: Value) -> Filter {
    match order {
        Order::Asc => Filter::gt(field, v),
        Order::Desc => Filter::lt(field, v),
    }
}

/// The query's one order key besides `fibery/id` (if any) and the direction of the final
/// `fibery/id` tie-break (ascending unless the query orders by `fibery/id` itself).
fn order_key(q: &Query) -> Result<(Option<(String, Order)>, Order), Unpageable> {
    let mut keys = Vec::with_capacity(q.order_by.len());
    for o in &q.order_by {
        match &o.expr {
            Operand::Path(p) if p.len() == 1 => keys.push((p[0].clone(), o.order)),
            Operand::Path(p) => return Err(Unpageable::RelationPath { path: p.clone() }),
            _ => return Err(Unpageable::NotAField),
        }
    }
    let tie = match keys.last() {
        Some((k, order)) if k == ID => {
            let order = *order;
            keys.pop();
            order
        }
        _ => Order::Asc,
    };
    match keys.len() {
        0 => Ok((None, tie)),
        1 => Ok((keys.pop(), tie)),
        _ => Err(Unpageable::SeveralOrderKeys {
            keys: keys.into_iter().map(|(k, _)| k).collect(),
        }),
    }
}

/// Selects `field` (by its own name) unless it is selected; says whether it was added.
fn select_field(select: &mut Select, field: &str) -> bool {
    match select {
        Select::Fields(items) => {
            let present = items
                .iter()
                .any(|i| matches!(i, SelectItem::Field(f) if f == field));
            if !present {
                items.insert(0, SelectItem::Field(field.into()));
            }
            !present
        }
        Select::Aliased(items) => {
            let present = items.iter().any(|(k, _)| k == field);
            if !present {
                let expr = AliasedExpr::Path(vec![field.into()]);
                items.insert(0, (field.into(), expr));
            }
            !present
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn order_keys_are_checked() {
        let q = Query::from("P/T").select(["P/Name"]);
        assert!(matches!(order_key(&q), Ok((None, Order::Asc))));
        let q = q.clone().order_by(ID, Order::Desc);
        assert!(matches!(order_key(&q), Ok((None, Order::Desc))));
        let q = Query::from("P/T").order_by("P/Due", Order::Desc);
        let (key, tie) = order_key(&q).unwrap();
        assert_eq!(key, Some(("P/Due".to_owned(), Order::Desc)));
        assert_eq!(tie, Order::Asc);
        let q = Query::from("P/T")
            .order_by("P/Due", Order::Asc)
            .order_by("P/Name", Order::Asc);
        assert_eq!(
            order_key(&q).unwrap_err(),
            Unpageable::SeveralOrderKeys {
                keys: vec!["P/Due".into(), "P/Name".into()]
            }
        );
        let q = Query::from("P/T").order_by(["P/Project", "P/Name"], Order::Asc);
        assert!(matches!(
            order_key(&q),
            Err(Unpageable::RelationPath { path }) if path.len() == 2
        ));
    }

    #[test]
    fn an_ordered_plan_has_two_phases_in_null_order() {
        let q = Query::from("P/T")
            .select(["P/Name"])
            .order_by("P/Due", Order::Desc)
            .limit(5);
        let plan = Plan::new(&q).unwrap();
        assert_eq!(plan.cap, Some(5));
        assert_eq!(plan.added, vec![ID.to_owned(), "P/Due".to_owned()]);
        // Descending: nulls first (no key), then the rows with a due date.
        assert!(plan.phases[0].key.is_none());
        assert_eq!(plan.phases[1].key, Some(("P/Due".into(), Order::Desc)));
        let row = json!({"fibery/id": "b", "P/Due": "2026-01-02"});
        let c = plan.phases[1].cursor(&row).unwrap().unwrap();
        assert_eq!(c.key, Some(json!("2026-01-02")));
        let bad = json!({"fibery/id": "b", "P/Due": {"fibery/id": "x"}});
        assert_eq!(
            plan.phases[1].cursor(&bad).unwrap_err(),
            Unpageable::NotComparable {
                field: "P/Due".into()
            }
        );
    }
}
