//! Evaluates fibery-core query ASTs against the store.
//!
//! Every evaluator takes `Option<&Entity>`: with `None` it only walks the schema, which is how
//! a query is validated up front (so errors don't depend on whether rows exist).

use std::cmp::Ordering;

use fibery_core::query::{
    Aggregate, AliasedExpr, CompareOp, Filter, Limit, Operand, Order, OrderBy, Query, Select,
    SelectItem, SubQuery, TextOp,
};
use serde_json::{Map, Value, json};

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::model::{
    DOC_SECRET, DOC_TYPE, FErr, Kind, PRIMITIVES, field, find_type, kind_of, normalize_primitive,
};
use crate::store::{Entity, Store};

/// Runs a top-level query.
pub(crate) fn run(store: &Store, q: &Query) -> Result<Value, FErr> {
    let cx = Cx {
        store,
        cache: RefCell::new(HashMap::new()),
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
}

impl std::ops::Deref for Cx<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.store
    }
}

impl Cx<'_> {
    fn res(&self, ty: &str, name: &str) -> Result<Rc<Res>, FErr> {
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

fn run_in(store: &Cx<'_>, q: &Query) -> Result<Value, FErr> {
    match find_type(&store.schema, &q.from) {
        Some(t) if !t.meta.primitive => {}
        _ => return Err(FErr::type_not_found(&q.from)),
    }
    let cands: Vec<&Entity> = store
        .types
        .get(&q.from)
        .map(|t| t.entities.values().collect())
        .unwrap_or_default();
    if let Some(v) = top_level_aggregate(store, q, &cands)? {
        return Ok(v);
    }
    let rows = select_rows(
        store,
        &q.from,
        cands,
        q.filter.as_ref(),
        &q.order_by,
        q.limit,
        q.offset,
    )?;
    project_rows(store, &q.from, &rows, &q.select)
}

fn project_rows(store: &Cx<'_>, ty: &str, rows: &[&Entity], sel: &Select) -> Result<Value, FErr> {
    project(store, ty, None, sel)?;
    let mut out = Vec::with_capacity(rows.len());
    for e in rows {
        out.push(project(store, ty, Some(e), sel)?);
    }
    Ok(Value::Array(out))
}

/// Filter, order (with the default creation-date, id tiebreak), offset and limit.
pub(crate) fn select_rows<'a>(
    store: &Cx<'a>,
    ty: &str,
    cands: Vec<&'a Entity>,
    filter: Option<&Filter>,
    order_by: &[OrderBy],
    limit: Limit,
    offset: Option<u64>,
) -> Result<Vec<&'a Entity>, FErr> {
    let mut order: Vec<(Operand, Order)> =
        order_by.iter().map(|o| (o.expr.clone(), o.order)).collect();
    for k in ["fibery/creation-date", "fibery/id"] {
        if find_type(&store.schema, ty)
            .and_then(|t| crate::model::find_field(t, k))
            .is_some()
        {
            order.push((Operand::Path(vec![k.into()]), Order::Asc));
        }
    }
    if let Some(f) = filter {
        eval_filter(store, ty, None, f)?;
    }
    let mut numeric = vec![];
    for (o, _) in &order {
        numeric.push(eval_operand(store, ty, None, o)?.numeric);
    }
    let mut kept = Vec::with_capacity(cands.len());
    for e in cands {
        let ok = match filter {
            Some(f) => eval_filter(store, ty, Some(e), f)?,
            None => true,
        };
        if ok {
            kept.push(e);
        }
    }
    // Keys of plain primitive fields are borrowed from the entity; others are computed.
    let direct: Vec<Option<&str>> = order
        .iter()
        .map(|(o, _)| match o {
            Operand::Path(p) if p.len() == 1 => store
                .res(ty, &p[0])
                .ok()
                .filter(|r| matches!(r.kind, Kind::Primitive(_)))
                .map(|_| p[0].as_str()),
            _ => None,
        })
        .collect();
    type Keyed<'k> = (Vec<Cow<'k, Value>>, &'k Entity);
    let mut keyed: Vec<Keyed<'a>> = Vec::with_capacity(kept.len());
    for e in kept {
        let mut k = Vec::with_capacity(order.len());
        for (i, (o, _)) in order.iter().enumerate() {
            match direct[i] {
                Some(name) => k.push(Cow::Borrowed(e.get(name).unwrap_or(&NULL))),
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

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Compares two non-null values; `None` when incomparable.
pub(crate) fn cmp_values(a: &Value, b: &Value, numeric: bool) -> Option<Ordering> {
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

/// An evaluated operand: values (several when the path crosses a collection).
struct Ev {
    vals: Vec<Value>,
    multi: bool,
    numeric: bool,
    leaf: Option<&'static str>,
}

fn primitive_expr_invalid(ty: &str, f: &str) -> FErr {
    FErr::new(
        "entity.error/query-primitive-field-expr-invalid",
        format!("\"{f}\" field of \"{ty}\" database is not primitive: select or compare one of its fields instead."),
    )
    .with_data(json!({"type": ty, "field": f}))
}

fn doc_value(secret: Option<&str>, inner: &str) -> Result<Value, FErr> {
    match inner {
        DOC_SECRET => Ok(secret.map(|s| json!(s)).unwrap_or(Value::Null)),
        "fibery/id" => Ok(secret
            .map(|s| {
                json!(uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, s.as_bytes()).to_string())
            })
            .unwrap_or(Value::Null)),
        other => Err(FErr::field_not_found(DOC_TYPE, other)),
    }
}

fn ref_entity<'a>(store: &Cx<'a>, target: &str, e: Option<&Entity>, f: &str) -> Option<&'a Entity> {
    let id = e?.get(f)?.as_str()?;
    store.store.entity(target, id)
}

fn coll_entities<'a>(store: &Cx<'a>, target: &str, e: Option<&Entity>, f: &str) -> Vec<&'a Entity> {
    e.and_then(|e| e.get(f))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .filter_map(|id| store.store.entity(target, id))
                .collect()
        })
        .unwrap_or_default()
}

