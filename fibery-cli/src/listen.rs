//! `fibery listen`: a webhook for one type, its events printed as JSON lines (or appended
//! to a file) until Ctrl-C or `--max-events`; the webhook is removed on the way out.

use std::io::Write;
use std::sync::{Arc, Mutex};

use fibery_client::events::Event;
use fibery_client::receiver::Receiver;
use tokio::sync::watch;

use crate::cli::{GlobalOpts, ListenArgs};
use crate::conn::Conn;
use crate::error::{CliError, EXIT_OK, Result};

type Sink = Arc<Mutex<Box<dyn Write + Send>>>;

fn open_sink(a: &ListenArgs) -> Result<Sink> {
    let w: Box<dyn Write + Send> = match &a.out {
        Some(p) => Box::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| CliError::failure(format!("cannot open {}: {e}", p.display())))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    Ok(Arc::new(Mutex::new(w)))
}

/// Writes one event as a line; flushed, so a reader sees it at once.
fn write_event(sink: &Sink, ev: &Event) {
    let Ok(line) = serde_json::to_string(ev) else {
        return;
    };
    let mut w = sink.lock().expect("sink lock");
    if writeln!(w, "{line}").and_then(|()| w.flush()).is_err() {
        tracing::error!("cannot write an event");
    }
}

/// Runs `fibery listen`.
pub async fn run(g: &GlobalOpts, a: &ListenArgs) -> Result<i32> {
    let sink = open_sink(a)?;
    let conn = Conn::open(g, 100).await?;
    let r = listen(g, &conn, a, sink).await;
    conn.close().await;
    r
}

async fn listen(g: &GlobalOpts, conn: &Conn, a: &ListenArgs, sink: Sink) -> Result<i32> {
    let (count_tx, mut count_rx) = watch::channel(0u64);
    let receiver = Receiver::builder().build(move |ev: Event| {
        write_event(&sink, &ev);
        count_tx.send_modify(|n| *n += 1);
        async {}
    });
    let listener = tokio::net::TcpListener::bind(a.bind)
        .await
        .map_err(|e| CliError::failure(format!("cannot listen on {}: {e}", a.bind)))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::failure(e.to_string()))?;
    let base = a
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{local}"));
    let url = format!("{}{}", base.trim_end_matches('/'), receiver.path());
    let hook = conn
        .client
        .create_webhook(&url, &a.type_name)
        .await
        .map_err(|e| crate::conn::read_error("registering the webhook failed", &e))?;
    if !g.quiet {
        // The URL holds the path secret: only the base is shown.
        eprintln!(
            "listening for changes of {} on {base} (webhook {}); Ctrl-C to stop",
            a.type_name, hook.id
        );
    }
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let shutdown = async move {
        let _ = stop_rx.wait_for(|s| *s).await;
    };
    let server = receiver.serve(listener, shutdown);
    tokio::pin!(server);
    let max = a.max_events.unwrap_or(u64::MAX);
    let served = tokio::select! {
        r = &mut server => Some(r),
        _ = tokio::signal::ctrl_c() => None,
        _ = count_rx.wait_for(|n| *n >= max) => None,
    };
    // Remove the webhook first, so Fibery stops posting, then finish what was accepted.
    let removed = conn.client.delete_webhook(hook.id).await;
    let _ = stop_tx.send(true);
    let served = match served {
        Some(r) => r,
        None => server.await,
    };
    receiver.close().await;
    if !g.quiet {
        eprintln!(
            "stopped after {} events; webhook {} removed",
            receiver.stats().handled,
            hook.id
        );
    }
    removed.map_err(|e| crate::conn::read_error("removing the webhook failed", &e))?;
    served.map_err(|e| CliError::failure(format!("the webhook server failed: {e}")))?;
    Ok(EXIT_OK)
}
