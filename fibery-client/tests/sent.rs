//! Snapshots of the HTTP requests the client really sends, one per public write and read
//! method. A recording proxy (a wiremock server that forwards every request to the
//! emulator and hands back its answer) sits between the client and the emulator: the
//! answers are the emulator's, and the bodies are exactly what went over the wire.
//!
//! Random values are replaced so that snapshots are stable: UUIDs by `<id-N>` (numbered in
//! order of appearance, so one id keeps one name across a snapshot), loopback ports by
//! `<port>`, multipart boundaries by `<boundary>`.

use std::collections::HashMap;

use fibery_client::core::command::Command;
use fibery_client::core::entity::DocFormat;
use fibery_client::{
    Client, Entities, EntityRef, FiberyEntity, Filter, Query, RelationKind, SchemaBatch, Validate,
};
use fibery_emulator::Emulator;
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

mod common;

const TOKEN: &str = "sent-token";
const TASK: &str = "Projects/Task";

#[derive(FiberyEntity, Validate, Debug, Clone, PartialEq, Default)]
#[fibery(type = "Projects/Task")]
struct Task {
    #[fibery(id)]
    id: Option<Uuid>,
    #[fibery(field = "Projects/Name")]
    #[validate(length(min = 1))]
    name: String,
    #[fibery(field = "Projects/External Id")]
    external_id: Option<String>,
    #[fibery(field = "Projects/Effort")]
    effort: Option<i64>,
    #[fibery(rich_text = "Projects/Description", format = "md")]
    description: Option<String>,
    #[fibery(relation = "Projects/Project")]
    project: Option<EntityRef>,
    #[fibery(enum_field = "Projects/Priority")]
    priority: Option<String>,
    #[fibery(enum_field = "Projects/Tags")]
    tags: Vec<String>,
}

fn task(name: &str) -> Task {
    Task {
        name: name.into(),
        effort: Some(3),
        priority: Some("High".into()),
        tags: vec!["api".into()],
        description: Some("Some **bold** text".into()),
        ..Default::default()
    }
}

/// Forwards a request to the emulator and returns its answer. wiremock responders are
/// synchronous, so the forwarding runs on a thread of its own with its own runtime.
struct Forward {
    target: String,
}

impl Respond for Forward {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut url = format!("{}{}", self.target, req.url.path());
        if let Some(q) = req.url.query() {
            url = format!("{url}?{q}");
        }
        let mut headers = req.headers.clone();
        headers.remove("host");
        headers.remove("content-length");
        let (method, body) = (req.method.clone(), req.body.clone());
        std::thread::scope(|s| {
            s.spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let resp = reqwest::Client::new()
                        .request(method, url)
                        .headers(headers)
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    let mut out = ResponseTemplate::new(resp.status().as_u16());
                    let content_type = resp
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("application/octet-stream")
                        .to_owned();
                    for (k, v) in resp.headers() {
                        let skip = ["content-type", "content-length", "transfer-encoding"];
                        if !skip.contains(&k.as_str()) {
                            out = out.insert_header(k.clone(), v.clone());
                        }
                    }
                    let bytes = resp.bytes().await.unwrap().to_vec();
                    out.set_body_raw(bytes, &content_type)
                })
            })
            .join()
            .unwrap()
        })
    }
}

/// The emulator (fixture schema and options), the recording proxy in front of it, and a
/// client talking to the proxy with its schema already fetched.
struct Rig {
    emu: Emulator,
    proxy: MockServer,
    client: Client,
}

impl Rig {
    async fn start() -> Rig {
        let emu = common::emulator("project-management", TOKEN, None).await;
        let proxy = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(Forward {
                target: emu.base_url(),
            })
            .mount(&proxy)
            .await;
        let client = common::unpaced(&proxy.uri(), TOKEN).build().unwrap();
        client.schema().await.unwrap();
        Rig { emu, proxy, client }
    }

    /// A started rig and its mark.
    async fn marked() -> (Rig, usize) {
        let rig = Rig::start().await;
        let mark = rig.mark().await;
        (rig, mark)
    }

    /// A started rig with one task named `name` created, its id, and the mark after it.
    async fn with_task(name: &str) -> (Rig, Uuid, usize) {
        let rig = Rig::start().await;
        let id = rig.seeded_task(name).await;
        let mark = rig.mark().await;
        (rig, id, mark)
    }