fn eval_path(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    path: &[String],
    out: &mut Ev,
) -> Result<(), FErr> {
    let Some(name) = path.first() else {
        return Ok(());
    };
    let r = store.res(ty, name)?;
    let rest = &path[1..];
    match &r.kind {
        Kind::Primitive(p) => {
            if !rest.is_empty() {
                return Err(FErr::field_not_found(p, &rest[0]));
            }
            out.numeric = matches!(p.as_str(), "fibery/int" | "fibery/decimal" | "fibery/rank");
            out.leaf = r.prim;
            if let Some(e) = e {
                let v = e.get(name).cloned().unwrap_or(Value::Null);
                if !(out.multi && v.is_null()) {
                    out.vals.push(v);
                }
            }
        }
        Kind::RichText => {
            let inner = rest
                .first()
                .ok_or_else(|| primitive_expr_invalid(ty, name))?;
            if rest.len() > 1 {
                return Err(FErr::field_not_found(DOC_TYPE, &rest[1]));
            }
            let v = doc_value(e.and_then(|e| e.get(name)).and_then(Value::as_str), inner)?;
            out.leaf = Some("fibery/text");
            if e.is_some() {
                out.vals.push(v);
            }
        }
        Kind::Single(target) => {
            if rest.is_empty() {
                return Err(primitive_expr_invalid(ty, name));
            }
            match ref_entity(store, target, e, name) {
                Some(te) => eval_path(store, target, Some(te), rest, out)?,
                None => {
                    eval_path(store, target, None, rest, out)?;
                    if e.is_some() && !out.multi {
                        out.vals.push(Value::Null);
                    }
                }
            }
        }
        Kind::Collection(target) => {
            if rest.is_empty() {
                return Err(primitive_expr_invalid(ty, name));
            }
            out.multi = true;
            eval_path(store, target, None, rest, out)?;
            for te in coll_entities(store, target, e, name) {
                eval_path(store, target, Some(te), rest, out)?;
            }
        }
    }
    Ok(())
}

fn new_ev() -> Ev {
    Ev {
        vals: vec![],
        multi: false,
        numeric: false,
        leaf: None,
    }
}

fn one(v: Value, numeric: bool) -> Ev {
    Ev {
        vals: vec![v],
        multi: false,
        numeric,
        leaf: None,
    }
}

