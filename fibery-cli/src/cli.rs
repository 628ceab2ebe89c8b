//! Command-line definitions (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// `fibery`: batch import/export for Fibery, schema dump, codegen and a local emulator.
///
/// With no --account or --base-url the commands run against an embedded emulator loaded
/// with the sample schema (examples/data/schema.json), so you can try everything offline.
#[derive(Debug, Parser)]
#[command(name = "fibery", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Connection and output options shared by every command.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
#[derive(Debug, Args, Clone)]
pub struct GlobalOpts {
    /// Fibery workspace name: ACCOUNT.fibery.io.
    #[arg(long, env = "FIBERY_ACCOUNT", global = true)]
    pub account: Option<String>,
    /// API token (prefer the FIBERY_TOKEN environment variable; the value is never printed).
    /// Repeat it (or use --token-file) to spread requests over several tokens of one
    /// workspace: each keeps to --rps, all together to 7 requests/s (Fibery's limits).
    #[arg(long, env = "FIBERY_TOKEN", global = true, hide_env_values = true, action = clap::ArgAction::Append)]
    pub token: Vec<String>,
    /// File of API tokens of one workspace, one per line (blank lines and `#` comments
    /// skipped), used together with any --token/FIBERY_TOKEN.
    #[arg(long, env = "FIBERY_TOKEN_FILE", global = true, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Base URL instead of --account (an emulator or a proxy), e.g. http://127.0.0.1:8080.
    #[arg(long, env = "FIBERY_BASE_URL", global = true)]
    pub base_url: Option<String>,
    /// Client-side request limit per second (Fibery allows 3 per token).
    #[arg(long, env = "FIBERY_RPS", global = true, default_value_t = 3)]
    pub rps: u32,
    /// Extra minimum pause between two requests, in milliseconds.
    #[arg(long, env = "FIBERY_DELAY_MS", global = true, default_value_t = 0)]
    pub delay: u64,
    /// Retries of a failed request (429, 5xx, network) before giving up, with exponential backoff.
    #[arg(long, env = "FIBERY_RETRIES", global = true, default_value_t = 8)]
    pub retries: usize,
    /// Print nothing but errors (the exit code tells the outcome).
    #[arg(long, short, global = true, conflicts_with = "json")]
    pub quiet: bool,
    /// Machine-readable output: one JSON object (or JSON lines) on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log to stderr: -v progress notes, -vv every request and 429 wait, -vvv everything.
    /// Without it warnings (each retry) are shown, or what RUST_LOG selects.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import a CSV or JSONL file: validate every row, then create or upsert in batches.
    Import(ImportArgs),
    /// Export every entity of a type (all pages) as JSON lines or CSV.
    Export(ExportArgs),
    /// Work with the workspace schema.
    #[command(subcommand)]
    Schema(SchemaCommand),
    /// Generate a Rust struct with #[derive(FiberyEntity)] for a type.
    Codegen(CodegenArgs),
    /// Run one fibery.entity/query (JSON) and print the rows.
    Query(QueryArgs),
    /// Run a local Fibery API emulator.
    Emulator(EmulatorArgs),
    /// Register a webhook for a type and print its events as JSON lines until Ctrl-C;
    /// the webhook is removed on exit.
    Listen(ListenArgs),
}

/// `fibery listen`.
#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Type to watch, e.g. "Projects/Task".
    #[arg(long = "type", short = 't')]
    pub type_name: String,
    /// Address to receive webhook POSTs on.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: std::net::SocketAddr,
    /// The address Fibery reaches this machine at (e.g. an HTTPS tunnel to --bind);
    /// default `http://BOUND_ADDRESS`, which only a local emulator can reach.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Append events to this file instead of printing them.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Stop after this many events.
    #[arg(long)]
    pub max_events: Option<u64>,
}

