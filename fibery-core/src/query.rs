//! The entity query language of `fibery.entity/query`, as a typed AST with a builder.
//!
//! Values never go inline: the builder keeps them as [`Operand::Value`] and serialization
//! replaces each with a generated `$pN` parameter in the sibling `params` object. Parsing does
//! the reverse (a `$name` found in `params` becomes [`Operand::Value`]), so
//! `Query::from_args(&q.to_args()) == Ok(q)` for every query the builder makes.
//!
//! Filter values take anything `Into<serde_json::Value>`; for ids and dates go through
//! [`FieldValue`](crate::value::FieldValue) to get Fibery's exact formats:
//!
//! ```
//! use fibery_core::query::{Filter, Query};
//! use fibery_core::value::FieldValue;
//! use time::macros::datetime;
//!
//! let since = FieldValue::from(datetime!(2026-01-01 01:00 +01:00));
//! let id = uuid::Uuid::nil();
//! let q = Query::from("Projects/Task")
//!     .select(["fibery/id"])
//!     .filter(Filter::ge("fibery/creation-date", since).and(Filter::ne("fibery/id", id.to_string())));
//! assert_eq!(q.to_args()["params"]["$p1"], "2026-01-01T00:00:00.000Z");
//! assert_eq!(q.to_string(), serde_json::to_string(&q.to_args()).unwrap());
//! ```

use serde_json::{Map, Value};

/// A `fibery.entity/query` query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// `q/from`: the type name, e.g. `Projects/Task`.
    pub from: String,
    /// `q/select`.
    pub select: Select,
    /// `q/where`.
    pub filter: Option<Filter>,
    /// `q/order-by`.
    pub order_by: Vec<OrderBy>,
    /// `q/limit` (mandatory in Fibery).
    pub limit: Limit,
    /// `q/offset`.
    pub offset: Option<u64>,
}

/// `q/limit`: a count or the `q/no-limit` sentinel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// At most this many rows.
    Count(u64),
    /// `"q/no-limit"` (discouraged by Fibery; never emitted by the client's pagination).
    NoLimit,
}

/// `q/select` in vector form (row keys are field names) or map form (row keys are aliases).
#[derive(Debug, Clone, PartialEq)]
pub enum Select {
    /// `["fibery/id", {"Ops/Team": ["Ops/Name"]}, ...]`
    Fields(Vec<SelectItem>),
    /// `{"alias": expr, ...}` (order kept).
    Aliased(Vec<(String, AliasedExpr)>),
}

/// One item of a vector-form select.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// A primitive field: `"Ops/Name"`.
    Field(String),
    /// Dereference a single relation / enum / document: `{"Ops/Team": [..inner select..]}`.
    Deref {
        /// The single-valued field.
        field: String,
        /// What to read from the referenced entity.
        select: Vec<SelectItem>,
    },
    /// Sub-query over a collection: `{"Ops/Watchers": {"q/select": [..], "q/limit": 100}}`.
    SubQuery {
        /// The collection field.
        field: String,
        /// The sub-query (its own select, where, order, limit, offset).
        query: Box<SubQuery>,
    },
    /// Aggregate over a collection: `{"alias": ["q/count", ["Ops/Watchers", "fibery/id"]]}`.
    Aggregate {
        /// Row key of the result.
        alias: String,
        /// The aggregate function.
        func: Aggregate,
        /// `[collection, inner field]`.
        path: Vec<String>,
    },
}

/// An expression in a map-form select.
#[derive(Debug, Clone, PartialEq)]
pub enum AliasedExpr {
    /// A field or a path through single relations: `["Ops/Team", "Ops/Name"]`.
    Path(Vec<String>),
    /// A sub-query whose `q/from` names the collection field.
    SubQuery {
        /// The collection field (`q/from`).
        field: String,
        /// The sub-query.
        query: Box<SubQuery>,
    },
    /// An aggregate: `["q/count", ["Ops/Watchers", "fibery/id"]]`.
    Aggregate {
        /// The aggregate function.
        func: Aggregate,
        /// `[collection, inner field]`.
        path: Vec<String>,
    },
}

/// A collection sub-query (no `q/from` of its own: the collection field names it).
#[derive(Debug, Clone, PartialEq)]
pub struct SubQuery {
    /// `q/select`.
    pub select: Select,
    /// `q/where`.
    pub filter: Option<Filter>,
    /// `q/order-by`.
    pub order_by: Vec<OrderBy>,
    /// `q/limit` (Fibery recommends 100).
    pub limit: Limit,
    /// `q/offset`.
    pub offset: Option<u64>,
}

/// Aggregate functions over a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// `q/count`
    Count,
    /// `q/sum`
    Sum,
    /// `q/avg`
    Avg,
    /// `q/min`
    Min,
    /// `q/max`
    Max,
}

/// One `q/order-by` entry: `[path-expr, "q/asc" | "q/desc"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    /// What to order by: a path, or `q/start`/`q/end` of a range.
    pub expr: Operand,
    /// Direction.
    pub order: Order,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// `q/asc`
    #[default]
    Asc,
    /// `q/desc`
    Desc,
}

