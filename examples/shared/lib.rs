//! Shared by the examples in `examples/` (`cargo run --example NAME` from the repository
//! root): [`connect`] to a real workspace when `FIBERY_LIVE=1` (with `FIBERY_ACCOUNT` and
//! `FIBERY_TOKEN` set), otherwise to an in-process emulator loaded with the
//! project-management fixture schema and its enum options; and the [`Task`] they write.

use fibery_client::core::schema::Schema;
use fibery_client::time::Date;
use fibery_client::{Client, EntityRef, Uuid};
use fibery_emulator::{Emulator, RateLimits};

/// The shared project-management fixture of fibery-core, and its enum options.
const SCHEMA: &str = include_str!("../../fibery-core/tests/fixtures/project-management.json");
const OPTIONS: &str =
    include_str!("../../fibery-core/tests/fixtures/project-management.options.json");

/// A task of the `Projects/Task` database, as the examples write it.
#[fibery_client::entity(type = "Projects/Task")]
#[derive(Debug, Clone, Default)]
pub struct Task {
    /// `fibery/id`.
    #[fibery(id)]
    pub id: Option<Uuid>,
    /// `Projects/Name`.
    #[fibery(field = "Projects/Name")]
    #[validate(length(min = 1, max = 200))]
    pub name: String,
    /// `Projects/External Id`, the key of idempotent upserts.
    #[fibery(field = "Projects/External Id")]
    pub external_id: Option<String>,
    /// `Projects/Effort`.
    #[fibery(field = "Projects/Effort")]
    #[validate(range(min = 0))]
    pub effort: Option<i64>,
    /// `Projects/Estimate`.
    #[fibery(field = "Projects/Estimate")]
    pub estimate: Option<f64>,
    /// `Projects/Due`.
    #[fibery(field = "Projects/Due")]
    pub due: Option<Date>,
    /// `Projects/Done`.
    #[fibery(field = "Projects/Done")]
    pub done: bool,
    /// `Projects/Priority`, by option name.
    #[fibery(enum_field = "Projects/Priority")]
    pub priority: Option<String>,
    /// `workflow/state`, by state name.
    #[fibery(enum_field = "workflow/state")]
    pub state: Option<String>,
    /// `Projects/Tags`, by option names.
    #[fibery(enum_field = "Projects/Tags")]
    pub tags: Vec<String>,
    /// `Projects/Project`.
    #[fibery(relation = "Projects/Project")]
    pub project: Option<EntityRef>,
}

/// Keeps the emulator alive for as long as the example runs.
pub struct Session {
    /// The client of the workspace or emulator.
    pub client: Client,
    /// The in-process emulator, unless `FIBERY_LIVE=1`.
    pub emulator: Option<Emulator>,
}

/// Logs as `RUST_LOG` says (default: warnings), then connects (see the crate docs).
pub async fn connect() -> Result<Session, Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    if std::env::var("FIBERY_LIVE").is_ok_and(|v| v == "1") {
        let client = Client::builder().from_env().build()?;
        return Ok(Session {
            client,
            emulator: None,
        });
    }
    let token = "example-token";
    let options: serde_json::Value = serde_json::from_str(OPTIONS)?;
    let emulator = Emulator::builder()
        .schema(Schema::parse(SCHEMA)?)
        .seed_json(options)
        .token(token)
        .rate_limits(RateLimits::default()) // Fibery's real limits: 3 req/s per token
        .start()
        .await?;
    println!("emulator listening on {}", emulator.base_url());
    let client = Client::builder()
        .base_url(emulator.base_url())
        .token(token)
        .build()?;
    Ok(Session {
        client,
        emulator: Some(emulator),
    })
}

impl Session {
    /// Prints the client's request counts and stops the emulator.
    pub async fn finish(self) {
        let stats = self.client.stats();
        println!(
            "client: {} requests, {} commands, {} retries, {} rate-limited",
            stats.requests, stats.commands, stats.retries, stats.rate_limited
        );
        if let Some(emu) = self.emulator {
            emu.shutdown().await;
        }
    }
}
