//! The query AST: every shape of `fibery.entity/query` Fibery documents, and the wire names of
//! its operators.

use serde_json::Value;

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
    /// Keys of a parsed query object that are not part of the query language: the parser
    /// accepts them and [`Schema::check_query`](crate::schema::Schema::check_query) reports
    /// them. Always empty in a built query; never serialized.
    pub unknown_keys: Vec<String>,
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
    /// An aggregate over a collection, `["q/count", ["Ops/Watchers", "fibery/id"]]`, or, when
    /// every entry of a top-level select is one, over all matching rows with a one-field path:
    /// `["q/count", "fibery/id"]` (see [`Query::to_count`]).
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
    /// Keys of a parsed query object that are not part of the query language: the parser
    /// accepts them and [`Schema::check_query`](crate::schema::Schema::check_query) reports
    /// them. Always empty in a built query; never serialized.
    pub unknown_keys: Vec<String>,
}

/// Aggregate functions over a collection, or (at the top level of a map-form select) over all
/// matching rows.
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

/// `ALL`, `as_str` and `from_name` for an operator enum, from one table of wire names.
macro_rules! wire_names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every variant, in declaration order.
            pub const ALL: [$ty; [$($name),+].len()] = [$($ty::$variant),+];

            /// The wire name, e.g. `q/count`, `<=`, `q/asc`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }

            /// Parses a wire name.
            pub fn from_name(s: &str) -> Option<Self> {
                match s {
                    $($name => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

wire_names!(Aggregate {
    Count => "q/count",
    Sum => "q/sum",
    Avg => "q/avg",
    Min => "q/min",
    Max => "q/max",
});

wire_names!(Order {
    Asc => "q/asc",
    Desc => "q/desc",
});

wire_names!(CompareOp {
    Eq => "=",
    Ne => "!=",
    Lt => "<",
    Le => "<=",
    Gt => ">",
    Ge => ">=",
});

wire_names!(TextOp {
    Contains => "q/contains",
    NotContains => "q/not-contains",
    EqualsIgnoringCase => "q/equals-ignoring-case?",
    NotEqualsIgnoringCase => "q/not-equals-ignoring-case?",
    StartsWithIgnoringCase => "q/starts-with-ignoring-case?",
    EndsWithIgnoringCase => "q/ends-with-ignoring-case?",
    ContainsIgnoringCase => "q/contains-ignoring-case?",
    NotContainsIgnoringCase => "q/not-contains-ignoring-case?",
});