/// A `q/where` expression. Only operators Fibery documents are representable.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `["q/and", f1, f2, ...]`
    And(Vec<Filter>),
    /// `["q/or", f1, f2, ...]`
    Or(Vec<Filter>),
    /// `[op, left, right]` with `=`, `!=`, `<`, `<=`, `>`, `>=`.
    Compare {
        /// The comparison.
        op: CompareOp,
        /// Usually a path or function of a path.
        left: Operand,
        /// Usually a value (becomes a `$param`).
        right: Operand,
    },
    /// `["q/in", path, $list]` / `["q/not-in", path, $list]`.
    In {
        /// `true` for `q/not-in`.
        negated: bool,
        /// The path (a collection path means "any item in list").
        left: Operand,
        /// The list value.
        right: Operand,
    },
    /// Text operators: `q/contains`, `q/not-contains` and the `-ignoring-case?` forms.
    Text {
        /// The text operator.
        op: TextOp,
        /// The path.
        left: Operand,
        /// The text value.
        right: Operand,
    },
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// Text operators Fibery documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    /// `q/contains`
    Contains,
    /// `q/not-contains`
    NotContains,
    /// `q/equals-ignoring-case?`
    EqualsIgnoringCase,
    /// `q/not-equals-ignoring-case?`
    NotEqualsIgnoringCase,
    /// `q/starts-with-ignoring-case?`
    StartsWithIgnoringCase,
    /// `q/ends-with-ignoring-case?`
    EndsWithIgnoringCase,
    /// `q/contains-ignoring-case?`
    ContainsIgnoringCase,
    /// `q/not-contains-ignoring-case?`
    NotContainsIgnoringCase,
}

/// An operand of a where or order-by expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A field path: `["Ops/Team", "Ops/Name"]`.
    Path(Vec<String>),
    /// A parameter not supplied in `params`, such as the built-in `$my-id`.
    Param(String),
    /// A value; serialized as a generated `$pN` parameter.
    Value(Value),
    /// `["q/null?", operand]`
    IsNull(Box<Operand>),
    /// `["q/null-or-empty?", operand]`
    NullOrEmpty(Box<Operand>),
    /// `["q/count", [collection, "fibery/id"]]`
    Count(Vec<String>),
    /// `["q/start", operand]` of a date range.
    Start(Box<Operand>),
    /// `["q/end", operand]` of a date range.
    End(Box<Operand>),
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

/// Something usable as a field path: `"Ops/Name"` or `["Ops/Team", "Ops/Name"]`.
pub trait IntoPath {
    /// The path segments.
    fn into_path(self) -> Vec<String>;
}

impl IntoPath for &str {
    fn into_path(self) -> Vec<String> {
        vec![self.to_owned()]
    }
}

impl IntoPath for String {
    fn into_path(self) -> Vec<String> {
        vec![self]
    }
}

impl IntoPath for &String {
    fn into_path(self) -> Vec<String> {
        vec![self.clone()]
    }
}

impl<const N: usize> IntoPath for [&str; N] {
    fn into_path(self) -> Vec<String> {
        self.iter().map(|s| (*s).to_owned()).collect()
    }
}

impl IntoPath for &[&str] {
    fn into_path(self) -> Vec<String> {
        self.iter().map(|s| (*s).to_owned()).collect()
    }
}

impl IntoPath for Vec<String> {
    fn into_path(self) -> Vec<String> {
        self
    }
}

impl IntoPath for Vec<&str> {
    fn into_path(self) -> Vec<String> {
        self.into_iter().map(str::to_owned).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

/// The default `q/limit` of [`Query::from`] and [`SubQuery::new`] (Fibery requires a limit;
/// 100 is what Fibery recommends for sub-queries).
pub const DEFAULT_LIMIT: u64 = 100;

impl Default for Select {
    fn default() -> Self {
        Select::Fields(Vec::new())
    }
}

impl Select {
    /// Appends a vector-form item (a map-form select is replaced by a vector-form one).
    pub fn push(&mut self, item: SelectItem) {
        match self {
            Select::Fields(items) => items.push(item),
            Select::Aliased(_) => *self = Select::Fields(vec![item]),
        }
    }

    /// Adds a map-form entry (a vector-form select is replaced by a map-form one).
    pub fn push_aliased(&mut self, alias: impl Into<String>, expr: AliasedExpr) {
        match self {
            Select::Aliased(items) => items.push((alias.into(), expr)),
            Select::Fields(_) => *self = Select::Aliased(vec![(alias.into(), expr)]),
        }
    }

    /// Whether nothing is selected.
    pub fn is_empty(&self) -> bool {
        match self {
            Select::Fields(v) => v.is_empty(),
            Select::Aliased(v) => v.is_empty(),
        }
    }

    /// Parses a `q/select` value on its own (no params: sub-query filters may only use
    /// named parameters such as `$my-id`).
    pub fn from_json(value: &Value) -> Result<Select, QueryParseError> {
        Parser {
            params: &Map::new(),
        }
        .select(value, "/q/select")
    }

    /// Serializes to the `q/select` JSON (sub-query values go into `params` as `$pN`).
    pub fn to_json(&self) -> Value {
        let mut w = Writer::default();
        w.select(self)
    }
}

impl SelectItem {
    /// A primitive field.
    pub fn field(name: impl Into<String>) -> Self {
        SelectItem::Field(name.into())
    }

    /// Dereference a single relation / enum / document and read `fields` from it.
    pub fn deref<I, S>(field: impl Into<String>, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SelectItem::Deref {
            field: field.into(),
            select: fields
                .into_iter()
                .map(|f| SelectItem::Field(f.into()))
                .collect(),
        }
    }

    /// A sub-query over a collection field.
    pub fn sub_query(field: impl Into<String>, query: SubQuery) -> Self {
        SelectItem::SubQuery {
            field: field.into(),
            query: Box::new(query),
        }
    }

    /// `{"alias": ["q/count", [collection, "fibery/id"]]}`.
    pub fn count(alias: impl Into<String>, collection: impl Into<String>) -> Self {
        SelectItem::Aggregate {
            alias: alias.into(),
            func: Aggregate::Count,
            path: vec![collection.into(), "fibery/id".to_owned()],
        }
    }
}

impl Query {
    /// A query over `type_name` selecting nothing yet, with `q/limit` [`DEFAULT_LIMIT`].
    #[allow(clippy::should_implement_trait)]
    pub fn from(type_name: impl Into<String>) -> Self {
        Query {
            from: type_name.into(),
            select: Select::default(),
            filter: None,
            order_by: Vec::new(),
            limit: Limit::Count(DEFAULT_LIMIT),
            offset: None,
        }
    }

    /// Selects primitive fields (vector form; appended to earlier selections).
    pub fn select<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for f in fields {
            self.select.push(SelectItem::Field(f.into()));
        }
        self
    }

    /// Adds one vector-form select item.
    pub fn select_item(mut self, item: SelectItem) -> Self {
        self.select.push(item);
        self
    }

    /// Dereferences a single relation (or enum, user, document) and selects `fields` from it:
    /// `{"Projects/Project": ["fibery/id", "Projects/Name"]}`.
    pub fn select_relation<I, S>(self, field: impl Into<String>, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.select_item(SelectItem::deref(field, fields))
    }

    /// Adds a sub-query over a collection field.
    pub fn select_collection(self, field: impl Into<String>, query: SubQuery) -> Self {
        self.select_item(SelectItem::sub_query(field, query))
    }

    /// Adds `{"alias": ["q/count", [collection, "fibery/id"]]}`.
    pub fn select_count(self, alias: impl Into<String>, collection: impl Into<String>) -> Self {
        self.select_item(SelectItem::count(alias, collection))
    }

    /// Adds an aggregate over `[collection, inner field]`.
    pub fn select_aggregate(
        self,
        alias: impl Into<String>,
        func: Aggregate,
        collection: impl Into<String>,
        inner_field: impl Into<String>,
    ) -> Self {
        self.select_item(SelectItem::Aggregate {
            alias: alias.into(),
            func,
            path: vec![collection.into(), inner_field.into()],
        })
    }

    /// Adds a map-form (aliased) select entry; switches the select to map form.
    pub fn select_as(mut self, alias: impl Into<String>, expr: AliasedExpr) -> Self {
        self.select.push_aliased(alias, expr);
        self
    }

    /// Replaces the whole select.
    pub fn with_select(mut self, select: Select) -> Self {
        self.select = select;
        self
    }

    /// Sets `q/where` (replacing any earlier filter).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Combines `filter` with the existing one by `q/and` (or sets it when there is none).
    pub fn and_filter(mut self, filter: Filter) -> Self {
        self.filter = Some(match self.filter.take() {
            None => filter,
            Some(existing) => existing.and(filter),
        });
        self
    }

    /// Appends a `q/order-by` entry on a field path.
    pub fn order_by(mut self, path: impl IntoPath, order: Order) -> Self {
        self.order_by.push(OrderBy {
            expr: Operand::Path(path.into_path()),
            order,
        });
        self
    }

    /// Appends a `q/order-by` entry on any operand (e.g. [`Operand::start`] of a range).
    pub fn order_by_expr(mut self, expr: Operand, order: Order) -> Self {
        self.order_by.push(OrderBy { expr, order });
        self
    }

    /// Sets `q/limit`.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Limit::Count(n);
        self
    }

