//! Removing the API token from text that comes back from the server.
//!
//! A misconfigured proxy or a debug endpoint may echo the `Authorization` header into a
//! 401/400/500 body or into a command's error message. Every server text that enters an
//! [`Error`] (and so a log record, the CLI's stderr or its rejects file) passes through the
//! client's [`Scrubber`] first, which replaces the token with [`MARKER`]:
//!
//! * the token with its `Bearer ` or `Token ` prefix, or alone;
//! * written as is, percent-encoded (`%2F`, `%2f`, any mix), form-encoded (`+` for the
//!   space) or JSON-escaped (`\/`, `\"`, `\\`, `\u00XX`).
//!
//! Tokens of at least [`MIN_ANYWHERE`] characters are removed wherever they occur. A shorter
//! token (never a real Fibery key, which is a long random string, but possible against a
//! test server) would occur by chance inside ordinary words, so it is removed only where it
//! stands as a word of its own: not touching an ASCII letter or digit on either side.
//!
//! Only error and log text is scrubbed; the data a query returns is never altered.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, RwLock};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, FiberyError};

/// What replaces each occurrence of the token.
const MARKER: &str = "[redacted]";

/// Tokens at least this long are removed anywhere; shorter ones only as whole words.
const MIN_ANYWHERE: usize = 8;

/// Characters of a response body kept in an error (the rest is cut and marked with `…`).
const SNIPPET_CHARS: usize = 300;

/// Removes tokens, each in every form listed in the [module docs](self), from text: the
/// API token, or every OAuth token and client secret the client has held.
pub(crate) struct Scrubber {
    /// Per token `Bearer <t>`, `Token <t>`, `<t>`, longest first, so that a prefixed form
    /// goes whole; with whether a match must not touch an ASCII letter or digit on either
    /// side (short tokens).
    forms: RwLock<Vec<(SecretString, bool)>>,
}

/// OAuth secrets kept for scrubbing at most (older ones have long expired).
const MAX_SECRETS: usize = 64;

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scrubber").finish_non_exhaustive()
    }
}

impl Scrubber {
    /// A scrubber for `token` (as sent, without its scheme prefix). An empty token scrubs
    /// nothing.
    pub(crate) fn new(token: &str) -> Self {
        let s = Scrubber {
            forms: RwLock::new(Vec::new()),
        };
        s.add(token);
        s
    }

    /// A scrubber for several secrets.
    pub(crate) fn many<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Self {
        let s = Scrubber::new("");
        tokens.into_iter().for_each(|t| s.add(t));
        s
    }

    /// Also scrubs `token` from now on (the oldest are forgotten past [`MAX_SECRETS`]).
    pub(crate) fn add(&self, token: &str) {
        let token = token.trim();
        if token.is_empty() {
            return;
        }
        let whole_word = token.len() < MIN_ANYWHERE;
        let mut forms = self.forms.write().expect("scrubber lock");
        if forms.iter().any(|(f, _)| f.expose_secret() == token) {
            return;
        }
        if forms.len() >= MAX_SECRETS * 3 {
            forms.drain(..3);
        }
        for f in [
            format!("Bearer {token}"),
            format!("Token {token}"),
            token.to_owned(),
        ] {
            forms.push((SecretString::from(f), whole_word));
        }
        // Longest first across tokens too, so that no token's prefixed form is cut short.
        forms.sort_by_key(|(f, _)| std::cmp::Reverse(f.expose_secret().len()));
    }

