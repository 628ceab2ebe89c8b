//! Quickstart: a typed entity, batched creates, a query, an update.
//!
//! `cargo run -p fibery-client --example quickstart` (in-process emulator), or
//! `FIBERY_LIVE=1 FIBERY_ACCOUNT=acme FIBERY_TOKEN=... cargo run ...` against a real workspace
//! that has the `Projects/Task` database.

mod common;

use fibery_client::{EntityRef, FiberyEntity, Filter, Order, Query, Validate};
use uuid::Uuid;

#[derive(FiberyEntity, Validate, Debug, Clone)]
#[fibery(type = "Projects/Task")]
struct Task {
    #[fibery(id)]
    id: Option<Uuid>,
    #[fibery(field = "Projects/Name")]
    #[validate(length(min = 1, max = 200))]
    name: String,
    #[fibery(field = "Projects/Effort")]
    #[validate(range(min = 0))]
    effort: Option<i64>,
    #[fibery(field = "Projects/Done")]
    done: bool,
    #[fibery(enum_field = "Projects/Priority")]
    priority: Option<String>,
    #[fibery(enum_field = "workflow/state")]
    state: Option<String>,
    #[fibery(relation = "Projects/Project")]
    project: Option<EntityRef>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let session = common::connect().await?;
    let client = &session.client;
    let tasks = client.entities::<Task>();

    // 250 creates -> ceil(250 / 100) = 3 requests, enum names resolved to option ids.
    let new: Vec<Task> = (0..250)
        .map(|i| Task {
            id: None,
            name: format!("Task #{i}"),
            effort: Some(i % 8),
            done: i % 5 == 0,
            priority: Some(["Low", "Medium", "High"][i as usize % 3].to_owned()),
            state: Some("Open".into()),
            project: None,
        })
        .collect();
    let report = tasks.create_all(new).await?;
    println!(
        "created {} tasks ({} failed)",
        report.ids().len(),
        report.failed()
    );

    // A validation error never reaches the network.
    let bad = Task {
        id: None,
        name: String::new(),
        effort: Some(-1),
        done: false,
        priority: None,
        state: None,
        project: None,
    };
    if let Err(e) = tasks.create(bad).await {
        println!("rejected locally: {e}");
    }

    // Typed filter + count.
    let open_high = tasks
        .clone()
        .filter(Filter::eq(["Projects/Priority", "enum/name"], "High"))
        .filter(Filter::eq("Projects/Done", false));
    println!("open high-priority tasks: {}", open_high.count().await?);

    // Raw query with the builder.
    let q = Query::from("Projects/Task")
        .select(["fibery/id", "Projects/Name", "Projects/Effort"])
        .filter(Filter::ge("Projects/Effort", 6))
        .order_by("Projects/Effort", Order::Desc)
        .limit(5);
    for row in client.query(&q).await? {
        println!(
            "  {} effort={}",
            row["Projects/Name"], row["Projects/Effort"]
        );
    }

    // Find and update: mark every effort-7 task done and move it to "Done".
    let r = tasks
        .find_and_update(Filter::eq("Projects/Effort", 7), |t| {
            t.done = true;
            t.state = Some("Done".into());
        })
        .await?;
    println!("updated {} tasks", r.ids().len());

    session.finish().await;
    Ok(())
}
