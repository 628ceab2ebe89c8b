//! Builders: paths, select items, [`Query`] and [`SubQuery`] builder methods, [`Operand`] and
//! [`Filter`] constructors.

use serde_json::Value;

use super::ast::*;

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

impl AliasedExpr {
    /// `["q/count", "fibery/id"]`: in a top-level map-form select, the number of matching rows.
    pub fn count_rows() -> Self {
        AliasedExpr::Aggregate {
            func: Aggregate::Count,
            path: vec!["fibery/id".to_owned()],
        }
    }
}

/// The builder methods [`Query`] and [`SubQuery`] share (both hold the same select, where,
/// order-by, limit and offset).
macro_rules! body_builders {
    ($ty:ident) => {
        impl $ty {
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

            /// Dereferences a single relation (or enum, user, document) and selects `fields`
            /// from it: `{"Projects/Project": ["fibery/id", "Projects/Name"]}`.
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
            pub fn select_count(
                self,
                alias: impl Into<String>,
                collection: impl Into<String>,
            ) -> Self {
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

            /// Combines `filter` with the existing one by `q/and` (or sets it when there is
            /// none).
            pub fn and_filter(mut self, filter: Filter) -> Self {
                self.filter = Some(match self.filter.take() {
                    None => filter,
                    Some(existing) => existing.and(filter),
                });
                self
            }

            /// Appends a `q/order-by` entry on a field path.
            pub fn order_by(self, path: impl IntoPath, order: Order) -> Self {
                self.order_by_expr(Operand::Path(path.into_path()), order)
            }

            /// Appends a `q/order-by` entry on any operand (e.g. [`Operand::start`] of a
            /// range).
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
        }
    };
}

body_builders!(Query);
body_builders!(SubQuery);

/// The row key of the count [`Query::to_count`] reads.
pub const COUNT_ALIAS: &str = "count";

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
            unknown_keys: Vec::new(),
        }
    }

    /// The query that counts this query's matching rows on the server: the same `q/from` and
    /// `q/where`, selecting `{"count": ["q/count", "fibery/id"]}` ([`COUNT_ALIAS`],
    /// [`AliasedExpr::count_rows`]) with `q/limit` 1 and no order or offset. Fibery answers
    /// one row, `[{"count": n}]`.
    pub fn to_count(&self) -> Query {
        let mut count = Query::from(self.from.clone())
            .select_as(COUNT_ALIAS, AliasedExpr::count_rows())
            .limit(1);
        count.filter = self.filter.clone();
        count
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
            unknown_keys: Vec::new(),
        }
    }

    /// The top-level query over `type_name` with this body (select, where, order, limit,
    /// offset).
    pub fn into_query(self, type_name: impl Into<String>) -> Query {
        Query {
            from: type_name.into(),
            select: self.select,
            filter: self.filter,
            order_by: self.order_by,
            limit: self.limit,
            offset: self.offset,
            unknown_keys: self.unknown_keys,
        }
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

/// `[op, left, $value]`.
fn against(op: CompareOp, left: Operand, value: impl Into<Value>) -> Filter {
    Filter::Compare {
        op,
        left,
        right: Operand::Value(value.into()),
    }
}

/// `q/and` (`and`) or `q/or` of `items`.
fn connective(items: Vec<Filter>, and: bool) -> Filter {
    if and {
        Filter::And(items)
    } else {
        Filter::Or(items)
    }
}

/// `first` and `other` under one connective, adding to `first` when it already is one.
fn join(first: Filter, other: Filter, and: bool) -> Filter {
    let mut items = match first {
        Filter::And(v) if and => v,
        Filter::Or(v) if !and => v,
        f => vec![f],
    };
    items.push(other);
    connective(items, and)
}

/// `filters` under one connective; one filter stands alone, none is `None`.
fn fold(filters: impl IntoIterator<Item = Filter>, and: bool) -> Option<Filter> {
    let mut v: Vec<Filter> = filters.into_iter().collect();
    match v.len() {
        0 => None,
        1 => v.pop(),
        _ => Some(connective(v, and)),
    }
}

/// `["=", [test, path], $is]` for the tests `q/null?` and `q/null-or-empty?`.
fn test_is(test: fn(Box<Operand>) -> Operand, path: impl IntoPath, is: bool) -> Filter {
    against(CompareOp::Eq, test(Box::new(Operand::path(path))), is)
}

fn cmp(op: CompareOp, path: impl IntoPath, value: impl Into<Value>) -> Filter {
    against(op, Operand::path(path), value)
}

fn text(op: TextOp, path: impl IntoPath, value: impl Into<String>) -> Filter {
    Filter::Text {
        op,
        left: Operand::path(path),
        right: Operand::Value(Value::String(value.into())),
    }
}

fn list<I, V>(negated: bool, path: impl IntoPath, values: I) -> Filter
where
    I: IntoIterator<Item = V>,
    V: Into<Value>,
{
    Filter::In {
        negated,
        left: Operand::path(path),
        right: Operand::Value(Value::Array(values.into_iter().map(Into::into).collect())),
    }
}

/// `Filter::<name>(path, value)` constructors, one per operator, from a table.
macro_rules! operator_constructors {
    ($make:ident, $op:ident, $value:ty: $($(#[$doc:meta])* $name:ident => $variant:ident),+ $(,)?) => {
        impl Filter {
            $(
                $(#[$doc])*
                pub fn $name(path: impl IntoPath, value: impl Into<$value>) -> Filter {
                    $make($op::$variant, path, value)
                }
            )+
        }
    };
}

operator_constructors!(cmp, CompareOp, Value:
    /// `["=", path, $p]`. Paths: `"Ops/Name"` or `["Ops/Team", "Ops/Name"]`.
    eq => Eq,
    /// `["!=", path, $p]`
    ne => Ne,
    /// `["<", path, $p]`
    lt => Lt,
    /// `["<=", path, $p]`
    le => Le,
    /// `[">", path, $p]`
    gt => Gt,
    /// `[">=", path, $p]`
    ge => Ge,
);

operator_constructors!(text, TextOp, String:
    /// `["q/contains", path, $s]` (substring).
    contains => Contains,
    /// `["q/not-contains", path, $s]`
    not_contains => NotContains,
    /// `["q/equals-ignoring-case?", path, $s]`
    equals_ignoring_case => EqualsIgnoringCase,
    /// `["q/not-equals-ignoring-case?", path, $s]`
    not_equals_ignoring_case => NotEqualsIgnoringCase,
    /// `["q/starts-with-ignoring-case?", path, $s]`
    starts_with_ignoring_case => StartsWithIgnoringCase,
    /// `["q/ends-with-ignoring-case?", path, $s]`
    ends_with_ignoring_case => EndsWithIgnoringCase,
    /// `["q/contains-ignoring-case?", path, $s]` (documented only in a skill doc).
    contains_ignoring_case => ContainsIgnoringCase,
    /// `["q/not-contains-ignoring-case?", path, $s]` (documented only in a skill doc).
    not_contains_ignoring_case => NotContainsIgnoringCase,
);

impl Filter {
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
        list(false, path, values)
    }
    /// `["q/not-in", path, $list]`
    pub fn not_in<I, V>(path: impl IntoPath, values: I) -> Filter
    where
        I: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        list(true, path, values)
    }
    /// `["=", ["q/null?", path], $true]`
    pub fn is_null(path: impl IntoPath) -> Filter {
        test_is(Operand::IsNull, path, true)
    }
    /// `["=", ["q/null?", path], $false]`
    pub fn not_null(path: impl IntoPath) -> Filter {
        test_is(Operand::IsNull, path, false)
    }
    /// `["=", ["q/null-or-empty?", path], $true]` (text/number emptiness; not for collections).
    pub fn null_or_empty(path: impl IntoPath) -> Filter {
        test_is(Operand::NullOrEmpty, path, true)
    }
    /// `["=", ["q/null-or-empty?", path], $false]`
    pub fn not_null_or_empty(path: impl IntoPath) -> Filter {
        test_is(Operand::NullOrEmpty, path, false)
    }
    /// `[op, ["q/count", [collection, "fibery/id"]], $n]`
    pub fn count(collection: impl Into<String>, op: CompareOp, n: u64) -> Filter {
        against(op, Operand::count(collection), n)
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
        against(op, Operand::start(path), value)
    }
    /// `[op, ["q/end", path], $v]` on a date range.
    pub fn end(path: impl IntoPath, op: CompareOp, value: impl Into<Value>) -> Filter {
        against(op, Operand::end(path), value)
    }
    /// `["q/and", self, other]` (flattens when `self` is already an `and`).
    pub fn and(self, other: Filter) -> Filter {
        join(self, other, true)
    }
    /// `["q/or", self, other]` (flattens when `self` is already an `or`).
    pub fn or(self, other: Filter) -> Filter {
        join(self, other, false)
    }
    /// `q/and` of all filters (a single filter is returned as is; `None` when empty).
    pub fn all(filters: impl IntoIterator<Item = Filter>) -> Option<Filter> {
        fold(filters, true)
    }
    /// `q/or` of all filters (a single filter is returned as is; `None` when empty).
    pub fn any(filters: impl IntoIterator<Item = Filter>) -> Option<Filter> {
        fold(filters, false)
    }
}
