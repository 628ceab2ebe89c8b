//! `fibery import` validates every row before it sends anything: of 1,000 rows with 5
//! invalid ones, the 995 are written, the 5 are in the rejects file, and no byte the CLI sent
//! carries any of them (the CLI's twin of fibery-client's `records` test).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// Every byte the clients of a [`relay`] sent, one buffer per connection.
type Sent = Arc<Mutex<Vec<Vec<u8>>>>;

/// A loopback TCP relay to `target` that keeps what the client side sends; returns its
/// base URL. Answers pass through untouched.
async fn relay(target: SocketAddr) -> (String, Sent) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sent: Sent = Arc::default();
    let log = sent.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let outbound = TcpStream::connect(target).await.unwrap();
            let conn = {
                let mut l = log.lock().unwrap();
                l.push(Vec::new());
                l.len() - 1
            };
            let log = log.clone();
            let (mut from_client, mut to_client) = inbound.into_split();
            let (mut from_server, mut to_server) = outbound.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
            });
            tokio::spawn(async move {
                let mut buf = vec![0; 64 * 1024];
                while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                    log.lock().unwrap()[conn].extend_from_slice(&buf[..n]);
                    if to_server.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = to_server.shutdown().await;
            });
        }
    });
    (base, sent)
}

/// Whether `needle` occurs in `hay`.
fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Requests among the bytes sent: each has one HTTP/1.1 request line (a body, JSON, holds no
/// raw CRLF), and the next request starts right after the previous body.
fn requests_sent(sent: &[Vec<u8>]) -> usize {
    let line_end = b" HTTP/1.1\r\n";
    sent.iter()
        .map(|c| c.windows(line_end.len()).filter(|w| w == line_end).count())
        .sum()
}

/// The invalid rows, one per rule: (csv line, field blamed, rule, values only this row has).
fn invalid_rows() -> [(&'static str, &'static str, &'static str, [&'static str; 2]); 5] {
    [
        (
            "B-1,,Apollo,Open,Low,,1.0,1,,false",
            "Projects/Name",
            "required",
            ["B-1", "B-1"],
        ),
        (
            "B-2,Bad priority qz2,Apollo,Open,Urgentest,,1.0,1,,false",
            "Projects/Priority",
            "unknown-option",
            ["qz2", "Urgentest"],
        ),
        (
            "B-3,Bad estimate qz3,Apollo,Open,Low,,two hours,1,,false",
            "Projects/Estimate",
            "wrong-type",
            ["qz3", "two hours"],
        ),
        (
            "B-4,Bad due qz4,Apollo,Open,Low,,1.0,1,2026-02-30,false",
            "Projects/Due",
            "wrong-type",
            ["qz4", "2026-02-30"],
        ),
        // Beyond an int field's bounds (Fibery's texts have no length bound to break).
        (
            "B-5,Bad effort qz5,Apollo,Open,Low,,1.0,99999999999999999999,,false",
            "Projects/Effort",
            "wrong-type",
            ["qz5", "99999999999999999999"],
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_rows_five_invalid_write_995_and_send_nothing_of_the_five() {
    let (emu, dir) = setup().await;
    // Data rows (1-based) where the invalid ones go.
    let bad_at = [11, 201, 451, 701, 1000];
    let mut good = good_rows(995).into_iter().map(|r| r.1);
    let mut bad = invalid_rows().into_iter();
    let lines: Vec<String> = (1..=1000)
        .map(|row| match bad_at.contains(&row) {
            true => bad.next().unwrap().0.to_string(),
            false => good.next().unwrap(),
        })
        .collect();
    write_csv(dir.path(), "tasks.csv", &lines);
    let (base, sent) = relay(emu.addr()).await;
    let o = output(fibery_via(&base, dir.path(), &upsert("tasks.csv", &[]))).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));

    // The 995 valid rows, each once; none of the invalid ones.
    assert_each_task_once(&emu, 995);
    assert!(external_ids(&emu).iter().all(|i| i.starts_with("T-")));

    // One reject per invalid row, in order, with its row, field, rule and reason.
    let rejects = json_lines(&read(dir.path(), "tasks.rejects.jsonl"));
    assert_eq!(rejects.len(), 5, "{}", text(&o));
    for ((r, row), (line, field, rule, _)) in rejects.iter().zip(bad_at).zip(invalid_rows()) {
        assert_eq!(r["row"], row, "{r}");
        assert_eq!(r["field"], field, "{r}");
        assert_eq!(r["errors"][0]["rule"], rule, "{r}");
        assert!(!r["reason"].as_str().unwrap().is_empty(), "{r}");
        assert_eq!(r["record"]["External Id"], line[..3], "{r}");
    }

    // The relay saw every request the emulator logged, and no byte of the invalid rows.
    let sent = sent.lock().unwrap().clone();
    assert_eq!(requests_sent(&sent), emu.request_log().len());
    for (_, _, _, values) in invalid_rows() {
        for v in values {
            assert!(!sent.iter().any(|c| contains(c, v)), "{v} was sent");
        }
    }
    // ... while the valid rows' values were (the search finds what is there).
    for id in ["T-0001", "T-0010", "T-0011", "T-0450", "T-0995"] {
        assert!(sent.iter().any(|c| contains(c, id)), "{id} not sent");
    }
    emu.shutdown().await;
}
