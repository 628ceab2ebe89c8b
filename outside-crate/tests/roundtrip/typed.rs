//! Issue 14 items 2, 3, 5, 6, 7 and 9 from a user's crate: typed reads with order, limit and
//! paging; `query_stream` limits; typed dates; rich text that round-trips `None`; options by
//! name; generated structs with `Default`.

use fibery_client::futures::TryStreamExt;
use fibery_client::time::{Date, Month, OffsetDateTime};
use fibery_client::{FiberyEntity, Order, Query, Uuid};

use super::start;

#[fibery_client::entity(type = "Projects/Task")]
#[derive(Debug, Clone, PartialEq)]
struct Dated {
    #[fibery(field = "Projects/Name")]
    name: String,
    #[fibery(field = "Projects/Effort")]
    effort: Option<i64>,
    #[fibery(field = "Projects/Due")]
    due: Option<Date>,
    #[fibery(field = "fibery/creation-date", readonly)]
    created: Option<OffsetDateTime>,
    #[fibery(rich_text = "Projects/Description", format = "md")]
    description: Option<String>,
    #[fibery(enum_field = "Projects/Tags")]
    tags: Vec<String>,
    #[fibery(id)]
    id: Option<Uuid>,
}

/// (`time`'s `date!` macro needs `time` in the user's manifest; this does not.)
fn day(year: i32, month: Month, d: u8) -> Date {
    Date::from_calendar_date(year, month, d).unwrap()
}

fn dated(name: &str, effort: Option<i64>) -> Dated {
    Dated {
        id: None,
        name: name.to_owned(),
        effort,
        due: None,
        created: None,
        description: None,
        tags: vec![],
    }
}

