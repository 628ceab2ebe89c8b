//! How one input cell becomes the value of a primitive field: one rule per field type
//! (documented in the README, "How cells are read"), finishing with fibery-core's own
//! parser ([`FieldValue::parse_primitive`]; plain text, which core takes as it is, skips
//! the round trip) so the CLI accepts and writes exactly what `Schema::validate` accepts.
//!
//! A cell is read as text first: a CSV cell as written, a JSONL string as its content, a
//! JSONL number as its literal (`1e3`, `123456789012345678901234567890`), a JSONL boolean
//! as `true`/`false`. Surrounding whitespace is trimmed; an empty cell is no value. Then
//! the field type decides:
//!
//! | field type | the text must be | written as |
//! |---|---|---|
//! | text, email, url, emoji, color | anything (email/url/color checked by core) | the text: `5` → `"5"` |
//! | int | an integer, or a number with no fraction below 9e15 | `3`, `3.0`, `1e3` → 3, 3, 1000 |
//! | decimal | core's decimal syntax: sign, digits, fraction, exponent | the text: `1e3` → `"1e3"` |
//! | bool | `true`/`false`, `yes`/`no`, `y`/`n`, `1`/`0` (any case) | `true` / `false` |
//! | date | `YYYY-MM-DD`, or an RFC 3339 date-time (its UTC date) | `YYYY-MM-DD` |
//! | date-time | RFC 3339, any offset | UTC with milliseconds |
//! | uuid | a UUID | lowercase hyphenated |
//! | rank | a number | the number |
//! | ranges, location, json | JSON (an object or list as written; other text as a string) | the JSON |
//!
//! No cell may contain a NUL character (U+0000): Fibery cannot store it, and in a key it
//! would silently make a different key.

use fibery_core::schema::PrimitiveType;
use fibery_core::value::FieldValue;
use serde_json::{Number, Value};

/// The words a boolean cell may be, and what they mean (compared ignoring case).
pub const BOOL_WORDS: [(&str, bool); 8] = [
    ("true", true),
    ("yes", true),
    ("y", true),
    ("1", true),
    ("false", false),
    ("no", false),
    ("n", false),
    ("0", false),
];

/// The text of a cell: strings trimmed (empty is `None`), numbers as written (`literal`,
/// when the reader kept one), booleans as `true`/`false`, lists and objects as JSON.
pub fn text(v: &Value, literal: Option<&str>) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.trim()).filter(|t| !t.is_empty()).map(str::to_owned),
        Value::Number(n) => Some(literal.map_or_else(|| n.to_string(), str::to_owned)),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

/// Whether any string in `v` (at any depth) holds a NUL character.
pub fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// What a primitive field takes, for messages.
pub fn expected(p: &PrimitiveType) -> String {
    match p {
        PrimitiveType::Text | PrimitiveType::LegacyRichText => "text".into(),
        PrimitiveType::Int => "an integer".into(),
        PrimitiveType::Decimal => "a decimal number".into(),
        PrimitiveType::Bool => "a boolean (true/false, yes/no, y/n, 1/0)".into(),
        PrimitiveType::Date => "a date (YYYY-MM-DD or an RFC 3339 date-time)".into(),
        PrimitiveType::DateTime => "an RFC 3339 date-time".into(),
        PrimitiveType::Uuid => "a UUID".into(),
        PrimitiveType::Email => "an email address".into(),
        PrimitiveType::Url => "a URL".into(),
        PrimitiveType::Emoji => "an emoji".into(),
        PrimitiveType::Color => "a #rrggbb color".into(),
        PrimitiveType::Rank => "a number".into(),
        other => format!("a {} value", other.name()),
    }
}

/// Whether a field of type `p` takes JSON (lists and objects), not just text.
pub fn is_structured(p: &PrimitiveType) -> bool {
    matches!(
        p,
        PrimitiveType::DateRange
            | PrimitiveType::DateTimeRange
            | PrimitiveType::Location
            | PrimitiveType::JsonValue
            | PrimitiveType::Duration
            | PrimitiveType::Other(_)
    )
}

/// A cell a field type does not take.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    /// The cell's text, as written (for the message).
    pub text: String,
    /// Core's reason, when the text got as far as core's parser.
    pub detail: Option<String>,
}

