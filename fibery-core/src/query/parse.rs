//! Parsing Fibery's query JSON into the AST, with typed, located errors.
//!
//! This is the workspace's one query parser: the emulator serves queries with it and the
//! tests read queries back with it. It accepts what a lenient Fibery server accepts, beyond
//! the builder's own output:
//!
//! - a bare string as a left operand or order-by expression: a one-field path (`"fibery/id"`);
//! - inline values in `q/where`: numbers, booleans, `null`, objects, `[]`, and strings on the
//!   right that are not `$params` (each becomes [`Operand::Value`]);
//! - a `$name` whose `params` key lacks the `$`; an unknown `$name` (such as `$my-id`) stays
//!   [`Operand::Param`];
//! - a `$name` param as `q/limit` or `q/offset`;
//! - `"q/where": null` and `"q/offset": null` (as if absent);
//! - `["q/and"]` and `["q/or"]` without operands;
//! - a map-form sub-query's `q/from` as a one-element array (`["Ops/Watchers"]`);
//! - keys outside the query language: kept in `unknown_keys` for
//!   [`Schema::check_query`](crate::schema::Schema::check_query) to report (linting is not the
//!   parser's job);
//! - a whole `{"command": "fibery.entity/query", "args": ...}` in [`Query::from_args`].

use serde_json::{Map, Value};

use super::ast::*;
use crate::error::names;

/// What went wrong while parsing a query; each kind is one Fibery error name
/// ([`ParseErrorKind::fibery_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The command's args are not `{"query": {..}, "params"?: {..}}`: not an object, `query`
    /// missing or not an object, or `params` not an object.
    BadArgs,
    /// `q/from` is missing or not a type name.
    MissingFrom,
    /// `q/select` is missing (top level or in a sub-query).
    MissingSelect,
    /// `q/limit` is missing (top level or in a sub-query).
    MissingLimit,
    /// An operator or function Fibery does not document (e.g. `q/starts-with`, `q/not`).
    UnknownOperator,
    /// An expression has the wrong JSON shape (a select item, operand, path, order-by entry,
    /// limit or offset).
    BadShape,
}

impl ParseErrorKind {
    /// The name of the error Fibery answers such a query with (for the emulator's envelope).
    pub fn fibery_name(self) -> &'static str {
        match self {
            ParseErrorKind::BadArgs => names::INVALID_ARGS,
            ParseErrorKind::MissingFrom => names::QUERY_FROM_EXPR_NOT_FOUND,
            ParseErrorKind::MissingSelect => names::QUERY_SELECT_EXPR_NOT_FOUND,
            ParseErrorKind::MissingLimit => names::QUERY_LIMIT_EXPR_NOT_FOUND,
            ParseErrorKind::UnknownOperator => names::QUERY_FUNCTION_NOT_SUPPORTED,
            ParseErrorKind::BadShape => names::QUERY_EXPR_INVALID,
        }
    }
}

/// Error from parsing a query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at `{pointer}`)")]
#[non_exhaustive]
pub struct QueryParseError {
    /// The kind of problem.
    pub kind: ParseErrorKind,
    /// Where in the input, JSON-pointer-like: segments joined by `/`, keys such as `q/where`
    /// keep their slash (`/query/q/where/2/0`).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
    /// The offending JSON: the value at `pointer`, or for an unknown operator the whole
    /// expression it heads; `null` when a key is missing. Fibery puts it in the error's
    /// `data.expr`. Boxed to keep `Result`s small.
    pub expr: Box<Value>,
}

impl Query {
    /// Parses `fibery.entity/query` args `{"query": {...}, "params": {...}}`. A whole command
    /// `{"command": "fibery.entity/query", "args": {...}}` is accepted too.
    pub fn from_args(args: &Value) -> Result<Query, QueryParseError> {
        let args = match args.get("args") {
            Some(inner) if args.get("command").is_some() => inner,
            _ => args,
        };
        let Some(obj) = args.as_object() else {
            return Err(error(
                ParseErrorKind::BadArgs,
                "",
                args,
                "query args must be an object with `query` and optional `params`",
            ));
        };
        let query = obj.get("query").ok_or_else(|| {
            error(
                ParseErrorKind::BadArgs,
                "/query",
                &Value::Null,
                "`query` is missing",
            )
        })?;
        let empty = Map::new();
        let params = match obj.get("params") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(error(
                    ParseErrorKind::BadArgs,
                    "/params",
                    other,
                    format!("`params` must be an object, got {}", kind_of(other)),
                ));
            }
        };
        Parser { params }.query(query, "/query")
    }

    /// Parses a query object and its params (keys with their `$`).
    pub fn from_json(query: &Value, params: &Map<String, Value>) -> Result<Query, QueryParseError> {
        Parser { params }.query(query, "")
    }
}

