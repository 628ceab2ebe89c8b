//! Two-way sync: webhook events at a receiver, the change feed, comments, OAuth.

use std::time::Duration;

use fibery_client::{Client, ClientBuilder, RetryPolicy, Uuid};
use fibery_emulator::Emulator;

mod changes;
mod comments;
mod oauth;
mod receiver;

const TOKEN: &str = "sync-test-token-0042";
const TASK: &str = "Projects/Task";

async fn emulator() -> Emulator {
    crate::common::emulator("project-management", TOKEN, None).await
}

/// An unpaced client that sends each command in its own request.
fn client(emu: &Emulator) -> ClientBuilder {
    Client::builder()
        .base_url(emu.base_url())
        .token(TOKEN)
        .requests_per_second(0)
        .batch_window(Duration::ZERO)
        .retry(RetryPolicy::default().with_initial_backoff(Duration::from_millis(10)))
}

/// A task as a user writes it.
#[fibery_client::entity(type = "Projects/Task")]
#[derive(Debug, Clone, PartialEq)]
struct Task {
    #[fibery(id)]
    id: Option<Uuid>,
    #[fibery(field = "Projects/Name")]
    name: String,
    #[fibery(field = "Projects/Effort")]
    effort: Option<i64>,
}

/// The same type with every field optional: what an update effect (changed fields only)
/// decodes into.
#[fibery_client::entity(type = "Projects/Task")]
#[derive(Debug, Clone, PartialEq)]
struct TaskPatch {
    #[fibery(id)]
    id: Option<Uuid>,
    #[fibery(field = "Projects/Name")]
    name: Option<String>,
    #[fibery(field = "Projects/Effort")]
    effort: Option<i64>,
}

fn task(name: &str) -> Task {
    Task {
        id: None,
        name: name.into(),
        effort: None,
    }
}