    /// Sets `q/limit` to `"q/no-limit"` (discouraged by Fibery for large databases).
    pub fn no_limit(mut self) -> Self {
        self.limit = Limit::NoLimit;
        self
    }

    /// Sets `q/offset`.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }

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
        w.body(
            &mut q,
            &self.select,
            self.filter.as_ref(),
            &self.order_by,
            self.limit,
            self.offset,
        );
        (Value::Object(q), w.params)
    }

    /// Parses `fibery.entity/query` args `{"query": {...}, "params": {...}}`. A whole command
    /// `{"command": "fibery.entity/query", "args": {...}}` is accepted too.
    pub fn from_args(args: &Value) -> Result<Query, QueryParseError> {
        let args = match args.get("args") {
            Some(inner) if args.get("command").is_some() => inner,
            _ => args,
        };
        let Some(obj) = args.as_object() else {
            return Err(QueryParseError::new(
                ParseErrorKind::BadShape,
                "",
                "query args must be an object with `query` and optional `params`",
            ));
        };
        let query = obj.get("query").ok_or_else(|| {
            QueryParseError::new(ParseErrorKind::MissingKey, "/query", "`query` is missing")
        })?;
        let empty = Map::new();
        let params = match obj.get("params") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(m)) => m,
            Some(_) => {
                return Err(QueryParseError::new(
                    ParseErrorKind::BadShape,
                    "/params",
                    "`params` must be an object",
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

impl std::fmt::Display for Query {
    /// The compact JSON of [`Query::to_args`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_args())
    }
}

impl Default for SubQuery {
    fn default() -> Self {
        SubQuery::new()
    }
}

impl SubQuery {
    /// An empty sub-query with `q/limit` [`DEFAULT_LIMIT`].
    pub fn new() -> Self {
        SubQuery {
            select: Select::default(),
            filter: None,
            order_by: Vec::new(),
            limit: Limit::Count(DEFAULT_LIMIT),
            offset: None,
        }
    }

    /// Selects primitive fields.
    pub fn select<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for f in fields {
            self.select.push(SelectItem::Field(f.into()));
        }
        self
    }

    /// Adds one vector-form select item.
    pub fn select_item(mut self, item: SelectItem) -> Self {
        self.select.push(item);
        self
    }

    /// Dereferences a single relation inside the sub-query.
    pub fn select_relation<I, S>(self, field: impl Into<String>, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.select_item(SelectItem::deref(field, fields))
    }

    /// Adds a map-form entry (switches to map form).
    pub fn select_as(mut self, alias: impl Into<String>, expr: AliasedExpr) -> Self {
        self.select.push_aliased(alias, expr);
        self
    }

    /// Sets `q/where`.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Combines with the existing filter by `q/and`.
    pub fn and_filter(mut self, filter: Filter) -> Self {
        self.filter = Some(match self.filter.take() {
            None => filter,
            Some(existing) => existing.and(filter),
        });
        self
    }

    /// Appends an order-by entry.
    pub fn order_by(mut self, path: impl IntoPath, order: Order) -> Self {
        self.order_by.push(OrderBy {
            expr: Operand::Path(path.into_path()),
            order,
        });
        self
    }

    /// Sets `q/limit`.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Limit::Count(n);
        self
    }

    /// Sets `q/limit` to `"q/no-limit"`.
    pub fn no_limit(mut self) -> Self {
        self.limit = Limit::NoLimit;
        self
    }

    /// Sets `q/offset`.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }
}