fn eval_operand(store: &Cx<'_>, ty: &str, e: Option<&Entity>, op: &Operand) -> Result<Ev, FErr> {
    match op {
        Operand::Path(p) => {
            if p.is_empty() {
                return Err(FErr::new(
                    "entity.error/query-expr-invalid",
                    "Empty field path.",
                ));
            }
            let mut ev = new_ev();
            eval_path(store, ty, e, p, &mut ev)?;
            Ok(ev)
        }
        Operand::Value(v) => Ok(one(v.clone(), false)),
        Operand::Param(p) if p == "$my-id" => Ok(one(json!(store.me), false)),
        Operand::Param(p) => Err(FErr::new(
            "entity.error/query-param-not-found",
            format!("Parameter \"{p}\" was not found in \"params\"."),
        )
        .with_data(json!({"param": p}))),
        Operand::IsNull(inner) | Operand::NullOrEmpty(inner) => {
            let ev = eval_operand(store, ty, e, inner)?;
            let empty_str = matches!(op, Operand::NullOrEmpty(_));
            let is = ev.vals.iter().all(|v| match v {
                Value::Null => true,
                Value::String(s) => empty_str && s.is_empty(),
                Value::Array(a) => empty_str && a.is_empty(),
                _ => false,
            });
            Ok(one(json!(is), false))
        }
        Operand::Count(path) => {
            let (coll, _) = path.split_first().ok_or_else(|| {
                FErr::new("entity.error/query-expr-invalid", "Empty q/count path.")
            })?;
            let f = field(&store.schema, ty, coll)?;
            let Kind::Collection(target) = kind_of(&store.schema, f) else {
                return Err(FErr::new(
                    "entity.error/query-expr-invalid",
                    format!("q/count needs a collection field; \"{coll}\" is not one."),
                ));
            };
            if let Some(inner) = path.get(1) {
                field(&store.schema, &target, inner)?;
            }
            let n = coll_entities(store, &target, e, coll).len();
            Ok(one(json!(n), true))
        }
        Operand::Start(inner) | Operand::End(inner) => {
            let k = if matches!(op, Operand::Start(_)) {
                "start"
            } else {
                "end"
            };
            let ev = eval_operand(store, ty, e, inner)?;
            let vals = ev
                .vals
                .iter()
                .map(|v| v.get(k).cloned().unwrap_or(Value::Null))
                .collect();
            let leaf = match ev.leaf {
                Some("fibery/date-range") => Some("fibery/date"),
                Some("fibery/date-time-range") => Some("fibery/date-time"),
                other => other,
            };
            Ok(Ev {
                vals,
                multi: ev.multi,
                numeric: false,
                leaf,
            })
        }
    }
}

static NULL: Value = Value::Null;

/// A one-step path to a primitive field: (name, numeric, leaf type).
fn simple_field<'o>(
    store: &Cx<'_>,
    ty: &str,
    op: &'o Operand,
) -> Option<(&'o str, bool, Option<&'static str>)> {
    let Operand::Path(p) = op else { return None };
    if p.len() != 1 {
        return None;
    }
    let r = store.res(ty, &p[0]).ok()?;
    match &r.kind {
        Kind::Primitive(t) => Some((
            p[0].as_str(),
            matches!(t.as_str(), "fibery/int" | "fibery/decimal" | "fibery/rank"),
            r.prim,
        )),
        _ => None,
    }
}

/// `[op, field, value]` for a single-valued primitive field.
fn compare_one(op: CompareOp, v: &Value, right: &Value, numeric: bool, leaf: Option<&str>) -> bool {
    let rv = match leaf {
        Some("fibery/date" | "fibery/date-time") if right.is_string() => {
            Cow::Owned(norm_right(right, leaf))
        }
        _ => Cow::Borrowed(right),
    };
    let eq = values_equal(v, &rv, numeric);
    match op {
        CompareOp::Eq => eq,
        CompareOp::Ne => !eq,
        _ => {
            if v.is_null() || rv.is_null() {
                return false;
            }
            match cmp_values(v, &rv, numeric) {
                Some(c) => match op {
                    CompareOp::Lt => c == Ordering::Less,
                    CompareOp::Le => c != Ordering::Greater,
                    CompareOp::Gt => c == Ordering::Greater,
                    _ => c != Ordering::Less,
                },
                None => false,
            }
        }
    }
}

fn values_equal(a: &Value, b: &Value, numeric: bool) -> bool {
    if a.is_null() || b.is_null() {
        return a.is_null() && b.is_null();
    }
    cmp_values(a, b, numeric) == Some(Ordering::Equal)
}

