//! `/api/webhooks/v2`: subscriptions, and delivery of write effects to loopback subscribers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::response::{self, Answer, bad_request, server_error};
use crate::server::state::Shared;
use crate::store::{Effect, Webhook};
use fibery_core::value::format_date_time;

fn webhook_json(w: &Webhook) -> Value {
    json!({"id": w.id, "url": w.url, "type": w.type_name, "state": "active", "version": "2", "runs": w.runs})
}

/// `GET /api/webhooks/v2`.
pub(crate) async fn list(State(sh): State<Arc<Shared>>) -> Answer {
    let s = sh.read().map_err(server_error)?;
    let list: Vec<Value> = s.webhooks.iter().map(webhook_json).collect();
    Ok(response::json(list))
}

/// `POST /api/webhooks/v2` `{url, type}`; `type` is a type name or its id.
pub(crate) async fn create(State(sh): State<Arc<Shared>>, body: Bytes) -> Answer {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| bad_request(&format!("Body must be JSON {{\"url\", \"type\"}}: {e}")))?;
    let (Some(url), Some(ty)) = (
        v.get("url").and_then(Value::as_str),
        v.get("type").and_then(Value::as_str),
    ) else {
        return Err(bad_request("\"url\" and \"type\" are required"));
    };
    if reqwest::Url::parse(url).is_err() {
        return Err(bad_request(&format!("\"{url}\" is not a valid URL")));
    }
    let mut s = sh.store().map_err(server_error)?;
    let Some(tname) = s
        .schema
        .types
        .iter()
        .find(|t| !t.deleted && (t.name == ty || t.id.as_deref() == Some(ty)))
        .map(|t| t.name.clone())
    else {
        return Err(bad_request(&format!("\"{ty}\" database was not found.")));
    };
    let w = Webhook {
        id: s.next_webhook_id,
        url: url.to_string(),
        type_name: tname,
        runs: vec![],
    };
    s.next_webhook_id += 1;
    s.webhooks.push(w.clone());
    sh.persistence.record(&mut s);
    Ok(response::json(webhook_json(&w)))
}

/// `DELETE /api/webhooks/v2/{id}`.
pub(crate) async fn remove(State(sh): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let id = id
        .parse::<u64>()
        .map_err(|_| bad_request("webhook id must be an integer"))?;
    let mut s = sh.store().map_err(server_error)?;
    let before = s.webhooks.len();
    s.webhooks.retain(|w| w.id != id);
    if s.webhooks.len() == before {
        return Err(response::not_found(&format!("Webhook {id} was not found.")));
    }
    sh.persistence.record(&mut s);
    Ok(response::json(json!({})))
}

/// What one commands request changed, for delivery.
pub(crate) struct Changes {
    pub effects: Vec<Effect>,
    pub author: String,
    pub sequence: u64,
    pub correlation_id: Option<String>,
}

/// Posts each subscriber its type's effects in the background (to targets the outbound rule
/// allows, every redirect hop included) and records the run.
pub(crate) fn deliver(sh: &Arc<Shared>, changes: Changes) {
    let Ok(s) = sh.read() else { return };
    let hooks = s.webhooks.clone();
    let type_ids: HashMap<String, Value> = s
        .schema
        .types
        .iter()
        .map(|t| (t.name.clone(), json!(t.id)))
        .collect();
    drop(s);
    for h in hooks {
        let mine: Vec<Value> = changes
            .effects
            .iter()
            .filter(|e| e.type_name == h.type_name)
            .map(|e| effect_json(e, type_ids.get(&e.type_name)))
            .collect();
        if mine.is_empty() || !sh.outbound.allows_str(&h.url) {
            continue;
        }
        let payload = json!({
            "sequenceId": changes.sequence, "authorId": changes.author,
            "creationDate": format_date_time(time::OffsetDateTime::now_utc()),
            "command": {"correlationId": changes.correlation_id}, "effects": mine,
        });
        tokio::spawn(post(sh.clone(), h, payload));
    }
}

fn effect_json(e: &Effect, type_id: Option<&Value>) -> Value {
    let mut o = json!({"effect": e.effect, "id": e.id, "type": e.type_name,
        "typeId": type_id.cloned().unwrap_or(Value::Null), "acl-index": 0});
    if !e.values.is_null() {
        o["values"] = e.values.clone();
    }
    if !e.values_before.is_null() {
        o["valuesBefore"] = e.values_before.clone();
    }
    o
}

async fn post(sh: Arc<Shared>, h: Webhook, payload: Value) {
    let started = Instant::now();
    let status = match sh.http.post(&h.url).json(&payload).send().await {
        Ok(r) => r.status().as_u16().to_string(),
        Err(_) => "error".to_string(),
    };
    if let Ok(mut s) = sh.store()
        && let Some(w) = s.webhooks.iter_mut().find(|w| w.id == h.id)
    {
        w.runs.push(
            json!({"http_status": status, "elapsed_time": started.elapsed().as_millis().to_string(),
            "request_time": format_date_time(time::OffsetDateTime::now_utc())}),
        );
    }
}