#[tokio::test]
async fn typed_reads_order_limit_and_page() {
    let (_emu, client) = start().await;
    let tasks = client.entities::<Dated>();
    let items = (0..7).map(|i| dated(&format!("t{i}"), (i != 3).then_some(i % 4)));
    tasks
        .create_all(items)
        .await
        .unwrap()
        .into_result()
        .unwrap();

    // Item 2: order, limit and page size on the typed handle, as a typed stream.
    let top: Vec<Dated> = tasks
        .clone()
        .order_by("Projects/Effort", Order::Desc)
        .limit(4)
        .page_size(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let efforts: Vec<Option<i64>> = top.iter().map(|t| t.effort).collect();
    // Efforts 0, 1, 2, null, 0, 1, 2; descending: the null first, then 2, 2, 1.
    assert_eq!(efforts, [None, Some(2), Some(2), Some(1)]);
    let all = tasks
        .clone()
        .order_by("Projects/Effort", Order::Asc)
        .all()
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    assert_eq!(all.last().unwrap().effort, None, "nulls last ascending");
    assert_eq!(tasks.clone().limit(2).all().await.unwrap().len(), 2);

    // Item 3: the untyped stream honours the query's limit.
    let q = Query::from("Projects/Task")
        .select(["Projects/Name"])
        .limit(5);
    let rows: Vec<_> = client
        .query_stream(&q)
        .page_size(2)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(client.query_all(&q.no_limit()).await.unwrap().len(), 7);
}

#[tokio::test]
async fn dates_and_rich_text_round_trip() {
    let (_emu, client) = start().await;
    let tasks = client.entities::<Dated>();
    let with = Dated {
        due: Some(day(2026, Month::March, 15)),
        description: Some("Some **notes**".into()),
        ..dated("with", Some(1))
    };
    let with = tasks.create(with).await.unwrap();
    let without = tasks.create(dated("without", None)).await.unwrap();

    // Item 5: a date goes out in Fibery's form and comes back typed.
    let q = Query::from("Projects/Task")
        .select(["Projects/Due", "fibery/creation-date"])
        .filter(fibery_client::Filter::eq("Projects/Name", "with"));
    let row = &client.query(&q).await.unwrap()[0];
    assert_eq!(row["Projects/Due"], "2026-03-15");
    let back = tasks.get(with.id.unwrap()).await.unwrap().unwrap();
    assert_eq!(back.due, Some(day(2026, Month::March, 15)));
    let created = back.created.expect("creation date read as a date-time");
    assert!(created > OffsetDateTime::from_unix_timestamp(1_577_836_800).unwrap());

    // Item 6: rich text round-trips, `None` included.
    assert_eq!(
        back.description.as_deref().map(str::trim),
        Some("Some **notes**")
    );
    let back = tasks.get(without.id.unwrap()).await.unwrap().unwrap();
    assert_eq!(back.description, None);
    assert_eq!(
        back,
        Dated {
            created: back.created,
            ..without
        }
    );

    // Rows of a plain query decode with `T::decode` (the document not loaded) or, with
    // their documents, through `Entities::decode`.
    let q = Query::from("Projects/Task")
        .with_select(Dated::select())
        .order_by("Projects/Name", Order::Desc);
    let rows = client.query(&q).await.unwrap();
    let plain = Dated::decode(&rows[1]).unwrap();
    assert_eq!((plain.name.as_str(), plain.description), ("with", None));
    let decoded = tasks.decode(rows).await.unwrap();
    assert_eq!(
        decoded[1].description.as_deref().map(str::trim),
        Some("Some **notes**")
    );
    assert_eq!(decoded[0].description, None);
}

#[tokio::test]
async fn options_by_name() {
    let (emu, client) = start().await;
    let tasks = client.entities::<Dated>();
    let id = tasks
        .create(dated("tagged", None))
        .await
        .unwrap()
        .id
        .unwrap();

    // Item 7: one line per change, names resolved with one query for all of them.
    tasks
        .add_options(id, "Projects/Tags", &["frontend", "backend"])
        .await
        .unwrap();
    let mut tags = tasks.get(id).await.unwrap().unwrap().tags;
    tags.sort();
    assert_eq!(tags, ["backend", "frontend"]);
    tasks
        .remove_options(id, "Projects/Tags", &["frontend"])
        .await
        .unwrap();
    assert_eq!(tasks.get(id).await.unwrap().unwrap().tags, ["backend"]);
    tasks
        .set_option(id, "workflow/state", "Done")
        .await
        .unwrap();
    let state = client
        .query(
            &Query::from("Projects/Task")
                .select_relation("workflow/state", ["enum/name"])
                .filter(fibery_client::Filter::eq("fibery/id", id.to_string())),
        )
        .await
        .unwrap();
    assert_eq!(state[0]["workflow/state"]["enum/name"], "Done");

    let before = emu.stats().requests;
    let err = tasks
        .add_options(id, "Projects/Tags", &["nope", "backend", "nada"])
        .await
        .unwrap_err();
    let violations = err.violations().expect("a validation error");
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert_eq!(emu.stats().requests, before, "options cached, nothing sent");
}

#[tokio::test]
async fn generated_structs_default_and_type_dates() {
    let (_emu, client) = start().await;
    // Item 9: `Default` for generated structs; item 5: generated dates are `time::Date`.
    let project = super::generated::Project {
        name: Some("Dated".into()),
        start: Some(day(2026, Month::January, 5)),
        ..Default::default()
    };
    let projects = client.entities::<super::generated::Project>();
    let id = projects.create(project).await.unwrap().id.unwrap();
    let back = projects.get(id).await.unwrap().unwrap();
    assert_eq!(back.start, Some(day(2026, Month::January, 5)));
}

mod generated_enums {
    fibery_client::schema!(
        "../fibery-core/tests/fixtures/project-management.json",
        types = ["Projects/Task"],
        options = "../fibery-core/tests/fixtures/project-management.options.json",
    );
}

#[tokio::test]
async fn generated_selects_are_enums() {
    use generated_enums::{Task, TaskPriority, TaskState, TaskTags};
    let (_emu, client) = start().await;
    // Item 9: selects and states are generated enums; every field has a default.
    let task = Task {
        name: Some("Generated".into()),
        state: Some(TaskState::InProgress),
        priority: Some(TaskPriority::High),
        tags: vec![TaskTags::Api, TaskTags::Docs],
        due: Some(day(2026, Month::June, 30)),
        ..Default::default()
    };
    let tasks = client.entities::<Task>();
    let id = tasks.create(task.clone()).await.unwrap().id.unwrap();
    let mut back = tasks.get(id).await.unwrap().unwrap();
    back.tags.sort_by_key(|t| *t as u8);
    assert_eq!(back.state, Some(TaskState::InProgress));
    assert_eq!(back.priority, Some(TaskPriority::High));
    assert_eq!(back.tags, [TaskTags::Api, TaskTags::Docs]);
    assert_eq!(back.due, task.due);
    assert_eq!(TaskState::default(), TaskState::Open);
}
