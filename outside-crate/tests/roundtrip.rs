//! Derived structs round-trip through the client and the emulator from a crate whose only SDK
//! dependency is fibery-client: created, queried back, equal. The client comes from
//! `Emulator::test_client()`, the one call a test needs.

use fibery_client::{Client, EntityRef, FiberyEnum, Filter, Query, Uuid};
use fibery_emulator::Emulator;

/// An emulator on fibery-core's `project-management` fixture (schema and enum options), and
/// its test client.
async fn start() -> (Emulator, Client) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fibery-core/tests/fixtures");
    let schema =
        fibery_emulator::load_schema_file(format!("{dir}/project-management.json").as_ref())
            .unwrap();
    let options = std::fs::read_to_string(format!("{dir}/project-management.options.json"))
        .unwrap()
        .parse()
        .unwrap();
    let emu = Emulator::builder()
        .schema(schema)
        .seed_json(options)
        .token("outside-token")
        .start()
        .await
        .unwrap();
    let client = emu.test_client();
    (emu, client)
}

#[derive(FiberyEnum, Debug, Clone, Copy, PartialEq)]
enum Priority {
    Low,
    Medium,
    High,
    Critical,
}

/// Declared as a user might, the id last: the derive does not care about field order.
#[fibery_client::entity(type = "Projects/Task")]
#[derive(Debug, Clone, PartialEq)]
struct Task {
    #[fibery(field = "Projects/Name")]
    #[validate(length(min = 1, max = 200))]
    name: String,
    #[fibery(field = "Projects/Estimate")]
    #[validate(range(min = 0.0))]
    estimate: Option<f64>,
    #[fibery(enum_field = "workflow/state")]
    state: Option<String>,
    #[fibery(enum_field = "Projects/Priority")]
    priority: Option<Priority>,
    #[fibery(relation = "Projects/Project")]
    project: Option<EntityRef>,
    #[fibery(id)]
    id: Option<Uuid>,
}

mod generated {
    fibery_client::schema!(
        "../fibery-core/tests/fixtures/project-management.json",
        types = ["Projects/Project"],
    );
}

#[tokio::test]
async fn derived_struct_round_trips() {
    let (emu, client) = start().await;
    let tasks = client.entities::<Task>();

    let task = Task {
        id: None,
        name: "From outside".into(),
        estimate: Some(2.5),
        state: Some("In Progress".into()),
        priority: Some(Priority::High),
        project: None,
    };
    let created = tasks.create(task.clone()).await.unwrap();
    let id = created.id.expect("create sets the id");
    assert_eq!(
        created,
        Task {
            id: Some(id),
            ..task.clone()
        }
    );

    let back = tasks.get(id).await.unwrap().expect("the task exists");
    assert_eq!(back, created);
    let found = tasks
        .filter(Filter::eq("Projects/Name", "From outside"))
        .all()
        .await
        .unwrap();
    assert_eq!(found, vec![created]);

    // Plain queries return rows as `fibery_client::Value`.
    let q = Query::from("Projects/Task")
        .select(["Projects/Name"])
        .limit(10);
    let rows = client.query(&q).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Projects/Name"], "From outside");
    // The emulator's rate limiter is off and the client unpaced: nothing was refused.
    assert_eq!(emu.stats().rate_limited, 0);
}

#[tokio::test]
async fn validation_runs_before_any_write() {
    let (emu, client) = start().await;
    let before = emu.stats().requests;
    let bad = Task {
        id: None,
        name: String::new(),
        estimate: Some(-1.0),
        state: None,
        priority: None,
        project: None,
    };
    let err = client.entities::<Task>().create(bad).await.unwrap_err();
    assert!(
        matches!(err, fibery_client::Error::Validation { .. }),
        "{err:?}"
    );
    // The only request is the schema read validation needs (cached from then on).
    assert!(emu.stats().requests - before <= 1);
    assert!(emu.entities("Projects/Task").is_empty());
}

#[tokio::test]
async fn generated_struct_round_trips() {
    let (_emu, client) = start().await;
    let projects = client.entities::<generated::Project>();
    let created = projects
        .create(generated::Project {
            id: None,
            name: Some("Outside".into()),
            tasks: vec![],
            start: None,
            brief: None,
            task_count: None,
        })
        .await
        .unwrap();
    let back = projects.get(created.id.unwrap()).await.unwrap().unwrap();
    assert_eq!(back.name.as_deref(), Some("Outside"));
    assert_eq!(back.id, created.id);
}

#[path = "roundtrip/typed.rs"]
mod typed;
