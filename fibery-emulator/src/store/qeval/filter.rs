//! Filters (`q/where`): comparisons, `q/in`, text operators, `q/and` / `q/or`.

use fibery_core::error::FiberyError;
use fibery_core::query::{CompareOp, Filter, Operand, TextOp};
use serde_json::Value;

use super::operand::{
    Ev, compare_one, eval_operand, norm_right, ordered, simple_field, values_equal,
};
use super::{Cx, NULL};
use crate::error;
use crate::store::Entity;

/// Whether `e` passes the filter; with `e = None` it only checks the filter against the schema.
pub(super) fn eval_filter(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    f: &Filter,
) -> Result<bool, FiberyError> {
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
        Filter::Compare { op, left, right } => compare(store, ty, e, *op, left, right),
        Filter::In {
            negated,
            left,
            right,
        } => is_in(store, ty, e, left, right).map(|hit| hit != *negated),
        Filter::Text { op, left, right } => text(store, ty, e, *op, left, right),
    }
}

/// Both operands, evaluated; `None` when only checking against the schema (`e` is `None`).
fn operands(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    left: &Operand,
    right: &Operand,
) -> Result<Option<(Ev, Ev)>, FiberyError> {
    let l = eval_operand(store, ty, e, left)?;
    let r = eval_operand(store, ty, e, right)?;
    Ok(e.is_some().then_some((l, r)))
}

/// `= != < <= > >=`; any value of a multi-valued left side may match.
fn compare(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    op: CompareOp,
    left: &Operand,
    right: &Operand,
) -> Result<bool, FiberyError> {
    // Fast path: a plain primitive field against a literal.
    if let (Some(e), Some((name, numeric, leaf)), Operand::Value(rv)) =
        (e, simple_field(store, ty, left), right)
    {
        return Ok(compare_one(
            op,
            e.get(name).unwrap_or(&NULL),
            rv,
            numeric,
            leaf,
        ));
    }
    let Some((l, r)) = operands(store, ty, e, left, right)? else {
        return Ok(true);
    };
    let numeric = l.numeric || r.numeric;
    let rv = norm_right(r.vals.first().unwrap_or(&Value::Null), l.leaf);
    let eq =
        l.vals.iter().any(|v| values_equal(v, &rv, numeric)) || (l.vals.is_empty() && rv.is_null());
    Ok(match op {
        CompareOp::Eq => eq,
        CompareOp::Ne => !eq,
        _ => l.vals.iter().any(|v| ordered(op, v, &rv, numeric)),
    })
}

/// `q/in` (before negation): some non-null left value is in the right-hand list.
fn is_in(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    left: &Operand,
    right: &Operand,
) -> Result<bool, FiberyError> {
    let Some((l, r)) = operands(store, ty, e, left, right)? else {
        return Ok(true);
    };
    let list = match r.vals.first() {
        Some(Value::Array(a)) => a.clone(),
        Some(other) if !other.is_null() => {
            return Err(error::query_expr_invalid(format!(
                "q/in needs a list parameter, got {other}."
            )));
        }
        _ => vec![],
    };
    Ok(l.vals
        .iter()
        .any(|v| !v.is_null() && list.iter().any(|x| values_equal(v, x, l.numeric))))
}

/// The text operators (`q/contains`, `q/equals-ignoring-case?`, ...).
fn text(
    store: &Cx<'_>,
    ty: &str,
    e: Option<&Entity>,
    op: TextOp,
    left: &Operand,
    right: &Operand,
) -> Result<bool, FiberyError> {
    let Some((l, r)) = operands(store, ty, e, left, right)? else {
        return Ok(true);
    };
    let needle = match r.vals.first() {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let n = needle.to_lowercase();
    let test = |hay: &str| -> bool {
        let h = hay.to_lowercase();
        match op {
            TextOp::Contains | TextOp::NotContains => hay.contains(&needle),
            TextOp::EqualsIgnoringCase | TextOp::NotEqualsIgnoringCase => h == n,
            TextOp::StartsWithIgnoringCase => h.starts_with(&n),
            TextOp::EndsWithIgnoringCase => h.ends_with(&n),
        }
    };
    let any = l.vals.iter().any(|v| v.as_str().is_some_and(test));
    Ok(match op {
        TextOp::NotContains | TextOp::NotEqualsIgnoringCase => !any,
        _ => any,
    })
}
