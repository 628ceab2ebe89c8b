//! The TLS backend chosen by cargo feature (`rustls-aws-lc`, `rustls-ring`, `native-tls`;
//! none: plain HTTP only), applied to the reqwest builder.

use crate::error::{Error, Result};

/// Whether this build can speak `https://` at all.
pub(crate) const HAS_TLS: bool = cfg!(any(
    feature = "rustls-aws-lc",
    feature = "rustls-ring",
    feature = "native-tls"
));

/// Refuses an `https://` base URL in a build without a TLS feature: a clear error at
/// `build()` instead of a connect failure on the first request.
pub(crate) fn check_scheme(base: &str) -> Result<()> {
    if !HAS_TLS && base.starts_with("https://") {
        return Err(Error::Config(
            "this fibery-client was built without a TLS feature (rustls-aws-lc, rustls-ring or \
             native-tls); it speaks plain http:// only"
                .into(),
        ));
    }
    Ok(())
}

/// Selects the backend on `builder`. rustls wins when both it and native-tls are enabled.
pub(crate) fn configure(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    #[cfg(any(feature = "rustls-aws-lc", feature = "rustls-ring"))]
    {
        #[cfg(all(feature = "rustls-ring", not(feature = "rustls-aws-lc")))]
        install_ring_provider();
        builder.tls_backend_rustls()
    }
    #[cfg(all(
        feature = "native-tls",
        not(any(feature = "rustls-aws-lc", feature = "rustls-ring"))
    ))]
    {
        builder.tls_backend_native()
    }
    #[cfg(not(any(
        feature = "rustls-aws-lc",
        feature = "rustls-ring",
        feature = "native-tls"
    )))]
    {
        builder
    }
}

/// With `rustls-ring` (and not `rustls-aws-lc`, whose provider reqwest then uses itself),
/// installs ring as rustls' process-wide default provider, once. A provider the program
/// installed earlier is kept: `install_default` only fails when one is already set.
#[cfg(all(feature = "rustls-ring", not(feature = "rustls-aws-lc")))]
fn install_ring_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Err means another thread installed one meanwhile: that one serves.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_needs_a_tls_feature_and_http_never_does() {
        assert!(check_scheme("http://127.0.0.1:1").is_ok());
        let https = check_scheme("https://acme.fibery.io");
        if HAS_TLS {
            assert!(https.is_ok());
        } else {
            assert!(matches!(https, Err(Error::Config(_))));
        }
    }
}