/// Normalises a comparison value by the leaf field type (e.g. date-time without ms).
fn norm_right(v: &Value, leaf: Option<&str>) -> Value {
    match (leaf, v) {
        (Some(l @ ("fibery/date-time" | "fibery/date")), Value::String(_)) => {
            normalize_primitive(l, v).unwrap_or_else(|_| v.clone())
        }
        _ => v.clone(),
    }
}

fn eval_filter(store: &Cx<'_>, ty: &str, e: Option<&Entity>, f: &Filter) -> Result<bool, FErr> {
    match f {
        Filter::And(fs) => {
            let mut all = true;
            for x in fs {
                all &= eval_filter(store, ty, e, x)?;
                if !all && e.is_some() {
                    return Ok(false);
                }
            }
            Ok(all)
        }
        Filter::Or(fs) => {
            let mut any = fs.is_empty() && e.is_none();
            for x in fs {
                any |= eval_filter(store, ty, e, x)?;
                if any && e.is_some() {
                    return Ok(true);
                }
            }
            Ok(any)
        }
        Filter::Compare { op, left, right } => {
            if let (Some(e), Some(x), Operand::Value(rv)) =
                (e, simple_field(store, ty, left), right)
            {
                return Ok(compare_one(*op, e.get(x.0).unwrap_or(&NULL), rv, x.1, x.2));
            }
            let l = eval_operand(store, ty, e, left)?;
            let r = eval_operand(store, ty, e, right)?;
            if e.is_none() {
                return Ok(true);
            }
            let numeric = l.numeric || r.numeric;
            let rv = norm_right(r.vals.first().unwrap_or(&Value::Null), l.leaf);
            let eq = l.vals.iter().any(|v| values_equal(v, &rv, numeric))
                || (l.vals.is_empty() && rv.is_null());
            Ok(match op {
                CompareOp::Eq => eq,
                CompareOp::Ne => !eq,
                _ => l.vals.iter().any(|v| {
                    if v.is_null() || rv.is_null() {
                        return false;
                    }
                    match cmp_values(v, &rv, numeric) {
                        Some(c) => match op {
                            CompareOp::Lt => c == Ordering::Less,
                            CompareOp::Le => c != Ordering::Greater,
                            CompareOp::Gt => c == Ordering::Greater,
                            _ => c != Ordering::Less,
                        },
                        None => false,
                    }
                }),
            })
        }
        Filter::In {
            negated,
            left,
            right,
        } => {
            let l = eval_operand(store, ty, e, left)?;
            let r = eval_operand(store, ty, e, right)?;
            let list = match r.vals.first() {
                Some(Value::Array(a)) => a.clone(),
                Some(Value::Null) | None => vec![],
                Some(other) if e.is_some() => {
                    return Err(FErr::new(
                        "entity.error/query-expr-invalid",
                        format!("q/in needs a list parameter, got {other}."),
                    ));
                }
                Some(_) => vec![],
            };
            if e.is_none() {
                return Ok(true);
            }
            let hit = l
                .vals
                .iter()
                .any(|v| !v.is_null() && list.iter().any(|x| values_equal(v, x, l.numeric)));
            Ok(hit != *negated)
        }
        Filter::Text { op, left, right } => {
            let l = eval_operand(store, ty, e, left)?;
            let r = eval_operand(store, ty, e, right)?;
            if e.is_none() {
                return Ok(true);
            }
            let needle = match r.vals.first() {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            let test = |hay: &str| -> bool {
                let (h, n) = (hay.to_lowercase(), needle.to_lowercase());
                match op {
                    TextOp::Contains | TextOp::NotContains => hay.contains(&needle),
                    TextOp::EqualsIgnoringCase | TextOp::NotEqualsIgnoringCase => h == n,
                    TextOp::StartsWithIgnoringCase => h.starts_with(&n),
                    TextOp::EndsWithIgnoringCase => h.ends_with(&n),
                    TextOp::ContainsIgnoringCase | TextOp::NotContainsIgnoringCase => {
                        h.contains(&n)
                    }
                }
            };
            let any = l.vals.iter().any(|v| v.as_str().is_some_and(test));
            Ok(match op {
                TextOp::NotContains
                | TextOp::NotEqualsIgnoringCase
                | TextOp::NotContainsIgnoringCase => !any,
                _ => any,
            })
        }
    }
}

fn project(store: &Cx<'_>, ty: &str, e: Option<&Entity>, sel: &Select) -> Result<Value, FErr> {
    let mut out = Map::new();
    match sel {
        Select::Fields(items) => project_items(store, ty, e, items, &mut out)?,
        Select::Aliased(pairs) => {
            for (alias, expr) in pairs {
                let v = match expr {
                    AliasedExpr::Path(p) => aliased_path(store, ty, e, p)?,
                    AliasedExpr::SubQuery { field: f, query } => sub_query(store, ty, e, f, query)?,
                    AliasedExpr::Aggregate { func, path } => aggregate(store, ty, e, *func, path)?,
                };
                out.insert(alias.clone(), v);
            }
        }
    }
    Ok(Value::Object(out))
}

fn project_items(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    items: &[SelectItem],
    out: &mut Map<String, Value>,
) -> Result<(), FErr> {
    for it in items {
        match it {
            SelectItem::Field(name) => {
                if !matches!(store.res(ty, name)?.kind, Kind::Primitive(_)) {
                    return Err(primitive_expr_invalid(ty, name));
                }
                out.insert(
                    name.clone(),
                    e.and_then(|e| e.get(name)).cloned().unwrap_or(Value::Null),
                );
            }
            SelectItem::Deref {
                field: name,
                select,
            } => {
                let f = field(&store.schema, ty, name)?;
                let v = match kind_of(&store.schema, f) {
                    Kind::Single(target) => {
                        let te = ref_entity(store, &target, e, name);
                        let mut m = Map::new();
                        project_items(store, &target, te, select, &mut m)?;
                        if te.is_some() {
                            Value::Object(m)
                        } else {
                            Value::Null
                        }
                    }
                    Kind::RichText => {
                        let secret = e.and_then(|e| e.get(name)).and_then(Value::as_str);
                        let mut m = Map::new();
                        for s in select {
                            match s {
                                SelectItem::Field(inner) => {
                                    m.insert(inner.clone(), doc_value(secret, inner)?);
                                }
                                _ => return Err(primitive_expr_invalid(DOC_TYPE, name)),
                            }
                        }
                        if secret.is_some() {
                            Value::Object(m)
                        } else {
                            Value::Null
                        }
                    }
                    Kind::Collection(_) => {
                        return Err(FErr::new(
                            "entity.error/query-select-collection-field-vector-shape-invalid",
                            format!("\"{name}\" is a collection field of \"{ty}\": use a sub-query {{\"q/select\": [...], \"q/limit\": n}}."),
                        )
                        .with_data(json!({"type": ty, "field": name})));
                    }
                    Kind::Primitive(_) => {
                        return Err(FErr::new(
                            "entity.error/query-expr-invalid",
                            format!(
                                "\"{name}\" is a primitive field of \"{ty}\" and cannot be dereferenced."
                            ),
                        ));
                    }
                };
                if e.is_some() {
                    out.insert(name.clone(), v);
                }
            }
            SelectItem::SubQuery { field: f, query } => {
                let v = sub_query(store, ty, e, f, query)?;
                out.insert(f.clone(), v);
            }
            SelectItem::Aggregate { alias, func, path } => {
                let v = aggregate(store, ty, e, *func, path)?;
                out.insert(alias.clone(), v);
            }
        }
    }
    Ok(())
}

fn aliased_path(store: &Cx<'_>, ty: &str, e: Option<&Entity>, p: &[String]) -> Result<Value, FErr> {
    let (name, rest) = p
        .split_first()
        .ok_or_else(|| FErr::new("entity.error/query-expr-invalid", "Empty select path."))?;
    let f = field(&store.schema, ty, name)?;
    match kind_of(&store.schema, f) {
        Kind::Primitive(pt) => {
            if let Some(r) = rest.first() {
                return Err(FErr::field_not_found(&pt, r));
            }
            Ok(e.and_then(|e| e.get(name)).cloned().unwrap_or(Value::Null))
        }
        Kind::RichText => {
            let inner = rest.first().ok_or_else(|| primitive_expr_invalid(ty, name))?;
            doc_value(e.and_then(|e| e.get(name)).and_then(Value::as_str), inner)
        }
        Kind::Single(target) => {
            if rest.is_empty() {
                return Err(primitive_expr_invalid(ty, name));
            }
            let te = ref_entity(store, &target, e, name);
            let v = aliased_path(store, &target, te, rest)?;
            Ok(if te.is_some() { v } else { Value::Null })
        }
        Kind::Collection(_) => Err(FErr::new(
            "entity.error/query-select-collection-field-path-invalid",
            format!("\"{name}\" is a collection field of \"{ty}\": a select path cannot cross it, use a sub-query."),
        )
        .with_data(json!({"type": ty, "field": name}))),
    }
}

fn sub_query(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    name: &str,
    q: &SubQuery,
) -> Result<Value, FErr> {
    let f = field(&store.schema, ty, name)?;
    let Kind::Collection(target) = kind_of(&store.schema, f) else {
        return Err(FErr::new(
            "entity.error/query-expr-invalid",
            format!("\"{name}\" field of \"{ty}\" is not a collection: sub-queries need a collection field."),
        )
        .with_data(json!({"type": ty, "field": name})));
    };
    let cands = coll_entities(store, &target, e, name);
    let rows = select_rows(
        store,
        &target,
        cands,
        q.filter.as_ref(),
        &q.order_by,
        q.limit,
        q.offset,
    )?;
    project_rows(store, &target, &rows, &q.select)
}

fn aggregate(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    func: Aggregate,
    path: &[String],
) -> Result<Value, FErr> {
    let (coll, rest) = path
        .split_first()
        .ok_or_else(|| FErr::new("entity.error/query-expr-invalid", "Empty aggregate path."))?;
    let f = field(&store.schema, ty, coll)?;
    let Kind::Collection(target) = kind_of(&store.schema, f) else {
        return Err(FErr::new(
            "entity.error/query-expr-invalid",
            format!("Aggregates need a collection field; \"{coll}\" of \"{ty}\" is not one."),
        ));
    };
    let inner = rest.first().map(String::as_str).unwrap_or("fibery/id");
    let items = coll_entities(store, &target, e, coll);
    aggregate_over(store, &target, &items, func, inner)
}

/// An aggregate of `inner` over `items` (entities of `ty`).
fn aggregate_over(
    store: &Cx<'_>,
    ty: &str,
    items: &[&Entity],
    func: Aggregate,
    inner: &str,
) -> Result<Value, FErr> {
    let ifd = field(&store.schema, ty, inner)?;
    let decimal = ifd.type_name == "fibery/decimal";
    let vals: Vec<&Value> = items
        .iter()
        .filter_map(|x| x.get(inner))
        .filter(|v| !v.is_null())
        .collect();
    let nums: Vec<f64> = vals.iter().filter_map(|v| as_f64(v)).collect();
    let num = |x: f64| -> Value {
        if decimal {
            json!(x.to_string())
        } else if x.fract() == 0.0 && x.abs() < 9e15 {
            json!(x as i64)
        } else {
            json!(x)
        }
    };
    Ok(match func {
        Aggregate::Count => json!(items.len()),
        Aggregate::Sum => num(nums.iter().sum()),
        Aggregate::Avg => {
            if nums.is_empty() {
                Value::Null
            } else {
                json!(nums.iter().sum::<f64>() / nums.len() as f64)
            }
        }
        Aggregate::Min | Aggregate::Max => {
            let numeric = matches!(
                ifd.type_name.as_str(),
                "fibery/int" | "fibery/decimal" | "fibery/rank"
            );
            let best = vals.iter().copied().reduce(|a, b| {
                let c = cmp_values(a, b, numeric).unwrap_or(Ordering::Equal);
                let pick_b = if func == Aggregate::Min {
                    c == Ordering::Greater
                } else {
                    c == Ordering::Less
                };
                if pick_b { b } else { a }
            });
            best.cloned().unwrap_or(Value::Null)
        }
    })
}

/// `{"alias": ["q/count", "fibery/id"]}` at the top level: one row aggregating every matching
/// row (limit and offset do not apply). Only when every select entry is such an aggregate.
fn top_level_aggregate(
    store: &Cx<'_>,
    q: &Query,
    cands: &[&Entity],
) -> Result<Option<Value>, FErr> {
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
            return Err(FErr::field_not_found(&f.type_name, &path[1]));
        }
        plan.push((alias, *func, first));
    }
    let rows = select_rows(
        store,
        &q.from,
        cands.to_vec(),
        q.filter.as_ref(),
        &[],
        Limit::NoLimit,
        None,
    )?;
    let mut out = Map::new();
    for (alias, func, inner) in plan {
        out.insert(
            alias.clone(),
            aggregate_over(store, &q.from, &rows, func, inner)?,
        );
    }
    Ok(Some(json!([out])))
}
