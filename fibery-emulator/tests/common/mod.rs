//! Shared helpers for the emulator integration tests.
#![allow(dead_code)]

use fibery_emulator::{Emulator, EmulatorBuilder, Faults};
use serde_json::{Value, json};

pub const TOKEN: &str = "test-token";

fn fixture(name: &str) -> Value {
    let p = format!(
        "{}/../fibery-core/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&p).expect("fixture readable"))
        .expect("fixture json")
}

/// Builder with the project-management schema, its enum options and no rate limits.
pub fn pm_builder() -> EmulatorBuilder {
    let schema =
        fibery_emulator::schema_from_value(fixture("project-management.json")).expect("schema");
    Emulator::builder()
        .schema(schema)
        .seed_json(fixture("project-management.options.json"))
        .token(TOKEN)
        .without_rate_limits()
}

/// Builder with the project-management schema and no seed (as `--schema` alone).
pub fn pm_schema_only_builder() -> EmulatorBuilder {
    let schema =
        fibery_emulator::schema_from_value(fixture("project-management.json")).expect("schema");
    Emulator::builder()
        .schema(schema)
        .token(TOKEN)
        .without_rate_limits()
}

/// An emulator with the all-primitives schema, no seed and no rate limits.
pub async fn prims() -> Emulator {
    let schema = fibery_emulator::schema_from_value(fixture("all-primitives.json"));
    let builder = Emulator::builder().schema(schema.expect("schema"));
    let builder = builder.token(TOKEN).without_rate_limits();
    builder.start().await.expect("emulator starts")
}

/// The project-management schema fixture as JSON.
pub fn pm_schema_json() -> Value {
    fixture("project-management.json")
}

pub async fn pm() -> Emulator {
    pm_builder().start().await.expect("emulator starts")
}

/// [`pm`] with these faults injected.
pub async fn pm_with_faults(faults: Faults) -> Emulator {
    pm_builder()
        .faults(faults)
        .start()
        .await
        .expect("emulator starts")
}

pub fn options() -> Value {
    fixture("project-management.options.json")
}

/// Id of the enum option with this name in the options fixture.
pub fn option_id(enum_type: &str, name: &str) -> String {
    options()[enum_type]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["enum/name"] == name)
        .unwrap()["fibery/id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(emu: &Emulator) -> Self {
        Api {
            base: emu.base_url(),
            http: reqwest::Client::new(),
        }
    }

    /// POSTs a body to /api/commands; returns (status, json).
    pub async fn raw(&self, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/api/commands", self.base))
            .header("Authorization", format!("Token {TOKEN}"))
            .json(body)
            .send()
            .await
            .expect("request");
        let st = r.status().as_u16();
        (st, r.json().await.unwrap_or(Value::Null))
    }

    /// One command; returns its envelope.
    pub async fn cmd(&self, command: &str, args: Value) -> Value {
        let (st, v) = self.raw(&json!([{"command": command, "args": args}])).await;
        assert_eq!(st, 200, "{command}: {v}");
        v[0].clone()
    }

    /// One command that must succeed; returns its result.
    pub async fn ok(&self, command: &str, args: Value) -> Value {
        let env = self.cmd(command, args.clone()).await;
        assert_eq!(env["success"], true, "{command} {args} failed: {env}");
        env["result"].clone()
    }

    /// One command that must fail; returns the error name.
    pub async fn err(&self, command: &str, args: Value) -> String {
        let env = self.cmd(command, args.clone()).await;
        assert_eq!(env["success"], false, "{command} {args} should fail: {env}");
        env["result"]["name"].as_str().unwrap().to_string()
    }

    pub async fn query(&self, query: Value, params: Value) -> Value {
        self.ok(
            "fibery.entity/query",
            json!({"query": query, "params": params}),
        )
        .await
    }

    pub async fn create(&self, ty: &str, entity: Value) -> Value {
        self.ok(
            "fibery.entity/create",
            json!({"type": ty, "entity": entity}),
        )
        .await
    }

    /// Creates a project named `name`; returns its id.
    pub async fn project(&self, name: &str) -> String {
        self.create("Projects/Project", json!({"Projects/Name": name}))
            .await["fibery/id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// An authorized request to `path` (below the base URL).
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("Token {TOKEN}"))
    }

    /// An authorized POST of the JSON `body` to `path`, sent.
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        let r = self
            .req(reqwest::Method::POST, path)
            .json(body)
            .send()
            .await;
        r.expect("request")
    }

    /// An authorized GET of `path`, sent.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        let r = self.req(reqwest::Method::GET, path).send().await;
        r.expect("request")
    }

    /// [`Api::get`] of a JSON answer.
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.expect("a JSON answer")
    }

    /// A GET of the admin API's `path` (the API token is one of its credentials) as JSON.
    pub async fn admin_json(&self, path: &str) -> Value {
        self.get_json(path).await
    }

    pub async fn task(&self, name: &str, extra: Value) -> String {
        let mut e = json!({"Projects/Name": name});
        for (k, v) in extra.as_object().unwrap() {
            e[k] = v.clone();
        }
        self.create("Projects/Task", e).await["fibery/id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}
