//! Shared by the examples: connect to a real workspace when `FIBERY_LIVE=1` (with
//! `FIBERY_ACCOUNT` and `FIBERY_TOKEN` set), otherwise start an in-process emulator loaded
//! with the project-management fixture schema and its enum options.

#![allow(dead_code)]

use fibery_client::Client;
use fibery_client::core::schema::Schema;
use fibery_emulator::{Emulator, RateLimits};

/// The shared project-management fixture of fibery-core, and its enum options.
const SCHEMA: &str = include_str!("../../../fibery-core/tests/fixtures/project-management.json");
const OPTIONS: &str =
    include_str!("../../../fibery-core/tests/fixtures/project-management.options.json");

/// Keeps the emulator alive for as long as the example runs.
pub struct Session {
    pub client: Client,
    pub emulator: Option<Emulator>,
}

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
