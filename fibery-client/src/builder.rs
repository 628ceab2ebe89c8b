//! [`ClientBuilder`]: the configuration of a [`Client`] and its validation.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::client::{Client, Limits};
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use crate::transport::{AuthScheme, Transport, TransportConfig};

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }
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
            document_chunk: 100,
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
    /// per request); see [`QueryStream::pages_per_request`](crate::query::QueryStream::pages_per_request)
    /// for how `k > 1` works and its consistency trade-off.
    pub fn pages_per_request(mut self, k: usize) -> Self {
        self.pages_per_request = k.max(1);
        self
    }

    /// Documents per `create-or-update-documents` request (default 100: one request per
    /// chunk of written entities).
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
        let transport = Transport::new(TransportConfig {
            base,
            token,
            scheme: self.scheme,
            timeout: self.timeout,
            transfer_timeout: self.transfer_timeout,
            connect_timeout: self.connect_timeout,
            user_agent: self.user_agent,
            requests_per_second: self.requests_per_second,
            burst: self.burst,
            min_delay: self.min_delay,
            pacing_margin: self.pacing_margin,
            retry: self.retry,
        })?;
        Ok(Client::new(
            transport,
            Limits {
                max_commands: self.max_commands_per_request,
                batch_window: self.batch_window,
                page_size: self.page_size,
                pages_per_request: self.pages_per_request,
                document_chunk: self.document_chunk,
            },
        ))
    }
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
}