impl Operand {
    /// A field path.
    pub fn path(path: impl IntoPath) -> Self {
        Operand::Path(path.into_path())
    }

    /// A value (serialized as a `$pN` param).
    pub fn value(v: impl Into<Value>) -> Self {
        Operand::Value(v.into())
    }

    /// A named parameter not supplied in params, such as `$my-id`.
    pub fn param(name: impl Into<String>) -> Self {
        Operand::Param(name.into())
    }

    /// The current user's id (`$my-id`).
    pub fn my_id() -> Self {
        Operand::Param("$my-id".into())
    }

    /// `["q/start", path]` of a date range.
    pub fn start(path: impl IntoPath) -> Self {
        Operand::Start(Box::new(Operand::Path(path.into_path())))
    }

    /// `["q/end", path]` of a date range.
    pub fn end(path: impl IntoPath) -> Self {
        Operand::End(Box::new(Operand::Path(path.into_path())))
    }

    /// `["q/count", [collection, "fibery/id"]]`.
    pub fn count(collection: impl Into<String>) -> Self {
        Operand::Count(vec![collection.into(), "fibery/id".into()])
    }
}

impl Aggregate {
    /// The wire name, e.g. `q/count`.
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregate::Count => "q/count",
            Aggregate::Sum => "q/sum",
            Aggregate::Avg => "q/avg",
            Aggregate::Min => "q/min",
            Aggregate::Max => "q/max",
        }
    }

    /// Parses a wire name.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "q/count" => Aggregate::Count,
            "q/sum" => Aggregate::Sum,
            "q/avg" => Aggregate::Avg,
            "q/min" => Aggregate::Min,
            "q/max" => Aggregate::Max,
            _ => return None,
        })
    }
}

impl Order {
    /// `q/asc` or `q/desc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Asc => "q/asc",
            Order::Desc => "q/desc",
        }
    }
}

impl CompareOp {
    /// The wire name, e.g. `<=`.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }

    /// Parses a wire name.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "=" => CompareOp::Eq,
            "!=" => CompareOp::Ne,
            "<" => CompareOp::Lt,
            "<=" => CompareOp::Le,
            ">" => CompareOp::Gt,
            ">=" => CompareOp::Ge,
            _ => return None,
        })
    }
}

impl TextOp {
    /// Every text operator.
    pub const ALL: [TextOp; 8] = [
        TextOp::Contains,
        TextOp::NotContains,
        TextOp::EqualsIgnoringCase,
        TextOp::NotEqualsIgnoringCase,
        TextOp::StartsWithIgnoringCase,
        TextOp::EndsWithIgnoringCase,
        TextOp::ContainsIgnoringCase,
        TextOp::NotContainsIgnoringCase,
    ];

    /// The wire name, e.g. `q/contains`.
    pub fn as_str(self) -> &'static str {
        match self {
            TextOp::Contains => "q/contains",
            TextOp::NotContains => "q/not-contains",
            TextOp::EqualsIgnoringCase => "q/equals-ignoring-case?",
            TextOp::NotEqualsIgnoringCase => "q/not-equals-ignoring-case?",
            TextOp::StartsWithIgnoringCase => "q/starts-with-ignoring-case?",
            TextOp::EndsWithIgnoringCase => "q/ends-with-ignoring-case?",
            TextOp::ContainsIgnoringCase => "q/contains-ignoring-case?",
            TextOp::NotContainsIgnoringCase => "q/not-contains-ignoring-case?",
        }
    }

    /// Parses a wire name.
    pub fn from_name(s: &str) -> Option<Self> {
        TextOp::ALL.into_iter().find(|op| op.as_str() == s)
    }
}

fn cmp(op: CompareOp, path: impl IntoPath, value: impl Into<Value>) -> Filter {
    Filter::Compare {
        op,
        left: Operand::Path(path.into_path()),
        right: Operand::Value(value.into()),
    }
}

fn text(op: TextOp, path: impl IntoPath, value: impl Into<String>) -> Filter {
    Filter::Text {
        op,
        left: Operand::Path(path.into_path()),
        right: Operand::Value(Value::String(value.into())),
    }
}