/// Input file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// `fibery import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV or JSONL file to import.
    pub file: PathBuf,
    /// Target type, e.g. "Projects/Task".
    #[arg(long = "type", short = 't')]
    pub type_name: String,
    /// Column-to-field mapping file (TOML). Without it columns map by field name.
    #[arg(long)]
    pub map: Option<PathBuf>,
    /// Upsert key field (text, int or date; e.g. "Projects/External Id"): create-or-update.
    /// Without it rows are created with ids derived from their content.
    #[arg(long)]
    pub key: Option<String>,
    /// Create instead of upsert even with --key (ids are UUID v5 of the key: re-runs never duplicate).
    #[arg(long)]
    pub create: bool,
    /// Entities per request.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Validate and report, but write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Where to write rejected rows (JSON lines). Default: next to the input, NAME.rejects.jsonl.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Journal file. Default: next to the input, NAME.journal.jsonl.
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Continue an interrupted import: skip batches the journal knows are written.
    #[arg(long)]
    pub resume: bool,
    /// Input format (default: from the file extension).
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// Separator between values of multi-value columns (multi-selects, collections).
    #[arg(long, default_value = ",")]
    pub separator: String,
    /// Hide the progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// Output formats of `fibery export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header row (column names are field names).
    Csv,
}

/// `fibery export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Type to export, e.g. "Projects/Task".
    #[arg(long = "type", short = 't')]
    pub type_name: String,
    /// A q/where expression (JSON), e.g. '["=", ["Projects/Done"], "$done"]'.
    #[arg(long = "where")]
    pub where_: Option<String>,
    /// Parameters for --where (JSON object), e.g. '{"$done": true}'.
    #[arg(long)]
    pub params: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    pub format: ExportFormat,
    /// Output file (default: stdout).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Rows per page.
    #[arg(long, default_value_t = 1000)]
    pub page_size: usize,
    /// Pages fetched per HTTP request: several `fibery/id`-cursor pages at small offsets in
    /// one request, which counts once against the rate limit (1 = one page per request).
    #[arg(long, default_value_t = 1)]
    pub pages_per_request: usize,
    /// Only these fields (comma separated); default: every writable field.
    #[arg(long, value_delimiter = ',')]
    pub fields: Vec<String>,
    /// Write relation and enum values as ids instead of names.
    #[arg(long)]
    pub ids: bool,
    /// Export only what changed since the run that wrote STATE_FILE (all on the first run),
    /// then update STATE_FILE atomically. Deleted entities are not reported.
    #[arg(long, value_name = "STATE_FILE")]
    pub since: Option<PathBuf>,
}

/// `fibery schema ...`.
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Print the schema (all types, or one) as JSON.
    Dump {
        /// Only this type.
        #[arg(long = "type", short = 't')]
        type_name: Option<String>,
        /// Include platform types, primitives and enums.
        #[arg(long)]
        all: bool,
    },
}

/// `fibery codegen`.
#[derive(Debug, Args)]
pub struct CodegenArgs {
    /// Type(s) to generate structs for.
    #[arg(long = "type", short = 't', required = true)]
    pub types: Vec<String>,
    /// Output file (default: stdout).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

/// `fibery query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The query: JSON `{"query": {...}, "params": {...}}` or a bare `{"q/from": ...}`;
    /// `@file` reads it from a file, `-` from stdin.
    pub query: String,
}

/// `fibery emulator`.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Port to listen on (127.0.0.1). 0 picks a free one.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Schema file (fibery.schema/query result). Default: the sample schema.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Seed file: entities per type to create at start. Default with the sample schema: the sample seed.
    #[arg(long)]
    pub seed: Option<PathBuf>,
    /// Accepted API token (repeatable). Default: "dev-token".
    #[arg(long = "accept-token")]
    pub accept_tokens: Vec<String>,
    /// Turn off the 3 req/s per token (7 per workspace) rate limits.
    #[arg(long)]
    pub no_rate_limits: bool,
}
