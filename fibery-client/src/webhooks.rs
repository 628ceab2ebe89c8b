//! Webhooks (`/api/webhooks/v2`): create, list, delete.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::retry::Safety;

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    /// Webhook id (an integer).
    pub id: i64,
    /// Where Fibery POSTs events.
    pub url: String,
    /// The subscribed type (database).
    #[serde(rename = "type")]
    pub type_name: String,
    /// `active`, ...
    #[serde(default)]
    pub state: Option<String>,
    /// Delivery attempts, as Fibery reports them.
    #[serde(default)]
    pub runs: Vec<Value>,
}

impl Client {
    /// Subscribes `url` to changes of `type_name`.
    pub async fn create_webhook(&self, url: &str, type_name: &str) -> Result<Webhook> {
        let parsed =
            url::Url::parse(url).map_err(|e| Error::Config(format!("invalid webhook URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Config("webhook URLs must be http(s)".into()));
        }
        let body = json!({"url": parsed.as_str(), "type": type_name});
        let resp = self
            .post_json("/api/webhooks/v2", Safety::Unsafe, &body)
            .await?;
        resp.json("webhook")
    }

    /// Lists the workspace's webhooks.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>> {
        let url = self.url("/api/webhooks/v2");
        let resp = self
            .send("/api/webhooks/v2", Safety::Idempotent, |http| {
                Ok(http.get(&url))
            })
            .await?;
        resp.json("webhooks")
    }

    /// Deletes a webhook.
    pub async fn delete_webhook(&self, id: i64) -> Result<()> {
        let path = format!("/api/webhooks/v2/{id}");
        let url = self.url(&path);
        self.send(&path, Safety::Idempotent, |http| Ok(http.delete(&url)))
            .await?;
        Ok(())
    }
}