    /// `text` with every occurrence of a token replaced by [`MARKER`].
    pub(crate) fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let forms = self.forms.read().expect("scrubber lock");
        let bytes = text.as_bytes();
        let mut out = String::new();
        let (mut last, mut i) = (0, 0);
        while i < bytes.len() {
            match match_at(&forms, bytes, i) {
                Some(end) => {
                    // Matches start and end on ASCII bytes, so these are char boundaries.
                    out.push_str(&text[last..i]);
                    out.push_str(MARKER);
                    (last, i) = (end, end);
                }
                None => i += 1,
            }
        }
        if last == 0 {
            return Cow::Borrowed(text);
        }
        out.push_str(&text[last..]);
        Cow::Owned(out)
    }

    /// An owned string, scrubbed.
    fn string(&self, s: String) -> String {
        match self.text(&s) {
            Cow::Borrowed(_) => s,
            Cow::Owned(o) => o,
        }
    }

    /// A JSON value with every string (and object key) in it scrubbed.
    fn value(&self, v: Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.string(s)),
            Value::Array(a) => Value::Array(a.into_iter().map(|v| self.value(v)).collect()),
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| (self.string(k), self.value(v)))
                    .collect(),
            ),
            v @ (Value::Null | Value::Bool(_) | Value::Number(_)) => v,
        }
    }

    fn fibery(&self, e: &mut FiberyError) {
        e.name = self.string(std::mem::take(&mut e.name));
        e.message = self.string(std::mem::take(&mut e.message));
        e.data = self.value(e.data.take());
    }

    /// A reqwest error whose URL (a redirect target chosen by the server) shows the token
    /// gets the scrubbed URL, or none when that does not parse.
    fn reqwest(&self, e: reqwest::Error) -> reqwest::Error {
        let clean = e.url().and_then(|u| match self.text(u.as_str()) {
            Cow::Owned(clean) => Some(clean),
            Cow::Borrowed(_) => None,
        });
        let Some(clean) = clean else { return e };
        match url::Url::parse(&clean) {
            Ok(u) => e.with_url(u),
            Err(_) => e.without_url(),
        }
    }

    /// `e` with the token removed from every text it carries (server messages, error
    /// payloads and their data, bodies, decode messages, URLs), recursively.
    pub(crate) fn error(&self, e: Error) -> Error {
        match e {
            Error::Auth { status, message } => Error::Auth {
                status,
                message: self.string(message),
            },
            Error::Server { status, mut error } => {
                self.fibery(&mut error);
                Error::Server { status, error }
            }
            Error::Command {
                index,
                command,
                mut error,
            } => {
                self.fibery(&mut error);
                Error::Command {
                    index,
                    command,
                    error,
                }
            }
            Error::Http {
                status,
                endpoint,
                body,
            } => Error::Http {
                status,
                endpoint,
                body: self.string(body),
            },
            Error::Decode { context, message } => Error::Decode {
                context,
                message: self.string(message),
            },
            Error::NotFound(what) => Error::NotFound(self.string(what)),
            Error::Transport { sent, source } => Error::Transport {
                sent,
                source: self.reqwest(source),
            },
            Error::Batch { source } => match Arc::try_unwrap(source) {
                Ok(e) => Error::Batch {
                    source: Arc::new(self.error(e)),
                },
                // Shared by several commands: built from an error scrubbed when the
                // request failed.
                Err(source) => Error::Batch { source },
            },
            // Local text only: nothing from the server.
            e @ (Error::Config(_)
            | Error::InvalidInput(_)
            | Error::BatcherStopped { .. }
            | Error::Validation { .. }
            | Error::RateLimited { .. }
            | Error::Timeout { .. }
            | Error::Unpageable { .. }
            | Error::Io(_)) => e,
        }
    }

    /// The first characters of a response body, as kept in an error. Scrubbed before it is
    /// cut, so that a token straddling the cut cannot leave its first characters behind.
    pub(crate) fn snippet(&self, body: &[u8]) -> String {
        let lossy = String::from_utf8_lossy(body);
        let s = self.text(&lossy);
        let mut out: String = s.chars().take(SNIPPET_CHARS).collect();
        if s.chars().nth(SNIPPET_CHARS).is_some() {
            out.push('…');
        }
        out
    }
}

