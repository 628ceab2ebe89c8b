//! Projection (`q/select`): fields, dereferences, sub-queries and aggregates, per row.

use std::cmp::Ordering;

use fibery_core::error::{FiberyError, names};
use fibery_core::query::{Aggregate, AliasedExpr, Select, SelectItem, SubQuery};
use serde_json::{Map, Value, json};

use super::operand::{coll_entities, doc_value, ref_entity};
use super::{
    Cx, Window, as_f64, cmp_values, collection_target, project_rows, select_rows, split_path,
};
use crate::error;
use crate::store::Entity;
use crate::store::schema::{DOC_TYPE, Kind, field, is_numeric, kind_of};

pub(super) fn project(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    sel: &Select,
) -> Result<Value, FiberyError> {
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
) -> Result<(), FiberyError> {
    for it in items {
        match it {
            SelectItem::Field(name) => {
                if !matches!(store.res(ty, name)?.kind, Kind::Primitive(_)) {
                    return Err(error::primitive_expr_invalid(ty, name));
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
                let v = deref(store, ty, e, name, select)?;
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

/// `{field: [...]}`: the selected fields of a single reference or a document (`null` when
/// unset).
fn deref(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    name: &str,
    select: &[SelectItem],
) -> Result<Value, FiberyError> {
    let f = field(&store.schema, ty, name)?;
    let mut m = Map::new();
    let present = match kind_of(&store.schema, f) {
        Kind::Single(target) => {
            let te = ref_entity(store, &target, e, name);
            project_items(store, &target, te, select, &mut m)?;
            te.is_some()
        }
        Kind::RichText => {
            let secret = e.and_then(|e| e.get(name)).and_then(Value::as_str);
            for s in select {
                let SelectItem::Field(inner) = s else {
                    return Err(error::primitive_expr_invalid(DOC_TYPE, name));
                };
                m.insert(inner.clone(), doc_value(secret, inner)?);
            }
            secret.is_some()
        }
        Kind::Collection(_) => {
            return Err(error::new(
                names::QUERY_SELECT_COLLECTION_VECTOR_SHAPE_INVALID,
                format!("\"{name}\" is a collection field of \"{ty}\": use a sub-query {{\"q/select\": [...], \"q/limit\": n}}."),
            )
            .with_data(json!({"type": ty, "field": name})));
        }
        Kind::Primitive(_) => {
            return Err(error::query_expr_invalid(format!(
                "\"{name}\" is a primitive field of \"{ty}\" and cannot be dereferenced."
            )));
        }
    };
    Ok(if present {
        Value::Object(m)
    } else {
        Value::Null
    })
}

fn aliased_path(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    p: &[String],
) -> Result<Value, FiberyError> {
    let (name, rest) = split_path(p, "select")?;
    let f = field(&store.schema, ty, name)?;
    match kind_of(&store.schema, f) {
        Kind::Primitive(pt) => {
            if let Some(r) = rest.first() {
                return Err(error::field_not_found(&pt, r));
            }
            Ok(e.and_then(|e| e.get(name)).cloned().unwrap_or(Value::Null))
        }
        Kind::RichText => {
            let inner = rest.first().ok_or_else(|| error::primitive_expr_invalid(ty, name))?;
            doc_value(e.and_then(|e| e.get(name)).and_then(Value::as_str), inner)
        }
        Kind::Single(target) => {
            if rest.is_empty() {
                return Err(error::primitive_expr_invalid(ty, name));
            }
            let te = ref_entity(store, &target, e, name);
            let v = aliased_path(store, &target, te, rest)?;
            Ok(if te.is_some() { v } else { Value::Null })
        }
        Kind::Collection(_) => Err(error::new(
            "entity.error/query-select-collection-field-path-invalid",
            format!("\"{name}\" is a collection field of \"{ty}\": a select path cannot cross it, use a sub-query."),
        )
        .with_data(json!({"type": ty, "field": name}))),
    }
}

pub(super) fn sub_query(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    name: &str,
    q: &SubQuery,
) -> Result<Value, FiberyError> {
    let target = collection_target(store, ty, name, "A sub-query")?;
    if let Some(n) = q.offset {
        return Err(sub_query_offset(name, n));
    }
    let cands = coll_entities(store, &target, e, name);
    let window = Window {
        filter: q.filter.as_ref(),
        order_by: &q.order_by,
        limit: q.limit,
        offset: q.offset,
    };
    let rows = select_rows(store, &target, cands, &window)?;
    project_rows(store, &target, &rows, &q.select)
}

/// Fibery's pagination guide: collection sub-queries "can't be paginated directly" (the older
/// guide allowed only `q/no-limit` there), so `q/offset` in one is refused.
fn sub_query_offset(field: &str, n: u64) -> FiberyError {
    error::new(
        names::QUERY_EXPR_INVALID,
        format!("\"q/offset\" is not supported in the sub-query on \"{field}\": collection sub-queries cannot be paginated."),
    )
    .with_data(json!({"field": field, "expr": {"q/offset": n}}))
}

fn aggregate(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    func: Aggregate,
    path: &[String],
) -> Result<Value, FiberyError> {
    let (coll, rest) = split_path(path, "aggregate")?;
    let target = collection_target(store, ty, coll, "An aggregate")?;
    let inner = rest.first().map(String::as_str).unwrap_or("fibery/id");
    let items = coll_entities(store, &target, e, coll);
    aggregate_over(store, &target, &items, func, inner)
}

/// An aggregate of `inner` over `items` (entities of `ty`).
pub(super) fn aggregate_over(
    store: &Cx<'_>,
    ty: &str,
    items: &[&Entity],
    func: Aggregate,
    inner: &str,
) -> Result<Value, FiberyError> {
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
            let numeric = is_numeric(&ifd.type_name);
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
