//! The connection every command uses: a `fibery_client::Client`, pointed at Fibery
//! (`--account`), at a base URL (`--base-url`), or at an embedded emulator loaded with the
//! sample schema when neither is given.

use std::io::IsTerminal;
use std::time::Duration;

use fibery_client::{Client, Error as ClientError, Stats};
use fibery_core::command::Command;
use fibery_core::query::Query;
use fibery_core::schema::Schema;
use futures::{Stream, TryStreamExt};
use serde_json::Value;
use std::sync::Arc;

use crate::cli::GlobalOpts;
use crate::error::{CliError, Result};

/// The sample schema (`examples/data/schema.json`) used by the embedded emulator.
pub const SAMPLE_SCHEMA: &str = include_str!("../../examples/data/schema.json");
/// The sample seed (`examples/data/seed.json`): enum options and projects.
pub const SAMPLE_SEED: &str = include_str!("../../examples/data/seed.json");
/// The token the embedded emulator accepts.
const EMBEDDED_TOKEN: &str = "embedded-emulator-token";

/// Where requests go, for messages and the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An in-process emulator (data is discarded on exit).
    Embedded,
    /// A real workspace or an emulator/proxy.
    Remote(String),
}

impl Target {
    /// A short description.
    pub fn describe(&self) -> String {
        match self {
            Target::Embedded => {
                "embedded emulator (sample schema; data is discarded on exit)".into()
            }
            Target::Remote(u) => u.clone(),
        }
    }
}

/// An open connection.
pub struct Conn {
    /// The client.
    pub client: Client,
    /// Where it points.
    pub target: Target,
    /// The configured requests-per-second limit.
    pub rps: u32,
    emulator: Option<fibery_emulator::Emulator>,
}

/// The tokens of --token/FIBERY_TOKEN and of --token-file, in that order (empty ones dropped).
fn tokens(g: &GlobalOpts) -> Result<Vec<String>> {
    let mut out: Vec<String> = g
        .token
        .iter()
        .filter(|t| !t.trim().is_empty())
        .cloned()
        .collect();
    if let Some(path) = &g.token_file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::usage(format!(
                "cannot read the token file {}: {e}",
                path.display()
            ))
        })?;
        out.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
    }
    Ok(out)
}

/// Whether the user gave --token on the command line (rather than FIBERY_TOKEN).
pub fn warn_token_on_command_line(quiet: bool) {
    if !quiet {
        eprintln!(
            "warning: --token on the command line can leak through shell history and process lists; prefer the FIBERY_TOKEN environment variable"
        );
    }
}

impl Conn {
    /// Connects according to the global options. `max_commands`: commands per request.
    pub async fn open(g: &GlobalOpts, max_commands: usize) -> Result<Conn> {
        if g.rps == 0 {
            return Err(CliError::usage("--rps must be at least 1"));
        }
        let remote = g.base_url.is_some() || g.account.is_some();
        let mut b = Client::builder()
            .requests_per_second(g.rps)
            .min_delay(Duration::from_millis(g.delay))
            .max_commands_per_request(max_commands.max(1))
            .retry(fibery_client::RetryPolicy::default().with_max_retries(g.retries))
            .user_agent(concat!("fibery-cli/", env!("CARGO_PKG_VERSION")));
        let (target, emulator) = if remote {
            let tokens = tokens(g)?;
            if tokens.is_empty() {
                return Err(CliError::usage("no API token")
                    .hint("set FIBERY_TOKEN (Fibery: Settings > API Keys), or drop --account/--base-url to use the embedded emulator"));
            }
            b = b.tokens(tokens);
            let target = if let Some(u) = &g.base_url {
                b = b.base_url(u.clone());
                Target::Remote(u.clone())
            } else {
                let a = g.account.clone().unwrap_or_default();
                b = b.account(a.clone());
                Target::Remote(format!("https://{a}.fibery.io"))
            };
            (target, None)
        } else {
            let emu = start_embedded(false, 0).await?;
            b = b.base_url(emu.base_url()).token(EMBEDDED_TOKEN);
            (Target::Embedded, Some(emu))
        };
        let client = b.build().map_err(|e| {
            CliError::usage(format!("cannot configure the client: {e}")).hint(
                "check --account / --base-url (http:// is only allowed for 127.0.0.1/localhost)",
            )
        })?;
        Ok(Conn {
            client,
            target,
            rps: g.rps,
            emulator,
        })
    }

    /// Fetches the workspace schema.
    pub async fn schema(&self) -> Result<Arc<Schema>> {
        self.client
            .schema()
            .await
            .map_err(|e| read_error("cannot read the schema", &e))
    }

    /// Client counters.
    pub fn stats(&self) -> Stats {
        self.client.stats()
    }

