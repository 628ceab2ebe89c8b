//! Writes through the client arrive as typed events at a receiver mounted in the test.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use fibery_client::events::{EffectKind, Event};
use fibery_client::receiver::{Overflow, Receiver};
use fibery_client::{Uuid, json};
use tokio::sync::{Notify, mpsc};

use super::{TASK, Task, TaskPatch, client, emulator, task};

/// Serves the receiver on a loopback port (as a user mounts it, under a prefix); returns
/// the URL to register.
async fn serve(receiver: &Receiver) -> String {
    let app = axum::Router::new().nest("/hooks", receiver.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/hooks{}", receiver.path())
}

/// A receiver forwarding every event to the returned channel.
fn forwarding(capacity: usize, delay: Duration) -> (Receiver, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let r = Receiver::builder()
        .capacity(capacity)
        .overflow(Overflow::WaitUpTo(Duration::from_secs(10)))
        .build(move |ev| {
            let tx = tx.clone();
            async move {
                tokio::time::sleep(delay).await;
                let _ = tx.send(ev);
            }
        });
    (r, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Event>) -> Event {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .expect("channel open")
}

#[tokio::test]
async fn create_update_delete_arrive_as_typed_effects() {
    let emu = emulator().await;
    let client = client(&emu).build().unwrap();
    let (receiver, mut rx) = forwarding(16, Duration::ZERO);
    let hook = client
        .create_webhook(&serve(&receiver).await, TASK)
        .await
        .unwrap();
    let tasks = client.entities::<Task>();

    let created = tasks.create(task("first")).await.unwrap();
    let id = created.id.unwrap();
    let ev = next(&mut rx).await;
    let e = ev.effects_of(TASK).find(|e| e.id == id).unwrap();
    assert_eq!(e.kind, EffectKind::Create);
    assert_eq!(e.after::<Task>().unwrap(), created);
    assert!(e.changed("Projects/Name"));

    let mut renamed = created.clone();
    renamed.name = "second".into();
    renamed.effort = Some(3);
    tasks.update(&renamed).await.unwrap();
    let ev = next(&mut rx).await;
    let e = &ev.effects[0];
    assert_eq!((e.kind.clone(), e.id), (EffectKind::Update, id));
    let mut changed = e.changed_fields();
    changed.sort_unstable();
    assert_eq!(changed, vec!["Projects/Effort", "Projects/Name"]);
    let after = e.after::<TaskPatch>().unwrap();
    let before = e.before::<TaskPatch>().unwrap();
    assert_eq!(
        (after.name.as_deref(), after.effort),
        (Some("second"), Some(3))
    );
    assert_eq!(
        (before.name.as_deref(), before.effort),
        (Some("first"), None)
    );

    tasks.delete(id).await.unwrap();
    let ev = next(&mut rx).await;
    let e = &ev.effects[0];
    assert_eq!((e.kind.clone(), e.id), (EffectKind::Delete, id));
    assert!(e.changed_fields().is_empty());
    assert_eq!(e.before::<Task>().unwrap(), renamed);

    client.delete_webhook(hook.id).await.unwrap();
    receiver.close().await;
    let s = receiver.stats();
    assert_eq!((s.accepted, s.handled, s.rejected), (3, 3, 0));
}

#[tokio::test]
async fn the_correlation_id_of_a_command_comes_back() {
    let emu = emulator().await;
    let client = client(&emu).build().unwrap();
    let (receiver, mut rx) = forwarding(4, Duration::ZERO);
    client
        .create_webhook(&serve(&receiver).await, TASK)
        .await
        .unwrap();
    let cmd = json!({"command": "fibery.entity/create", "correlationId": "sync-run-7",
        "args": {"type": TASK, "entity": {"Projects/Name": "x"}}});
    client.command(cmd).await.unwrap();
    assert_eq!(next(&mut rx).await.correlation_id(), Some("sync-run-7"));
}

#[tokio::test]
async fn a_burst_reaches_a_slow_handler_completely() {
    let emu = emulator().await;
    let client = client(&emu).build().unwrap();
    // A queue far smaller than the burst and a handler slower than the writes: POSTs wait
    // for room instead of losing events.
    let (receiver, mut rx) = forwarding(4, Duration::from_millis(20));
    client
        .create_webhook(&serve(&receiver).await, TASK)
        .await
        .unwrap();
    let writes = (0..40).map(|i| {
        let tasks = client.entities::<Task>();
        async move {
            tasks
                .create(task(&format!("burst {i}")))
                .await
                .unwrap()
                .id
                .unwrap()
        }
    });
    let ids: HashSet<Uuid> = futures::future::join_all(writes)
        .await
        .into_iter()
        .collect();
    assert_eq!(ids.len(), 40);
    let mut seen = HashSet::new();
    while seen.len() < 40 {
        for e in next(&mut rx).await.effects {
            assert_eq!(e.kind, EffectKind::Create);
            assert!(seen.insert(e.id), "effect delivered twice");
        }
    }
    assert_eq!(seen, ids);
    assert_eq!(receiver.stats().rejected, 0);
}

#[tokio::test]
async fn a_full_queue_rejects_with_503_and_the_path_secret_guards_the_endpoint() {
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let (s, r) = (started.clone(), release.clone());
    let receiver = Receiver::builder()
        .capacity(2)
        .overflow(Overflow::Reject)
        .build(move |_ev| {
            let (s, r) = (s.clone(), r.clone());
            async move {
                s.notify_one();
                r.notified().await;
            }
        });
    let url = serve(&receiver).await;
    let http = reqwest::Client::new();
    let body = json!({"sequenceId": 1, "effects": []}).to_string();
    let post = |u: String| {
        let (http, body) = (http.clone(), body.clone());
        async move {
            http.post(u)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(post(url.clone()).await, 200);
    started.notified().await; // the handler holds event 1; the queue is empty
    let statuses = [
        post(url.clone()).await,
        post(url.clone()).await,
        post(url.clone()).await,
    ];
    assert_eq!(statuses, [200, 200, 503]);

    let wrong = url.replace("/hooks/", "/hooks/x");
    assert_eq!(post(wrong).await, 404);
    assert_eq!(post(url.rsplit_once('/').unwrap().0.to_owned()).await, 404);
    let bad = http.post(&url).body("not json").send().await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);

    for _ in 0..3 {
        release.notify_one();
        tokio::task::yield_now().await;
    }
    let closing = receiver.close();
    tokio::pin!(closing);
    loop {
        tokio::select! {
            _ = &mut closing => break,
            _ = tokio::time::sleep(Duration::from_millis(5)) => release.notify_one(),
        }
    }
    let s = receiver.stats();
    assert_eq!((s.accepted, s.handled, s.rejected), (3, 3, 1));
    assert_eq!((s.wrong_path, s.malformed), (2, 1));
    assert_eq!(post(url).await, 503, "a closed receiver accepts nothing");
    assert!(!format!("{receiver:?}").contains(&receiver.path()[1..]));
}
