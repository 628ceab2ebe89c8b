//! Rich-text document content: stored as Markdown, converted to html / plain text / ProseMirror
//! JSON.
//!
//! The conversion covers headings, paragraphs, bullet lists and bold/italic/code marks: enough
//! for round trips of what SDK users write, not a full CommonMark implementation.

use serde_json::{Value, json};

/// A block of a document.
enum Block {
    Heading(usize, String),
    Para(String),
    List(Vec<String>),
}

fn blocks(md: &str) -> Vec<Block> {
    let mut out = vec![];
    let mut para: Vec<String> = vec![];
    let mut list: Vec<String> = vec![];
    let flush = |para: &mut Vec<String>, list: &mut Vec<String>, out: &mut Vec<Block>| {
        if !para.is_empty() {
            out.push(Block::Para(para.join(" ")));
            para.clear();
        }
        if !list.is_empty() {
            out.push(Block::List(std::mem::take(list)));
        }
    };
    for line in md.lines() {
        let t = line.trim_end();
        let hashes = t.chars().take_while(|c| *c == '#').count();
        if t.trim().is_empty() {
            flush(&mut para, &mut list, &mut out);
        } else if (1..=6).contains(&hashes) && t[hashes..].starts_with(' ') {
            flush(&mut para, &mut list, &mut out);
            out.push(Block::Heading(hashes, t[hashes + 1..].trim().to_string()));
        } else if let Some(item) = t
            .trim_start()
            .strip_prefix("- ")
            .or_else(|| t.trim_start().strip_prefix("* "))
        {
            if !para.is_empty() {
                out.push(Block::Para(para.join(" ")));
                para.clear();
            }
            list.push(item.trim().to_string());
        } else {
            if !list.is_empty() {
                out.push(Block::List(std::mem::take(&mut list)));
            }
            para.push(t.trim().to_string());
        }
    }
    flush(&mut para, &mut list, &mut out);
    out
}

