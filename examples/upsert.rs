//! Idempotent sync: upsert by an external key, twice; the second run updates in place.

use fibery_examples::{Task, connect};

fn rows(version: u32) -> Vec<Task> {
    (0..40)
        .map(|i| Task {
            name: format!("Issue {i} (v{version})"),
            external_id: Some(format!("JIRA-{i}")),
            tags: if version == 2 {
                vec!["api".into()]
            } else {
                vec![]
            },
            ..Task::default()
        })
        .collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let session = connect().await?;
    let tasks = session.client.entities::<Task>();
    let first = tasks.upsert_all(rows(1), "Projects/External Id").await?;
    let second = tasks.upsert_all(rows(2), "Projects/External Id").await?;
    let same = first.ids() == second.ids();
    println!(
        "first run: {} ids; second run kept the same ids: {same}",
        first.ids().len()
    );
    let all = tasks.all().await?;
    println!(
        "{} tasks in the database; e.g. {:?}",
        all.len(),
        all.first().map(|t| (&t.name, &t.tags))
    );
    session.finish().await;
    Ok(())
}