impl Filter {
    /// `["=", path, $p]`. Paths: `"Ops/Name"` or `["Ops/Team", "Ops/Name"]`.
    pub fn eq(path: impl IntoPath, value: impl Into<Value>) -> Filter {
        cmp(CompareOp::Eq, path, value)
    }
    /// `["!=", path, $p]`
    pub fn ne(path: impl IntoPath, value: impl Into<Value>) -> Filter {
        cmp(CompareOp::Ne, path, value)
    }
    /// `["<", path, $p]`
    pub fn lt(path: impl IntoPath, value: impl Into<Value>) -> Filter {
        cmp(CompareOp::Lt, path, value)
    }
    /// `["<=", path, $p]`
    pub fn le(path: impl IntoPath, value: impl Into<Value>) -> Filter {
        cmp(CompareOp::Le, path, value)
    }
    /// `[">", path, $p]`
    pub fn gt(path: impl IntoPath, value: impl Into<Value>) -> Filter {
        cmp(CompareOp::Gt, path, value)
    }
    /// `[">=", path, $p]`
    pub fn ge(path: impl IntoPath, value: impl Into<Value>) -> Filter {
        cmp(CompareOp::Ge, path, value)
    }
    /// Any comparison between two operands.
    pub fn compare(op: CompareOp, left: Operand, right: Operand) -> Filter {
        Filter::Compare { op, left, right }
    }
    /// `["=", path, "$my-id"]`: the path (usually `["...", "fibery/id"]`) is the current user.
    pub fn is_me(path: impl IntoPath) -> Filter {
        Filter::Compare {
            op: CompareOp::Eq,
            left: Operand::Path(path.into_path()),
            right: Operand::my_id(),
        }
    }
    /// `["q/in", path, $list]` (with a collection path: any item in the list).
    pub fn in_list<I, V>(path: impl IntoPath, values: I) -> Filter
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        Filter::In {
            negated: false,
            left: Operand::Path(path.into_path()),
            right: Operand::Value(Value::Array(values.into_iter().map(Into::into).collect())),
        }
    }
    /// `["q/not-in", path, $list]`
    pub fn not_in<I, V>(path: impl IntoPath, values: I) -> Filter
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        Filter::In {
            negated: true,
            left: Operand::Path(path.into_path()),
            right: Operand::Value(Value::Array(values.into_iter().map(Into::into).collect())),
        }
    }
    /// `["q/contains", path, $s]` (substring).
    pub fn contains(path: impl IntoPath, value: impl Into<String>) -> Filter {
        text(TextOp::Contains, path, value)
    }
    /// `["q/not-contains", path, $s]`
    pub fn not_contains(path: impl IntoPath, value: impl Into<String>) -> Filter {
        text(TextOp::NotContains, path, value)
    }
    /// `["q/equals-ignoring-case?", path, $s]`
    pub fn equals_ignoring_case(path: impl IntoPath, value: impl Into<String>) -> Filter {
        text(TextOp::EqualsIgnoringCase, path, value)
    }
    /// `["q/not-equals-ignoring-case?", path, $s]`
    pub fn not_equals_ignoring_case(path: impl IntoPath, value: impl Into<String>) -> Filter {
        text(TextOp::NotEqualsIgnoringCase, path, value)
    }
    /// `["q/starts-with-ignoring-case?", path, $s]`
    pub fn starts_with_ignoring_case(path: impl IntoPath, value: impl Into<String>) -> Filter {
        text(TextOp::StartsWithIgnoringCase, path, value)
    }
    /// `["q/ends-with-ignoring-case?", path, $s]`
    pub fn ends_with_ignoring_case(path: impl IntoPath, value: impl Into<String>) -> Filter {
        text(TextOp::EndsWithIgnoringCase, path, value)
    }
    /// `["q/contains-ignoring-case?", path, $s]` (documented only in a skill doc).
    pub fn contains_ignoring_case(path: impl IntoPath, value: impl Into<String>) -> Filter {
        text(TextOp::ContainsIgnoringCase, path, value)
    }
    /// `["q/not-contains-ignoring-case?", path, $s]` (documented only in a skill doc).
    pub fn not_contains_ignoring_case(path: impl IntoPath, value: impl Into<String>) -> Filter {
        text(TextOp::NotContainsIgnoringCase, path, value)
    }
    /// `["=", ["q/null?", path], $true]`
    pub fn is_null(path: impl IntoPath) -> Filter {
        Filter::Compare {
            op: CompareOp::Eq,
            left: Operand::IsNull(Box::new(Operand::Path(path.into_path()))),
            right: Operand::Value(Value::Bool(true)),
        }
    }
    /// `["=", ["q/null?", path], $false]`
    pub fn not_null(path: impl IntoPath) -> Filter {
        Filter::Compare {
            op: CompareOp::Eq,
            left: Operand::IsNull(Box::new(Operand::Path(path.into_path()))),
            right: Operand::Value(Value::Bool(false)),
        }
    }
    /// `["=", ["q/null-or-empty?", path], $true]` (text/number emptiness; not for collections).
    pub fn null_or_empty(path: impl IntoPath) -> Filter {
        Filter::Compare {
            op: CompareOp::Eq,
            left: Operand::NullOrEmpty(Box::new(Operand::Path(path.into_path()))),
            right: Operand::Value(Value::Bool(true)),
        }
    }
    /// `["=", ["q/null-or-empty?", path], $false]`
    pub fn not_null_or_empty(path: impl IntoPath) -> Filter {
        Filter::Compare {
            op: CompareOp::Eq,
            left: Operand::NullOrEmpty(Box::new(Operand::Path(path.into_path()))),
            right: Operand::Value(Value::Bool(false)),
        }
    }
    /// `[op, ["q/count", [collection, "fibery/id"]], $n]`
    pub fn count(collection: impl Into<String>, op: CompareOp, n: u64) -> Filter {
        Filter::Compare {
            op,
            left: Operand::count(collection),
            right: Operand::Value(Value::from(n)),
        }
    }
    /// `["=", ["q/count", [collection, "fibery/id"]], $n]`
    pub fn count_eq(collection: impl Into<String>, n: u64) -> Filter {
        Filter::count(collection, CompareOp::Eq, n)
    }
    /// `[">", ["q/count", [collection, "fibery/id"]], $n]`
    pub fn count_gt(collection: impl Into<String>, n: u64) -> Filter {
        Filter::count(collection, CompareOp::Gt, n)
    }
    /// `["<", ["q/count", [collection, "fibery/id"]], $n]`
    pub fn count_lt(collection: impl Into<String>, n: u64) -> Filter {
        Filter::count(collection, CompareOp::Lt, n)
    }
    /// Collection (or multi-select) is empty: `count = 0`.
    pub fn is_empty(collection: impl Into<String>) -> Filter {
        Filter::count_eq(collection, 0)
    }
    /// Collection is not empty: `count > 0`.
    pub fn not_empty(collection: impl Into<String>) -> Filter {
        Filter::count_gt(collection, 0)
    }
    /// `[op, ["q/start", path], $v]` on a date range.
    pub fn start(path: impl IntoPath, op: CompareOp, value: impl Into<Value>) -> Filter {
        Filter::Compare {
            op,
            left: Operand::start(path),
            right: Operand::Value(value.into()),
        }
    }
    /// `[op, ["q/end", path], $v]` on a date range.
    pub fn end(path: impl IntoPath, op: CompareOp, value: impl Into<Value>) -> Filter {
        Filter::Compare {
            op,
            left: Operand::end(path),
            right: Operand::Value(value.into()),
        }
    }
    /// `["q/and", self, other]` (flattens when `self` is already an `and`).
    pub fn and(self, other: Filter) -> Filter {
        match self {
            Filter::And(mut v) => {
                v.push(other);
                Filter::And(v)
            }
            f => Filter::And(vec![f, other]),
        }
    }
    /// `["q/or", self, other]` (flattens when `self` is already an `or`).
    pub fn or(self, other: Filter) -> Filter {
        match self {
            Filter::Or(mut v) => {
                v.push(other);
                Filter::Or(v)
            }
            f => Filter::Or(vec![f, other]),
        }
    }
    /// `q/and` of all filters (a single filter is returned as is; `None` when empty).
    pub fn all(filters: impl IntoIterator<Item = Filter>) -> Option<Filter> {
        let mut v: Vec<Filter> = filters.into_iter().collect();
        match v.len() {
            0 => None,
            1 => v.pop(),
            _ => Some(Filter::And(v)),
        }
    }
    /// `q/or` of all filters (a single filter is returned as is; `None` when empty).
    pub fn any(filters: impl IntoIterator<Item = Filter>) -> Option<Filter> {
        let mut v: Vec<Filter> = filters.into_iter().collect();
        match v.len() {
            0 => None,
            1 => v.pop(),
            _ => Some(Filter::Or(v)),
        }
    }
    /// Serializes to `q/where` JSON, adding values to `params` (continuing its `$pN` numbering).
    pub fn to_json(&self, params: &mut Map<String, Value>) -> Value {
        let mut w = Writer {
            params: std::mem::take(params),
        };
        let v = w.filter(self);
        *params = w.params;
        v
    }
    /// Parses a `q/where` expression against `params`.
    pub fn from_json(
        value: &Value,
        params: &Map<String, Value>,
    ) -> Result<Filter, QueryParseError> {
        Parser { params }.filter(value, "/q/where")
    }
}

