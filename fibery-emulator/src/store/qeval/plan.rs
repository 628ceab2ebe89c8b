//! Query planning on the id index: `fibery/id` equality, `q/in` and range conditions of the
//! top-level conjunction narrow the candidates (entities are kept ordered by id), and a page
//! ordered by `fibery/id` is read in index order, stopping once it is full, instead of
//! sorting the type. Without an id set, a top-level `=` / `q/in` on a text-like field or a
//! single reference's `fibery/id` takes its candidates from the value index
//! ([`crate::store::index`]). Candidates are always re-checked against the whole filter.

use std::collections::BTreeMap;
use std::ops::Bound;

use fibery_core::error::FiberyError;
use fibery_core::query::{CompareOp, Filter, Limit, Operand, Order};
use serde_json::Value;

use super::filter::Row;
use super::operand::eval_operand;
use super::{Cx, Window, limits, select_rows};
use crate::store::Entity;
use crate::store::schema::Kind;

const ID: &str = "fibery/id";

/// Primitive types whose `=` is exact string equality, so a value index answers it.
const INDEXED_PRIMITIVES: &[&str] = &["fibery/text", "fibery/email", "fibery/url", "fibery/uuid"];

/// What the top-level `q/where` says about `fibery/id` (a set of ids, or a range), and the
/// first `=` / `q/in` on an indexed field: (field, values).
struct IdPlan {
    ids: Option<Vec<String>>,
    lower: Bound<String>,
    upper: Bound<String>,
    field_eq: Option<(String, Vec<Value>)>,
}

impl IdPlan {
    fn from_filter(cx: &Cx<'_>, ty: &str, filter: Option<&Filter>) -> IdPlan {
        let mut plan = IdPlan {
            ids: None,
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
            field_eq: None,
        };
        let conjuncts: Vec<&Filter> = match filter {
            Some(Filter::And(fs)) => fs.iter().collect(),
            Some(f) => vec![f],
            None => vec![],
        };
        for f in conjuncts {
            plan.narrow(f);
            if plan.field_eq.is_none() {
                plan.field_eq = field_eq(cx, ty, f);
            }
        }
        if plan.ids.is_none()
            && let Some((field, vals)) = &plan.field_eq
        {
            let vals: Vec<&Value> = vals.iter().collect();
            plan.ids = Some(cx.index.candidates(&cx.types, (ty, field, false), &vals));
        }
        plan
    }

    fn narrow(&mut self, f: &Filter) {
        match f {
            Filter::Compare {
                op,
                left,
                right: Operand::Value(Value::String(v)),
            } if is_id(left) => match op {
                CompareOp::Eq => self.only(vec![v.clone()]),
                CompareOp::Gt => self.lower = tighter_lower(&self.lower, Bound::Excluded(v)),
                CompareOp::Ge => self.lower = tighter_lower(&self.lower, Bound::Included(v)),
                CompareOp::Lt => self.upper = tighter_upper(&self.upper, Bound::Excluded(v)),
                CompareOp::Le => self.upper = tighter_upper(&self.upper, Bound::Included(v)),
                CompareOp::Ne => {}
            },
            Filter::In {
                negated: false,
                left,
                right: Operand::Value(Value::Array(vs)),
            } if is_id(left) && vs.iter().all(Value::is_string) => {
                let ids = vs.iter().filter_map(Value::as_str).map(str::to_string);
                self.only(ids.collect());
            }
            _ => {}
        }
    }

    /// Intersects the id set with `ids`.
    fn only(&mut self, mut ids: Vec<String>) {
        if let Some(prev) = &self.ids {
            ids.retain(|i| prev.contains(i));
        }
        ids.sort();
        ids.dedup();
        self.ids = Some(ids);
    }

    /// The candidates in id order.
    fn rows<'a>(
        &self,
        ents: &'a BTreeMap<String, Entity>,
    ) -> Box<dyn DoubleEndedIterator<Item = &'a Entity> + 'a> {
        if let Some(ids) = &self.ids {
            let found: Vec<&Entity> = ids.iter().filter_map(|i| ents.get(i)).collect();
            return Box::new(found.into_iter());
        }
        let empty = match (&self.lower, &self.upper) {
            (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
                a > b
                    || (a == b
                        && !matches!(
                            (&self.lower, &self.upper),
                            (Bound::Included(_), Bound::Included(_))
                        ))
            }
            _ => false,
        };
        if empty {
            return Box::new(std::iter::empty());
        }
        Box::new(
            ents.range::<String, _>((self.lower.clone(), self.upper.clone()))
                .map(|(_, e)| e),
        )
    }
}

