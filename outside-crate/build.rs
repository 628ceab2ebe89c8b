//! Collects the Rust code blocks of the user-facing docs into `$OUT_DIR/doc_examples.md`,
//! which `src/lib.rs` compiles as doctests: the examples are built exactly as written, from a
//! crate whose manifest names only fibery-client.

use std::fmt::Write as _;
use std::path::Path;

/// Doc sources, relative to this crate, and whether they are Rust files (doc comments) or
/// markdown.
const SOURCES: [(&str, bool); 4] = [
    ("../README.md", false),
    ("../fibery-client/README.md", false),
    ("../fibery-client/src/lib.rs", true),
    ("../fibery-derive/src/lib.rs", true),
];

fn main() {
    let mut out =
        String::from("Examples of the fibery-rs docs, built from outside the workspace.\n\n");
    for (path, rust) in SOURCES {
        println!("cargo::rerun-if-changed={path}");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let doc = if rust {
            doc_comments(&text)
        } else {
            text.lines().map(str::to_owned).collect()
        };
        for (n, block) in code_blocks(&doc).into_iter().enumerate() {
            writeln!(out, "## {path} #{n}\n\n```{}\n{}\n```\n", block.0, block.1).unwrap();
        }
    }
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("doc_examples.md");
    std::fs::write(dest, out).unwrap();
}

/// The text of `//!` and `///` comments, one entry per line, prefix and one space removed.
fn doc_comments(src: &str) -> Vec<String> {
    src.lines()
        .filter_map(|l| {
            let t = l.trim_start();
            let rest = t.strip_prefix("//!").or_else(|| t.strip_prefix("///"))?;
            Some(rest.strip_prefix(' ').unwrap_or(rest).to_owned())
        })
        .collect()
}

/// The fenced blocks that rustdoc would run as Rust: (info string, body). Blocks with a
/// language other than Rust (`sh`, `json`, `text`, ...) and empty ones are skipped.
fn code_blocks(lines: &[String]) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, Vec<&str>)> = None;
    for line in lines {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => open = Some((info.trim().to_owned(), Vec::new())),
            (Some(_), Some(_)) => {
                let (info, body) = open.take().unwrap();
                if is_rust(&info) && body.iter().any(|l| !l.trim().is_empty()) {
                    blocks.push((info, body.join("\n")));
                }
            }
            (Some((_, body)), None) => body.push(line),
            (None, None) => {}
        }
    }
    blocks
}

fn is_rust(info: &str) -> bool {
    info.split(',').map(str::trim).all(|t| {
        matches!(t, "" | "rust" | "no_run" | "should_panic" | "compile_fail")
            || t.starts_with("edition")
    })
}