// ---------------------------------------------------------------------------------------------
// Serialization
// ---------------------------------------------------------------------------------------------

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

    fn body(
        &mut self,
        q: &mut Map<String, Value>,
        select: &Select,
        filter: Option<&Filter>,
        order_by: &[OrderBy],
        limit: Limit,
        offset: Option<u64>,
    ) {
        q.insert("q/select".into(), self.select(select));
        if let Some(f) = filter {
            q.insert("q/where".into(), self.filter(f));
        }
        if !order_by.is_empty() {
            let items = order_by
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
        q.insert(
            "q/limit".into(),
            match limit {
                Limit::Count(n) => Value::from(n),
                Limit::NoLimit => Value::String("q/no-limit".into()),
            },
        );
        if let Some(o) = offset {
            q.insert("q/offset".into(), Value::from(o));
        }
    }

    fn sub_query(&mut self, from: Option<&str>, s: &SubQuery) -> Value {
        let mut q = Map::new();
        if let Some(from) = from {
            q.insert("q/from".into(), Value::String(from.to_owned()));
        }
        self.body(
            &mut q,
            &s.select,
            s.filter.as_ref(),
            &s.order_by,
            s.limit,
            s.offset,
        );
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
                        AliasedExpr::Aggregate { func, path } => {
                            Value::Array(vec![Value::String(func.as_str().into()), path_json(path)])
                        }
                    };
                    m.insert(alias.clone(), v);
                }
                Value::Object(m)
            }
        }
    }

    fn item(&mut self, item: &SelectItem) -> Value {
        let mut m = Map::new();
        match item {
            SelectItem::Field(f) => return Value::String(f.clone()),
            SelectItem::Deref { field, select } => {
                let inner = select.iter().map(|i| self.item(i)).collect();
                m.insert(field.clone(), Value::Array(inner));
            }
            SelectItem::SubQuery { field, query } => {
                let v = self.sub_query(None, query);
                m.insert(field.clone(), v);
            }
            SelectItem::Aggregate { alias, func, path } => {
                m.insert(
                    alias.clone(),
                    Value::Array(vec![Value::String(func.as_str().into()), path_json(path)]),
                );
            }
        }
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

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// What went wrong while parsing a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseErrorKind {
    /// A required key is missing (`q/from`, `q/select`, `q/limit` — Fibery's
    /// `entity.error/query-limit-expr-not-found` — or args' `query`).
    MissingKey,
    /// A value has the wrong JSON shape.
    BadShape,
    /// An operator or function Fibery does not document (e.g. `q/starts-with`, `q/not`).
    UnknownOperator,
    /// An unknown key in a query object (e.g. a typo such as `q/wher`).
    UnknownKey,
}

/// Error from parsing a query; `pointer` is a JSON-pointer-like location such as
/// `/query/q/where/2/0`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at `{pointer}`)")]
pub struct QueryParseError {
    /// The kind of problem.
    pub kind: ParseErrorKind,
    /// Where in the input (segments joined by `/`; keys such as `q/where` keep their slash).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl QueryParseError {
    fn new(kind: ParseErrorKind, pointer: &str, message: impl Into<String>) -> Self {
        QueryParseError {
            kind,
            pointer: pointer.to_owned(),
            message: message.into(),
        }
    }
}

struct Parser<'a> {
    params: &'a Map<String, Value>,
}

