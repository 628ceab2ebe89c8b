//! Parses `fibery.entity/query` args into fibery-core's query AST, with Fibery's error names.

use fibery_core::query::{
    Aggregate, AliasedExpr, CompareOp, Filter, Limit, Operand, Order, OrderBy, Query, Select,
    SelectItem, SubQuery, TextOp,
};
use serde_json::{Map, Value, json};

use crate::model::FErr;

fn invalid(what: &str, v: &Value) -> FErr {
    FErr::new(
        "entity.error/query-expr-invalid",
        format!("Invalid query expression ({what}): {v}"),
    )
    .with_data(json!({"expr": v}))
}

/// Parses `{"query": {...}, "params": {...}}`.
pub(crate) fn parse_args(args: &Value) -> Result<Query, FErr> {
    let obj = args
        .as_object()
        .ok_or_else(|| FErr::bad_args("args must be an object with \"query\""))?;
    let q = obj
        .get("query")
        .and_then(Value::as_object)
        .ok_or_else(|| FErr::bad_args("args.query must be an object"))?;
    let empty = Map::new();
    let params = match obj.get("params") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(p)) => p,
        Some(other) => {
            return Err(FErr::bad_args(format!(
                "params must be an object, got {other}"
            )));
        }
    };
    let from = q
        .get("q/from")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            FErr::new(
                "entity.error/query-from-expr-not-found",
                "\"q/from\" is required.",
            )
        })?
        .to_string();
    let select = parse_select(q.get("q/select"), params)?;
    let (filter, order_by, limit, offset) = parse_common(q, params)?;
    Ok(Query {
        from,
        select,
        filter,
        order_by,
        limit,
        offset,
        unknown_keys: Vec::new(),
    })
}

#[allow(clippy::type_complexity)]
fn parse_common(
    q: &Map<String, Value>,
    params: &Map<String, Value>,
) -> Result<(Option<Filter>, Vec<OrderBy>, Limit, Option<u64>), FErr> {
    let filter = match q.get("q/where") {
        None | Some(Value::Null) => None,
        Some(w) => Some(parse_filter(w, params)?),
    };
    let mut order_by = vec![];
    if let Some(o) = q.get("q/order-by") {
        let arr = o
            .as_array()
            .ok_or_else(|| invalid("q/order-by must be an array", o))?;
        for item in arr {
            let pair = item
                .as_array()
                .filter(|a| a.len() == 2)
                .ok_or_else(|| invalid("order-by item", item))?;
            let expr = parse_operand(&pair[0], params, true)?;
            let order = match pair[1].as_str() {
                Some("q/asc") => Order::Asc,
                Some("q/desc") => Order::Desc,
                _ => return Err(invalid("order direction must be q/asc or q/desc", &pair[1])),
            };
            order_by.push(OrderBy { expr, order });
        }
    }
    let limit = match q.get("q/limit") {
        None => {
            return Err(FErr::new(
                "entity.error/query-limit-expr-not-found",
                "\"q/limit\" is required in a query.",
            ));
        }
        Some(Value::String(s)) if s == "q/no-limit" => Limit::NoLimit,
        Some(v) => resolve(v, params)
            .as_u64()
            .map(Limit::Count)
            .ok_or_else(|| {
                invalid(
                    "q/limit must be a non-negative integer or \"q/no-limit\"",
                    v,
                )
            })?,
    };
    let offset = match q.get("q/offset") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            resolve(v, params)
                .as_u64()
                .ok_or_else(|| invalid("q/offset must be a non-negative integer", v))?,
        ),
    };
    Ok((filter, order_by, limit, offset))
}

fn resolve(v: &Value, params: &Map<String, Value>) -> Value {
    match v.as_str() {
        Some(s) if s.starts_with('$') => params.get(s).cloned().unwrap_or(Value::Null),
        _ => v.clone(),
    }
}

fn parse_sub(v: &Map<String, Value>, params: &Map<String, Value>) -> Result<SubQuery, FErr> {
    let select = parse_select(v.get("q/select"), params)?;
    let (filter, order_by, limit, offset) = parse_common(v, params)?;
    Ok(SubQuery {
        select,
        filter,
        order_by,
        limit,
        offset,
        unknown_keys: Vec::new(),
    })
}

fn agg_func(s: &str) -> Option<Aggregate> {
    Some(match s {
        "q/count" => Aggregate::Count,
        "q/sum" => Aggregate::Sum,
        "q/avg" => Aggregate::Avg,
        "q/min" => Aggregate::Min,
        "q/max" => Aggregate::Max,
        _ => return None,
    })
}

fn string_path(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(a) if !a.is_empty() => {
            a.iter().map(|x| x.as_str().map(str::to_string)).collect()
        }
        _ => None,
    }
}

/// `["q/count", ["coll", "inner"]]` -> (func, path)
fn parse_agg(v: &Value) -> Option<(Aggregate, Vec<String>)> {
    let a = v.as_array()?;
    if a.len() != 2 {
        return None;
    }
    let f = agg_func(a[0].as_str()?)?;
    Some((f, string_path(&a[1])?))
}