    /// How many requests the proxy has seen.
    async fn mark(&self) -> usize {
        self.proxy.received_requests().await.unwrap().len()
    }

    /// The requests after `mark`, rendered and normalized.
    async fn sent_since(&self, mark: usize) -> String {
        let reqs = self.proxy.received_requests().await.unwrap();
        let mut out = String::new();
        for r in &reqs[mark..] {
            out.push_str(&render(r));
            out.push('\n');
        }
        Normalizer::default().run(&out)
    }

    /// Typed access to the tasks.
    fn tasks(&self) -> Entities<Task> {
        self.client.entities::<Task>()
    }

    /// A task to work on, created before a test takes its mark (so not in its snapshot).
    async fn seeded_task(&self, name: &str) -> Uuid {
        let created = self.tasks().create(task(name)).await;
        created.unwrap().id.unwrap()
    }
}

/// `METHOD /path?query`, the content type, and the body (pretty JSON, or text).
fn render(r: &Request) -> String {
    let mut s = format!("{} {}", r.method, r.url.path());
    if let Some(q) = r.url.query() {
        s.push('?');
        s.push_str(q);
    }
    s.push('\n');
    let header = |name: &str| {
        r.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    for name in ["content-type", "if-none-match"] {
        let v = header(name);
        if !v.is_empty() {
            s.push_str(&format!("{name}: {v}\n"));
        }
    }
    let ct = header("content-type");
    if r.body.is_empty() {
        return s;
    }
    match serde_json::from_slice::<Value>(&r.body) {
        Ok(v) if ct.starts_with("application/json") => {
            s.push_str(&serde_json::to_string_pretty(&v).unwrap());
            s.push('\n');
        }
        _ => {
            s.push_str(&String::from_utf8_lossy(&r.body).replace("\r\n", "\n"));
            s.push('\n');
        }
    }
    s
}

/// Replaces random values by stable placeholders.
#[derive(Default)]
struct Normalizer {
    ids: HashMap<String, usize>,
}

impl Normalizer {
    fn run(mut self, text: &str) -> String {
        let text = self.boundaries(text);
        let text = ports(&text);
        let chars: Vec<char> = text.chars().collect();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < chars.len() {
            if i + 36 <= chars.len() {
                let cand: String = chars[i..i + 36].iter().collect();
                if Uuid::parse_str(&cand).is_ok() && cand.len() == 36 {
                    let n = self.ids.len() + 1;
                    let n = *self.ids.entry(cand).or_insert(n);
                    out.push_str(&format!("<id-{n}>"));
                    i += 36;
                    continue;
                }
            }
            out.push(chars[i]);
            i += 1;
        }
        out
    }

    fn boundaries(&mut self, text: &str) -> String {
        let mut text = text.to_owned();
        while let Some(at) = text.find("boundary=") {
            let start = at + "boundary=".len();
            let end = text[start..]
                .find(|c: char| c.is_whitespace())
                .map_or(text.len(), |e| start + e);
            let b = text[start..end].to_owned();
            text = text.replace(&format!("boundary={b}"), "boundary<boundary>");
            text = text.replace(&b, "<boundary>");
        }
        text.replace("boundary<boundary>", "boundary=<boundary>")
    }
}

/// `127.0.0.1:PORT` -> `127.0.0.1:<port>`.
fn ports(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("127.0.0.1:") {
        let start = at + "127.0.0.1:".len();
        out.push_str(&rest[..start]);
        let digits = rest[start..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(rest.len() - start, |e| e);
        out.push_str("<port>");
        rest = &rest[start + digits..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn schema_fetch_and_refresh() {
    let rig = Rig::start().await;
    rig.client.refresh_schema().await.unwrap();
    insta::assert_snapshot!(rig.sent_since(0).await);
}

#[tokio::test]
async fn create() {
    let (rig, mark) = Rig::marked().await;
    rig.tasks().create(task("One")).await.unwrap();
    insta::assert_snapshot!(rig.sent_since(mark).await);
}

#[tokio::test]
async fn create_all() {
    let (rig, mark) = Rig::marked().await;
    let items = [task("One"), task("Two")];
    let report = rig.tasks().create_all(items).await.unwrap();
    assert_eq!(report.failed(), 0);
    insta::assert_snapshot!(rig.sent_since(mark).await);
}

#[tokio::test]
async fn upsert_all() {
    let (rig, mark) = Rig::marked().await;
    let items = ["A-1", "A-2"].map(|k| Task {
        external_id: Some(k.into()),
        ..task(k)
    });
    let report = rig
        .tasks()
        .upsert_all(items, "Projects/External Id")
        .await
        .unwrap();
    assert_eq!(report.failed(), 0);
    insta::assert_snapshot!(rig.sent_since(mark).await);
}

#[tokio::test]
async fn update() {
    let (rig, id, mark) = Rig::with_task("Before").await;
    let changed = Task {
        id: Some(id),
        effort: Some(5),
        tags: vec!["backend".into()],
        description: None,
        ..task("After")
    };
    rig.tasks().update(&changed).await.unwrap();
    insta::assert_snapshot!(rig.sent_since(mark).await);
}

#[tokio::test]
async fn delete() {
    let (rig, id, mark) = Rig::with_task("Doomed").await;
    rig.tasks().delete(id).await.unwrap();
    insta::assert_snapshot!(rig.sent_since(mark).await);
}

#[tokio::test]
async fn collection_add_and_remove() {
    let rig = Rig::start().await;
    let id = rig.seeded_task("Tagged").await;
    let backend = rig
        .client
        .resolve_option(TASK, "Projects/Tags", "backend")
        .await
        .unwrap();
    let mark = rig.mark().await;
    let tasks = rig.tasks();
    tasks
        .add_to_collection(id, "Projects/Tags", &[backend])
        .await
        .unwrap();
    tasks
        .remove_from_collection(id, "Projects/Tags", &[backend])
        .await
        .unwrap();
    insta::assert_snapshot!(rig.sent_since(mark).await);
}

#[tokio::test]
async fn query() {
    let (rig, mark) = Rig::marked().await;
    let q = Query::from(TASK)
        .select(["fibery/id", "Projects/Name"])
        .select_relation("Projects/Project", ["Projects/Name"])
        .filter(Filter::contains("Projects/Name", "api").and(Filter::ge("Projects/Effort", 2)))
        .order_by("fibery/creation-date", fibery_client::Order::Desc)
        .limit(10);
    rig.client.query(&q).await.unwrap();
    insta::assert_snapshot!(rig.sent_since(mark).await);
}

#[tokio::test]
async fn query_stream_pages() {
    let rig = Rig::start().await;
    let items: Vec<Task> = (0..3).map(|i| task(&format!("row {i}"))).collect();
    rig.tasks().create_all(items).await.unwrap();
    let mark = rig.mark().await;
    let q = Query::from(TASK)
        .select(["Projects/Name"])
        .filter(Filter::ge("Projects/Effort", 1));
    let rows = common::rows(rig.client.query_stream(&q).page_size(2)).await;
    assert_eq!(rows.len(), 3);
    let one_request = rig.mark().await;
    let rows = common::rows(
        rig.client
            .query_stream(&q)
            .page_size(2)
            .pages_per_request(2),
    )
    .await;
    assert_eq!(rows.len(), 3);
    insta::assert_snapshot!(
        rig.sent_since(mark).await
            + "--- the same, 2 pages per request, from request "
            + &(one_request - mark).to_string()
    );
}

#[tokio::test]
async fn count() {
    let rig = Rig::start().await;
    rig.seeded_task("Counted").await;
    let mark = rig.mark().await;
    let q = Query::from(TASK).filter(Filter::eq("Projects/Name", "Counted"));
    assert_eq!(rig.client.count(&q).await.unwrap(), 1);
    insta::assert_snapshot!(rig.sent_since(mark).await);
}

#[tokio::test]
async fn schema_mutations() {
    let (rig, mark) = Rig::marked().await;
    let batch = SchemaBatch::new()
        .create_type("Ops/Ticket")
        .field("Ops/Ticket", "Ops/Estimate", "fibery/decimal")
        .field(
            "Ops/Ticket",
            "Ops/Notes",
            "Collaboration~Documents/Document",
        )
        .relation(
            "Projects/Project",
            "Ops/Tickets",
            "Ops/Ticket",
            "Ops/Project",
            RelationKind::OneToMany,
        )
        .single_select("Ops/Ticket", "Ops/Severity", ["Minor", "Major"])
        .multi_select("Ops/Ticket", "Ops/Labels", ["ui"]);
    rig.client.apply_schema(batch).await.unwrap();
    insta::assert_snapshot!(rig.sent_since(mark).await);
}

#[tokio::test]
async fn documents_get_and_set() {
    let (rig, id, mark) = Rig::with_task("Documented").await;
    let c = &rig.client;
    let md = c
        .rich_text(TASK, "Projects/Description", id, DocFormat::Md)
        .await
        .unwrap();
    assert!(md.contains("bold"));
    c.set_rich_text(
        TASK,
        "Projects/Description",
        id,
        DocFormat::Md,
        "New *text*",
    )
    .await
    .unwrap();
    let secret = "00000000-0000-4000-8000-00000000d0c5".to_owned();
    c.set_document(
        &secret,
        DocFormat::Json,
        r#"{"doc": {"type": "doc", "content": []}}"#,
    )
    .await
    .unwrap();
    c.document(&secret, DocFormat::Html).await.unwrap();
    let docs = [(secret.clone(), "batched".to_owned())];
    c.set_documents(&docs, DocFormat::Md).await.unwrap();
    c.documents(&[secret], DocFormat::Md).await.unwrap();
    insta::assert_snapshot!(rig.sent_since(mark).await);
}

#[tokio::test]
async fn files_upload_by_url_and_attach() {
    let rig = Rig::start().await;
    let id = rig.seeded_task("With files").await;
    let storage = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/report.txt"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("report", "text/plain"))
        .mount(&storage)
        .await;
    let mark = rig.mark().await;
    let c = &rig.client;
    let url = format!("{}/report.txt", storage.uri());
    let by_url = c.upload_from_url(&url, Some("report.txt")).await.unwrap();
    let bytes = c
        .upload_bytes("notes.txt", "text/plain", b"notes".to_vec())
        .await
        .unwrap();
    c.attach_files(TASK, id, "Files/Files", &[by_url.id, bytes.id])
        .await
        .unwrap();
    insta::assert_snapshot!(rig.sent_since(mark).await);
}

#[tokio::test]
async fn webhooks_create_list_delete() {
    let rig = Rig::start().await;
    let receiver = MockServer::start().await;
    let mark = rig.mark().await;
    let c = &rig.client;
    let hook = c
        .create_webhook(&format!("{}/hook", receiver.uri()), TASK)
        .await
        .unwrap();
    c.webhooks().await.unwrap();
    c.delete_webhook(hook.id).await.unwrap();
    insta::assert_snapshot!(rig.sent_since(mark).await);
}

#[tokio::test]
async fn execute_and_command() {
    let (rig, mark) = Rig::marked().await;
    let id = Uuid::from_u128(7);
    let create = Command::create(TASK, json!({"fibery/id": id, "Projects/Name": "raw"}));
    let raw = json!({"command": "fibery.entity/update",
        "args": {"type": TASK, "entity": {"fibery/id": id, "Projects/Effort": 8}}});
    let results = rig
        .client
        .execute([serde_json::to_value(create).unwrap(), raw])
        .await
        .unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    rig.client.command(Command::delete(TASK, id)).await.unwrap();
    insta::assert_snapshot!(rig.sent_since(mark).await);
    assert!(rig.emu.entities(TASK).is_empty());
}

#[tokio::test]
async fn command_batch() {
    let (rig, mark) = Rig::marked().await;
    let id = Uuid::from_u128(8);
    let results = rig
        .client
        .command_batch([
            Command::create(TASK, json!({"fibery/id": id, "Projects/Name": "batched"})),
            Command::delete(TASK, id),
        ])
        .await
        .unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    insta::assert_snapshot!(rig.sent_since(mark).await);
}

#[tokio::test]
async fn typed_get_and_count() {
    let (rig, id, mark) = Rig::with_task("Typed").await;
    let tasks = rig.tasks().filter(Filter::ge("Projects/Effort", 1));
    let back = tasks.get(id).await.unwrap().unwrap();
    assert_eq!(back.name, "Typed");
    assert_eq!(tasks.count().await.unwrap(), 1);
    insta::assert_snapshot!(rig.sent_since(mark).await);
}
