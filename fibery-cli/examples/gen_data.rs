//! Writes the sample import file `examples/data/tasks.csv` (deterministic).
//!
//! ```sh
//! cargo run -p fibery-cli --example gen_data -- examples/data/tasks.csv 10000
//! ```
//!
//! About one row in a hundred is deliberately bad (impossible dates, a non-numeric estimate,
//! an unknown priority, an empty name, an unknown project, ...) so that the import shows
//! its rejects file. The same arguments always produce the same bytes.

use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .unwrap_or_else(|| "examples/data/tasks.csv".to_string());
    let rows: u64 = match args.next() {
        Some(n) => n.parse()?,
        None => 10_000,
    };
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    fibery_cli::sample::write_tasks_csv(&mut out, rows)?;
    out.flush()?;
    Ok(())
}
