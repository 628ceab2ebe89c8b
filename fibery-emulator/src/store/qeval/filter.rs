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

/// Whether a row passes, or the query's error.
type Verdict = Result<bool, FiberyError>;

/// What a filter is evaluated against: an entity of type `ty`, or (`e` is `None`) only the
/// schema of `ty`.
#[derive(Clone, Copy)]
pub(super) struct Row<'r, 'c> {
    pub(super) store: &'r Cx<'c>,
    pub(super) ty: &'r str,
    pub(super) e: Option<&'r Entity>,
}

impl Row<'_, '_> {
    /// Whether the entity passes `f`; without an entity, whether `f` fits the schema.
    pub(super) fn passes(self, f: &Filter) -> Verdict {
        match f {
            Filter::And(fs) => {
                let mut all = true;
                for x in fs {
                    all &= self.passes(x)?;
                    if !all && self.e.is_some() {
                        return Ok(false);
                    }
                }
                Ok(all)
            }
            Filter::Or(fs) => {
                let mut any = fs.is_empty() && self.e.is_none();
                for x in fs {
                    any |= self.passes(x)?;
                    if any && self.e.is_some() {
                        return Ok(true);
                    }
                }
                Ok(any)
            }
            Filter::Compare { op, left, right } => self.compare(*op, left, right),
            Filter::In {
                negated,
                left,
                right,
            } => self.is_in(left, right).map(|hit| hit != *negated),
            Filter::Text { op, left, right } => self.text(*op, left, right),
        }
    }

    /// Both operands, evaluated; `None` when only checking against the schema.
    fn operands(self, left: &Operand, right: &Operand) -> Result<Option<(Ev, Ev)>, FiberyError> {
        let l = eval_operand(self.store, self.ty, self.e, left)?;
        let r = eval_operand(self.store, self.ty, self.e, right)?;
        Ok(self.e.is_some().then_some((l, r)))
    }

    /// `= != < <= > >=`; any value of a multi-valued left side may match.
    fn compare(self, op: CompareOp, left: &Operand, right: &Operand) -> Verdict {
        // Fast path: a plain primitive field against a literal.
        if let (Some(e), Some((name, numeric, leaf)), Operand::Value(rv)) =
            (self.e, simple_field(self.store, self.ty, left), right)
        {
            let value = e.get(name).unwrap_or(&NULL);
            return Ok(compare_one(op, value, rv, numeric, leaf));
        }
        let Some((l, r)) = self.operands(left, right)? else {
            return Ok(true);
        };
        let numeric = l.numeric || r.numeric;
        let rv = norm_right(r.vals.first().unwrap_or(&Value::Null), l.leaf);
        let eq = l.vals.iter().any(|v| values_equal(v, &rv, numeric))
            || (l.vals.is_empty() && rv.is_null());
        Ok(match op {
            CompareOp::Eq => eq,
            CompareOp::Ne => !eq,
            _ => l.vals.iter().any(|v| ordered(op, v, &rv, numeric)),
        })
    }

    /// `q/in` (before negation): some non-null left value is in the right-hand list.
    fn is_in(self, left: &Operand, right: &Operand) -> Verdict {
        let Some((l, r)) = self.operands(left, right)? else {
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
        let listed = |v: &Value| list.iter().any(|x| values_equal(v, x, l.numeric));
        Ok(l.vals.iter().any(|v| !v.is_null() && listed(v)))
    }

    /// The text operators (`q/contains`, `q/equals-ignoring-case?`, ...).
    fn text(self, op: TextOp, left: &Operand, right: &Operand) -> Verdict {
        let Some((l, r)) = self.operands(left, right)? else {
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
}
