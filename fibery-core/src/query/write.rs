//! Serialization to Fibery's JSON: every [`Operand::Value`] becomes a generated `$pN` param.

use serde_json::{Map, Value};

use super::ast::*;

/// The parts a query and a sub-query share, borrowed for writing.
struct Body<'a> {
    select: &'a Select,
    filter: Option<&'a Filter>,
    order_by: &'a [OrderBy],
    limit: Limit,
    offset: Option<u64>,
}

/// The [`Body`] of a [`Query`] or a [`SubQuery`] (the same field names in both).
macro_rules! body_of {
    ($q:expr) => {
        Body {
            select: &$q.select,
            filter: $q.filter.as_ref(),
            order_by: &$q.order_by,
            limit: $q.limit,
            offset: $q.offset,
        }
    };
}

impl Query {
    /// The `fibery.entity/query` args: `{"query": {...}, "params": {"$p1": ...}}` (`params`
    /// is always present, possibly empty). Values are numbered `$p1`, `$p2`, ... in the order
    /// they appear in the serialized query.
    pub fn to_args(&self) -> Value {
        let (query, params) = self.to_json();
        let mut args = Map::new();
        args.insert("query".into(), query);
        args.insert("params".into(), Value::Object(params));
        Value::Object(args)
    }

    /// The query object and its params, separately.
    pub fn to_json(&self) -> (Value, Map<String, Value>) {
        let mut w = Writer::default();
        let mut q = Map::new();
        q.insert("q/from".into(), Value::String(self.from.clone()));
        w.body(&mut q, body_of!(self));
        (Value::Object(q), w.params)
    }
}

impl std::fmt::Display for Query {
    /// The compact JSON of [`Query::to_args`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_args())
    }
}

impl Select {
    /// Serializes to the `q/select` JSON (sub-query values go into `params` as `$pN`, which
    /// this drops: use [`Query::to_args`] for a select with filtered sub-queries).
    pub fn to_json(&self) -> Value {
        Writer::default().select(self)
    }
}

impl Filter {
    /// Serializes to `q/where` JSON, adding values to `params` (continuing its `$pN` numbering).
    pub fn to_json(&self, params: &mut Map<String, Value>) -> Value {
        let mut w = Writer {
            params: std::mem::take(params),
        };
        let v = w.filter(self);
        *params = w.params;
        v
    }
}

#[derive(Default)]
struct Writer {
    params: Map<String, Value>,
}

impl Writer {
    fn param(&mut self, v: &Value) -> Value {
        let name = format!("$p{}", self.params.len() + 1);
        self.params.insert(name.clone(), v.clone());
        Value::String(name)
    }

    fn body(&mut self, q: &mut Map<String, Value>, b: Body<'_>) {
        q.insert("q/select".into(), self.select(b.select));
        if let Some(f) = b.filter {
            q.insert("q/where".into(), self.filter(f));
        }
        if !b.order_by.is_empty() {
            let items = b
                .order_by
                .iter()
                .map(|o| {
                    Value::Array(vec![
                        self.operand(&o.expr),
                        Value::String(o.order.as_str().into()),
                    ])
                })
                .collect();
            q.insert("q/order-by".into(), Value::Array(items));
        }
        let limit = match b.limit {
            Limit::Count(n) => Value::from(n),
            Limit::NoLimit => Value::String("q/no-limit".into()),
        };
        q.insert("q/limit".into(), limit);
        if let Some(o) = b.offset {
            q.insert("q/offset".into(), Value::from(o));
        }
    }

    fn sub_query(&mut self, from: Option<&str>, s: &SubQuery) -> Value {
        let mut q = Map::new();
        if let Some(from) = from {
            q.insert("q/from".into(), Value::String(from.to_owned()));
        }
        self.body(&mut q, body_of!(s));
        Value::Object(q)
    }

    fn select(&mut self, s: &Select) -> Value {
        match s {
            Select::Fields(items) => Value::Array(items.iter().map(|i| self.item(i)).collect()),
            Select::Aliased(items) => {
                let mut m = Map::new();
                for (alias, expr) in items {
                    let v = match expr {
                        AliasedExpr::Path(p) => path_json(p),
                        AliasedExpr::SubQuery { field, query } => {
                            self.sub_query(Some(field), query)
                        }
                        AliasedExpr::Aggregate { func, path } => aggregate_json(*func, path),
                    };
                    m.insert(alias.clone(), v);
                }
                Value::Object(m)
            }
        }
    }

    fn item(&mut self, item: &SelectItem) -> Value {
        let (key, value) = match item {
            SelectItem::Field(f) => return Value::String(f.clone()),
            SelectItem::Deref { field, select } => {
                let inner = select.iter().map(|i| self.item(i)).collect();
                (field, Value::Array(inner))
            }
            SelectItem::SubQuery { field, query } => (field, self.sub_query(None, query)),
            SelectItem::Aggregate { alias, func, path } => (alias, aggregate_json(*func, path)),
        };
        let mut m = Map::new();
        m.insert(key.clone(), value);
        Value::Object(m)
    }

    fn filter(&mut self, f: &Filter) -> Value {
        let (op, left, right) = match f {
            Filter::And(v) | Filter::Or(v) => {
                let name = if matches!(f, Filter::And(_)) {
                    "q/and"
                } else {
                    "q/or"
                };
                let mut out = vec![Value::String(name.into())];
                out.extend(v.iter().map(|x| self.filter(x)));
                return Value::Array(out);
            }
            Filter::Compare { op, left, right } => (op.as_str(), left, right),
            Filter::In {
                negated,
                left,
                right,
            } => (if *negated { "q/not-in" } else { "q/in" }, left, right),
            Filter::Text { op, left, right } => (op.as_str(), left, right),
        };
        let l = self.operand(left);
        let r = self.operand(right);
        Value::Array(vec![Value::String(op.into()), l, r])
    }

    fn operand(&mut self, o: &Operand) -> Value {
        let func = |name: &str, v: Value| Value::Array(vec![Value::String(name.into()), v]);
        match o {
            Operand::Path(p) => path_json(p),
            Operand::Param(p) => Value::String(p.clone()),
            Operand::Value(v) => self.param(v),
            Operand::IsNull(x) => func("q/null?", self.operand(x)),
            Operand::NullOrEmpty(x) => func("q/null-or-empty?", self.operand(x)),
            Operand::Count(p) => func("q/count", path_json(p)),
            Operand::Start(x) => func("q/start", self.operand(x)),
            Operand::End(x) => func("q/end", self.operand(x)),
        }
    }
}

fn path_json(p: &[String]) -> Value {
    Value::Array(p.iter().map(|s| Value::String(s.clone())).collect())
}

/// `[func, path]`; a one-field path is written bare, as Fibery's top-level aggregate
/// `["q/count", "fibery/id"]` is documented (collection aggregates keep `[coll, field]`).
fn aggregate_json(func: Aggregate, path: &[String]) -> Value {
    let path = match path {
        [one] => Value::String(one.clone()),
        _ => path_json(path),
    };
    Value::Array(vec![Value::String(func.as_str().into()), path])
}
