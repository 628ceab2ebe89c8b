//! The HTTP transport under every call: reqwest, the `Authorization` header, the redirect
//! policy, pacing, counters, turning responses into [`Error`]s, and the one retry loop
//! shared by buffered and streaming requests.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use backon::Retryable;
use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::error::{Error, FiberyError, Result};
use crate::oauth::{OAuthApp, Session, Tokens};
use crate::pace::{Pacer, PacingConfig, token_key};
use crate::retry::{
    MAX_CONNECT_BACKOFF, MAX_CONNECT_RETRIES, RetryPolicy, Safety, is_connect_failure, should_retry,
};
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

/// What the transport needs from a validated [`ClientBuilder`](crate::ClientBuilder).
pub(crate) struct TransportConfig {
    pub(crate) base: String,
    /// One or more tokens of the workspace; requests are spread over them.
    pub(crate) tokens: Vec<SecretString>,
    pub(crate) scheme: AuthScheme,
    pub(crate) timeout: Duration,
    pub(crate) transfer_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) user_agent: String,
    pub(crate) pacing: PacingConfig,
    pub(crate) retry: RetryPolicy,
    /// An OAuth app and its tokens: the token above is their access token.
    pub(crate) oauth: Option<(OAuthApp, Tokens)>,
}

/// Counters of what the transport did; see [`Client::stats`](crate::Client::stats).
#[derive(Debug, Default)]
struct Counters {
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

/// A buffered HTTP response.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// Removes the token from decode errors that quote the body.
    pub(crate) scrub: Arc<Scrubber>,
}

impl HttpResponse {
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self, context: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| self.scrub.error(Error::decode(context, e)))
    }
}

