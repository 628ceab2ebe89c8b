//! The connection every command uses: a `fibery_client::Client`, pointed at Fibery
//! (`--account`), at a base URL (`--base-url`), or at an embedded emulator loaded with the
//! sample schema when neither is given.

use std::io::IsTerminal;
use std::time::Duration;

use fibery_client::{Client, Error as ClientError, Stats};
use fibery_core::command::Command;
use fibery_core::query::{Filter, Order, Query, Select, SelectItem};
use fibery_core::schema::Schema;
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
            let token = g.token.as_deref().filter(|t| !t.is_empty()).ok_or_else(|| {
                CliError::usage("no API token")
                    .hint("set FIBERY_TOKEN (Fibery: Settings > API Keys), or drop --account/--base-url to use the embedded emulator")
            })?;
            b = b.token(token);
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

    /// Pages through every row of `query` (keyset pagination on `fibery/id`), calling `f`
    /// for each page. `query`'s order, limit and offset are replaced by the pager's.
    pub async fn for_each_page(
        &self,
        query: Query,
        page_size: usize,
        mut f: impl FnMut(Vec<Value>) -> Result<()>,
    ) -> Result<()> {
        let mut pager = self.pager(query, page_size);
        while let Some(rows) = pager.next().await? {
            f(rows)?;
        }
        Ok(())
    }

    /// A pager over every row of `query` (keyset pagination on `fibery/id`, which is added
    /// to the select if missing). `query`'s order, limit and offset are replaced.
    pub fn pager(&self, mut query: Query, page_size: usize) -> Pager<'_> {
        let id = SelectItem::field("fibery/id");
        match &mut query.select {
            Select::Fields(items) if !items.contains(&id) => items.insert(0, id),
            _ => {}
        }
        query.order_by.clear();
        query.offset = None;
        Pager {
            conn: self,
            query,
            page_size: page_size.max(1),
            pages_per_request: 1,
            buffered: std::collections::VecDeque::new(),
            last: None,
            done: false,
        }
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

/// Pages of a query, in `fibery/id` order; see [`Conn::pager`].
pub struct Pager<'a> {
    conn: &'a Conn,
    query: Query,
    page_size: usize,
    pages_per_request: usize,
    buffered: std::collections::VecDeque<Vec<Value>>,
    last: Option<String>,
    done: bool,
}

impl Pager<'_> {
    /// Fetch `k` pages per HTTP request (default 1): `k` queries after the cursor at
    /// `q/offset` 0, n, .., (k - 1) * n in one `/api/commands` request, which counts once
    /// against the rate limit. Pages still come out one at a time.
    pub fn pages_per_request(mut self, k: usize) -> Self {
        self.pages_per_request = k.max(1);
        self
    }

    /// The next page, or `None` after the last one.
    pub async fn next(&mut self) -> Result<Option<Vec<Value>>> {
        if let Some(page) = self.buffered.pop_front() {
            return Ok(Some(page));
        }
        if self.done {
            return Ok(None);
        }
        let q = self.page_query();
        if self.pages_per_request == 1 {
            let rows = self.conn.query(&q).await?;
            self.advance(&rows, rows.len());
            return Ok(Some(rows));
        }
        self.fetch_pages(q).await?;
        Ok(self.buffered.pop_front())
    }

    /// The query of the next page: after the cursor, in `fibery/id` order, one page long.
    fn page_query(&self) -> Query {
        let mut q = self.query.clone();
        if let Some(last) = &self.last {
            q = q.and_filter(Filter::gt("fibery/id", last.as_str()));
        }
        q.order_by("fibery/id", Order::Asc)
            .limit(self.page_size as u64)
    }

    /// Sends `pages_per_request` queries of `q` at successive offsets in one request and
    /// buffers their pages, up to the first short one.
    async fn fetch_pages(&mut self, q: Query) -> Result<()> {
        let cmds: Vec<Command> = (0..self.pages_per_request)
            .map(|i| match i {
                0 => Command::query(q.clone()),
                _ => Command::query(q.clone().offset((i * self.page_size) as u64)),
            })
            .collect();
        let results = self.conn.execute(cmds).await;
        let results = results.map_err(|e| read_error("query failed", &e))?;
        let mut seen = std::collections::HashSet::new();
        for r in results {
            let rows = match r.map_err(|e| read_error("query failed", &e))? {
                Value::Array(rows) => rows,
                other => {
                    return Err(CliError::failure(format!(
                        "query failed: expected an array of rows, got {other}"
                    )));
                }
            };
            let fetched = rows.len();
            // A row created between two of the request's queries shifts the later offsets
            // by one: never write it twice.
            let rows: Vec<Value> = rows
                .into_iter()
                .filter(|r| {
                    r.get("fibery/id")
                        .and_then(Value::as_str)
                        .is_none_or(|id| seen.insert(id.to_owned()))
                })
                .collect();
            self.advance(&rows, fetched);
            self.buffered.push_back(rows);
            if fetched < self.page_size {
                break;
            }
        }
        Ok(())
    }

    /// Moves the cursor past `rows`; `fetched` is the page's length as the server sent it.
    fn advance(&mut self, rows: &[Value], fetched: usize) {
        if let Some(id) = rows
            .last()
            .and_then(|r| r.get("fibery/id"))
            .and_then(Value::as_str)
        {
            self.last = Some(id.to_string());
        }
        if fetched < self.page_size || self.last.is_none() {
            self.done = true;
        }
    }
}
