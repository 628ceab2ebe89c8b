//! Evaluates fibery-core query ASTs against the store.
//!
//! Every evaluator takes `Option<&Entity>`: with `None` it only walks the schema, which is how
//! a query is validated up front (so errors don't depend on whether rows exist).

mod filter;
mod limits;
mod operand;
mod plan;
mod project;

pub(crate) use limits::DEFAULT_WORK_BUDGET;

use std::borrow::Cow;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::rc::Rc;

use fibery_core::error::FiberyError;
use fibery_core::query::{AliasedExpr, Filter, Limit, Operand, Order, OrderBy, Query, Select};
use serde_json::{Map, Value, json};

use super::schema::{Kind, PRIMITIVES, field, find_type, has_field, kind_of};
use super::{Entity, Name, Store};
use crate::error;
use filter::Row;
use operand::eval_operand;
use project::{aggregate_over, project};

/// Runs a top-level query within the store's work budget.
pub(crate) fn run(store: &Store, q: &Query) -> Result<Value, FiberyError> {
    run_within(store, q, store.work_budget)
}

/// Runs a top-level query within `budget` work units.
pub(crate) fn run_within(store: &Store, q: &Query, budget: u64) -> Result<Value, FiberyError> {
    limits::check(q)?;
    let cx = Cx {
        store,
        cache: RefCell::new(HashMap::new()),
        budget: limits::Budget::new(budget),
    };
    run_in(&cx, q)
}

/// Field lookups resolved once per query.
struct Res {
    kind: Kind,
    prim: Option<&'static str>,
}

/// A query's evaluation context: the store plus a cache of resolved fields.
pub(crate) struct Cx<'a> {
    store: &'a Store,
    cache: RefCell<HashMap<String, HashMap<String, Rc<Res>>>>,
    budget: limits::Budget,
}

impl std::ops::Deref for Cx<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.store
    }
}

impl Cx<'_> {
    fn res(&self, ty: &str, name: &str) -> Result<Rc<Res>, FiberyError> {
        if let Some(r) = self.cache.borrow().get(ty).and_then(|m| m.get(name)) {
            return Ok(r.clone());
        }
        let f = field(&self.store.schema, ty, name)?;
        let kind = kind_of(&self.store.schema, f);
        let prim = match &kind {
            Kind::Primitive(p) => PRIMITIVES.iter().find(|x| **x == p.as_str()).copied(),
            _ => None,
        };
        let r = Rc::new(Res { kind, prim });
        self.cache
            .borrow_mut()
            .entry(ty.to_string())
            .or_default()
            .insert(name.to_string(), r.clone());
        Ok(r)
    }
}

fn run_in(store: &Cx<'_>, q: &Query) -> Result<Value, FiberyError> {
    match find_type(&store.schema, &q.from) {
        Some(t) if !t.meta.primitive => {}
        _ => return Err(error::type_not_found(&q.from)),
    }
    let ents = store.types.get(&q.from).map(|t| &t.entities);
    if let Some(v) = top_level_aggregate(store, q, ents)? {
        return Ok(v);
    }
    let window = Window {
        filter: q.filter.as_ref(),
        order_by: &q.order_by,
        limit: q.limit,
        offset: q.offset,
    };
    let rows = plan::top_rows(store, &q.from, ents, &window)?;
    project_rows(store, &q.from, &rows, &q.select)
}

pub(super) fn project_rows(
    store: &Cx<'_>,
    ty: &str,
    rows: &[&Entity],
    sel: &Select,
) -> Result<Value, FiberyError> {
    project(store, ty, None, sel)?;
    let mut out = Vec::with_capacity(rows.len());
    for e in rows {
        out.push(project(store, ty, Some(e), sel)?);
    }
    Ok(Value::Array(out))
}

/// Which rows of a (sub-)query to return, in which order.
#[derive(Clone, Copy)]
pub(super) struct Window<'q> {
    pub filter: Option<&'q Filter>,
    pub order_by: &'q [OrderBy],
    pub limit: Limit,
    pub offset: Option<u64>,
}

