//! Quickstart: a typed entity, batched creates, a query, an update.
//!
//! `cargo run --example quickstart` (in-process emulator), or
//! `FIBERY_LIVE=1 FIBERY_ACCOUNT=acme FIBERY_TOKEN=... cargo run ...` against a real workspace
//! that has the `Projects/Task` database.

use fibery_client::{Filter, Order, Query};
use fibery_examples::{Task, connect};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let session = connect().await?;
    let client = &session.client;
    let tasks = client.entities::<Task>();

    // 250 creates -> ceil(250 / 100) = 3 requests, enum names resolved to option ids.
    let new: Vec<Task> = (0..250)
        .map(|i| Task {
            name: format!("Task #{i}"),
            effort: Some(i % 8),
            done: i % 5 == 0,
            priority: Some(["Low", "Medium", "High"][i as usize % 3].to_owned()),
            state: Some("Open".into()),
            ..Task::default()
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
        name: String::new(),
        effort: Some(-1),
        ..Task::default()
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
