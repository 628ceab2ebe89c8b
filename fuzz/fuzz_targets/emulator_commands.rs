//! The emulator's `/api/commands` endpoint (body parsing, command dispatch, query engine,
//! writes) on arbitrary bodies, over loopback HTTP: every request must get an HTTP answer
//! (a handler panic drops the connection instead).
#![no_main]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "fuzz-token";

/// Starts one emulator in a background runtime and returns its address.
fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let emu = fibery_emulator::Emulator::builder()
                    .schema(project_management())
                    .seed_json(
                        serde_json::from_str(include_str!("../../fibery-core/tests/fixtures/project-management.options.json"))
                            .expect("seed"),
                    )
                    .token(TOKEN)
                    .without_rate_limits()
                    .start()
                    .await
                    .expect("emulator");
                tx.send(emu.addr()).expect("send addr");
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("emulator address")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut s = TcpStream::connect(server()).expect("connect");
    let head = format!(
        "POST /api/commands HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        data.len()
    );
    s.write_all(head.as_bytes()).expect("write head");
    s.write_all(data).expect("write body");
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(
        answer.starts_with(b"HTTP/1.1 "),
        "no HTTP answer (handler panic?) for {:?}",
        String::from_utf8_lossy(data)
    );
});

/// fibery-core's shared project-management fixture.
fn project_management() -> fibery_core::schema::Schema {
    fibery_core::schema::Schema::parse(include_str!(
        "../../fibery-core/tests/fixtures/project-management.json"
    ))
    .expect("fixture schema")
}
