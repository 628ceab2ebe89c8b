//! `fibery export`, `schema dump`, `codegen`, `query` and `emulator`.

use std::io::{BufWriter, Read, Write};

use fibery_core::query::{Filter, Query, Select, SelectItem, SubQuery};
use fibery_core::schema::Schema;
use futures::TryStreamExt;
use serde_json::{Map, Value, json};

use crate::cli::{
    CodegenArgs, EmulatorArgs, ExportArgs, ExportFormat, GlobalOpts, QueryArgs, SchemaCommand,
};
use crate::conn::{Conn, SAMPLE_SCHEMA, SAMPLE_SEED, Target};
use crate::error::{CliError, EXIT_OK, Result};
use crate::fields::{self, DOC_SECRET, FieldKind};

fn parse_json(what: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        CliError::usage(format!("{what} is not valid JSON: {e}"))
            .hint("quote it for the shell: '...'")
    })
}

fn open_out(path: Option<&std::path::Path>) -> Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(BufWriter::new(std::fs::File::create(p).map_err(|e| {
            CliError::failure(format!("cannot write {}: {e}", p.display()))
        })?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}

fn note_embedded(g: &GlobalOpts, conn: &Conn) {
    if conn.target == Target::Embedded && !g.quiet {
        eprintln!(
            "note: no --account or --base-url: using an embedded emulator with the sample schema"
        );
    }
}

/// `--where`, read with `--params` into core's typed filter (a `$name` of `--params`
/// becomes its value).
fn export_filter(a: &ExportArgs) -> Result<Option<Filter>> {
    let Some(w) = a.where_.as_deref() else {
        return Ok(None);
    };
    let w = parse_json("--where", w)?;
    let params = match a
        .params
        .as_deref()
        .map(|p| parse_json("--params", p))
        .transpose()?
    {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(CliError::usage("--params must be a JSON object")
                .hint(r#"example: --params '{"$done": true}'"#));
        }
    };
    Filter::from_json(&w, &params)
        .map(Some)
        .map_err(|e| CliError::usage(format!("--where is not a Fibery filter: {e}")))
}

/// One exported column: the field, its kind, and the select expression.
struct ExportCol {
    field: String,
    kind: FieldKind,
    title: Option<String>,
}

/// Runs `fibery export`.
pub async fn export(g: &GlobalOpts, a: &ExportArgs) -> Result<i32> {
    if a.page_size == 0 {
        return Err(CliError::usage("--page-size must be at least 1"));
    }
    if a.pages_per_request == 0 {
        return Err(CliError::usage("--pages-per-request must be at least 1"));
    }
    let where_ = export_filter(a)?;
    let conn = Conn::open(g, 100).await?;
    note_embedded(g, &conn);
    let r = export_with(&conn, a, where_).await;
    conn.close().await;
    r
}

async fn export_with(conn: &Conn, a: &ExportArgs, where_: Option<Filter>) -> Result<i32> {
    let schema = conn.schema().await?;
    let cols = export_columns(&schema, a)?;
    let doc_fields: Vec<String> = cols
        .iter()
        .filter(|c| c.kind == FieldKind::RichText)
        .map(|c| c.field.clone())
        .collect();
    let mut q = Query::from(&a.type_name).with_select(export_select(&cols));
    if let Some(w) = where_ {
        q = q.filter(w);
    }
    let mut out = open_out(a.out.as_deref())?;
    if a.format == ExportFormat::Csv {
        write_csv_record(&mut out, cols.iter().map(|c| c.field.clone()))?;
    }
    if let Some(state) = &a.since {
        return export_changes(conn, a, q, &cols, &doc_fields, out, state).await;
    }
    let mut pages = std::pin::pin!(conn.pages(&q, a.page_size, a.pages_per_request));
    while let Some(mut rows) = pages.try_next().await? {
        write_page(conn, a, &cols, &doc_fields, &mut rows, &mut out).await?;
    }
    out.flush()?;
    Ok(EXIT_OK)
}

/// `--since`: the change feed from the saved cursor; the state file is replaced only after
/// every row is written and flushed.
async fn export_changes(
    conn: &Conn,
    a: &ExportArgs,
    q: Query,
    cols: &[ExportCol],
    doc_fields: &[String],
    mut out: Box<dyn Write>,
    state: &std::path::Path,
) -> Result<i32> {
    let cursor = crate::since::load(state, &a.type_name)?;
    let mut feed = conn
        .client
        .changes(&a.type_name)
        .with_select(q.select)
        .page_size(a.page_size)
        .since(cursor);
    if let Some(f) = q.filter {
        feed = feed.filter(f);
    }
    while let Some(mut rows) = feed
        .next_page()
        .await
        .map_err(|e| crate::conn::read_error("reading changes failed", &e))?
    {
        write_page(conn, a, cols, doc_fields, &mut rows, &mut out).await?;
    }
    out.flush()?;
    drop(out);
    crate::since::save(state, &a.type_name, feed.cursor())?;
    Ok(EXIT_OK)
}

/// Writes one page of rows (rich text filled in) as JSON lines or CSV records.
async fn write_page(
    conn: &Conn,
    a: &ExportArgs,
    cols: &[ExportCol],
    doc_fields: &[String],
    rows: &mut [Value],
    out: &mut Box<dyn Write>,
) -> Result<()> {
    if !doc_fields.is_empty() {
        fill_documents(conn, doc_fields, rows).await?;
    }
    for row in rows.iter() {
        let flat = flatten(cols, row, a.ids);
        if a.format == ExportFormat::Csv {
            write_csv_record(out, cols.iter().map(|c| csv_cell(flat.get(&c.field))))?;
        } else {
            serde_json::to_writer(&mut *out, &flat)
                .map_err(|e| CliError::failure(e.to_string()))?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The exported columns: `--fields` in order, or every writable field (and `fibery/id`);
/// files are skipped (and refused when asked for by name).
fn export_columns(schema: &Schema, a: &ExportArgs) -> Result<Vec<ExportCol>> {
    let td = fields::type_def(schema, &a.type_name)
        .ok_or_else(|| fields::unknown_type(schema, &a.type_name))?;
    let wanted: Vec<String> = if a.fields.is_empty() {
        td.fields
            .iter()
            .filter(|f| !f.deleted && (f.name == "fibery/id" || !fields::is_readonly(f)))
            .map(|f| f.name.clone())
            .collect()
    } else {
        a.fields.clone()
    };
    let mut cols = Vec::new();
    for name in &wanted {
        let f = fields::field_def(td, name).ok_or_else(|| {
            let e = CliError::usage(format!(
                "--fields: \"{name}\" is not a field of {}",
                td.name
            ));
            match fields::did_you_mean(name, td.fields.iter().map(|f| f.name.as_str())) {
                Some(s) => e.hint(format!("did you mean \"{s}\"?")),
                None => e,
            }
        })?;
        let kind = FieldKind::of(schema, f);
        if kind == FieldKind::File {
            if !a.fields.is_empty() {
                return Err(CliError::usage(format!(
                    "exporting files ({name}) is not supported"
                )));
            }
            continue;
        }
        let title = match &kind {
            FieldKind::Relation { target, .. } => fields::type_def(schema, target)
                .and_then(fields::title_field)
                .map(|f| f.name.clone()),
            FieldKind::Enum { .. } => Some("enum/name".to_string()),
            _ => None,
        };
        cols.push(ExportCol {
            field: f.name.clone(),
            kind,
            title,
        });
    }
    Ok(cols)
}

/// Rich text: one documents request per page, the content in place of the secret.
async fn fill_documents(conn: &Conn, doc_fields: &[String], rows: &mut [Value]) -> Result<()> {
    let secrets: Vec<String> = rows
        .iter()
        .flat_map(|r| {
            doc_fields
                .iter()
                .filter_map(move |f| r[f][DOC_SECRET].as_str())
        })
        .map(str::to_string)
        .collect();
    let docs = if secrets.is_empty() {
        Default::default()
    } else {
        conn.client
            .documents(&secrets, fibery_core::entity::DocFormat::Md)
            .await
            .map_err(|e| crate::conn::read_error("reading rich text failed", &e))?
    };
    for r in rows {
        for f in doc_fields {
            let content = r[f][DOC_SECRET]
                .as_str()
                .and_then(|s| docs.get(s))
                .map(|c| Value::String(c.clone()))
                .unwrap_or(Value::Null);
            r[f] = content;
        }
    }
    Ok(())
}

/// One CSV cell: text as is, a list joined by ", ", empty for nothing.
fn csv_cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// Writes one CSV record (quoted as needed) to `out`.
fn write_csv_record(out: &mut dyn Write, cells: impl IntoIterator<Item = String>) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cells)
        .map_err(|e| CliError::failure(e.to_string()))?;
    out.write_all(&w.into_inner().unwrap_or_default())?;
    Ok(())
}

/// The select of an export: plain fields as they are; single relations and enums by id and
/// title; collections as a sub-query of ids and titles; rich text by its document secret.
fn export_select(cols: &[ExportCol]) -> Select {
    let mut items = Vec::new();
    for c in cols {
        let inner = std::iter::once("fibery/id").chain(c.title.as_deref());
        let item = match &c.kind {
            FieldKind::Relation {
                collection: false, ..
            }
            | FieldKind::Enum { multi: false, .. } => SelectItem::deref(&c.field, inner),
            FieldKind::Relation {
                collection: true, ..
            }
            | FieldKind::Enum { multi: true, .. } => {
                SelectItem::sub_query(&c.field, SubQuery::new().select(inner).limit(100))
            }
            FieldKind::RichText => SelectItem::deref(&c.field, [DOC_SECRET]),
            _ => SelectItem::field(&c.field),
        };
        items.push(item);
    }
    Select::Fields(items)
}

fn flatten(cols: &[ExportCol], row: &Value, ids: bool) -> Map<String, Value> {
    let mut m = Map::new();
    let pick = |c: &ExportCol, v: &Value| -> Value {
        if ids {
            return v.get("fibery/id").cloned().unwrap_or(Value::Null);
        }
        match &c.title {
            Some(t) => v.get(t).cloned().unwrap_or(Value::Null),
            None => v.get("fibery/id").cloned().unwrap_or(Value::Null),
        }
    };
    for c in cols {
        let v = row.get(&c.field).cloned().unwrap_or(Value::Null);
        let out = match (&c.kind, &v) {
            (_, Value::Null) if c.kind.is_collection() => Value::Array(vec![]),
            (
                FieldKind::Relation {
                    collection: false, ..
                }
                | FieldKind::Enum { multi: false, .. },
                Value::Object(_),
            ) => pick(c, &v),
            (_, Value::Array(items)) if c.kind.is_collection() => {
                Value::Array(items.iter().map(|i| pick(c, i)).collect())
            }
            _ => v,
        };
        m.insert(c.field.clone(), out);
    }
    m
}

/// Runs `fibery schema ...`.
pub async fn schema(g: &GlobalOpts, c: &SchemaCommand) -> Result<i32> {
    let SchemaCommand::Dump { type_name, all } = c;
    let conn = Conn::open(g, 100).await?;
    note_embedded(g, &conn);
    let r = async {
        let schema = conn.schema().await?;
        let v = match type_name {
            Some(t) => {
                let td =
                    fields::type_def(&schema, t).ok_or_else(|| fields::unknown_type(&schema, t))?;
                serde_json::to_value(td)
            }
            None if *all => serde_json::to_value(&*schema),
            None => {
                let mut s = (*schema).clone();
                s.types.retain(|t| t.meta.domain);
                serde_json::to_value(&s)
            }
        }
        .map_err(|e| CliError::failure(e.to_string()))?;
        let text = if g.json {
            v.to_string()
        } else {
            serde_json::to_string_pretty(&v).unwrap_or_default()
        };
        println!("{text}");
        Ok(EXIT_OK)
    }
    .await;
    conn.close().await;
    r
}

/// Runs `fibery codegen`.
pub async fn codegen(g: &GlobalOpts, a: &CodegenArgs) -> Result<i32> {
    let conn = Conn::open(g, 100).await?;
    note_embedded(g, &conn);
    let r = async {
        let schema = conn.schema().await?;
        let code = fibery_codegen::generate(&schema, &a.types, &fibery_codegen::Options::default())
            .map_err(|e| {
                CliError::usage(format!("codegen: {e}"))
                    .hint("`fibery schema dump` lists the types")
            })?;
        let mut out = open_out(a.out.as_deref())?;
        out.write_all(code.as_bytes())?;
        out.flush()?;
        Ok(EXIT_OK)
    }
    .await;
    conn.close().await;
    r
}

/// Runs `fibery query`.
pub async fn query(g: &GlobalOpts, a: &QueryArgs) -> Result<i32> {
    let text = if a.query == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else if let Some(p) = a.query.strip_prefix('@') {
        std::fs::read_to_string(p).map_err(|e| CliError::usage(format!("cannot read {p}: {e}")))?
    } else {
        a.query.clone()
    };
    let v = parse_json("the query", &text)?;
    let args = if v.get("query").is_some() {
        v
    } else if v.get("q/from").is_some() {
        json!({"query": v, "params": {}})
    } else {
        return Err(CliError::usage("the query must be {\"query\": {...}, \"params\": {...}} or {\"q/from\": ...}")
            .hint("example: fibery query '{\"q/from\": \"Projects/Task\", \"q/select\": [\"Projects/Name\"], \"q/limit\": 5}'"));
    };
    let conn = Conn::open(g, 100).await?;
    note_embedded(g, &conn);
    let r = conn.query_args(args).await;
    conn.close().await;
    let rows = r?;
    let mut out = std::io::stdout().lock();
    if g.json {
        for row in rows {
            writeln!(out, "{row}")?;
        }
    } else {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        )?;
    }
    Ok(EXIT_OK)
}

/// Runs `fibery emulator` until Ctrl-C.
pub async fn emulator(g: &GlobalOpts, a: &EmulatorArgs) -> Result<i32> {
    let schema_text = match &a.schema {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", p.display())))?,
        None => SAMPLE_SCHEMA.to_string(),
    };
    let schema = Schema::parse(&schema_text)
        .map_err(|e| CliError::usage(format!("the schema file is not a Fibery schema: {e}")))?;
    let seed = match (&a.seed, &a.schema) {
        (Some(p), _) => Some(parse_json(
            "the seed file",
            &std::fs::read_to_string(p)
                .map_err(|e| CliError::usage(format!("cannot read {}: {e}", p.display())))?,
        )?),
        (None, None) => Some(parse_json("the sample seed", SAMPLE_SEED)?),
        (None, Some(_)) => None,
    };
    let mut b = fibery_emulator::Emulator::builder()
        .schema(schema)
        .bind(([127, 0, 0, 1], a.port).into());
    if let Some(s) = seed {
        b = b.seed_json(s);
    }
    let tokens = if a.accept_tokens.is_empty() {
        vec!["dev-token".to_string()]
    } else {
        a.accept_tokens.clone()
    };
    for t in &tokens {
        b = b.token(t.clone());
    }
    if a.no_rate_limits {
        b = b.without_rate_limits();
    }
    let emu = b.start().await.map_err(|e| {
        CliError::failure(format!("cannot start the emulator: {e}"))
            .hint("is the port in use? try --port 0")
    })?;
    if g.json {
        println!("{}", json!({"base_url": emu.base_url()}));
    } else if !g.quiet {
        println!("fibery emulator listening on {}", emu.base_url());
        if a.accept_tokens.is_empty() {
            println!(
                "try: FIBERY_TOKEN=dev-token fibery --base-url {} schema dump",
                emu.base_url()
            );
        }
        println!("press Ctrl-C to stop");
    }
    std::io::stdout().flush()?;
    let _ = tokio::signal::ctrl_c().await;
    emu.shutdown().await;
    Ok(EXIT_OK)
}
