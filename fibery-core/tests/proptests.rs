//! Property tests: query parse(serialize(q)) == q, command JSON round-trips, date formats.

use fibery_core::command::*;
use fibery_core::query::*;
use fibery_core::schema::PrimitiveType;
use fibery_core::value::{FieldValue, format_date_time, parse_date_time};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn name() -> impl Strategy<Value = String> {
    "[A-Z][a-z]{0,5}/[A-Za-z][A-Za-z ?~]{0,8}"
}

fn path() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(name(), 1..3)
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        // dyadic fractions: exact through serde_json's text parser (no `float_roundtrip` feature)
        any::<i32>().prop_map(|i| Value::from(f64::from(i) / 8.0)),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => leaf(),
        1 => prop::collection::vec(leaf(), 0..4).prop_map(Value::Array),
    ]
}

fn left() -> impl Strategy<Value = Operand> {
    prop_oneof![
        4 => path().prop_map(Operand::Path),
        1 => path().prop_map(|p| Operand::IsNull(Box::new(Operand::Path(p)))),
        1 => path().prop_map(|p| Operand::NullOrEmpty(Box::new(Operand::Path(p)))),
        1 => path().prop_map(Operand::Count),
        1 => path().prop_map(|p| Operand::Start(Box::new(Operand::Path(p)))),
        1 => path().prop_map(|p| Operand::End(Box::new(Operand::Path(p)))),
    ]
}

fn right() -> impl Strategy<Value = Operand> {
    prop_oneof![
        5 => value().prop_map(Operand::Value),
        1 => prop_oneof![Just("$my-id"), Just("$today")].prop_map(|s| Operand::Param(s.into())),
    ]
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop::sample::select(CompareOp::ALL.to_vec())
}

fn filter() -> impl Strategy<Value = Filter> {
    let leaf_filter = prop_oneof![
        (compare_op(), left(), right()).prop_map(|(op, left, right)| Filter::Compare {
            op,
            left,
            right
        }),
        (any::<bool>(), path(), prop::collection::vec(leaf(), 0..4)).prop_map(
            |(negated, p, items)| {
                Filter::In {
                    negated,
                    left: Operand::Path(p),
                    right: Operand::Value(Value::Array(items)),
                }
            }
        ),
        (prop::sample::select(TextOp::ALL.to_vec()), path(), ".{0,8}").prop_map(|(op, p, s)| {
            Filter::Text {
                op,
                left: Operand::Path(p),
                right: Operand::Value(Value::String(s)),
            }
        }),
    ];
    leaf_filter.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Filter::And),
            prop::collection::vec(inner, 1..4).prop_map(Filter::Or),
        ]
    })
}

fn limit() -> impl Strategy<Value = Limit> {
    prop_oneof![4 => any::<u64>().prop_map(Limit::Count), 1 => Just(Limit::NoLimit)]
}

fn order_by() -> impl Strategy<Value = Vec<OrderBy>> {
    let expr = prop_oneof![
        3 => path().prop_map(Operand::Path),
        1 => path().prop_map(|p| Operand::Start(Box::new(Operand::Path(p)))),
        1 => path().prop_map(|p| Operand::End(Box::new(Operand::Path(p)))),
    ];
    let order = prop_oneof![Just(Order::Asc), Just(Order::Desc)];
    prop::collection::vec(
        (expr, order).prop_map(|(expr, order)| OrderBy { expr, order }),
        0..3,
    )
}

fn aggregate() -> impl Strategy<Value = Aggregate> {
    prop::sample::select(Aggregate::ALL.to_vec())
}

fn select_item() -> impl Strategy<Value = SelectItem> {
    let base = prop_oneof![
        4 => name().prop_map(SelectItem::Field),
        1 => (".{1,10}", aggregate(), path()).prop_map(|(alias, func, path)| SelectItem::Aggregate { alias, func, path }),
    ];
    base.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            (name(), prop::collection::vec(inner.clone(), 0..4))
                .prop_map(|(field, select)| SelectItem::Deref { field, select }),
            (
                name(),
                sub_query_with(prop::collection::vec(inner, 1..4).prop_map(Select::Fields))
            )
                .prop_map(|(field, q)| SelectItem::SubQuery {
                    field,
                    query: Box::new(q)
                }),
        ]
    })
}

fn sub_query_with(select: impl Strategy<Value = Select>) -> impl Strategy<Value = SubQuery> {
    (
        select,
        prop::option::of(filter()),
        order_by(),
        limit(),
        prop::option::of(any::<u64>()),
    )
        .prop_map(|(select, filter, order_by, limit, offset)| SubQuery {
            select,
            filter,
            order_by,
            limit,
            offset,
            ..SubQuery::new()
        })
}

fn aliased_select() -> impl Strategy<Value = Select> {
    let expr = prop_oneof![
        3 => path().prop_map(AliasedExpr::Path),
        1 => (aggregate(), path()).prop_map(|(func, path)| AliasedExpr::Aggregate { func, path }),
        1 => (name(), sub_query_with(prop::collection::vec(name().prop_map(SelectItem::Field), 1..3).prop_map(Select::Fields)))
            .prop_map(|(field, q)| AliasedExpr::SubQuery { field, query: Box::new(q) }),
    ];
    prop::collection::btree_map(".{1,10}", expr, 1..5)
        .prop_map(|m| Select::Aliased(m.into_iter().collect()))
}

