//! Helpers shared by the integration test binaries (each uses a part of them).
#![allow(dead_code)]

use std::time::Duration;

use fibery_client::oauth::{OAuthApp, Tokens};
use fibery_client::{Client, ClientBuilder, Error, RetryPolicy, Schema};
use fibery_emulator::{Emulator, EmulatorBuilder, RateLimits};
use futures::{Stream, TryStreamExt};
use serde_json::{Value, json};
use wiremock::MockServer;

/// The token of the wiremock tests (checked never to leak).
pub const WIRE_TOKEN: &str = "sekrit-token-0123456789";

/// A file of `fibery-core/tests/fixtures`.
pub fn fixture(name: &str) -> String {
    let p = format!(
        "{}/../fibery-core/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// An emulator on the fixture schema `name` (`<name>.json`) with its enum options
/// (`<name>.options.json`) seeded, accepting `token`, rate-limited by `limits` or not at all.
pub async fn emulator(name: &str, token: &str, limits: Option<RateLimits>) -> Emulator {
    let b = emulator_builder(name, token);
    let b = match limits {
        Some(l) => b.rate_limits(l),
        None => b.without_rate_limits(),
    };
    b.start().await.unwrap()
}

/// The builder of an emulator on the fixture schema `name` with its options seeded,
/// accepting `token`, without rate limits.
pub fn emulator_builder(name: &str, token: &str) -> EmulatorBuilder {
    let schema = Schema::parse(&fixture(&format!("{name}.json"))).unwrap();
    let options: Value = serde_json::from_str(&fixture(&format!("{name}.options.json"))).unwrap();
    Emulator::builder()
        .schema(schema)
        .token(token)
        .seed_json(options)
        .without_rate_limits()
}

/// A client for a wiremock server: unpaced, no merging, 3 quick retries.
pub fn wire_client(server: &MockServer) -> ClientBuilder {
    client_for(&server.uri())
}

/// A client for `base_url` with `token`: unpaced and sending every command at once.
pub fn unpaced(base_url: &str, token: &str) -> ClientBuilder {
    Client::builder()
        .base_url(base_url)
        .token(token)
        .requests_per_second(0)
        .batch_window(Duration::ZERO)
}

/// [`wire_client`] for any loopback base URL.
pub fn client_for(base_url: &str) -> ClientBuilder {
    unpaced(base_url, WIRE_TOKEN).retry(
        RetryPolicy::default()
            .with_initial_backoff(Duration::from_millis(20))
            .with_max_retries(3),
    )
}

/// An unpaced client for `base_url` signed in through `app` with `tokens`.
pub fn oauth_client(base_url: &str, app: &OAuthApp, tokens: Tokens) -> Client {
    Client::builder()
        .base_url(base_url)
        .oauth(app.clone(), tokens)
        .requests_per_second(0)
        .build()
        .unwrap()
}

/// Asserts that `result` is the failure of the command at `index`, a `command`, with
/// Fibery's error `name`.
pub fn assert_command_failed(
    result: &Result<Value, Error>,
    index: usize,
    command: &str,
    name: &str,
) {
    match result {
        Err(Error::Command {
            index: i,
            command: c,
            error,
        }) => assert_eq!(
            (*i, c.as_str(), error.name.as_str()),
            (index, command, name)
        ),
        other => panic!("{other:?}"),
    }
}

/// Every row of a query stream, in order.
pub async fn rows(stream: impl Stream<Item = Result<Value, Error>>) -> Vec<Value> {
    stream.try_collect().await.unwrap()
}

/// A small query command, as JSON.
pub fn query_cmd() -> Value {
    json!({"command": "fibery.entity/query", "args": {"query": {"q/from": "A/B", "q/select": ["fibery/id"], "q/limit": 1}}})
}