/// Filter, order (with the default creation-date, id tiebreak), offset and limit.
pub(super) fn select_rows<'a>(
    store: &Cx<'a>,
    ty: &str,
    cands: Vec<&'a Entity>,
    w: &Window<'_>,
) -> Result<Vec<&'a Entity>, FiberyError> {
    let Window {
        filter,
        order_by,
        limit,
        offset,
    } = *w;
    let mut order: Vec<(Operand, Order)> =
        order_by.iter().map(|o| (o.expr.clone(), o.order)).collect();
    for k in ["fibery/creation-date", "fibery/id"] {
        if has_field(&store.schema, ty, k) {
            order.push((Operand::Path(vec![k.into()]), Order::Asc));
        }
    }
    if let Some(f) = filter {
        Row { store, ty, e: None }.passes(f)?;
    }
    let mut numeric = vec![];
    for (o, _) in &order {
        numeric.push(eval_operand(store, ty, None, o)?.numeric);
    }
    let per_row = 1 + filter.map_or(0, limits::filter_cost);
    store.budget.charge(cands.len() as u64 * per_row)?;
    let mut kept = Vec::with_capacity(cands.len());
    for e in cands {
        let ok = match filter {
            Some(f) => Row {
                store,
                ty,
                e: Some(e),
            }
            .passes(f)?,
            None => true,
        };
        if ok {
            kept.push(e);
        }
    }
    // Keys of plain primitive fields are borrowed from the entity; others are computed.
    // Some(None): a field no entity holds (never interned), so every key is null.
    let direct: Vec<Option<Option<Name>>> = order
        .iter()
        .map(|(o, _)| match o {
            Operand::Path(p) if p.len() == 1 => store
                .res(ty, &p[0])
                .ok()
                .filter(|r| matches!(r.kind, Kind::Primitive(_)))
                .map(|_| Name::find(&p[0])),
            _ => None,
        })
        .collect();
    // Keys, then about n log n comparisons of up to every key.
    let n = kept.len() as u64;
    let keys = order.len() as u64;
    store
        .budget
        .charge(n * keys * (1 + u64::from(n.max(1).ilog2())))?;
    type Keyed<'k> = (Vec<Cow<'k, Value>>, &'k Entity);
    let mut keyed: Vec<Keyed<'a>> = Vec::with_capacity(kept.len());
    for e in kept {
        let mut k = Vec::with_capacity(order.len());
        for (i, (o, _)) in order.iter().enumerate() {
            match direct[i] {
                Some(name) => {
                    let v = name.and_then(|n| e.get_name(n));
                    k.push(Cow::Borrowed(v.unwrap_or(&NULL)));
                }
                None => {
                    let v = eval_operand(store, ty, Some(e), o)?;
                    k.push(Cow::Owned(v.vals.into_iter().next().unwrap_or(Value::Null)));
                }
            }
        }
        keyed.push((k, e));
    }
    let cmp = |(a, _): &Keyed<'a>, (b, _): &Keyed<'a>| {
        for (i, (_, dir)) in order.iter().enumerate() {
            let c = sort_cmp(&a[i], &b[i], numeric[i]);
            let c = if *dir == Order::Desc { c.reverse() } else { c };
            if c != Ordering::Equal {
                return c;
            }
        }
        Ordering::Equal
    };
    let skip = offset.unwrap_or(0) as usize;
    let take = match limit {
        Limit::Count(n) => n as usize,
        Limit::NoLimit => usize::MAX,
    };
    // Only the first offset+limit rows need ordering: partition them out first (top-k).
    let wanted = skip.saturating_add(take);
    if wanted < keyed.len() {
        if wanted == 0 {
            return Ok(vec![]);
        }
        keyed.select_nth_unstable_by(wanted - 1, cmp);
        keyed.truncate(wanted);
    }
    keyed.sort_by(cmp);
    Ok(keyed
        .into_iter()
        .skip(skip)
        .take(take)
        .map(|(_, e)| e)
        .collect())
}