fn query() -> impl Strategy<Value = Query> {
    let select = prop_oneof![
        3 => prop::collection::vec(select_item(), 0..5).prop_map(Select::Fields),
        1 => aliased_select(),
    ];
    (name(), sub_query_with(select)).prop_map(|(from, s)| s.into_query(from))
}

fn entity_map() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(name(), value(), 0..4).prop_map(|m| m.into_iter().collect())
}

fn simple_command() -> impl Strategy<Value = Command> {
    prop_oneof![
        query().prop_map(Command::Query),
        (name(), entity_map())
            .prop_map(|(type_name, entity)| Command::Create(EntityArgs { type_name, entity })),
        (name(), entity_map())
            .prop_map(|(type_name, entity)| Command::Update(EntityArgs { type_name, entity })),
        (name(), ".{0,12}")
            .prop_map(|(type_name, id)| Command::Delete(DeleteArgs { type_name, id })),
        (
            name(),
            name(),
            ".{1,8}",
            prop::collection::vec(".{0,8}", 0..4),
            any::<bool>()
        )
            .prop_map(|(type_name, field, entity_id, items, add)| {
                let c = CollectionChange {
                    type_name,
                    field,
                    entity_id,
                    items,
                };
                if add {
                    Command::AddCollectionItems(c)
                } else {
                    Command::RemoveCollectionItems(c)
                }
            }),
        (
            name(),
            name(),
            prop_oneof![
                Just(ConflictAction::SkipCreate),
                Just(ConflictAction::UpdateLatest),
                Just(ConflictAction::Other("merge".into()))
            ],
            prop::collection::vec(entity_map(), 0..3)
        )
            .prop_map(|(type_name, conflict_field, conflict_action, entities)| {
                Command::CreateOrUpdate(Upsert {
                    type_name,
                    conflict_field,
                    conflict_action,
                    entities,
                })
            }),
        prop::option::of(any::<bool>())
            .prop_map(|with_description| Command::SchemaQuery { with_description }),
        (name(), name(), prop::option::of(any::<bool>())).prop_map(
            |(holder_type, n, delete_values)| {
                Command::SchemaBatch(vec![
                    SchemaCommand::FieldDelete {
                        holder_type: holder_type.clone(),
                        name: n.clone(),
                        delete_values,
                    },
                    SchemaCommand::create_field(
                        holder_type,
                        FieldSpec::new(n, "fibery/text").meta("ui/title?", true),
                    ),
                ])
            }
        ),
        (".{1,10}", prop::option::of(value())).prop_map(|(n, args)| Command::Raw {
            command: format!("x.custom/{n}"),
            args
        }),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    let c = simple_command().prop_recursive(2, 8, 3, |inner| {
        prop::collection::vec(inner, 0..3).prop_map(Command::Batch)
    });
    (c, prop::option::of(".{1,10}")).prop_map(|(c, corr)| match corr {
        Some(id) => c.with_correlation_id(id),
        None => c,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn query_roundtrips(q in query()) {
        let args = q.to_args();
        let back = Query::from_args(&args);
        prop_assert_eq!(back, Ok(q), "{}", args);
    }

    #[test]
    fn query_params_are_generated_and_referenced(q in query()) {
        let (json, params) = q.to_json();
        let text = json.to_string();
        for key in params.keys() {
            prop_assert!(key.starts_with("$p"));
            prop_assert!(text.contains(&format!("\"{key}\"")), "{} unused in {}", key, text);
        }
    }

    #[test]
    fn command_json_roundtrips(c in command()) {
        let j = c.to_json();
        prop_assert_eq!(Command::from_json(&j), Ok(c.clone()), "{}", j);
        let text = serde_json::to_string(&c).unwrap();
        let back: Command = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, c);
    }

    #[test]
    fn command_results_roundtrip(ok in any::<bool>(), name in ".{0,10}", message in ".{0,10}", v in value()) {
        let r = if ok {
            CommandResult::Success(v)
        } else {
            CommandResult::Failure(fibery_core::error::FiberyError::new(name, message).with_data(v))
        };
        prop_assert_eq!(CommandResult::from_json(&r.to_json()), Ok(r));
    }

    #[test]
    fn date_time_format_is_exact_and_roundtrips(secs in -62_135_596_800i64..253_402_300_799, nanos in 0u32..1_000_000_000, off_min in -1439i32..1439) {
        let utc = time::OffsetDateTime::from_unix_timestamp(secs).unwrap().replace_nanosecond(nanos).unwrap();
        let text = format_date_time(utc);
        // exact shape YYYY-MM-DDTHH:MM:SS.mmmZ
        prop_assert_eq!(text.len(), 24);
        prop_assert!(text.ends_with('Z') && &text[10..11] == "T" && &text[19..20] == ".");
        let back = parse_date_time(&text).unwrap();
        prop_assert_eq!(back, utc.replace_nanosecond(nanos / 1_000_000 * 1_000_000).unwrap());
        // any RFC 3339 offset form denotes the same instant
        let offset = time::UtcOffset::from_whole_seconds(off_min * 60).unwrap();
        let shifted = utc.to_offset(offset).format(&time::format_description::well_known::Rfc3339).unwrap();
        let v = FieldValue::parse_primitive(&PrimitiveType::DateTime, &Value::String(shifted)).unwrap();
        prop_assert_eq!(v.to_json(), Value::String(text));
    }
}
