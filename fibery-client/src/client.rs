//! [`Client`], [`ClientBuilder`] and the HTTP transport underneath every call.

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use backon::Retryable;
use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use crate::batch::AutoBatcher;
use crate::error::{Error, FiberyError, Result};
use crate::pace::Pacer;
use crate::retry::{RetryPolicy, Safety};
use crate::scrub::Scrubber;

/// How the token is presented in the `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthScheme {
    /// `Authorization: Token <api key>` — Fibery's documented form for API keys.
    #[default]
    Token,
    /// `Authorization: Bearer <token>` — required for OAuth access tokens.
    Bearer,
}

/// Builds a [`Client`]. Start with [`Client::builder`].
///
/// ```
/// # fn main() -> Result<(), fibery_client::Error> {
/// use std::time::Duration;
/// let client = fibery_client::Client::builder()
///     .account("acme")
///     .token("my-api-token")
///     .requests_per_second(3)
///     .min_delay(Duration::from_millis(0))
///     .max_commands_per_request(100)
///     .build()?;
/// assert_eq!(client.base_url(), "https://acme.fibery.io");
/// assert!(!format!("{client:?}").contains("my-api-token"));
/// # Ok(()) }
/// ```
#[must_use]
pub struct ClientBuilder {
    account: Option<String>,
    base_url: Option<String>,
    token: Option<SecretString>,
    token_from_env: bool,
    scheme: AuthScheme,
    timeout: Duration,
    transfer_timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    requests_per_second: u32,
    burst: u32,
    min_delay: Duration,
    pacing_margin: Duration,
    max_commands_per_request: usize,
    batch_window: Duration,
    page_size: usize,
    pages_per_request: usize,
    document_chunk: usize,
    retry: RetryPolicy,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("account", &self.account)
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("scheme", &self.scheme)
            .field("requests_per_second", &self.requests_per_second)
            .field("min_delay", &self.min_delay)
            .field("max_commands_per_request", &self.max_commands_per_request)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            account: None,
            base_url: None,
            token: None,
            token_from_env: false,
            scheme: AuthScheme::Token,
            timeout: Duration::from_secs(60),
            transfer_timeout: Duration::from_secs(3600),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("fibery-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            requests_per_second: 3,
            burst: 1,
            min_delay: Duration::ZERO,
            pacing_margin: Duration::from_millis(25),
            max_commands_per_request: 100,
            batch_window: Duration::from_millis(10),
            page_size: 500,
            pages_per_request: 1,
            document_chunk: 50,
            retry: RetryPolicy::default(),
        }
    }
}

impl ClientBuilder {
    /// The workspace account: `acme` means `https://acme.fibery.io`. A pasted
    /// `https://acme.fibery.io` or `acme.fibery.io` is accepted too; anything that is not a
    /// single DNS label under `fibery.io` is rejected by [`build`](Self::build).
    pub fn account(mut self, account: impl Into<String>) -> Self {
        self.account = Some(account.into());
        self
    }

