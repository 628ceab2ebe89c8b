//! [`ClientBuilder`]: the configuration of a [`Client`] and its validation.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::client::{Client, Limits};
use crate::error::{Error, Result};
use crate::oauth::{OAuthApp, Tokens};
use crate::pace::PacingConfig;
use crate::retry::RetryPolicy;
use crate::transport::{AuthScheme, Transport, TransportConfig};

/// Fibery's limit of requests per second for a whole workspace (all tokens together).
const FIBERY_WORKSPACE_LIMIT: u32 = 7;

/// Builder setters that store their argument (or the expression after `=>`) in the field
/// of the same name and return the builder; each keeps its doc comment.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident($arg:ident: $ty:ty) $(=> $value:expr)?;)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, $arg: $ty) -> Self {
            self.$name = setters!(@value $arg $(, $value)?);
            self
        }
    )*};
    (@value $arg:ident) => { $arg };
    (@value $arg:ident, $value:expr) => { $value };
}

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
    extra_tokens: Vec<SecretString>,
    token_from_env: bool,
    place_from_env: bool,
    scheme: AuthScheme,
    timeout: Duration,
    transfer_timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    requests_per_second: u32,
    workspace_requests_per_second: Option<u32>,
    burst: u32,
    min_delay: Duration,
    pacing_margin: Duration,
    max_commands_per_request: usize,
    batch_window: Duration,
    page_size: usize,
    pages_per_request: usize,
    document_chunk: usize,
    retry: RetryPolicy,
    oauth: Option<(OAuthApp, Tokens)>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("account", &self.account)
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("extra_tokens", &self.extra_tokens.len())
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
            extra_tokens: Vec::new(),
            token_from_env: false,
            place_from_env: false,
            scheme: AuthScheme::Token,
            timeout: Duration::from_secs(60),
            transfer_timeout: Duration::from_secs(3600),
            connect_timeout: Duration::from_secs(10),
            user_agent: concat!("fibery-rs/", env!("CARGO_PKG_VERSION")).to_owned(),
            requests_per_second: 3,
            workspace_requests_per_second: None,
            burst: 1,
            min_delay: Duration::ZERO,
            pacing_margin: Duration::from_millis(25),
            max_commands_per_request: 100,
            batch_window: Duration::from_millis(10),
            page_size: 500,
            pages_per_request: 1,
            document_chunk: 100,
            retry: RetryPolicy::default(),
            oauth: None,
        }
    }
}

impl ClientBuilder {
    setters! {
    /// The workspace account: `acme` means `https://acme.fibery.io`. A pasted
    /// `https://acme.fibery.io` or `acme.fibery.io` is accepted too; anything that is not a
    /// single DNS label under `fibery.io` is rejected by [`build`](Self::build).
    account(account: impl Into<String>) => Some(account.into());

    /// A full base URL instead of an account (the emulator, a proxy). `http://` is allowed
    /// only for loopback hosts.
    base_url(url: impl Into<String>) => Some(url.into());
    }

    /// The API token (held as a [`SecretString`], never printed); replaces any set before.
    pub fn token(self, token: impl Into<String>) -> Self {
        self.secret_token(SecretString::from(token.into()))
    }

