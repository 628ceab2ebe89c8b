//! The one rule for every URL the emulator itself calls (`/api/files/from-url`, webhook
//! deliveries), applied to the first URL and to every redirect hop.

use std::sync::Arc;
use std::time::Duration;

/// Redirect hops followed at most (each checked against the rule).
const MAX_REDIRECTS: usize = 5;

/// Which targets the emulator may call: http(s) to `localhost` or a loopback address, and,
/// when an allow-list is set, only the listed `host:port` pairs among them.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutboundRule {
    allowed: Option<Arc<Vec<String>>>,
}

impl OutboundRule {
    /// Loopback targets, restricted to `allowed` (`host:port`) when given.
    pub fn new(allowed: Option<Vec<String>>) -> Self {
        let allowed = allowed.map(|v| Arc::new(v.into_iter().map(|s| s.to_lowercase()).collect()));
        OutboundRule { allowed }
    }

    /// Whether the emulator may call `url`.
    pub fn allows(&self, url: &reqwest::Url) -> bool {
        let loopback = matches!(url.scheme(), "http" | "https")
            && match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
        let listed = || {
            let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
                return false;
            };
            let here = format!("{host}:{port}").to_lowercase();
            self.allowed.as_ref().is_none_or(|a| a.contains(&here))
        };
        loopback && listed()
    }

    /// [`OutboundRule::allows`] for a URL string (false when it does not parse).
    pub fn allows_str(&self, url: &str) -> bool {
        reqwest::Url::parse(url).is_ok_and(|u| self.allows(&u))
    }

    /// The HTTP client for outbound calls: every redirect hop must pass this rule too.
    pub fn client(&self) -> reqwest::Client {
        let rule = self.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(RefusedRedirect)
            } else if rule.allows(attempt.url()) {
                attempt.follow()
            } else {
                attempt.error(RefusedRedirect)
            }
        });
        reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(policy)
            .build()
            .unwrap_or_default()
    }
}

/// A redirect hop the rule refused (or one hop too many).
#[derive(Debug)]
pub(crate) struct RefusedRedirect;

impl std::fmt::Display for RefusedRedirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "redirect refused: the emulator only follows redirects to allowed loopback targets",
        )
    }
}

impl std::error::Error for RefusedRedirect {}