    /// A full base URL instead of an account (the emulator, a proxy). `http://` is allowed
    /// only for loopback hosts.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The API token (held as a [`SecretString`], never printed).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(SecretString::from(token.into()));
        self
    }

    /// The API token as a [`SecretString`].
    pub fn secret_token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// Read the token from `FIBERY_TOKEN` (at [`build`](Self::build) time) unless one was set.
    pub fn token_from_env(mut self) -> Self {
        self.token_from_env = true;
        self
    }

    /// Read `FIBERY_TOKEN` and `FIBERY_ACCOUNT` (or `FIBERY_BASE_URL`) from the environment.
    pub fn from_env(mut self) -> Self {
        self.token_from_env = true;
        if self.account.is_none() && self.base_url.is_none() {
            if let Ok(url) = std::env::var("FIBERY_BASE_URL") {
                self.base_url = Some(url);
            } else if let Ok(acc) = std::env::var("FIBERY_ACCOUNT") {
                self.account = Some(acc);
            }
        }
        self
    }

    /// `Token` (API keys, default) or `Bearer` (OAuth access tokens).
    pub fn auth_scheme(mut self, scheme: AuthScheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// Shorthand for an OAuth access token: sets the token and the `Bearer` scheme.
    pub fn oauth_token(self, token: impl Into<String>) -> Self {
        self.token(token).auth_scheme(AuthScheme::Bearer)
    }

    /// Whole-request timeout (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Timeout of file uploads and downloads, which may be large (default 1 h).
    pub fn transfer_timeout(mut self, timeout: Duration) -> Self {
        self.transfer_timeout = timeout;
        self
    }

    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The `User-Agent` header (default `fibery-rs/<version>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Requests per second allowed by the client-side quota (default 3, Fibery's per-token
    /// limit). `0` disables the quota.
    pub fn requests_per_second(mut self, n: u32) -> Self {
        self.requests_per_second = n;
        self
    }

    /// Burst size of the quota (default 1: requests are evenly spaced).
    pub fn burst(mut self, n: u32) -> Self {
        self.burst = n.max(1);
        self
    }

    /// Minimum pause between two requests, on top of the quota (default 0).
    pub fn min_delay(mut self, d: Duration) -> Self {
        self.min_delay = d;
        self
    }

    /// Extra spacing added to each quota period to absorb network jitter (default 25 ms), so
    /// that the server, measuring arrival times, never sees more than the quota in a second.
    pub fn pacing_margin(mut self, d: Duration) -> Self {
        self.pacing_margin = d;
        self
    }

    /// Commands per HTTP request (default 100). N commands cost `ceil(N / max)` requests.
    pub fn max_commands_per_request(mut self, n: usize) -> Self {
        self.max_commands_per_request = n.max(1);
        self
    }

    /// How long the automatic batcher waits for more commands from concurrent callers of
    /// [`Client::command`] before sending (default 10 ms). `Duration::ZERO` disables merging.
    pub fn batch_window(mut self, d: Duration) -> Self {
        self.batch_window = d;
        self
    }

    /// Page size used by [`Client::query_stream`] (default 500).
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Pages [`Client::query_stream`] fetches per HTTP request (default 1: one keyset page
    /// per request). With `k > 1` each request carries `k` queries after the cursor at
    /// offsets `0, n, .., (k - 1) * n`, so one request (one unit of Fibery's rate limit)
    /// reads `k` pages; see [`QueryStream::pages_per_request`](crate::query::QueryStream::pages_per_request)
    /// for the consistency trade-off.
    pub fn pages_per_request(mut self, k: usize) -> Self {
        self.pages_per_request = k.max(1);
        self
    }

    /// Documents per `create-or-update-documents` request (default 50).
    pub fn document_chunk(mut self, n: usize) -> Self {
        self.document_chunk = n.max(1);
        self
    }

    /// Retry policy (budget, backoff, max elapsed time).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Validates the configuration and builds the client.
    pub fn build(self) -> Result<Client> {
        let base = match (&self.base_url, &self.account) {
            (Some(url), _) => validate_base_url(url)?,
            (None, Some(acc)) => format!("https://{}.fibery.io", validate_account(acc)?),
            (None, None) => {
                return Err(Error::Config(
                    "neither account nor base_url set (FIBERY_ACCOUNT not found)".into(),
                ));
            }
        };
        let token = match self.token {
            Some(t) => t,
            None if self.token_from_env => match std::env::var("FIBERY_TOKEN") {
                Ok(t) => SecretString::from(t),
                Err(_) => return Err(Error::Config("FIBERY_TOKEN is not set".into())),
            },
            None => return Err(Error::Config("no token set".into())),
        };
        let raw = token.expose_secret().trim();
        if raw.is_empty() {
            return Err(Error::Config("the token is empty".into()));
        }
        let prefix = match self.scheme {
            AuthScheme::Token => "Token",
            AuthScheme::Bearer => "Bearer",
        };
        let mut auth = HeaderValue::from_str(&format!("{prefix} {raw}")).map_err(|_| {
            Error::Config("the token contains characters not allowed in a header".into())
        })?;
        auth.set_sensitive(true);

        let https_only = base.starts_with("https://");
        let http = reqwest::Client::builder()
            .tls_backend_rustls()
            .https_only(https_only)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(self.user_agent.clone())
            .redirect(redirect_policy())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;

        let inner = Inner {
            http,
            base,
            auth,
            scrub: Arc::new(Scrubber::new(raw)),
            pacer: Pacer::new(
                self.requests_per_second,
                self.burst,
                self.min_delay,
                self.pacing_margin,
            ),
            retry: self.retry,
            max_commands: self.max_commands_per_request,
            transfer_timeout: self.transfer_timeout,
            batch_window: self.batch_window,
            page_size: self.page_size,
            pages_per_request: self.pages_per_request,
            document_chunk: self.document_chunk,
            batcher: OnceLock::new(),
            schema: Mutex::new(None),
            enum_cache: Mutex::new(Default::default()),
            stats: Counters::default(),
        };
        Ok(Client {
            inner: Arc::new(inner),
        })
    }
}

/// Follows at most 5 redirects, never from https to http. reqwest itself drops the
/// `Authorization` header whenever a redirect changes host, port or scheme, so the token is
/// never forwarded to another host (file downloads may redirect to storage).
fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() >= 5 {
            return attempt.error("too many redirects");
        }
        let downgrade = attempt
            .previous()
            .last()
            .is_some_and(|p| p.scheme() == "https")
            && attempt.url().scheme() != "https";
        if downgrade {
            return attempt.error("refusing a redirect from https to http");
        }
        attempt.follow()
    })
}

fn validate_account(acc: &str) -> Result<String> {
    let mut s = acc.trim().to_ascii_lowercase();
    if let Some(rest) = s.strip_prefix("https://") {
        s = rest.to_owned();
    }
    let s = s.trim_end_matches('/');
    let label = s.strip_suffix(".fibery.io").unwrap_or(s);
    let ok = !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-');
    if ok {
        Ok(label.to_owned())
    } else {
        Err(Error::Config(format!(
            "invalid account {acc:?}: expected the workspace subdomain, e.g. \"acme\" for https://acme.fibery.io"
        )))
    }
}

fn validate_base_url(raw: &str) -> Result<String> {
    let url = Url::parse(raw.trim())
        .map_err(|e| Error::Config(format!("invalid base_url {raw:?}: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(
            "base_url must not contain credentials".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Config(
            "base_url must not have a query or fragment".into(),
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
                Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
                None => false,
            };
            if !loopback {
                return Err(Error::Config(format!(
                    "plain http is allowed only for loopback hosts, not {raw:?}"
                )));
            }
        }
        other => {
            return Err(Error::Config(format!(
                "unsupported scheme {other:?} in base_url"
            )));
        }
    }
    if url.host().is_none() {
        return Err(Error::Config("base_url has no host".into()));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Counters of what the client did; see [`Client::stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    commands: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    server_errors: AtomicU64,
}

/// A snapshot of the client's counters (shared by all clones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// HTTP requests sent (including retries).
    pub requests: u64,
    /// Commands sent in `/api/commands` requests (counted once per attempt).
    pub commands: u64,
    /// Retries performed.
    pub retries: u64,
    /// 429 responses seen.
    pub rate_limited: u64,
    /// 5xx responses seen.
    pub server_errors: u64,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    auth: HeaderValue,
    /// Removes the token from server text entering errors and logs.
    pub(crate) scrub: Arc<Scrubber>,
    pub(crate) pacer: Pacer,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_commands: usize,
    pub(crate) transfer_timeout: Duration,
    pub(crate) batch_window: Duration,
    pub(crate) page_size: usize,
    pub(crate) pages_per_request: usize,
    pub(crate) document_chunk: usize,
    pub(crate) batcher: OnceLock<AutoBatcher>,
    pub(crate) schema: Mutex<Option<crate::schema::Cached>>,
    pub(crate) enum_cache:
        Mutex<std::collections::HashMap<String, Arc<crate::schema::EnumOptions>>>,
    pub(crate) stats: Counters,
}