impl Client {
    /// `e` with the token scrubbed out (see [`Scrubber::error`]).
    pub(crate) fn scrub(&self, e: Error) -> Error {
        self.inner.transport.scrub.error(e)
    }
}

/// End of the form that matches at `i`, if one does.
fn match_at(forms: &[(SecretString, bool)], bytes: &[u8], i: usize) -> Option<usize> {
    let is_word = |b: &u8| b.is_ascii_alphanumeric();
    forms.iter().find_map(|(form, whole_word)| {
        if *whole_word && i > 0 && is_word(&bytes[i - 1]) {
            return None;
        }
        let end = i + encoded_match(&bytes[i..], form.expose_secret().as_bytes())?;
        (!whole_word || bytes.get(end).is_none_or(|b| !is_word(b))).then_some(end)
    })
}

/// Length of the prefix of `s` that spells `form`, each byte written as is or encoded.
fn encoded_match(s: &[u8], form: &[u8]) -> Option<usize> {
    let Some((&want, rest)) = form.split_first() else {
        return Some(0);
    };
    encodings(s, want)
        .into_iter()
        .flatten()
        .find_map(|n| encoded_match(&s[n..], rest).map(|m| n + m))
}

/// The lengths of the ways `s` may start with the byte `want`: as is, `%XX`, `+` for a
/// space, `\u00XX`, or a backslash escape.
fn encodings(s: &[u8], want: u8) -> [Option<usize>; 5] {
    let hex = |h: u8, l: u8| {
        let d = |c: u8| (c as char).to_digit(16);
        Some((d(h)? * 16 + d(l)?) as u8)
    };
    [
        (s.first() == Some(&want)).then_some(1),
        match s {
            [b'%', h, l, ..] if hex(*h, *l) == Some(want) => Some(3),
            _ => None,
        },
        (want == b' ' && s.first() == Some(&b'+')).then_some(1),
        match s {
            [b'\\', b'u', b'0', b'0', h, l, ..] if hex(*h, *l) == Some(want) => Some(6),
            _ => None,
        },
        match s {
            [b'\\', c, ..] if *c == want && matches!(want, b'/' | b'"' | b'\\') => Some(2),
            _ => None,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "tok/9f+8e=7d";

    fn scrub(token: &str, text: &str) -> String {
        Scrubber::new(token).text(text).into_owned()
    }

    #[test]
    fn every_form_and_encoding_is_removed() {
        for (text, want) in [
            ("a tok/9f+8e=7d b", "a [redacted] b"),
            ("h: Token tok/9f+8e=7d.", "h: [redacted]."),
            ("h: Bearer tok/9f+8e=7d", "h: [redacted]"),
            ("q=Token%20tok%2F9f%2B8e%3D7d&x", "q=[redacted]&x"),
            ("q=Bearer+tok%2f9f%2b8e%3d7d", "q=[redacted]"),
            ("q=tok%2F9f+8e%3d7d", "q=[redacted]"),
            ("{\"m\":\"tok\\/9f+8e\\u003d7d\"}", "{\"m\":\"[redacted]\"}"),
            (
                "twice tok/9f+8e=7dtok/9f+8e=7d",
                "twice [redacted][redacted]",
            ),
            // A lower-case prefix is not part of a form; the token itself still goes.
            ("token tok/9f+8e=7d", "token [redacted]"),
        ] {
            assert_eq!(scrub(T, text), want, "{text}");
        }
    }

    #[test]
    fn added_secrets_are_removed_too_short_ones_as_words() {
        let s = Scrubber::new("api-key-0123456789");
        s.add("oauth-access-abcdef");
        s.add("rf1");
        s.add("");
        let text =
            "Token api-key-0123456789, Bearer oauth-access-abcdef, oauth%2Daccess-abcdef rf1 rf12";
        assert_eq!(
            s.text(text),
            "[redacted], [redacted], [redacted] [redacted] rf12"
        );
        let many = Scrubber::many(["code-0123456789", "secret-0123456789"]);
        assert_eq!(
            many.text("code-0123456789 secret-0123456789"),
            "[redacted] [redacted]"
        );
    }

    #[test]
    fn other_text_is_untouched_and_not_copied() {
        let s = Scrubber::new(T);
        let text = "tok/9f+8e=7 is not the token; neither is %2F9f; ünïcödé … ok";
        assert!(matches!(s.text(text), Cow::Borrowed(t) if t == text));
        assert_eq!(s.text("ü tok/9f+8e=7d ü"), "ü [redacted] ü");
    }

    #[test]
    fn a_percent_in_the_token_matches_literally_or_encoded() {
        assert_eq!(scrub("ab%25cdefgh", "x ab%25cdefgh y"), "x [redacted] y");
        assert_eq!(scrub("ab%25cdefgh", "x ab%2525cdefgh y"), "x [redacted] y");
    }

    #[test]
    fn long_tokens_go_anywhere_short_ones_only_as_words() {
        assert_eq!(scrub("abcdefgh", "xxabcdefghyy"), "xx[redacted]yy");
        // A 1-3 character token would wreck ordinary words: only whole words go.
        assert_eq!(
            scrub("e", "the key e is invalid (Token e)"),
            "the key [redacted] is invalid ([redacted])"
        );
        assert_eq!(
            scrub("ab", "about \"ab\" tab ab, Bearer%20ab=ab1"),
            "about \"[redacted]\" tab [redacted], [redacted]=ab1"
        );
        assert_eq!(scrub("abc", "abc"), "[redacted]");
        assert_eq!(scrub("", "nothing to do"), "nothing to do");
    }

    #[test]
    fn snippet_scrubs_before_cutting() {
        let s = Scrubber::new(T);
        // Cut at SNIPPET_CHARS, the raw body would end in the token's first characters.
        let pad = "x".repeat(SNIPPET_CHARS - 5);
        let cut = s.snippet(format!("{pad}{T} tail").as_bytes());
        assert!(!cut.contains("tok/"), "{cut}");
        assert_eq!(cut, format!("{pad}[reda…"));
        let long = s.snippet("y".repeat(SNIPPET_CHARS + 1).as_bytes());
        assert_eq!(long.chars().count(), SNIPPET_CHARS + 1);
        assert!(long.ends_with('…'));
        assert_eq!(s.snippet(b"short"), "short");
    }

    #[test]
    fn errors_are_scrubbed_recursively() {
        let s = Scrubber::new(T);
        let payload = FiberyError::new("n Token tok/9f+8e=7d", format!("bad {T} here"))
            .with_data(serde_json::json!({"h": [T, {T: 1}], "n": 2}));
        let e = Error::Batch {
            source: Arc::new(Error::Command {
                index: 3,
                command: "fibery.entity/create".into(),
                error: Box::new(payload),
            }),
        };
        let e = s.error(e);
        let Error::Batch { source } = &e else {
            panic!("{e:?}")
        };
        let Error::Command { index, error, .. } = &**source else {
            panic!("{e:?}")
        };
        assert_eq!(*index, 3);
        assert_eq!(error.name, "n [redacted]");
        assert_eq!(error.message, "bad [redacted] here");
        assert_eq!(
            error.data,
            serde_json::json!({"h": ["[redacted]", {"[redacted]": 1}], "n": 2})
        );
        for e in [
            Error::Auth {
                status: 401,
                message: T.into(),
            },
            Error::Http {
                status: 400,
                endpoint: "/x".into(),
                body: T.into(),
            },
            Error::decode("c", T),
            Error::NotFound(T.into()),
        ] {
            let e = s.error(e);
            assert!(!format!("{e} {e:?}").contains("tok/"), "{e:?}");
            assert!(e.to_string().contains(MARKER), "{e}");
        }
        assert!(!format!("{s:?}").contains("tok/"));
    }
}