impl Select {
    /// Parses a `q/select` value on its own (no params: sub-query filters may only use
    /// named parameters such as `$my-id`).
    pub fn from_json(value: &Value) -> Result<Select, QueryParseError> {
        Parser {
            params: &Map::new(),
        }
        .select(value, "/q/select")
    }
}

impl Filter {
    /// Parses a `q/where` expression against `params`.
    pub fn from_json(
        value: &Value,
        params: &Map<String, Value>,
    ) -> Result<Filter, QueryParseError> {
        Parser { params }.filter(value, "/q/where")
    }
}

/// The keys of the query language (`q/from` is allowed in sub-queries too).
const QUERY_KEYS: [&str; 6] = [
    "q/from",
    "q/select",
    "q/where",
    "q/order-by",
    "q/limit",
    "q/offset",
];

fn error(
    kind: ParseErrorKind,
    pointer: &str,
    expr: &Value,
    message: impl Into<String>,
) -> QueryParseError {
    QueryParseError {
        kind,
        pointer: pointer.to_owned(),
        message: message.into(),
        expr: Box::new(expr.clone()),
    }
}

fn bad(at: &str, expr: &Value, message: impl Into<String>) -> QueryParseError {
    error(ParseErrorKind::BadShape, at, expr, message)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

struct Parser<'a> {
    params: &'a Map<String, Value>,
}

