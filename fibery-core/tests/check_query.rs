//! Schema::check_query against the project-management fixture.

mod common;

use fibery_core::error::names;
use fibery_core::query::*;
use fibery_core::validate::Rule;

#[test]
fn a_realistic_query_passes() {
    let s = common::project_management();
    let q = Query::from("Projects/Task")
        .select([
            "fibery/id",
            "Projects/Name",
            "Projects/Estimate",
            "fibery/rank",
        ])
        .select_relation("Projects/Project", ["fibery/id", "Projects/Name"])
        .select_relation("workflow/state", ["enum/name", "workflow/Final"])
        .select_relation("Projects/Description", ["Collaboration~Documents/secret"])
        .select_item(SelectItem::Deref {
            field: "Projects/Project".into(),
            select: vec![SelectItem::sub_query(
                "Projects/Tasks",
                SubQuery::new().select(["fibery/id"]),
            )],
        })
        .select_collection(
            "Projects/Tags",
            SubQuery::new()
                .select(["enum/name"])
                .filter(Filter::ne("enum/name", "x"))
                .order_by("fibery/rank", Order::Asc),
        )
        .select_collection(
            "Files/Files",
            SubQuery::new().select(["fibery/name", "fibery/secret"]),
        )
        .select_count("assignees", "assignments/assignees")
        .filter(
            Filter::eq(["Projects/Priority", "enum/name"], "High")
                .and(Filter::in_list(
                    ["assignments/assignees", "fibery/id"],
                    ["u"],
                ))
                .and(Filter::is_empty("Projects/Tags"))
                .and(Filter::is_me(["fibery/created-by", "fibery/id"])),
        )
        .order_by(["Projects/Project", "Projects/Name"], Order::Asc);
    assert_eq!(s.check_query(&q), Ok(()));
    let aliased = Query::from("Projects/Project")
        .select_as("name", AliasedExpr::Path(vec!["Projects/Name".into()]))
        .select_as(
            "tasks",
            AliasedExpr::SubQuery {
                field: "Projects/Tasks".into(),
                query: Box::new(SubQuery::new().select(["Projects/Name"])),
            },
        )
        .select_as(
            "effort",
            AliasedExpr::Aggregate {
                func: Aggregate::Sum,
                path: vec!["Projects/Tasks".into(), "Projects/Effort".into()],
            },
        );
    assert_eq!(s.check_query(&aliased), Ok(()));
}

#[test]
fn misuse_is_reported_like_fibery() {
    let s = common::project_management();
    let e = s
        .check_query_named(&Query::from("Projects/Tsk").select(["fibery/id"]))
        .unwrap_err();
    assert_eq!(
        (e[0].0.rule, e[0].1),
        (Rule::UnknownType, names::SCHEMA_TYPE_NOT_FOUND)
    );

    let q = Query::from("Projects/Task")
        .select(["Projects/Project", "Projects/Tags", "Projects/Nam"])
        .select_relation("Projects/Tags", ["enum/name"])
        .select_relation("Projects/Project", ["Projects/Nmae"])
        .select_collection("Projects/Project", SubQuery::new().select(["fibery/id"]))
        .select_count("n", "Projects/Project")
        .filter(
            Filter::eq("workflow/state", "Open")
                .and(Filter::eq(["Projects/Tags", "enum/name"], "api")),
        )
        .order_by("Projects/Description", Order::Asc);
    let e = s.check_query_named(&q).unwrap_err();
    let got: Vec<(&str, Rule, &str)> = e
        .iter()
        .map(|(v, name)| (v.field.as_str(), v.rule, *name))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "Projects/Project",
                Rule::WrongType,
                names::QUERY_PRIMITIVE_FIELD_EXPR_INVALID
            ),
            (
                "Projects/Tags",
                Rule::WrongType,
                names::QUERY_PRIMITIVE_FIELD_EXPR_INVALID
            ),
            (
                "Projects/Nam",
                Rule::UnknownField,
                names::SCHEMA_FIELD_NOT_FOUND
            ),
            (
                "Projects/Tags",
                Rule::WrongType,
                names::QUERY_SELECT_COLLECTION_VECTOR_SHAPE_INVALID
            ),
            (
                "Projects/Project -> Projects/Nmae",
                Rule::UnknownField,
                names::SCHEMA_FIELD_NOT_FOUND
            ),
            (
                "Projects/Project",
                Rule::WrongType,
                names::QUERY_SELECT_COLLECTION_VECTOR_SHAPE_INVALID
            ),
            (
                "n",
                Rule::WrongType,
                names::QUERY_SELECT_COLLECTION_VECTOR_SHAPE_INVALID
            ),
            (
                "workflow/state",
                Rule::WrongType,
                names::QUERY_PRIMITIVE_FIELD_EXPR_INVALID
            ),
            (
                "Projects/Tags -> enum/name",
                Rule::WrongType,
                names::QUERY_SELECT_COLLECTION_VECTOR_SHAPE_INVALID
            ),
            (
                "Projects/Description",
                Rule::WrongType,
                names::QUERY_PRIMITIVE_FIELD_EXPR_INVALID
            ),
        ]
    );
    assert!(
        e[4].0.reason.contains("did you mean `Projects/Name`"),
        "{}",
        e[4].0.reason
    );
    assert_eq!(s.check_query(&q).unwrap_err().len(), 10);
}