/// The Fibery client. Cheap to clone: clones share the connection pool, the pacer, the
/// automatic batcher, the schema cache and the counters.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base)
            .field("token", &"[REDACTED]")
            .field("pacer", &self.inner.pacer)
            .field("max_commands_per_request", &self.inner.max_commands)
            .finish_non_exhaustive()
    }
}

/// A buffered HTTP response.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) scrub: Arc<Scrubber>,
}

impl HttpResponse {
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self, context: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| self.scrub.error(Error::decode(context, e)))
    }
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The base URL requests go to, e.g. `https://acme.fibery.io`.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// Counters shared by all clones.
    pub fn stats(&self) -> Stats {
        let c = &self.inner.stats;
        Stats {
            requests: c.requests.load(Ordering::Relaxed),
            commands: c.commands.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
            server_errors: c.server_errors.load(Ordering::Relaxed),
        }
    }

    /// The configured maximum of commands per request.
    pub fn max_commands_per_request(&self) -> usize {
        self.inner.max_commands
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.inner.base, path)
    }

    pub(crate) fn count_commands(&self, n: usize) {
        self.inner
            .stats
            .commands
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Sends one request built by `build` (called once per attempt), paced and retried per
    /// `safety`, and returns the buffered response of the first non-failing attempt.
    pub(crate) async fn send<F>(
        &self,
        endpoint: &str,
        safety: Safety,
        build: F,
    ) -> Result<HttpResponse>
    where
        F: Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder>,
    {
        let (resp, _) = self.send_tracking(endpoint, safety, build).await?;
        Ok(resp)
    }

    /// Like [`send`](Self::send); also reports whether an earlier failed attempt may have
    /// been applied by the server.
    pub(crate) async fn send_tracking<F>(
        &self,
        endpoint: &str,
        safety: Safety,
        build: F,
    ) -> Result<(HttpResponse, bool)>
    where
        F: Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder>,
    {
        let maybe_applied = std::sync::atomic::AtomicBool::new(false);
        let attempt = std::sync::atomic::AtomicU32::new(0);
        let policy = &self.inner.retry;
        let backoff = policy.backoff();
        let max_ra = policy.max_retry_after;
        let resp = (|| async {
            attempt.fetch_add(1, Ordering::Relaxed);
            let r = self.attempt(endpoint, &build).await;
            if let Err(e) = &r
                && e.may_have_been_sent()
            {
                maybe_applied.store(true, Ordering::Relaxed);
            }
            r
        })
        .retry(backoff)
        .when(|e: &Error| crate::retry::should_retry(e, safety))
        .adjust(|e: &Error, d| d.map(|d| e.retry_after().map(|ra| ra.min(max_ra)).unwrap_or(d)))
        .notify(|e: &Error, d| {
            self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                endpoint,
                attempt = attempt.load(Ordering::Relaxed),
                delay_ms = d.as_millis() as u64,
                error = %self.inner.scrub.text(&e.to_string()),
                "retrying Fibery request"
            );
        })
        .await
        .map_err(|e| self.scrub(e))?;
        Ok((resp, maybe_applied.load(Ordering::Relaxed)))
    }

    async fn attempt<F>(&self, endpoint: &str, build: &F) -> Result<HttpResponse>
    where
        F: Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder>,
    {
        let req = build(&self.inner.http)?.header(AUTHORIZATION, self.inner.auth.clone());
        self.inner.pacer.acquire().await;
        self.inner.stats.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(endpoint, "sending Fibery request");
        let resp = req.send().await.map_err(Error::from_reqwest)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(Error::from_reqwest);
        classify(self, endpoint, status, headers, body)
    }

    /// Sends one request and returns the raw streaming response (for downloads). Retries
    /// happen only before the body starts streaming.
    pub(crate) async fn send_streaming<F>(
        &self,
        endpoint: &str,
        build: F,
    ) -> Result<reqwest::Response>
    where
        F: Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder>,
    {
        let policy = &self.inner.retry;
        let backoff = policy.backoff();
        (|| async {
            let req = build(&self.inner.http)?.header(AUTHORIZATION, self.inner.auth.clone());
            self.inner.pacer.acquire().await;
            self.inner.stats.requests.fetch_add(1, Ordering::Relaxed);
            let resp = req.send().await.map_err(Error::from_reqwest)?;
            let status = resp.status();
            if status.is_success() {
                return Ok(resp);
            }
            let headers = resp.headers().clone();
            let body = resp.bytes().await.map_err(Error::from_reqwest);
            classify(self, endpoint, status, headers, body).and_then(|r| {
                Err(Error::Http {
                    status: r.status.as_u16(),
                    endpoint: endpoint.to_owned(),
                    body: self.inner.scrub.snippet(&r.body),
                })
            })
        })
        .retry(backoff)
        .when(|e: &Error| crate::retry::should_retry(e, Safety::Idempotent))
        .adjust(|e: &Error, d| d.map(|d| e.retry_after().unwrap_or(d)))
        .notify(|e: &Error, d| {
            self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(endpoint, delay_ms = d.as_millis() as u64, error = %self.inner.scrub.text(&e.to_string()), "retrying Fibery request");
        })
        .await
        .map_err(|e| self.scrub(e))
    }

    /// POSTs a JSON body to `path` and decodes the JSON answer.
    pub(crate) async fn post_json(
        &self,
        path: &str,
        safety: Safety,
        body: &Value,
    ) -> Result<HttpResponse> {
        let url = self.url(path);
        self.send(path, safety, |http| Ok(http.post(&url).json(body)))
            .await
    }
}

fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs.min(86_400.0)));
    }
    // HTTP-date form.
    let when =
        time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let now = time::OffsetDateTime::now_utc();
    let secs = (when - now).whole_milliseconds().max(0) as u64;
    Some(Duration::from_millis(secs))
}

fn classify(
    client: &Client,
    endpoint: &str,
    status: StatusCode,
    headers: HeaderMap,
    body: Result<Bytes>,
) -> Result<HttpResponse> {
    let stats = &client.inner.stats;
    if status == StatusCode::TOO_MANY_REQUESTS {
        stats.rate_limited.fetch_add(1, Ordering::Relaxed);
        let retry_after = parse_retry_after(&headers);
        let pause = retry_after
            .unwrap_or(client.inner.retry.initial_backoff)
            .min(client.inner.retry.max_retry_after);
        client.inner.pacer.pause_for(pause);
        tracing::debug!(endpoint, ?retry_after, "rate limited (429)");
        return Err(Error::RateLimited { retry_after });
    }
    let body = body?;
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        return Ok(HttpResponse {
            status,
            headers,
            body,
            scrub: client.inner.scrub.clone(),
        });
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Err(Error::Auth {
            status: status.as_u16(),
            message: client.inner.scrub.snippet(&body),
        });
    }
    if status.is_server_error() {
        stats.server_errors.fetch_add(1, Ordering::Relaxed);
    }
    if let Ok(error) = serde_json::from_slice::<FiberyError>(&body) {
        return Err(Error::Server {
            status: status.as_u16(),
            error: Box::new(error),
        });
    }
    if status.is_server_error() {
        return Err(Error::Server {
            status: status.as_u16(),
            error: Box::new(FiberyError {
                name: format!("http/{}", status.as_u16()),
                message: client.inner.scrub.snippet(&body),
                data: Value::Null,
            }),
        });
    }
    if status == StatusCode::NOT_FOUND {
        return Err(Error::NotFound(endpoint.to_owned()));
    }
    Err(Error::Http {
        status: status.as_u16(),
        endpoint: endpoint.to_owned(),
        body: client.inner.scrub.snippet(&body),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts() {
        assert_eq!(validate_account("acme").unwrap(), "acme");
        assert_eq!(validate_account("https://Acme.fibery.io/").unwrap(), "acme");
        assert_eq!(validate_account("my-team2").unwrap(), "my-team2");
        for bad in [
            "",
            "a.b",
            "evil.com/x",
            "acme@evil.com",
            "-x",
            "x-",
            "a b",
            "acme.fibery.io.evil.com",
        ] {
            assert!(validate_account(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            validate_base_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(validate_base_url("http://localhost:1").is_ok());
        assert!(validate_base_url("http://[::1]:1").is_ok());
        assert!(validate_base_url("https://proxy.example.com/fibery").is_ok());
        assert!(validate_base_url("http://example.com").is_err());
        assert!(validate_base_url("http://10.0.0.1").is_err());
        assert!(validate_base_url("https://u:p@x.io").is_err());
        assert!(validate_base_url("ftp://x.io").is_err());
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("0.5"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_millis(500)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(parse_retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h), None);
    }
}