impl Parser<'_> {
    fn query(&self, v: &Value, at: &str) -> Result<Query, QueryParseError> {
        let obj = v.as_object().ok_or_else(|| {
            error(
                ParseErrorKind::BadArgs,
                at,
                v,
                format!("a query must be an object, got {}", kind_of(v)),
            )
        })?;
        let from = match obj.get("q/from") {
            Some(Value::String(s)) => s.clone(),
            other => {
                return Err(error(
                    ParseErrorKind::MissingFrom,
                    &format!("{at}/q/from"),
                    other.unwrap_or(&Value::Null),
                    "`q/from` must name a type",
                ));
            }
        };
        Ok(self.body(obj, at)?.into_query(from))
    }

    fn body(&self, obj: &Map<String, Value>, at: &str) -> Result<SubQuery, QueryParseError> {
        let unknown_keys = obj
            .keys()
            .filter(|k| !QUERY_KEYS.contains(&k.as_str()))
            .cloned()
            .collect();
        let select = match obj.get("q/select") {
            Some(s) => self.select(s, &format!("{at}/q/select"))?,
            None => {
                return Err(error(
                    ParseErrorKind::MissingSelect,
                    &format!("{at}/q/select"),
                    &Value::Null,
                    "`q/select` is missing",
                ));
            }
        };
        let filter = match obj.get("q/where") {
            None | Some(Value::Null) => None,
            Some(w) => Some(self.filter(w, &format!("{at}/q/where"))?),
        };
        let order_by = match obj.get("q/order-by") {
            None => Vec::new(),
            Some(o) => self.order_by(o, &format!("{at}/q/order-by"))?,
        };
        let limit = self.limit(obj.get("q/limit"), &format!("{at}/q/limit"))?;
        let offset = match obj.get("q/offset") {
            None | Some(Value::Null) => None,
            Some(v) => Some(self.count(v).ok_or_else(|| {
                bad(
                    &format!("{at}/q/offset"),
                    v,
                    "`q/offset` must be a non-negative integer",
                )
            })?),
        };
        Ok(SubQuery {
            select,
            filter,
            order_by,
            limit,
            offset,
            unknown_keys,
        })
    }

    fn limit(&self, v: Option<&Value>, at: &str) -> Result<Limit, QueryParseError> {
        let Some(v) = v else {
            return Err(error(
                ParseErrorKind::MissingLimit,
                at,
                &Value::Null,
                "`q/limit` is missing (Fibery requires it; use a number or \"q/no-limit\")",
            ));
        };
        if self.resolve(v).as_str() == Some("q/no-limit") {
            return Ok(Limit::NoLimit);
        }
        self.count(v).map(Limit::Count).ok_or_else(|| {
            bad(
                at,
                v,
                "`q/limit` must be a non-negative integer or \"q/no-limit\"",
            )
        })
    }

    /// A non-negative integer, given inline or as a `$param`.
    fn count(&self, v: &Value) -> Option<u64> {
        self.resolve(v).as_u64()
    }

    /// The value of a `$param` (itself when it is not one, or not supplied).
    fn resolve<'v>(&'v self, v: &'v Value) -> &'v Value {
        match v.as_str() {
            Some(s) if s.starts_with('$') => self.param(s).unwrap_or(v),
            _ => v,
        }
    }

    /// `params[name]`, also found under the name without its `$`.
    fn param(&self, name: &str) -> Option<&Value> {
        self.params.get(name).or_else(|| {
            name.strip_prefix('$')
                .and_then(|bare| self.params.get(bare))
        })
    }

    fn select(&self, v: &Value, at: &str) -> Result<Select, QueryParseError> {
        match v {
            Value::Array(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    self.items(item, &format!("{at}/{i}"), &mut out)?;
                }
                Ok(Select::Fields(out))
            }
            Value::Object(m) => {
                let mut out = Vec::new();
                for (alias, expr) in m {
                    let at = format!("{at}/{alias}");
                    out.push((alias.clone(), self.aliased(expr, &at)?));
                }
                Ok(Select::Aliased(out))
            }
            other => Err(bad(
                at,
                other,
                format!(
                    "`q/select` must be an array or an object, got {}",
                    kind_of(other)
                ),
            )),
        }
    }

    fn items(&self, v: &Value, at: &str, out: &mut Vec<SelectItem>) -> Result<(), QueryParseError> {
        let m = match v {
            Value::String(s) => {
                out.push(SelectItem::Field(s.clone()));
                return Ok(());
            }
            Value::Object(m) => m,
            other => {
                return Err(bad(
                    at,
                    other,
                    format!(
                        "select item must be a field name or an object, got {}",
                        kind_of(other)
                    ),
                ));
            }
        };
        for (k, inner) in m {
            let at = format!("{at}/{k}");
            let item = match inner {
                Value::Array(arr) => match aggregate_head(arr) {
                    Some(func) => SelectItem::Aggregate {
                        alias: k.clone(),
                        func,
                        path: agg_path(arr, &at)?,
                    },
                    None => {
                        let mut select = Vec::new();
                        for (i, x) in arr.iter().enumerate() {
                            self.items(x, &format!("{at}/{i}"), &mut select)?;
                        }
                        SelectItem::Deref {
                            field: k.clone(),
                            select,
                        }
                    }
                },
                Value::Object(q) => SelectItem::SubQuery {
                    field: k.clone(),
                    query: Box::new(self.body(q, &at)?),
                },
                other => {
                    return Err(bad(
                        &at,
                        other,
                        format!(
                            "select entry must be an array (dereference/aggregate) or an object (sub-query), got {}",
                            kind_of(other)
                        ),
                    ));
                }
            };
            out.push(item);
        }
        Ok(())
    }

    fn aliased(&self, v: &Value, at: &str) -> Result<AliasedExpr, QueryParseError> {
        match v {
            Value::String(s) => Ok(AliasedExpr::Path(vec![s.clone()])),
            Value::Array(arr) => match aggregate_head(arr) {
                Some(func) => Ok(AliasedExpr::Aggregate {
                    func,
                    path: agg_path(arr, at)?,
                }),
                None => Ok(AliasedExpr::Path(string_path(arr, v, at)?)),
            },
            Value::Object(q) => {
                let field = match q.get("q/from") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Array(a)) if a.len() == 1 && a[0].is_string() => {
                        a[0].as_str().unwrap_or_default().to_owned()
                    }
                    _ => {
                        return Err(bad(
                            &format!("{at}/q/from"),
                            v,
                            "an aliased sub-query needs `q/from` naming the collection field",
                        ));
                    }
                };
                Ok(AliasedExpr::SubQuery {
                    field,
                    query: Box::new(self.body(q, at)?),
                })
            }
            other => Err(bad(
                at,
                other,
                format!("aliased select expression cannot be {}", kind_of(other)),
            )),
        }
    }

    fn order_by(&self, v: &Value, at: &str) -> Result<Vec<OrderBy>, QueryParseError> {
        let arr = v.as_array().ok_or_else(|| {
            bad(
                at,
                v,
                "`q/order-by` must be an array of [expr, \"q/asc\"|\"q/desc\"]",
            )
        })?;
        let mut out = Vec::new();
        for (i, entry) in arr.iter().enumerate() {
            let at = format!("{at}/{i}");
            let pair = entry.as_array().filter(|p| p.len() == 2).ok_or_else(|| {
                bad(
                    &at,
                    entry,
                    "order-by entry must be [expr, \"q/asc\"|\"q/desc\"]",
                )
            })?;
            let order = pair[1].as_str().and_then(Order::from_name).ok_or_else(|| {
                bad(
                    &format!("{at}/1"),
                    &pair[1],
                    "direction must be \"q/asc\" or \"q/desc\"",
                )
            })?;
            let expr = self.operand(&pair[0], &format!("{at}/0"), true)?;
            out.push(OrderBy { expr, order });
        }
        Ok(out)
    }

    fn filter(&self, v: &Value, at: &str) -> Result<Filter, QueryParseError> {
        let arr = v.as_array().ok_or_else(|| {
            bad(
                at,
                v,
                format!("a filter must be an array [op, ...], got {}", kind_of(v)),
            )
        })?;
        let op = arr.first().and_then(Value::as_str).ok_or_else(|| {
            bad(
                &format!("{at}/0"),
                v,
                "a filter must start with an operator name",
            )
        })?;
        let args = &arr[1..];
        if op == "q/and" || op == "q/or" {
            let mut fs = Vec::new();
            for (i, a) in args.iter().enumerate() {
                fs.push(self.filter(a, &format!("{at}/{}", i + 1))?);
            }
            return Ok(if op == "q/and" {
                Filter::And(fs)
            } else {
                Filter::Or(fs)
            });
        }
        let binary = || -> Result<(Operand, Operand), QueryParseError> {
            if args.len() != 2 {
                return Err(bad(
                    at,
                    v,
                    format!("`{op}` takes exactly two operands, got {}", args.len()),
                ));
            }
            Ok((
                self.operand(&args[0], &format!("{at}/1"), true)?,
                self.operand(&args[1], &format!("{at}/2"), false)?,
            ))
        };
        if let Some(op) = CompareOp::from_name(op) {
            let (left, right) = binary()?;
            return Ok(Filter::Compare { op, left, right });
        }
        if op == "q/in" || op == "q/not-in" {
            let (left, right) = binary()?;
            let negated = op == "q/not-in";
            return Ok(Filter::In {
                negated,
                left,
                right,
            });
        }
        if let Some(op) = TextOp::from_name(op) {
            let (left, right) = binary()?;
            return Ok(Filter::Text { op, left, right });
        }
        Err(error(
            ParseErrorKind::UnknownOperator,
            &format!("{at}/0"),
            v,
            format!("unsupported operator `{op}` (not in Fibery's documented query language)"),
        ))
    }

    /// `left`: a bare string is a one-field path; elsewhere a string that is not a `$param`
    /// is an inline value.
    fn operand(&self, v: &Value, at: &str, left: bool) -> Result<Operand, QueryParseError> {
        match v {
            Value::String(s) if s.starts_with('$') => Ok(match self.param(s) {
                Some(val) => Operand::Value(val.clone()),
                None => Operand::Param(s.clone()),
            }),
            Value::String(s) if left => Ok(Operand::Path(vec![s.clone()])),
            Value::Array(arr) if !arr.is_empty() => self.function_or_path(arr, v, at),
            inline => Ok(Operand::Value(inline.clone())),
        }
    }

    /// `["q/null?", x]` and the other functions, or a path `["Ops/Team", "Ops/Name"]`.
    fn function_or_path(
        &self,
        arr: &[Value],
        v: &Value,
        at: &str,
    ) -> Result<Operand, QueryParseError> {
        let Some(head) = arr[0].as_str().filter(|h| h.starts_with("q/")) else {
            return Ok(Operand::Path(string_path(arr, v, at)?));
        };
        if arr.len() != 2 {
            return Err(bad(at, v, format!("`{head}` takes exactly one argument")));
        }
        let inner_at = format!("{at}/1");
        let inner = || self.operand(&arr[1], &inner_at, true).map(Box::new);
        match head {
            "q/null?" => Ok(Operand::IsNull(inner()?)),
            "q/null-or-empty?" => Ok(Operand::NullOrEmpty(inner()?)),
            "q/start" => Ok(Operand::Start(inner()?)),
            "q/end" => Ok(Operand::End(inner()?)),
            "q/count" => Ok(Operand::Count(agg_path(arr, at)?)),
            other => Err(error(
                ParseErrorKind::UnknownOperator,
                &format!("{at}/0"),
                v,
                format!("unsupported function `{other}`"),
            )),
        }
    }
}

fn aggregate_head(arr: &[Value]) -> Option<Aggregate> {
    if arr.len() != 2 {
        return None;
    }
    Aggregate::from_name(arr[0].as_str()?)
}

/// The path of `[func, path]`: `"fibery/id"` or `["Ops/Watchers", "fibery/id"]`.
fn agg_path(arr: &[Value], at: &str) -> Result<Vec<String>, QueryParseError> {
    let at = format!("{at}/1");
    match &arr[1] {
        Value::String(s) => Ok(vec![s.clone()]),
        p @ Value::Array(segments) => string_path(segments, p, &at),
        other => Err(bad(
            &at,
            other,
            "aggregate path must be [collection, field]",
        )),
    }
}

fn string_path(arr: &[Value], v: &Value, at: &str) -> Result<Vec<String>, QueryParseError> {
    if arr.is_empty() {
        return Err(bad(at, v, "a path cannot be empty"));
    }
    arr.iter()
        .enumerate()
        .map(|(i, s)| {
            s.as_str().map(str::to_owned).ok_or_else(|| {
                bad(
                    &format!("{at}/{i}"),
                    s,
                    "path segments must be field-name strings",
                )
            })
        })
        .collect()
}
