//! `fibery export`, `schema dump`, `codegen`, `query` and `emulator`.

use std::io::{BufWriter, Read, Write};

use fibery_core::schema::Schema;
use serde_json::{Map, Value, json};

use crate::cli::{
    CodegenArgs, EmulatorArgs, ExportArgs, ExportFormat, GlobalOpts, QueryArgs, SchemaCommand,
};
use crate::conn::{Conn, SAMPLE_SCHEMA, SAMPLE_SEED, Target};
use crate::error::{CliError, EXIT_OK, Result};
use crate::fields::{self, FieldKind};

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
    let where_ = a
        .where_
        .as_deref()
        .map(|w| parse_json("--where", w))
        .transpose()?;
    let params = a
        .params
        .as_deref()
        .map(|p| parse_json("--params", p))
        .transpose()?
        .unwrap_or(json!({}));
    let conn = Conn::open(g, 100).await?;
    note_embedded(g, &conn);
    let r = export_with(&conn, a, where_, params).await;
    conn.close().await;
    r
}

async fn export_with(
    conn: &Conn,
    a: &ExportArgs,
    where_: Option<Value>,
    params: Value,
) -> Result<i32> {
    let schema = conn.schema().await?;
    let td = fields::type_def(&schema, &a.type_name)
        .ok_or_else(|| unknown_type(&schema, &a.type_name))?;
    let mut cols = Vec::new();
    let wanted: Vec<String> = if a.fields.is_empty() {
        td.fields
            .iter()
            .filter(|f| !f.deleted && (f.name == "fibery/id" || !fields::is_readonly(f)))
            .map(|f| f.name.clone())
            .collect()
    } else {
        a.fields.clone()
    };
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
        let kind = FieldKind::of(&schema, f);
        if kind == FieldKind::File {
            if !a.fields.is_empty() {
                return Err(CliError::usage(format!(
                    "exporting files ({name}) is not supported"
                )));
            }
            continue;
        }
        let title = match &kind {
            FieldKind::Relation { target, .. } => fields::type_def(&schema, target)
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
    let mut select_plain = Vec::new();
    let mut select_obj = Map::new();
    for c in &cols {
        match &c.kind {
            FieldKind::Relation {
                collection: false, ..
            }
            | FieldKind::Enum { multi: false, .. } => {
                let mut inner = vec![json!("fibery/id")];
                if let Some(t) = &c.title {
                    inner.push(json!(t));
                }
                select_obj.insert(c.field.clone(), Value::Array(inner));
            }
            FieldKind::Relation {
                collection: true, ..
            }
            | FieldKind::Enum { multi: true, .. } => {
                let mut inner = vec![json!("fibery/id")];
                if let Some(t) = &c.title {
                    inner.push(json!(t));
                }
                select_obj.insert(c.field.clone(), json!({"q/select": inner, "q/limit": 100}));
            }
            FieldKind::RichText => {
                select_obj.insert(c.field.clone(), json!(["Collaboration~Documents/secret"]));
            }
            _ => select_plain.push(json!(c.field)),
        }
    }
    let doc_fields: Vec<String> = cols
        .iter()
        .filter(|c| c.kind == FieldKind::RichText)
        .map(|c| c.field.clone())
        .collect();
    if !select_obj.is_empty() {
        select_plain.push(Value::Object(select_obj));
    }
    let mut q = json!({"q/from": a.type_name, "q/select": select_plain});
    if let Some(w) = where_ {
        q["q/where"] = w;
    }
    let mut out = open_out(a.out.as_deref())?;
    let mut csv_out = if a.format == ExportFormat::Csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(cols.iter().map(|c| c.field.as_str()))
            .map_err(|e| CliError::failure(e.to_string()))?;
        out.write_all(&w.into_inner().unwrap_or_default())?;
        Some(())
    } else {
        None
    };
    let ids = a.ids;
    let mut pager = conn
        .pager(&q, &params, a.page_size)
        .pages_per_request(a.pages_per_request);
    while let Some(mut rows) = pager.next().await? {
        // Rich text: one documents request per page, content in place of the secret.
        if !doc_fields.is_empty() {
            let secrets: Vec<String> = rows
                .iter()
                .flat_map(|r| {
                    doc_fields
                        .iter()
                        .filter_map(move |f| r[f]["Collaboration~Documents/secret"].as_str())
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
            for r in &mut rows {
                for f in &doc_fields {
                    let content = r[f]["Collaboration~Documents/secret"]
                        .as_str()
                        .and_then(|s| docs.get(s))
                        .map(|c| Value::String(c.clone()))
                        .unwrap_or(Value::Null);
                    r[f] = content;
                }
            }
        }
        for row in rows {
            let flat = flatten(&cols, &row, ids);
            if csv_out.is_some() {
                let mut w = csv::Writer::from_writer(Vec::new());
                let cells: Vec<String> = cols
                    .iter()
                    .map(|c| match flat.get(&c.field) {
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
                    })
                    .collect();
                w.write_record(&cells)
                    .map_err(|e| CliError::failure(e.to_string()))?;
                out.write_all(&w.into_inner().unwrap_or_default())?;
            } else {
                serde_json::to_writer(&mut out, &flat)
                    .map_err(|e| CliError::failure(e.to_string()))?;
                out.write_all(b"\n")?;
            }
        }
        out.flush()?;
    }
    csv_out.take();
    out.flush()?;
    Ok(EXIT_OK)
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

fn unknown_type(schema: &Schema, name: &str) -> CliError {
    let e = CliError::usage(format!("type \"{name}\" is not in the workspace schema"));
    match fields::did_you_mean(
        name,
        schema
            .types
            .iter()
            .filter(|t| t.meta.domain)
            .map(|t| t.name.as_str()),
    ) {
        Some(s) => e.hint(format!(
            "did you mean \"{s}\"? (`fibery schema dump` lists the types)"
        )),
        None => e.hint("`fibery schema dump` lists the types"),
    }
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
                let td = fields::type_def(&schema, t).ok_or_else(|| unknown_type(&schema, t))?;
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