/// Sends requests: paced, authenticated, classified and retried.
pub(crate) struct Transport {
    http: reqwest::Client,
    base: String,
    /// The `Authorization` header of each token, in the pacer's token order; the (only)
    /// one is replaced when an OAuth access token is refreshed.
    auth: RwLock<Vec<HeaderValue>>,
    oauth: Option<Arc<Session>>,
    /// Removes every token from server text entering errors and logs.
    pub(crate) scrub: Arc<Scrubber>,
    pacer: Pacer,
    retry: RetryPolicy,
    pub(crate) transfer_timeout: Duration,
    stats: Counters,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &self.base)
            .field("token", &"[REDACTED]")
            .field("pacer", &self.pacer)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// Builds the `Authorization` headers (marked sensitive) and the reqwest client.
    pub(crate) fn new(cfg: TransportConfig) -> Result<Transport> {
        let raw: Vec<&str> = cfg
            .tokens
            .iter()
            .map(|t| t.expose_secret().trim())
            .collect();
        if raw.is_empty() || raw.iter().any(|t| t.is_empty()) {
            return Err(Error::Config("the token is empty".into()));
        }
        let auth = raw
            .iter()
            .map(|t| auth_header(cfg.scheme, t))
            .collect::<Result<Vec<_>>>()?;
        let keys: Vec<u64> = raw.iter().map(|t| token_key(t)).collect();
        let scrub = Arc::new(Scrubber::many(raw.iter().copied()));
        let oauth = cfg
            .oauth
            .map(|(app, tokens)| Arc::new(Session::new(app, tokens, scrub.clone())));
        crate::tls::check_scheme(&cfg.base)?;
        let http = crate::tls::configure(reqwest::Client::builder())
            .https_only(cfg.base.starts_with("https://"))
            .timeout(cfg.timeout)
            .connect_timeout(cfg.connect_timeout)
            .user_agent(cfg.user_agent)
            .redirect(redirect_policy())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Transport {
            http,
            pacer: Pacer::shared(cfg.pacing, &cfg.base, &keys),
            base: cfg.base,
            auth: RwLock::new(auth),
            oauth,
            scrub,
            retry: cfg.retry,
            transfer_timeout: cfg.transfer_timeout,
            stats: Counters::default(),
        })
    }

    /// The base URL, e.g. `https://acme.fibery.io`.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// The full URL of an API path.
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub(crate) fn stats(&self) -> Stats {
        let c = &self.stats;
        Stats {
            requests: c.requests.load(Ordering::Relaxed),
            commands: c.commands.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
            server_errors: c.server_errors.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn count_commands(&self, n: usize) {
        self.stats.commands.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Sends one request to the API path `path`, built by `build` from the HTTP client and
    /// the full URL (called once per attempt), paced and retried per `safety`, and returns
    /// the buffered response of the first non-failing attempt.
    pub(crate) async fn send<F>(&self, path: &str, safety: Safety, build: F) -> Result<HttpResponse>
    where
        F: Fn(&reqwest::Client, &str) -> Result<reqwest::RequestBuilder>,
    {
        let (resp, _) = self.send_tracking(path, safety, build).await?;
        Ok(resp)
    }

    /// Like [`send`](Self::send); also reports whether an earlier failed attempt may have
    /// been applied by the server.
    pub(crate) async fn send_tracking<F>(
        &self,
        path: &str,
        safety: Safety,
        build: F,
    ) -> Result<(HttpResponse, bool)>
    where
        F: Fn(&reqwest::Client, &str) -> Result<reqwest::RequestBuilder>,
    {
        self.with_retries(path, safety, || async {
            let resp = self.dispatch(path, &build).await?;
            self.read(path, resp).await
        })
        .await
    }

    /// POSTs `body` as JSON to `path`.
    pub(crate) async fn post_json<B: Serialize + ?Sized>(
        &self,
        path: &str,
        safety: Safety,
        body: &B,
    ) -> Result<HttpResponse> {
        self.send(path, safety, |http, url| Ok(http.post(url).json(body)))
            .await
    }

    /// Sends one request and returns the raw streaming response (for downloads). Retries
    /// (as for an idempotent request) happen only before the body starts streaming.
    pub(crate) async fn send_streaming<F>(&self, path: &str, build: F) -> Result<reqwest::Response>
    where
        F: Fn(&reqwest::Client, &str) -> Result<reqwest::RequestBuilder>,
    {
        let (resp, _) = self
            .with_retries(path, Safety::Idempotent, || async {
                let resp = self.dispatch(path, &build).await?;
                if resp.status().is_success() {
                    return Ok(resp);
                }
                let r = self.read(path, resp).await?;
                Err(Error::Http {
                    status: r.status.as_u16(),
                    endpoint: path.to_owned(),
                    body: self.scrub.snippet(&r.body),
                })
            })
            .await?;
        Ok(resp)
    }

    /// The one retry loop: retries what [`should_retry`] allows for `safety`, waiting the
    /// backoff or, when the server sent one, its `Retry-After` capped at
    /// [`RetryPolicy::max_retry_after`]. Returns the first success and whether a failed
    /// attempt before it may have been applied.
    async fn with_retries<T, F, Fut>(
        &self,
        endpoint: &str,
        safety: Safety,
        attempt: F,
    ) -> Result<(T, bool)>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let maybe_applied = AtomicBool::new(false);
        let attempts = AtomicU32::new(0);
        let connect_failures = AtomicU32::new(0);
        let max_ra = self.retry.max_retry_after;
        let value = (|| async {
            attempts.fetch_add(1, Ordering::Relaxed);
            let r = attempt().await;
            if let Err(e) = &r
                && e.may_have_been_sent()
            {
                maybe_applied.store(true, Ordering::Relaxed);
            }
            r
        })
        .retry(self.retry.backoff())
        .when(|e: &Error| {
            if is_connect_failure(e) {
                return connect_failures.fetch_add(1, Ordering::Relaxed) < MAX_CONNECT_RETRIES;
            }
            should_retry(e, safety)
        })
        .adjust(|e: &Error, d| {
            if is_connect_failure(e) {
                return d.map(|d| d.min(MAX_CONNECT_BACKOFF));
            }
            d.map(|d| e.retry_after().map(|ra| ra.min(max_ra)).unwrap_or(d))
        })
        .notify(|e: &Error, d| {
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                endpoint,
                attempt = attempts.load(Ordering::Relaxed),
                delay_ms = d.as_millis() as u64,
                error = %self.scrub.text(&e.to_string()),
                "retrying Fibery request"
            );
        })
        .await
        .map_err(|e| self.scrub.error(e))?;
        Ok((value, maybe_applied.load(Ordering::Relaxed)))
    }

    /// The current OAuth tokens, if the client uses OAuth.
    pub(crate) fn oauth_tokens(&self) -> Option<Tokens> {
        self.oauth.as_ref().map(|o| o.tokens())
    }

    /// One attempt up to the response head: authenticated, paced, counted. With an OAuth
    /// refresh token, a `401` refreshes the access token and the request is sent once more.
    async fn dispatch<F>(&self, path: &str, build: &F) -> Result<reqwest::Response>
    where
        F: Fn(&reqwest::Client, &str) -> Result<reqwest::RequestBuilder>,
    {
        let (resp, generation) = self.dispatch_once(path, build).await?;
        match &self.oauth {
            Some(o) if resp.status() == StatusCode::UNAUTHORIZED && o.can_refresh() => {
                tracing::debug!(endpoint = path, "401 with an OAuth token: refreshing");
                self.refresh_auth(o, generation).await?;
                Ok(self.dispatch_once(path, build).await?.0)
            }
            _ => Ok(resp),
        }
    }

    /// Replaces the `Authorization` header with a refreshed OAuth access token.
    async fn refresh_auth(&self, o: &Session, seen: u64) -> Result<()> {
        let access = o.refresh(seen).await?;
        let header = auth_header(AuthScheme::Bearer, access.expose_secret().trim())?;
        *self.auth.write().expect("auth lock") = vec![header];
        Ok(())
    }

    /// Sends once (refreshing a due OAuth token first); returns the response head and the
    /// OAuth token generation it was sent with.
    async fn dispatch_once<F>(&self, path: &str, build: &F) -> Result<(reqwest::Response, u64)>
    where
        F: Fn(&reqwest::Client, &str) -> Result<reqwest::RequestBuilder>,
    {
        if let Some(o) = &self.oauth
            && o.due()
        {
            self.refresh_auth(o, o.generation()).await?;
        }
        let generation = self.oauth.as_ref().map_or(0, |o| o.generation());
        let req = build(&self.http, &self.url(path))?;
        let ticket = self.pacer.acquire().await;
        let auth = self.auth.read().expect("auth lock")[ticket.token].clone();
        let req = req.header(AUTHORIZATION, auth);
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            endpoint = path,
            token = ticket.token,
            "sending Fibery request"
        );
        let resp = req.send().await.map_err(Error::from_reqwest)?;
        self.pacer
            .answered(&ticket, resp.status() == StatusCode::TOO_MANY_REQUESTS);
        Ok((resp, generation))
    }

    /// Reads the whole body and classifies the response.
    async fn read(&self, endpoint: &str, resp: reqwest::Response) -> Result<HttpResponse> {
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(Error::from_reqwest);
        self.classify(endpoint, status, headers, body)
    }

    /// Turns a response into the buffered response or a typed error. A 429 also pauses
    /// the pacer (every clone waits).
    fn classify(
        &self,
        endpoint: &str,
        status: StatusCode,
        headers: HeaderMap,
        body: Result<Bytes>,
    ) -> Result<HttpResponse> {
        let stats = &self.stats;
        if status == StatusCode::TOO_MANY_REQUESTS {
            stats.rate_limited.fetch_add(1, Ordering::Relaxed);
            let retry_after = parse_retry_after(&headers);
            let pause = retry_after
                .unwrap_or(self.retry.initial_backoff)
                .min(self.retry.max_retry_after);
            self.pacer.pause_for(pause);
            tracing::debug!(endpoint, ?retry_after, "rate limited (429)");
            return Err(Error::RateLimited { retry_after });
        }
        let body = body?;
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(HttpResponse {
                status,
                headers,
                body,
                scrub: self.scrub.clone(),
            });
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(Error::Auth {
                status: status.as_u16(),
                message: self.scrub.snippet(&body),
            });
        }
        if status.is_server_error() {
            stats.server_errors.fetch_add(1, Ordering::Relaxed);
        }
        Err(self.refusal(endpoint, status, &body))
    }

    /// The typed error of a refused request, decided by the status alone (the body only
    /// fills in the details): 404 is [`Error::NotFound`], 5xx [`Error::Server`] (with
    /// Fibery's `{name, message, data}` when the body is one, else one synthesized from the
    /// text), any other status [`Error::Http`]. A JSON body and a text body with the same
    /// status give the same kind.
    fn refusal(&self, endpoint: &str, status: StatusCode, body: &[u8]) -> Error {
        if status == StatusCode::NOT_FOUND {
            return Error::NotFound(endpoint.to_owned());
        }
        if status.is_server_error() {
            let error = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .filter(serde_json::Value::is_object)
                .and_then(|v| FiberyError::from_value(&v))
                .unwrap_or_else(|| {
                    let name = format!("http/{}", status.as_u16());
                    FiberyError::new(name, self.scrub.snippet(body))
                });
            return Error::Server {
                status: status.as_u16(),
                error: Box::new(error),
            };
        }
        Error::Http {
            status: status.as_u16(),
            endpoint: endpoint.to_owned(),
            body: self.scrub.snippet(body),
        }
    }
}

/// `Authorization: <scheme> <token>`, marked sensitive (never printed by reqwest/hyper).
fn auth_header(scheme: AuthScheme, token: &str) -> Result<HeaderValue> {
    let prefix = match scheme {
        AuthScheme::Token => "Token",
        AuthScheme::Bearer => "Bearer",
    };
    let mut auth = HeaderValue::from_str(&format!("{prefix} {token}")).map_err(|_| {
        Error::Config("the token contains characters not allowed in a header".into())
    })?;
    auth.set_sensitive(true);
    Ok(auth)
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

#[cfg(test)]
mod tests {
    use super::*;

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
