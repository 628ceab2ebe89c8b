//! A wrong port fails fast: a refused connection gets at most `MAX_CONNECT_RETRIES` quick
//! retries, and the error names the URL.

use std::time::Duration;

use fibery_client::retry::MAX_CONNECT_RETRIES;
use fibery_client::{Client, Error, Query};

/// Nothing listens on port 1 of the loopback interface.
const REFUSED: &str = "http://127.0.0.1:1";

fn assert_refused(e: &Error) {
    assert!(matches!(e, Error::Transport { sent: false, .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains(REFUSED), "the message names the URL: {msg}");
    assert!(!msg.contains("refused-token"), "{msg}");
}

#[tokio::test]
async fn a_refused_connection_fails_within_ten_seconds_naming_the_url() {
    // Default settings, as a new user has them: pacing, 8 retries, backoff from 500 ms.
    let client = Client::builder()
        .base_url(REFUSED)
        .token("refused-token")
        .build()
        .unwrap();
    let q = Query::from("fibery/user").select(["user/name"]).limit(1);
    let r = tokio::time::timeout(Duration::from_secs(10), client.query(&q))
        .await
        .expect("a refused connection fails in under 10 s");
    assert_refused(&r.unwrap_err());
    let stats = client.stats();
    assert_eq!(stats.retries, u64::from(MAX_CONNECT_RETRIES));
    assert_eq!(stats.requests, u64::from(MAX_CONNECT_RETRIES) + 1);

    // The schema endpoint goes through the same loop.
    let r = tokio::time::timeout(Duration::from_secs(10), client.schema())
        .await
        .expect("a refused connection fails in under 10 s");
    assert_refused(&r.unwrap_err());
}