fn parse_select(sel: Option<&Value>, params: &Map<String, Value>) -> Result<Select, FErr> {
    match sel {
        None => Err(FErr::new(
            "entity.error/query-select-expr-not-found",
            "\"q/select\" is required.",
        )),
        Some(Value::Array(items)) => Ok(Select::Fields(parse_items(items, params)?)),
        Some(Value::Object(m)) => {
            let mut out = vec![];
            for (alias, e) in m {
                let expr = if let Some((func, path)) = parse_agg(e) {
                    AliasedExpr::Aggregate { func, path }
                } else if let Some(p) = string_path(e) {
                    AliasedExpr::Path(p)
                } else if let Value::Object(sq) = e {
                    // `q/from` may also be a one-element array `["Ops/Watchers"]` (n8n).
                    let field = sq
                        .get("q/from")
                        .and_then(|f| {
                            f.as_str().or_else(|| {
                                f.as_array()
                                    .filter(|a| a.len() == 1)
                                    .and_then(|a| a[0].as_str())
                            })
                        })
                        .ok_or_else(|| invalid("sub-query in a map select needs q/from", e))?
                        .to_string();
                    AliasedExpr::SubQuery {
                        field,
                        query: Box::new(parse_sub(sq, params)?),
                    }
                } else {
                    return Err(invalid("select expression", e));
                };
                out.push((alias.clone(), expr));
            }
            Ok(Select::Aliased(out))
        }
        Some(other) => Err(invalid("q/select must be an array or an object", other)),
    }
}

fn parse_items(items: &[Value], params: &Map<String, Value>) -> Result<Vec<SelectItem>, FErr> {
    let mut out = vec![];
    for it in items {
        match it {
            Value::String(s) => out.push(SelectItem::Field(s.clone())),
            Value::Object(m) => {
                for (k, v) in m {
                    if let Some((func, path)) = parse_agg(v) {
                        out.push(SelectItem::Aggregate {
                            alias: k.clone(),
                            func,
                            path,
                        });
                    } else if let Value::Array(inner) = v {
                        out.push(SelectItem::Deref {
                            field: k.clone(),
                            select: parse_items(inner, params)?,
                        });
                    } else if let Value::Object(sq) = v {
                        out.push(SelectItem::SubQuery {
                            field: k.clone(),
                            query: Box::new(parse_sub(sq, params)?),
                        });
                    } else {
                        return Err(invalid("select item", it));
                    }
                }
            }
            _ => return Err(invalid("select item", it)),
        }
    }
    Ok(out)
}

/// Operand; `left` says whether a bare string is a field name (left) or a literal (right).
fn parse_operand(v: &Value, params: &Map<String, Value>, left: bool) -> Result<Operand, FErr> {
    match v {
        Value::String(s) if s.starts_with('$') => Ok(match params.get(s) {
            Some(p) => Operand::Value(p.clone()),
            None => Operand::Param(s.clone()),
        }),
        Value::String(s) if left => Ok(Operand::Path(vec![s.clone()])),
        Value::Array(a) if !a.is_empty() => {
            let head = a[0].as_str().unwrap_or("");
            let arg = |i: usize| a.get(i).ok_or_else(|| invalid("missing argument", v));
            match head {
                "q/null?" => Ok(Operand::IsNull(Box::new(parse_operand(
                    arg(1)?,
                    params,
                    true,
                )?))),
                "q/null-or-empty?" => Ok(Operand::NullOrEmpty(Box::new(parse_operand(
                    arg(1)?,
                    params,
                    true,
                )?))),
                "q/start" => Ok(Operand::Start(Box::new(parse_operand(
                    arg(1)?,
                    params,
                    true,
                )?))),
                "q/end" => Ok(Operand::End(Box::new(parse_operand(
                    arg(1)?,
                    params,
                    true,
                )?))),
                "q/count" => Ok(Operand::Count(
                    string_path(arg(1)?).ok_or_else(|| invalid("q/count path", v))?,
                )),
                h if h.starts_with("q/") => Err(FErr::new(
                    "entity.error/query-function-not-supported",
                    format!("Unknown query function \"{h}\"."),
                )
                .with_data(json!({"expr": v}))),
                _ => string_path(v)
                    .map(Operand::Path)
                    .ok_or_else(|| invalid("field path", v)),
            }
        }
        _ => Ok(Operand::Value(v.clone())),
    }
}

