//! Fibery's API areas, one module each: commands, documents, files, the schema endpoint,
//! webhooks, and the OAuth authorization server.

pub(crate) mod commands;
pub(crate) mod documents;
pub(crate) mod files;
pub(crate) mod oauth;
pub(crate) mod schema;
pub(crate) mod webhooks;

/// Whether the emulator may call this URL: http(s) to `localhost` or a loopback address only.
pub(crate) fn is_loopback_url(u: &str) -> bool {
    reqwest::Url::parse(u).ok().is_some_and(|url| {
        matches!(url.scheme(), "http" | "https")
            && match url.host() {
                Some(url::Host::Domain(d)) => d == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            }
    })
}