/// `[= field value]` or `[q/in field [values]]` (string values) on an indexed field.
fn field_eq(cx: &Cx<'_>, ty: &str, f: &Filter) -> Option<(String, Vec<Value>)> {
    let (left, vals) = match f {
        Filter::Compare {
            op: CompareOp::Eq,
            left,
            right: Operand::Value(v @ Value::String(_)),
        } => (left, vec![v.clone()]),
        Filter::In {
            negated: false,
            left,
            right: Operand::Value(Value::Array(vs)),
        } if vs.iter().all(Value::is_string) => (left, vs.clone()),
        _ => return None,
    };
    let Operand::Path(p) = left else { return None };
    let r = cx.res(ty, p.first()?).ok()?;
    let indexed = match (&r.kind, p.len()) {
        (Kind::Primitive(t), 1) => INDEXED_PRIMITIVES.contains(&t.as_str()),
        (Kind::Single(_), 2) => p[1] == ID,
        _ => false,
    };
    indexed.then(|| (p[0].clone(), vals))
}

fn is_id(o: &Operand) -> bool {
    matches!(o, Operand::Path(p) if p.len() == 1 && p[0] == ID)
}

fn tighter_lower(a: &Bound<String>, b: Bound<&String>) -> Bound<String> {
    match (a, b) {
        (Bound::Unbounded, b) => b.cloned(),
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y))
            if y > x || (y == x && matches!(b, Bound::Excluded(_))) =>
        {
            b.cloned()
        }
        _ => a.clone(),
    }
}

fn tighter_upper(a: &Bound<String>, b: Bound<&String>) -> Bound<String> {
    match (a, b) {
        (Bound::Unbounded, b) => b.cloned(),
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y))
            if y < x || (y == x && matches!(b, Bound::Excluded(_))) =>
        {
            b.cloned()
        }
        _ => a.clone(),
    }
}

/// The rows of a top-level query over `ents`: narrowed by the id plan, then read in id order
/// when the page is ordered by `fibery/id` first, else filtered and sorted as usual.
pub(super) fn top_rows<'a>(
    cx: &Cx<'a>,
    ty: &str,
    ents: Option<&'a BTreeMap<String, Entity>>,
    w: &Window<'_>,
) -> Result<Vec<&'a Entity>, FiberyError> {
    let plan = IdPlan::from_filter(cx, ty, w.filter);
    let Some(ents) = ents else {
        return select_rows(cx, ty, vec![], w);
    };
    let by_id = w
        .order_by
        .first()
        .filter(|o| is_id(&o.expr))
        .map(|o| o.order);
    match by_id {
        Some(order) => id_ordered(cx, ty, plan.rows(ents), order, w),
        None => select_rows(cx, ty, plan.rows(ents).collect(), w),
    }
}

/// A page in id order: rows are filtered as they are read, and reading stops once the page
/// (offset included) is full. Later order keys cannot matter: ids are unique.
fn id_ordered<'a>(
    cx: &Cx<'a>,
    ty: &str,
    rows: Box<dyn DoubleEndedIterator<Item = &'a Entity> + 'a>,
    order: Order,
    w: &Window<'_>,
) -> Result<Vec<&'a Entity>, FiberyError> {
    // The same up-front checks as a sorted page, so errors do not depend on the data.
    if let Some(f) = w.filter {
        Row {
            store: cx,
            ty,
            e: None,
        }
        .passes(f)?;
    }
    for o in w.order_by {
        eval_operand(cx, ty, None, &o.expr)?;
    }
    let take = match w.limit {
        Limit::Count(n) => n as usize,
        Limit::NoLimit => usize::MAX,
    };
    let mut skip = w.offset.unwrap_or(0) as usize;
    let per_row = 1 + w.filter.map_or(0, limits::filter_cost);
    let rows: Box<dyn Iterator<Item = &'a Entity>> = match order {
        Order::Asc => rows,
        Order::Desc => Box::new(rows.rev()),
    };
    let mut out = vec![];
    if take == 0 {
        return Ok(out);
    }
    for e in rows {
        cx.budget.charge(per_row)?;
        if let Some(f) = w.filter
            && !(Row {
                store: cx,
                ty,
                e: Some(e),
            })
            .passes(f)?
        {
            continue;
        }
        if skip > 0 {
            skip -= 1;
            continue;
        }
        out.push(e);
        if out.len() >= take {
            break;
        }
    }
    Ok(out)
}