    /// Runs a query given as `{"query": .., "params": ..}` args (the `fibery query`
    /// command's input, passed through as the user wrote it) and returns the rows.
    pub async fn query_args(&self, args: Value) -> Result<Vec<Value>> {
        self.client
            .query_args(args)
            .await
            .map_err(|e| read_error("query failed", &e))
    }

    /// Runs a typed query and returns the rows.
    pub async fn query(&self, query: &Query) -> Result<Vec<Value>> {
        self.client
            .query(query)
            .await
            .map_err(|e| read_error("query failed", &e))
    }

    /// Sends commands in as few requests as the batch size allows; one result per command.
    pub async fn execute(
        &self,
        cmds: Vec<Command>,
    ) -> std::result::Result<Vec<std::result::Result<Value, ClientError>>, ClientError> {
        self.client.execute(cmds).await
    }

    /// Every row of `query` in pages of `page_size` rows: the client's
    /// [`query_stream`](Client::query_stream) (keyset pagination on `fibery/id`, which it
    /// adds to the select and removes again), `pages_per_request` pages per request. Every
    /// row: `query`'s limit is lifted (the stream would honour it as a total cap).
    pub fn pages(
        &self,
        query: &Query,
        page_size: usize,
        pages_per_request: usize,
    ) -> impl Stream<Item = Result<Vec<Value>>> + Send + 'static {
        let page_size = page_size.max(1);
        self.client
            .query_stream(&query.clone().no_limit())
            .page_size(page_size)
            .pages_per_request(pages_per_request)
            .try_chunks(page_size)
            .map_err(|e| read_error("query failed", &e.1))
    }

    /// Pages through every row of `query`, calling `f` for each page (see [`pages`](Self::pages)).
    pub async fn for_each_page(
        &self,
        query: Query,
        page_size: usize,
        mut f: impl FnMut(Vec<Value>) -> Result<()>,
    ) -> Result<()> {
        let mut pages = std::pin::pin!(self.pages(&query, page_size, 1));
        while let Some(rows) = pages.try_next().await? {
            f(rows)?;
        }
        Ok(())
    }

    /// Stops the embedded emulator, if any.
    pub async fn close(self) {
        if let Some(e) = self.emulator {
            e.shutdown().await;
        }
    }
}

/// Starts an in-process emulator with the sample schema and seed.
pub async fn start_embedded(no_limits: bool, port: u16) -> Result<fibery_emulator::Emulator> {
    let schema = Schema::parse(SAMPLE_SCHEMA)
        .map_err(|e| CliError::failure(format!("the built-in sample schema is invalid: {e}")))?;
    let seed: Value = serde_json::from_str(SAMPLE_SEED)
        .map_err(|e| CliError::failure(format!("the built-in sample seed is invalid: {e}")))?;
    let mut b = fibery_emulator::Emulator::builder()
        .schema(schema)
        .seed_json(seed)
        .token(EMBEDDED_TOKEN)
        .bind(([127, 0, 0, 1], port).into());
    if no_limits {
        b = b.without_rate_limits();
    }
    b.start()
        .await
        .map_err(|e| CliError::failure(format!("cannot start the embedded emulator: {e}")))
}

/// Turns the error of a write into a one-line CLI error with a hint (never includes the
/// token).
pub fn client_error(context: &str, e: &ClientError) -> CliError {
    with_hint(context, e, e.to_string())
}

/// Turns the error of a read (schema, query, documents) into a CLI error. A read applies
/// nothing, so a failed or timed-out one is described without the client's "(request may
/// have been applied)", which only matters for writes.
pub fn read_error(context: &str, e: &ClientError) -> CliError {
    with_hint(context, e, describe_read(e))
}

fn describe_read(e: &ClientError) -> String {
    match e {
        ClientError::Transport { source, .. } => format!("transport error: {source}"),
        ClientError::Timeout { .. } => "request timed out".into(),
        ClientError::Batch { source } => format!("the request failed: {}", describe_read(source)),
        other => other.to_string(),
    }
}

fn with_hint(context: &str, e: &ClientError, text: String) -> CliError {
    let base = CliError::failure(format!("{context}: {text}"));
    let cause = match e {
        ClientError::Batch { source } => source.as_ref(),
        other => other,
    };
    match cause {
        ClientError::Auth { .. } => {
            base.hint("check FIBERY_TOKEN (and that it belongs to this workspace)")
        }
        ClientError::RateLimited { .. } => {
            base.hint("lower --rps or add --delay; another client may share the token")
        }
        ClientError::Timeout { .. } | ClientError::Transport { .. } => base.hint(
            "check the network and --account/--base-url; an import can continue with --resume",
        ),
        ClientError::Config(_) | ClientError::InvalidInput(_) => {
            CliError::usage(format!("{context}: {text}"))
        }
        _ => base,
    }
}

/// Whether progress output can be drawn (stderr is a terminal).
pub fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
}
