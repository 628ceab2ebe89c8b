//! Operands: field paths through relations and collections, parameters and functions
//! (`q/null?`, `q/count`, `q/start`, ...), and value comparison.

use std::borrow::Cow;
use std::cmp::Ordering;

use fibery_core::error::FiberyError;
use fibery_core::query::{CompareOp, Operand};
use serde_json::{Value, json};

use super::{Cx, cmp_values, collection_target, split_path};
use crate::error;
use crate::store::Entity;
use crate::store::schema::{DOC_SECRET, DOC_TYPE, Kind, field, is_numeric};
use crate::store::values::normalize_primitive;

/// An evaluated operand: values (several when the path crosses a collection).
#[derive(Default)]
pub(super) struct Ev {
    pub vals: Vec<Value>,
    pub multi: bool,
    pub numeric: bool,
    pub leaf: Option<&'static str>,
}

impl Ev {
    /// A single value.
    fn one(v: Value, numeric: bool) -> Ev {
        Ev {
            vals: vec![v],
            numeric,
            ..Ev::default()
        }
    }
}

pub(super) fn doc_value(secret: Option<&str>, inner: &str) -> Result<Value, FiberyError> {
    match inner {
        DOC_SECRET => Ok(secret.map(|s| json!(s)).unwrap_or(Value::Null)),
        "fibery/id" => Ok(secret
            .map(|s| {
                json!(uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, s.as_bytes()).to_string())
            })
            .unwrap_or(Value::Null)),
        other => Err(error::field_not_found(DOC_TYPE, other)),
    }
}

pub(super) fn ref_entity<'a>(
    store: &Cx<'a>,
    target: &str,
    e: Option<&Entity>,
    f: &str,
) -> Option<&'a Entity> {
    let id = e?.get(f)?.as_str()?;
    store.store.entity(target, id)
}

pub(super) fn coll_entities<'a>(
    store: &Cx<'a>,
    target: &str,
    e: Option<&Entity>,
    f: &str,
) -> Vec<&'a Entity> {
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

pub(super) fn eval_path(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    path: &[String],
    out: &mut Ev,
) -> Result<(), FiberyError> {
    let Some(name) = path.first() else {
        return Ok(());
    };
    let r = store.res(ty, name)?;
    let rest = &path[1..];
    match &r.kind {
        Kind::Primitive(p) => {
            if !rest.is_empty() {
                return Err(error::field_not_found(p, &rest[0]));
            }
            out.numeric = is_numeric(p);
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
                .ok_or_else(|| error::primitive_expr_invalid(ty, name))?;
            if rest.len() > 1 {
                return Err(error::field_not_found(DOC_TYPE, &rest[1]));
            }
            let v = doc_value(e.and_then(|e| e.get(name)).and_then(Value::as_str), inner)?;
            out.leaf = Some("fibery/text");
            if e.is_some() {
                out.vals.push(v);
            }
        }
        Kind::Single(target) => {
            if rest.is_empty() {
                return Err(error::primitive_expr_invalid(ty, name));
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
                return Err(error::primitive_expr_invalid(ty, name));
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

pub(super) fn eval_operand(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    op: &Operand,
) -> Result<Ev, FiberyError> {
    match op {
        Operand::Path(p) => {
            if p.is_empty() {
                return Err(error::query_expr_invalid("Empty field path."));
            }
            let mut ev = Ev::default();
            eval_path(store, ty, e, p, &mut ev)?;
            Ok(ev)
        }
        Operand::Value(v) => Ok(Ev::one(v.clone(), false)),
        Operand::Param(p) if p == "$my-id" => Ok(Ev::one(json!(store.me), false)),
        Operand::Param(p) => Err(error::new(
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
            Ok(Ev::one(json!(is), false))
        }
        Operand::Count(path) => {
            let (coll, _) = split_path(path, "q/count")?;
            let target = collection_target(store, ty, coll, "q/count")?;
            if let Some(inner) = path.get(1) {
                field(&store.schema, &target, inner)?;
            }
            let n = coll_entities(store, &target, e, coll).len();
            Ok(Ev::one(json!(n), true))
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

/// A one-step path to a primitive field: (name, numeric, leaf type).
pub(super) fn simple_field<'o>(
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
        Kind::Primitive(t) => Some((p[0].as_str(), is_numeric(t), r.prim)),
        _ => None,
    }
}

/// `[op, field, value]` for a single-valued primitive field.
pub(super) fn compare_one(
    op: CompareOp,
    v: &Value,
    right: &Value,
    numeric: bool,
    leaf: Option<&str>,
) -> bool {
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
        _ => ordered(op, v, &rv, numeric),
    }
}

/// `<`, `<=`, `>`, `>=`; nulls and incomparable values never match.
pub(super) fn ordered(op: CompareOp, v: &Value, right: &Value, numeric: bool) -> bool {
    if v.is_null() || right.is_null() {
        return false;
    }
    match cmp_values(v, right, numeric) {
        Some(c) => match op {
            CompareOp::Lt => c == Ordering::Less,
            CompareOp::Le => c != Ordering::Greater,
            CompareOp::Gt => c == Ordering::Greater,
            _ => c != Ordering::Less,
        },
        None => false,
    }
}

pub(super) fn values_equal(a: &Value, b: &Value, numeric: bool) -> bool {
    if a.is_null() || b.is_null() {
        return a.is_null() && b.is_null();
    }
    cmp_values(a, b, numeric) == Some(Ordering::Equal)
}

/// Normalises a comparison value by the leaf field type (e.g. date-time without ms).
pub(super) fn norm_right(v: &Value, leaf: Option<&str>) -> Value {
    match (leaf, v) {
        (Some(l @ ("fibery/date-time" | "fibery/date")), Value::String(_)) => {
            normalize_primitive(l, v).unwrap_or_else(|_| v.clone())
        }
        _ => v.clone(),
    }
}