/// Inline spans: (text, marks).
fn spans(s: &str) -> Vec<(String, Vec<&'static str>)> {
    let mut out: Vec<(String, Vec<&'static str>)> = vec![];
    let mut cur = String::new();
    let (mut bold, mut em, mut code) = (false, false, false);
    let marks = |b: bool, e: bool, c: bool| {
        let mut m = vec![];
        if b {
            m.push("strong");
        }
        if e {
            m.push("em");
        }
        if c {
            m.push("code");
        }
        m
    };
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let toggle = if !code && c == '*' && chars.get(i + 1) == Some(&'*') {
            Some(("b", 2))
        } else if !code && (c == '*' || c == '_') {
            Some(("e", 1))
        } else if c == '`' {
            Some(("c", 1))
        } else {
            None
        };
        match toggle {
            Some((k, n)) => {
                if !cur.is_empty() {
                    out.push((std::mem::take(&mut cur), marks(bold, em, code)));
                }
                match k {
                    "b" => bold = !bold,
                    "e" => em = !em,
                    _ => code = !code,
                }
                i += n;
            }
            None => {
                cur.push(c);
                i += 1;
            }
        }
    }
    if !cur.is_empty() {
        out.push((cur, marks(bold, em, code)));
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn inline_html(s: &str) -> String {
    spans(s)
        .into_iter()
        .map(|(t, m)| {
            let mut h = esc(&t);
            for mark in m.iter().rev() {
                h = format!("<{mark}>{h}</{mark}>");
            }
            h
        })
        .collect()
}

fn inline_plain(s: &str) -> String {
    spans(s).into_iter().map(|(t, _)| t).collect()
}

/// Markdown -> HTML.
pub(crate) fn md_to_html(md: &str) -> String {
    blocks(md)
        .into_iter()
        .map(|b| match b {
            Block::Heading(n, t) => format!("<h{n}>{}</h{n}>", inline_html(&t)),
            Block::Para(t) => format!("<p>{}</p>", inline_html(&t)),
            Block::List(items) => format!(
                "<ul>{}</ul>",
                items
                    .iter()
                    .map(|i| format!("<li>{}</li>", inline_html(i)))
                    .collect::<String>()
            ),
        })
        .collect()
}

/// Markdown -> plain text.
pub(crate) fn md_to_plain(md: &str) -> String {
    blocks(md)
        .into_iter()
        .map(|b| match b {
            Block::Heading(_, t) | Block::Para(t) => inline_plain(&t),
            Block::List(items) => items
                .iter()
                .map(|i| inline_plain(i))
                .collect::<Vec<_>>()
                .join("\n"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn text_nodes(s: &str) -> Vec<Value> {
    spans(s)
        .into_iter()
        .map(|(t, m)| {
            if m.is_empty() {
                json!({"type": "text", "text": t})
            } else {
                json!({"type": "text", "text": t, "marks": m.iter().map(|k| json!({"type": k})).collect::<Vec<_>>()})
            }
        })
        .collect()
}

/// Markdown -> Fibery's JSON document (`{"doc": {...}, "comments": []}`).
pub(crate) fn md_to_json(md: &str) -> Value {
    let content: Vec<Value> = blocks(md)
        .into_iter()
        .map(|b| match b {
            Block::Heading(n, t) => json!({"type": "heading", "attrs": {"level": n}, "content": text_nodes(&t)}),
            Block::Para(t) => json!({"type": "paragraph", "content": text_nodes(&t)}),
            Block::List(items) => json!({"type": "bullet_list", "content": items.iter().map(|i| json!({
                "type": "list_item", "content": [{"type": "paragraph", "content": text_nodes(i)}]})).collect::<Vec<_>>()}),
        })
        .collect();
    json!({"doc": {"type": "doc", "content": content}, "comments": []})
}

fn marks_md(text: &str, marks: Option<&Value>) -> String {
    let mut t = text.to_string();
    for m in marks.and_then(Value::as_array).into_iter().flatten() {
        t = match m.get("type").and_then(Value::as_str) {
            Some("strong" | "bold") => format!("**{t}**"),
            Some("em" | "italic") => format!("*{t}*"),
            Some("code") => format!("`{t}`"),
            _ => t,
        };
    }
    t
}

fn inline_md(node: &Value) -> String {
    node.get("content")
        .and_then(Value::as_array)
        .map(|c| {
            c.iter()
                .map(|n| match n.get("text").and_then(Value::as_str) {
                    Some(t) => marks_md(t, n.get("marks")),
                    None => inline_md(n),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Fibery JSON document -> Markdown. Accepts `{"doc": {...}}` or a bare doc node.
pub(crate) fn json_to_md(v: &Value) -> Result<String, String> {
    let doc = v.get("doc").unwrap_or(v);
    let content = doc
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            "JSON document must be {\"doc\": {\"type\": \"doc\", \"content\": [...]}}".to_string()
        })?;
    let mut out = vec![];
    for n in content {
        let ty = n.get("type").and_then(Value::as_str).unwrap_or("");
        match ty {
            "heading" => {
                let lvl = n
                    .get("attrs")
                    .and_then(|a| a.get("level"))
                    .and_then(Value::as_u64)
                    .unwrap_or(1)
                    .clamp(1, 6) as usize;
                out.push(format!("{} {}", "#".repeat(lvl), inline_md(n)));
            }
            "bullet_list" | "ordered_list" => {
                let items: Vec<String> = n
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|li| {
                        let inner = li
                            .get("content")
                            .and_then(Value::as_array)
                            .and_then(|c| c.first())
                            .cloned()
                            .unwrap_or(Value::Null);
                        format!("- {}", inline_md(&inner))
                    })
                    .collect();
                out.push(items.join("\n"));
            }
            _ => out.push(inline_md(n)),
        }
    }
    Ok(out.join("\n\n"))
}

/// HTML -> Markdown (tags of the subset above; everything else is stripped).
pub(crate) fn html_to_md(html: &str) -> String {
    let mut s = html.to_string();
    for n in 1..=6 {
        s = s
            .replace(&format!("<h{n}>"), &format!("\n\n{} ", "#".repeat(n)))
            .replace(&format!("</h{n}>"), "\n\n");
    }
    let pairs = [
        ("<p>", "\n\n"),
        ("</p>", "\n\n"),
        ("<li>", "\n- "),
        ("</li>", ""),
        ("<ul>", "\n"),
        ("</ul>", "\n\n"),
        ("<ol>", "\n"),
        ("</ol>", "\n\n"),
        ("<strong>", "**"),
        ("</strong>", "**"),
        ("<b>", "**"),
        ("</b>", "**"),
        ("<em>", "*"),
        ("</em>", "*"),
        ("<i>", "*"),
        ("</i>", "*"),
        ("<code>", "`"),
        ("</code>", "`"),
        ("<br>", "\n"),
        ("<br/>", "\n"),
    ];
    for (a, b) in pairs {
        s = s.replace(a, b);
    }
    // Strip any other tag.
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let mut res: Vec<String> = vec![];
    for l in lines {
        if l.is_empty() && res.last().is_none_or(|x| x.is_empty()) {
            continue;
        }
        res.push(l.to_string());
    }
    res.join("\n").trim().to_string()
}

/// Renders stored markdown in a requested format.
pub(crate) fn render(md: &str, format: &str) -> Value {
    match format {
        "html" => json!(md_to_html(md)),
        "plain-text" => json!(md_to_plain(md)),
        "json" => md_to_json(md),
        _ => json!(md),
    }
}

/// Converts incoming content in a format to markdown.
pub(crate) fn ingest(content: &Value, format: &str) -> Result<String, String> {
    match (format, content) {
        ("json", v) => json_to_md(v),
        ("html", Value::String(s)) => Ok(html_to_md(s)),
        ("md" | "plain-text", Value::String(s)) => Ok(s.clone()),
        (_, other) => Err(format!(
            "content must be a string for format {format}, got {other}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_converts_to_each_format_and_back() {
        let md = "# Title\n\nSome **bold** and *em* text.\n\n- one\n- two";
        assert_eq!(
            md_to_html(md),
            "<h1>Title</h1><p>Some <strong>bold</strong> and <em>em</em> text.</p><ul><li>one</li><li>two</li></ul>"
        );
        assert_eq!(md_to_plain(md), "Title\nSome bold and em text.\none\ntwo");
        assert_eq!(json_to_md(&md_to_json(md)).unwrap(), md);
        assert_eq!(html_to_md(&md_to_html(md)), md);
    }
}