/// A total order for sorting (a partial one could make `sort_by` panic): nulls last when
/// ascending (PostgreSQL's default); numeric fields by value; otherwise by JSON type, then value.
fn sort_cmp(a: &Value, b: &Value, numeric: bool) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    if numeric {
        match (as_f64(a), as_f64(b)) {
            (Some(x), Some(y)) => return x.total_cmp(&y),
            (Some(_), None) => return Ordering::Less,
            (None, Some(_)) => return Ordering::Greater,
            (None, None) => {}
        }
    }
    let rank = |v: &Value| match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    };
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(_), Value::Number(_)) => as_f64(a)
            .unwrap_or(0.0)
            .total_cmp(&as_f64(b).unwrap_or(0.0)),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ if rank(a) == rank(b) => a.to_string().cmp(&b.to_string()),
        _ => rank(a).cmp(&rank(b)),
    }
}

pub(super) fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Compares two non-null values; `None` when incomparable.
pub(super) fn cmp_values(a: &Value, b: &Value, numeric: bool) -> Option<Ordering> {
    if (numeric || (a.is_number() && b.is_number()))
        && let (Some(x), Some(y)) = (as_f64(a), as_f64(b))
    {
        return x.partial_cmp(&y);
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Number(_), Value::Number(_)) => as_f64(a)?.partial_cmp(&as_f64(b)?),
        (Value::Object(_), Value::Object(_)) | (Value::Array(_), Value::Array(_)) => {
            (a == b).then_some(Ordering::Equal)
        }
        _ => None,
    }
}

pub(super) static NULL: Value = Value::Null;

/// The first step of a path and the rest; `what` names the path in the error.
pub(super) fn split_path<'p>(
    path: &'p [String],
    what: &str,
) -> Result<(&'p String, &'p [String]), FiberyError> {
    path.split_first()
        .ok_or_else(|| error::query_expr_invalid(format!("Empty {what} path.")))
}

/// The target type of collection field `name` of `ty`; `why` says what needed one.
pub(super) fn collection_target(
    store: &Cx<'_>,
    ty: &str,
    name: &str,
    why: &str,
) -> Result<String, FiberyError> {
    let f = field(&store.schema, ty, name)?;
    match kind_of(&store.schema, f) {
        Kind::Collection(target) => Ok(target),
        _ => Err(error::query_expr_invalid(format!(
            "{why} needs a collection field; \"{name}\" of \"{ty}\" is not one."
        ))
        .with_data(json!({"type": ty, "field": name}))),
    }
}

/// `{"alias": ["q/count", "fibery/id"]}` at the top level: one row aggregating every matching
/// row (limit and offset do not apply). Only when every select entry is such an aggregate.
fn top_level_aggregate<'a>(
    store: &Cx<'a>,
    q: &Query,
    ents: Option<&'a std::collections::BTreeMap<String, Entity>>,
) -> Result<Option<Value>, FiberyError> {
    let Select::Aliased(pairs) = &q.select else {
        return Ok(None);
    };
    let mut plan = vec![];
    for (alias, e) in pairs {
        let AliasedExpr::Aggregate { func, path } = e else {
            return Ok(None);
        };
        let Some(first) = path.first() else {
            return Ok(None);
        };
        let f = field(&store.schema, &q.from, first)?;
        if matches!(kind_of(&store.schema, f), Kind::Collection(_)) {
            return Ok(None);
        }
        if path.len() > 1 {
            return Err(error::field_not_found(&f.type_name, &path[1]));
        }
        plan.push((alias, *func, first));
    }
    let window = Window {
        filter: q.filter.as_ref(),
        order_by: &[],
        limit: Limit::NoLimit,
        offset: None,
    };
    let rows = plan::top_rows(store, &q.from, ents, &window)?;
    let mut out = Map::new();
    for (alias, func, inner) in plan {
        out.insert(
            alias.clone(),
            aggregate_over(store, &q.from, &rows, func, inner)?,
        );
    }
    Ok(Some(json!([out])))
}