    /// The API token as a [`SecretString`]; replaces any set before.
    pub fn secret_token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self.extra_tokens.clear();
        self
    }

    /// Several API tokens of one workspace (Fibery allows a user up to 3): requests are spread
    /// over them, each token kept to [`requests_per_second`](Self::requests_per_second) and
    /// all of them together to [`workspace_requests_per_second`](Self::workspace_requests_per_second)
    /// (Fibery's limits: 3 per token, 7 per workspace, so two tokens give 6 requests/s and a
    /// third adds only 1). Replaces any token set before; duplicates count once. Off by
    /// default: a client uses one token. Every token is a secret, never printed, and is
    /// scrubbed from server text like the first.
    ///
    /// ```
    /// # fn main() -> Result<(), fibery_client::Error> {
    /// let client = fibery_client::Client::builder()
    ///     .account("acme")
    ///     .tokens(["first-api-token", "second-api-token"])
    ///     .build()?;
    /// let shown = format!("{client:?}");
    /// assert!(!shown.contains("first-api-token") && !shown.contains("second-api-token"));
    /// # Ok(()) }
    /// ```
    pub fn tokens<I, T>(mut self, tokens: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let mut all = tokens.into_iter().map(|t| SecretString::from(t.into()));
        self.token = all.next();
        self.extra_tokens = all.collect();
        self
    }

    /// Read the token from `FIBERY_TOKEN` (at [`build`](Self::build) time) unless one was set.
    pub fn token_from_env(mut self) -> Self {
        self.token_from_env = true;
        self
    }

    /// Read `FIBERY_TOKEN` and `FIBERY_BASE_URL` (or else `FIBERY_ACCOUNT`) from the
    /// environment at [`build`](Self::build) time, for what was not set explicitly. With
    /// nothing set, `build` fails naming every missing variable.
    pub fn from_env(mut self) -> Self {
        self.token_from_env = true;
        self.place_from_env = true;
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

    /// Acts for a user through OAuth: sends `tokens.access_token` as `Bearer`, and, when
    /// `tokens` has a refresh token, refreshes it through `app` shortly before it expires
    /// and once after a `401` (see [`oauth`](crate::oauth)).
    pub fn oauth(mut self, app: OAuthApp, tokens: Tokens) -> Self {
        self.token = Some(tokens.access_token.clone());
        self.extra_tokens.clear();
        self.scheme = AuthScheme::Bearer;
        self.oauth = Some((app, tokens));
        self
    }

    setters! {
    /// Whole-request timeout (default 60 s).
    timeout(timeout: Duration);

    /// Timeout of file uploads and downloads, which may be large (default 1 h).
    transfer_timeout(timeout: Duration);

    /// Connect timeout (default 10 s).
    connect_timeout(timeout: Duration);

    /// The `User-Agent` header (default `fibery-rs/<version>`).
    user_agent(ua: impl Into<String>) => ua.into();

    /// Requests per second each token may send (default 3, Fibery's per-token limit). `0`
    /// turns client-side pacing off altogether (the workspace limit too; `min_delay` stays).
    requests_per_second(n: u32);

    /// Requests per second of the whole workspace, over all tokens and over every client of
    /// the same base URL in this process. Default: 7 (Fibery's per-workspace limit), or
    /// [`requests_per_second`](Self::requests_per_second) if that is set higher (a server
    /// with other limits than Fibery's). `0` removes this limit (the per-token one stays).
    workspace_requests_per_second(n: u32) => Some(n);

    /// Requests a token may send back to back (default 1: evenly spaced); at most
    /// [`requests_per_second`](Self::requests_per_second).
    burst(n: u32) => n.max(1);

    /// Minimum pause between two requests, on top of the quota (default 0).
    min_delay(d: Duration);

    /// How late after its send a request may reach the server, as the pacer assumes (default
    /// 25 ms). Fibery counts requests in a sliding second by arrival; the pacer lets a request
    /// go once the one `requests_per_second` before it is a second old, counting that one as
    /// arrived at its response head or at its send time plus this margin, whichever is
    /// earlier (a round trip longer than the usual one, or a recent such one while the
    /// request is still in flight, stretches the margin by that excess: a loaded host is
    /// allowed for before it causes a 429). So the margin costs nothing when responses come
    /// back quickly and at most one margin per second otherwise (25 ms: at least 0.975 of
    /// the limit); each 429 doubles it.
    pacing_margin(d: Duration);

    /// Commands per HTTP request (default 100). N commands cost `ceil(N / max)` requests.
    max_commands_per_request(n: usize) => n.max(1);

    /// How long the automatic batcher waits for more commands from concurrent callers of
    /// [`Client::command`] before sending (default 10 ms). `Duration::ZERO` disables merging.
    batch_window(d: Duration);

    /// Page size used by [`Client::query_stream`] (default 500).
    page_size(n: usize) => n.max(1);

    /// Pages [`Client::query_stream`] fetches per HTTP request (default 1: one keyset page
    /// per request); see [`QueryStream::pages_per_request`](crate::query::QueryStream::pages_per_request)
    /// for how `k > 1` works and its consistency trade-off.
    pages_per_request(k: usize) => k.max(1);

    /// Documents per `create-or-update-documents` request (default 100: one request per
    /// chunk of written entities).
    document_chunk(n: usize) => n.max(1);

    /// Retry policy (budget, backoff, max elapsed time).
    retry(policy: RetryPolicy);
    }

    /// Validates the configuration and builds the client.
    pub fn build(self) -> Result<Client> {
        self.build_in(|name| std::env::var(name).ok())
    }

    /// [`build`](Self::build) reading environment variables through `env`.
    fn build_in(mut self, env: impl Fn(&str) -> Option<String>) -> Result<Client> {
        let (base, token) = self.place_and_token(&env)?;
        if self.oauth.is_some() && !self.extra_tokens.is_empty() {
            return Err(Error::Config(
                "several tokens cannot be combined with OAuth".into(),
            ));
        }
        let mut tokens = vec![token];
        for t in std::mem::take(&mut self.extra_tokens) {
            let seen = tokens
                .iter()
                .any(|u| u.expose_secret().trim() == t.expose_secret().trim());
            if !seen {
                tokens.push(t);
            }
        }
        let transport = Transport::new(TransportConfig {
            base,
            tokens,
            scheme: self.scheme,
            timeout: self.timeout,
            transfer_timeout: self.transfer_timeout,
            connect_timeout: self.connect_timeout,
            user_agent: self.user_agent,
            pacing: PacingConfig {
                per_second: (
                    self.requests_per_second,
                    self.workspace_requests_per_second
                        .unwrap_or(FIBERY_WORKSPACE_LIMIT.max(self.requests_per_second)),
                ),
                burst: self.burst,
                margin: self.pacing_margin,
                min_delay: self.min_delay,
            },
            retry: self.retry,
            oauth: self.oauth,
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

impl ClientBuilder {
    /// The validated base URL and the token, read from `env` where
    /// [`from_env`](Self::from_env) or [`token_from_env`](Self::token_from_env) asked for
    /// them; a configuration error naming every missing setting and its variables when any
    /// is still missing.
    fn place_and_token(
        &mut self,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<(String, SecretString)> {
        if self.place_from_env && self.account.is_none() && self.base_url.is_none() {
            self.base_url = env("FIBERY_BASE_URL");
            if self.base_url.is_none() {
                self.account = env("FIBERY_ACCOUNT");
            }
        }
        if self.token.is_none() && self.token_from_env {
            self.token = env("FIBERY_TOKEN").map(SecretString::from);
        }
        let base = match (&self.base_url, &self.account) {
            (Some(url), _) => Some(validate_base_url(url)?),
            (None, Some(acc)) => Some(format!("https://{}.fibery.io", validate_account(acc)?)),
            (None, None) => None,
        };
        let mut missing = Vec::new();
        if base.is_none() {
            missing.push(
                "no account or base URL (`account`, `base_url`, or FIBERY_ACCOUNT / \
                 FIBERY_BASE_URL with `from_env`)",
            );
        }
        if self.token.is_none() {
            missing.push("no token (`token`, or FIBERY_TOKEN with `from_env` / `token_from_env`)");
        }
        match (base, self.token.take()) {
            (Some(base), Some(token)) => Ok((base, token)),
            _ => Err(Error::Config(format!("{} set", missing.join(" and ")))),
        }
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

    /// The configuration error of `b` built in an environment holding `vars`.
    fn config_error(b: ClientBuilder, vars: &[(&str, &str)]) -> String {
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        match b.build_in(env) {
            Err(Error::Config(m)) => m,
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn missing_environment_names_every_variable() {
        for b in [
            Client::builder().from_env(),
            Client::builder().token_from_env(),
        ] {
            let m = config_error(b, &[]);
            for var in ["FIBERY_TOKEN", "FIBERY_ACCOUNT", "FIBERY_BASE_URL"] {
                assert!(m.contains(var), "{var} not named: {m}");
            }
        }
        // Only what is missing is named.
        let m = config_error(Client::builder().from_env(), &[("FIBERY_ACCOUNT", "acme")]);
        assert!(
            m.contains("FIBERY_TOKEN") && !m.contains("FIBERY_ACCOUNT"),
            "{m}"
        );
        let m = config_error(Client::builder().from_env(), &[("FIBERY_TOKEN", "t")]);
        assert!(
            m.contains("FIBERY_BASE_URL") && !m.contains("FIBERY_TOKEN"),
            "{m}"
        );
        // FIBERY_BASE_URL wins over FIBERY_ACCOUNT; explicit settings win over both.
        let env = [
            ("FIBERY_TOKEN", "t"),
            ("FIBERY_ACCOUNT", "acme"),
            ("FIBERY_BASE_URL", "http://127.0.0.1:9"),
        ];
        let lookup = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        let c = Client::builder().from_env().build_in(lookup).unwrap();
        assert_eq!(c.base_url(), "http://127.0.0.1:9");
        let c = Client::builder()
            .account("other")
            .from_env()
            .build_in(lookup)
            .unwrap();
        assert_eq!(c.base_url(), "https://other.fibery.io");
    }

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