fn bad(at: &str, msg: impl Into<String>) -> QueryParseError {
    QueryParseError::new(ParseErrorKind::BadShape, at, msg)
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

impl Parser<'_> {
    fn query(&self, v: &Value, at: &str) -> Result<Query, QueryParseError> {
        let obj = v
            .as_object()
            .ok_or_else(|| bad(at, format!("a query must be an object, got {}", kind_of(v))))?;
        let from = match obj.get("q/from") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => {
                return Err(bad(
                    &format!("{at}/q/from"),
                    format!(
                        "`q/from` must be a type name string, got {}",
                        kind_of(other)
                    ),
                ));
            }
            None => {
                return Err(QueryParseError::new(
                    ParseErrorKind::MissingKey,
                    &format!("{at}/q/from"),
                    "`q/from` is missing",
                ));
            }
        };
        let sub = self.body(obj, at, true)?;
        Ok(Query {
            from,
            select: sub.select,
            filter: sub.filter,
            order_by: sub.order_by,
            limit: sub.limit,
            offset: sub.offset,
        })
    }

    fn body(
        &self,
        obj: &Map<String, Value>,
        at: &str,
        allow_from: bool,
    ) -> Result<SubQuery, QueryParseError> {
        for k in obj.keys() {
            let known = matches!(
                k.as_str(),
                "q/select" | "q/where" | "q/order-by" | "q/limit" | "q/offset"
            ) || (allow_from && k == "q/from");
            if !known {
                return Err(QueryParseError::new(
                    ParseErrorKind::UnknownKey,
                    &format!("{at}/{k}"),
                    format!("unknown query key `{k}`"),
                ));
            }
        }
        let select = match obj.get("q/select") {
            Some(s) => self.select(s, &format!("{at}/q/select"))?,
            None => {
                return Err(QueryParseError::new(
                    ParseErrorKind::MissingKey,
                    &format!("{at}/q/select"),
                    "`q/select` is missing",
                ));
            }
        };
        let filter = match obj.get("q/where") {
            None => None,
            Some(w) => Some(self.filter(w, &format!("{at}/q/where"))?),
        };
        let order_by = match obj.get("q/order-by") {
            None => Vec::new(),
            Some(o) => self.order_by(o, &format!("{at}/q/order-by"))?,
        };
        let limit = match obj.get("q/limit") {
            None => {
                return Err(QueryParseError::new(
                    ParseErrorKind::MissingKey,
                    &format!("{at}/q/limit"),
                    "`q/limit` is missing (Fibery requires it; use a number or \"q/no-limit\")",
                ));
            }
            Some(Value::String(s)) if s == "q/no-limit" => Limit::NoLimit,
            Some(v) => Limit::Count(v.as_u64().ok_or_else(|| {
                bad(
                    &format!("{at}/q/limit"),
                    "`q/limit` must be a non-negative integer or \"q/no-limit\"",
                )
            })?),
        };
        let offset = match obj.get("q/offset") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                bad(
                    &format!("{at}/q/offset"),
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
                format!(
                    "`q/select` must be an array or an object, got {}",
                    kind_of(other)
                ),
            )),
        }
    }

    fn items(&self, v: &Value, at: &str, out: &mut Vec<SelectItem>) -> Result<(), QueryParseError> {
        match v {
            Value::String(s) => out.push(SelectItem::Field(s.clone())),
            Value::Object(m) => {
                for (k, inner) in m {
                    let at = format!("{at}/{k}");
                    match inner {
                        Value::Array(arr) => {
                            if let Some(func) = aggregate_head(arr) {
                                out.push(SelectItem::Aggregate {
                                    alias: k.clone(),
                                    func,
                                    path: agg_path(arr, &at)?,
                                });
                            } else {
                                let mut sel = Vec::new();
                                for (i, x) in arr.iter().enumerate() {
                                    self.items(x, &format!("{at}/{i}"), &mut sel)?;
                                }
                                out.push(SelectItem::Deref {
                                    field: k.clone(),
                                    select: sel,
                                });
                            }
                        }
                        Value::Object(q) => {
                            let sub = self.body(q, &at, true)?;
                            out.push(SelectItem::SubQuery {
                                field: k.clone(),
                                query: Box::new(sub),
                            });
                        }
                        other => {
                            return Err(bad(
                                &at,
                                format!(
                                    "select entry must be an array (dereference/aggregate) or an object (sub-query), got {}",
                                    kind_of(other)
                                ),
                            ));
                        }
                    }
                }
            }
            other => {
                return Err(bad(
                    at,
                    format!(
                        "select item must be a field name or an object, got {}",
                        kind_of(other)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn aliased(&self, v: &Value, at: &str) -> Result<AliasedExpr, QueryParseError> {
        match v {
            Value::String(s) => Ok(AliasedExpr::Path(vec![s.clone()])),
            Value::Array(arr) => {
                if let Some(func) = aggregate_head(arr) {
                    return Ok(AliasedExpr::Aggregate {
                        func,
                        path: agg_path(arr, at)?,
                    });
                }
                Ok(AliasedExpr::Path(string_path(arr, at)?))
            }
            Value::Object(q) => {
                let field = match q.get("q/from") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Array(a)) if a.len() == 1 && a[0].is_string() => {
                        a[0].as_str().unwrap_or_default().to_owned()
                    }
                    _ => {
                        return Err(QueryParseError::new(
                            ParseErrorKind::MissingKey,
                            &format!("{at}/q/from"),
                            "an aliased sub-query needs `q/from` naming the collection field",
                        ));
                    }
                };
                let sub = self.body(q, at, true)?;
                Ok(AliasedExpr::SubQuery {
                    field,
                    query: Box::new(sub),
                })
            }
            other => Err(bad(
                at,
                format!("aliased select expression cannot be {}", kind_of(other)),
            )),
        }
    }

    fn order_by(&self, v: &Value, at: &str) -> Result<Vec<OrderBy>, QueryParseError> {
        let arr = v.as_array().ok_or_else(|| {
            bad(
                at,
                "`q/order-by` must be an array of [expr, \"q/asc\"|\"q/desc\"]",
            )
        })?;
        let mut out = Vec::new();
        for (i, entry) in arr.iter().enumerate() {
            let at = format!("{at}/{i}");
            let pair = entry
                .as_array()
                .filter(|p| p.len() == 2)
                .ok_or_else(|| bad(&at, "order-by entry must be [expr, \"q/asc\"|\"q/desc\"]"))?;
            let order = match pair[1].as_str() {
                Some("q/asc") => Order::Asc,
                Some("q/desc") => Order::Desc,
                _ => {
                    return Err(bad(
                        &format!("{at}/1"),
                        "direction must be \"q/asc\" or \"q/desc\"",
                    ));
                }
            };
            let expr = match &pair[0] {
                Value::String(s) => Operand::Path(vec![s.clone()]),
                other => self.operand(other, &format!("{at}/0"), true)?,
            };
            out.push(OrderBy { expr, order });
        }
        Ok(out)
    }

    fn filter(&self, v: &Value, at: &str) -> Result<Filter, QueryParseError> {
        let arr = v.as_array().ok_or_else(|| {
            bad(
                at,
                format!("a filter must be an array [op, ...], got {}", kind_of(v)),
            )
        })?;
        let op = arr.first().and_then(Value::as_str).ok_or_else(|| {
            bad(
                &format!("{at}/0"),
                "a filter must start with an operator name",
            )
        })?;
        let args = &arr[1..];
        if op == "q/and" || op == "q/or" {
            if args.is_empty() {
                return Err(bad(at, format!("`{op}` needs at least one operand")));
            }
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
        let binary = |args: &[Value]| -> Result<(Operand, Operand), QueryParseError> {
            if args.len() != 2 {
                return Err(bad(
                    at,
                    format!("`{op}` takes exactly two operands, got {}", args.len()),
                ));
            }
            Ok((
                self.operand(&args[0], &format!("{at}/1"), true)?,
                self.operand(&args[1], &format!("{at}/2"), false)?,
            ))
        };
        if let Some(cop) = CompareOp::from_name(op) {
            let (left, right) = binary(args)?;
            return Ok(Filter::Compare {
                op: cop,
                left,
                right,
            });
        }
        if op == "q/in" || op == "q/not-in" {
            let (left, right) = binary(args)?;
            return Ok(Filter::In {
                negated: op == "q/not-in",
                left,
                right,
            });
        }
        if let Some(top) = TextOp::from_name(op) {
            let (left, right) = binary(args)?;
            return Ok(Filter::Text {
                op: top,
                left,
                right,
            });
        }
        Err(QueryParseError::new(
            ParseErrorKind::UnknownOperator,
            &format!("{at}/0"),
            format!("unsupported operator `{op}` (not in Fibery's documented query language)"),
        ))
    }

    /// `left`: a bare string is a path (Fibery tolerates it); otherwise a bare string that is
    /// not a `$param` is an inline literal value.
    fn operand(&self, v: &Value, at: &str, left: bool) -> Result<Operand, QueryParseError> {
        match v {
            Value::String(s) if s.starts_with('$') => {
                let found = self.params.get(s).or_else(|| self.params.get(&s[1..]));
                Ok(match found {
                    Some(val) => Operand::Value(val.clone()),
                    None => Operand::Param(s.clone()),
                })
            }
            Value::String(s) if left => Ok(Operand::Path(vec![s.clone()])),
            Value::Array(arr) => {
                let Some(head) = arr.first().and_then(Value::as_str) else {
                    return Err(bad(
                        at,
                        "an operand array must be a path or [function, ...]",
                    ));
                };
                if head.starts_with("q/") {
                    if arr.len() != 2 {
                        return Err(bad(at, format!("`{head}` takes exactly one argument")));
                    }
                    let inner_at = format!("{at}/1");
                    let inner = || self.operand(&arr[1], &inner_at, true).map(Box::new);
                    return match head {
                        "q/null?" => Ok(Operand::IsNull(inner()?)),
                        "q/null-or-empty?" => Ok(Operand::NullOrEmpty(inner()?)),
                        "q/start" => Ok(Operand::Start(inner()?)),
                        "q/end" => Ok(Operand::End(inner()?)),
                        "q/count" => Ok(Operand::Count(agg_path(arr, at)?)),
                        other => Err(QueryParseError::new(
                            ParseErrorKind::UnknownOperator,
                            &format!("{at}/0"),
                            format!("unsupported function `{other}`"),
                        )),
                    };
                }
                Ok(Operand::Path(string_path(arr, at)?))
            }
            Value::Object(_) => Err(bad(at, "an operand cannot be an object")),
            other => Ok(Operand::Value(other.clone())),
        }
    }
}

fn aggregate_head(arr: &[Value]) -> Option<Aggregate> {
    if arr.len() != 2 {
        return None;
    }
    Aggregate::from_name(arr[0].as_str()?)
}

fn agg_path(arr: &[Value], at: &str) -> Result<Vec<String>, QueryParseError> {
    match &arr[1] {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(p) => string_path(p, &format!("{at}/1")),
        _ => Err(bad(
            &format!("{at}/1"),
            "aggregate path must be [collection, field]",
        )),
    }
}

fn string_path(arr: &[Value], at: &str) -> Result<Vec<String>, QueryParseError> {
    if arr.is_empty() {
        return Err(bad(at, "a path cannot be empty"));
    }
    arr.iter()
        .enumerate()
        .map(|(i, s)| {
            s.as_str().map(str::to_owned).ok_or_else(|| {
                bad(
                    &format!("{at}/{i}"),
                    "path segments must be field-name strings",
                )
            })
        })
        .collect()
}
