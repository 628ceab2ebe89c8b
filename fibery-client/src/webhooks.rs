//! Webhooks (`/api/webhooks/v2`): create, list, delete.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Client;
use crate::error::Result;
use crate::files::http_url;
use crate::retry::Safety;

/// The body of `POST /api/webhooks/v2`.
#[derive(Serialize)]
struct NewWebhook<'a> {
    url: String,
    #[serde(rename = "type")]
    type_name: &'a str,
}

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
        let body = NewWebhook {
            url: http_url(url, "webhook")?,
            type_name,
        };
        let transport = self.transport();
        transport
            .post_json("/api/webhooks/v2", Safety::Unsafe, &body)
            .await?
            .json("webhook")
    }

    /// Lists the workspace's webhooks.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>> {
        let resp = self
            .transport()
            .send("/api/webhooks/v2", Safety::Idempotent, |http, url| {
                Ok(http.get(url))
            })
            .await?;
        resp.json("webhooks")
    }

    /// Deletes a webhook.
    pub async fn delete_webhook(&self, id: i64) -> Result<()> {
        let path = format!("/api/webhooks/v2/{id}");
        self.transport()
            .send(&path, Safety::Idempotent, |http, url| Ok(http.delete(url)))
            .await?;
        Ok(())
    }
}