/// Converts a non-empty cell (`raw` is its [`text`], `v` the value as read) for a field
/// of primitive type `p`.
pub fn convert(p: &PrimitiveType, v: &Value, raw: String) -> Result<Value, Refused> {
    let refused = |text, detail| Refused { text, detail };
    if matches!(p, PrimitiveType::Text | PrimitiveType::LegacyRichText) {
        // Core takes any string as text: spare the round trip.
        return Ok(Value::String(raw));
    }
    // (the JSON core parses, the text when the JSON does not hold it)
    let (candidate, text) = match p {
        PrimitiveType::Int | PrimitiveType::Rank => match number(&raw) {
            Some(n) => (Value::Number(n), Some(raw)),
            None => return Err(refused(raw, None)),
        },
        PrimitiveType::Bool => match BOOL_WORDS
            .iter()
            .find(|(w, _)| w.eq_ignore_ascii_case(&raw))
        {
            Some((_, b)) => (Value::Bool(*b), Some(raw)),
            None => return Err(refused(raw, None)),
        },
        p if is_structured(p) => (structured(v, raw), None),
        _ => (Value::String(raw), None),
    };
    let parsed = match FieldValue::parse_primitive(p, &candidate) {
        Ok(parsed) => parsed,
        Err(e) => {
            let text = text.unwrap_or_else(|| match candidate {
                Value::String(s) => s,
                other => other.to_string(),
            });
            return Err(refused(text, Some(e.0)));
        }
    };
    Ok(match parsed {
        // Core keeps these as given (the text is already trimmed): no need to rebuild it.
        FieldValue::Text(_)
        | FieldValue::Email(_)
        | FieldValue::Url(_)
        | FieldValue::Emoji(_)
        | FieldValue::Color(_)
        | FieldValue::Decimal(_)
        | FieldValue::Bool(_)
        | FieldValue::Json(_) => candidate,
        other => other.to_json(),
    })
}

/// An integer as text (`+3` too), or any JSON number.
fn number(raw: &str) -> Option<Number> {
    match raw.parse::<i64>() {
        Ok(i) => Some(Number::from(i)),
        Err(_) => serde_json::from_str::<Number>(raw).ok(),
    }
}

/// JSONL lists and objects as they are; text that is a JSON object or list, parsed; any
/// other text as a string.
fn structured(v: &Value, raw: String) -> Value {
    if v.is_array() || v.is_object() {
        return v.clone();
    }
    match serde_json::from_str::<Value>(&raw) {
        Ok(j) if j.is_array() || j.is_object() => j,
        _ => Value::String(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(p: PrimitiveType, raw: &str) -> Value {
        convert(&p, &json!(raw), raw.to_string()).unwrap()
    }

    fn bad(p: PrimitiveType, raw: &str) {
        let r = convert(&p, &json!(raw), raw.to_string());
        assert!(r.is_err(), "{raw} for {p:?}");
    }

    #[test]
    fn the_rule_per_type() {
        assert_eq!(ok(PrimitiveType::Text, "5"), json!("5"));
        assert_eq!(ok(PrimitiveType::Int, "3"), json!(3));
        assert_eq!(ok(PrimitiveType::Int, "+3"), json!(3));
        assert_eq!(ok(PrimitiveType::Int, "3.0"), json!(3));
        assert_eq!(ok(PrimitiveType::Int, "1e3"), json!(1000));
        bad(PrimitiveType::Int, "1.5");
        bad(PrimitiveType::Int, "99999999999999999999999");
        bad(PrimitiveType::Int, "three");
        assert_eq!(ok(PrimitiveType::Decimal, "1e3"), json!("1e3"));
        assert_eq!(ok(PrimitiveType::Decimal, "-2.50"), json!("-2.50"));
        bad(PrimitiveType::Decimal, "NaN");
        bad(PrimitiveType::Decimal, "0x10");
        for (w, b) in BOOL_WORDS {
            assert_eq!(ok(PrimitiveType::Bool, &w.to_uppercase()), json!(b));
        }
        bad(PrimitiveType::Bool, "maybe");
        assert_eq!(ok(PrimitiveType::Date, "2026-05-01"), json!("2026-05-01"));
        assert_eq!(
            ok(PrimitiveType::Date, "2026-05-01T23:30:00-05:00"),
            json!("2026-05-02")
        );
        bad(PrimitiveType::Date, "2026-02-30");
        assert_eq!(
            ok(PrimitiveType::DateTime, "2026-05-01T10:00:00+02:00"),
            json!("2026-05-01T08:00:00.000Z")
        );
        bad(PrimitiveType::Email, "not an address");
        bad(PrimitiveType::Color, "red");
        assert_eq!(ok(PrimitiveType::Rank, "5"), json!(5));
        assert_eq!(ok(PrimitiveType::JsonValue, "{\"a\": 1}"), json!({"a": 1}));
        assert_eq!(ok(PrimitiveType::JsonValue, "hello"), json!("hello"));
    }

    #[test]
    fn cell_text_keeps_number_literals_and_finds_nul() {
        assert_eq!(text(&json!("  a "), None).as_deref(), Some("a"));
        assert_eq!(text(&json!("   "), None), None);
        assert_eq!(text(&json!(5), None).as_deref(), Some("5"));
        assert_eq!(text(&json!(1e29), Some("1e29")).as_deref(), Some("1e29"));
        assert_eq!(text(&json!(true), None).as_deref(), Some("true"));
        assert!(has_nul(&json!("BAD-00003\u{0}")));
        assert!(has_nul(&json!({"x": ["ok", "n\u{0}"]})));
        assert!(!has_nul(&json!({"x": ["ok"]})));
    }
}