fn parse_filter(w: &Value, params: &Map<String, Value>) -> Result<Filter, FErr> {
    let a = w
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| invalid("q/where must be [op, ...]", w))?;
    let op = a[0]
        .as_str()
        .ok_or_else(|| invalid("operator must be a string", w))?;
    let two = || -> Result<(Operand, Operand), FErr> {
        if a.len() != 3 {
            return Err(invalid(&format!("{op} takes two operands"), w));
        }
        Ok((
            parse_operand(&a[1], params, true)?,
            parse_operand(&a[2], params, false)?,
        ))
    };
    let cmp = |c: CompareOp| -> Result<Filter, FErr> {
        let (left, right) = two()?;
        Ok(Filter::Compare { op: c, left, right })
    };
    let text = |t: TextOp| -> Result<Filter, FErr> {
        let (left, right) = two()?;
        Ok(Filter::Text { op: t, left, right })
    };
    match op {
        "q/and" | "q/or" => {
            let subs = a[1..]
                .iter()
                .map(|x| parse_filter(x, params))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if op == "q/and" {
                Filter::And(subs)
            } else {
                Filter::Or(subs)
            })
        }
        "=" => cmp(CompareOp::Eq),
        "!=" => cmp(CompareOp::Ne),
        "<" => cmp(CompareOp::Lt),
        "<=" => cmp(CompareOp::Le),
        ">" => cmp(CompareOp::Gt),
        ">=" => cmp(CompareOp::Ge),
        "q/in" | "q/not-in" => {
            let (left, right) = two()?;
            Ok(Filter::In {
                negated: op == "q/not-in",
                left,
                right,
            })
        }
        "q/contains" => text(TextOp::Contains),
        "q/not-contains" => text(TextOp::NotContains),
        "q/equals-ignoring-case?" => text(TextOp::EqualsIgnoringCase),
        "q/not-equals-ignoring-case?" => text(TextOp::NotEqualsIgnoringCase),
        "q/starts-with-ignoring-case?" => text(TextOp::StartsWithIgnoringCase),
        "q/ends-with-ignoring-case?" => text(TextOp::EndsWithIgnoringCase),
        "q/contains-ignoring-case?" => text(TextOp::ContainsIgnoringCase),
        "q/not-contains-ignoring-case?" => text(TextOp::NotContainsIgnoringCase),
        _ => Err(FErr::new(
            "entity.error/query-function-not-supported",
            format!("Unknown where operator \"{op}\"."),
        )
        .with_data(json!({"expr": w}))),
    }
}

#[cfg(test)]
mod tests {
    use fibery_core::query::{Aggregate, AliasedExpr, CompareOp, Filter, Order, Query, SubQuery};

    use super::parse_args;

    /// What fibery-core's builder puts on the wire parses back to the same AST here, so the
    /// emulator and core's own `Query::from_args` agree on every shape the SDK emits.
    #[test]
    fn core_builder_output_round_trips() {
        let filters = [
            Filter::eq("A/x", 1).and(Filter::ne("A/y", "s")),
            Filter::lt("A/x", 1)
                .or(Filter::le("A/x", 2))
                .or(Filter::gt("A/x", 3).and(Filter::ge("A/x", 4))),
            Filter::is_me(["A/owner", "fibery/id"]),
            Filter::in_list(["A/tags", "fibery/id"], ["a", "b"]),
            Filter::not_in("A/x", [1, 2]),
            Filter::contains("A/n", "x").and(Filter::not_contains("A/n", "y")),
            Filter::equals_ignoring_case("A/n", "x")
                .and(Filter::not_equals_ignoring_case("A/n", "y")),
            Filter::starts_with_ignoring_case("A/n", "x")
                .and(Filter::ends_with_ignoring_case("A/n", "y")),
            Filter::contains_ignoring_case("A/n", "x")
                .and(Filter::not_contains_ignoring_case("A/n", "y")),
            Filter::is_null("A/x").and(Filter::not_null("A/y")),
            Filter::null_or_empty("A/x").and(Filter::not_null_or_empty("A/y")),
            Filter::count_eq("A/tags", 0).and(Filter::count("A/tags", CompareOp::Gt, 2)),
            Filter::start("A/window", CompareOp::Lt, "2026-01-01").and(Filter::end(
                "A/window",
                CompareOp::Ge,
                "2026-02-01",
            )),
        ];
        for f in filters {
            let q = Query::from("A/T")
                .select(["fibery/id", "A/n"])
                .select_relation("A/owner", ["user/name"])
                .select_collection(
                    "A/tags",
                    SubQuery::new()
                        .select(["enum/name"])
                        .order_by("fibery/rank", Order::Asc)
                        .limit(100),
                )
                .select_count("# tags", "A/tags")
                .select_aggregate("sum", Aggregate::Sum, "A/items", "A/x")
                .filter(f)
                .order_by("A/n", Order::Desc)
                .order_by(["A/owner", "user/name"], Order::Asc)
                .limit(10)
                .offset(5);
            let args = q.to_args();
            assert_eq!(
                parse_args(&args).map_err(|e| e.message),
                Ok(q.clone()),
                "{args}"
            );
            assert_eq!(Query::from_args(&args).ok(), Some(q));
        }
        let q = Query::from("A/T")
            .select_as(
                "n",
                AliasedExpr::Path(vec!["A/owner".into(), "user/name".into()]),
            )
            .select_as(
                "c",
                AliasedExpr::Aggregate {
                    func: Aggregate::Count,
                    path: vec!["A/tags".into(), "fibery/id".into()],
                },
            )
            .no_limit();
        assert_eq!(parse_args(&q.to_args()).map_err(|e| e.message), Ok(q));
    }
}
