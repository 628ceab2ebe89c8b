//! One global TRACE subscriber per test binary that keeps every log line in memory, so a
//! test can check that nothing it logged shows a secret.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer lock").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn buffer() -> &'static Buf {
    static CAPTURE: OnceLock<Buf> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        use tracing_subscriber::util::SubscriberInitExt;
        let buf = Buf::default();
        let w = buf.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || w.clone())
            .finish()
            .try_init()
            .expect("install the capturing subscriber");
        buf
    })
}

/// Installs the capture (once per process; also bridges `log` records of reqwest/hyper).
/// Call it before the code whose logs a test checks.
pub fn install() {
    buffer();
}

/// Everything logged since [`install`], as text.
pub fn captured() -> String {
    String::from_utf8_lossy(&buffer().0.lock().expect("log buffer lock")).into_owned()
}
