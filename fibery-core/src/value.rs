//! Typed field values, one variant per Fibery field kind, with the exact wire formats.
//!
//! Reading is lenient where Fibery is (decimals as numbers or strings, date-times in any
//! RFC 3339 form); writing is exact (`YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC, decimals as strings,
//! references as `{"fibery/id": ..}`).
//!
//! ```
//! use fibery_core::schema::PrimitiveType;
//! use fibery_core::value::FieldValue;
//! use serde_json::json;
//!
//! let v = FieldValue::parse_primitive(&PrimitiveType::DateTime, &json!("2020-01-22T03:02:23.9771+02:00")).unwrap();
//! assert_eq!(v.to_json(), json!("2020-01-22T01:02:23.977Z"));
//! let d = FieldValue::parse_primitive(&PrimitiveType::Decimal, &json!(1.5)).unwrap();
//! assert_eq!(d.to_json(), json!("1.5"));
//! ```

use serde_json::{Map, Number, Value, json};
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::schema::{FieldType, PrimitiveType};

/// Error from converting a JSON value into a [`FieldValue`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

fn verr(msg: impl Into<String>) -> ValueError {
    ValueError(msg.into())
}

/// Fibery's date-time wire form, `2020-01-22T01:02:23.977Z`: UTC, exactly three fractional
/// digits, `Z`. Only for a date-time already in UTC: [`format_date_time`] converts first.
pub const DATE_TIME_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Fibery's date wire form, `2020-01-22`.
pub const DATE_FORMAT: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// Formats a date-time exactly as Fibery does ([`DATE_TIME_FORMAT`] in UTC,
/// `2020-01-22T01:02:23.977Z`); sub-millisecond digits are truncated.
pub fn format_date_time(dt: OffsetDateTime) -> String {
    dt.to_offset(UtcOffset::UTC)
        .format(DATE_TIME_FORMAT)
        .unwrap_or_else(|_| dt.to_string())
}

/// Parses any RFC 3339 date-time (any offset, any number of fractional digits) into UTC.
pub fn parse_date_time(s: &str) -> Result<OffsetDateTime, ValueError> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map(|d| d.to_offset(UtcOffset::UTC))
        .map_err(|e| verr(format!("`{s}` is not an RFC 3339 date-time ({e})")))
}

/// Formats a date as `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    d.format(DATE_FORMAT).unwrap_or_else(|_| d.to_string())
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, ValueError> {
    Date::parse(s, DATE_FORMAT).map_err(|e| verr(format!("`{s}` is not a YYYY-MM-DD date ({e})")))
}

/// A decimal kept as its text (Fibery returns decimals as strings such as `"1.79"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal(String);

impl Decimal {
    /// Validates decimal text: optional sign, digits, optional fraction, optional exponent.
    pub fn parse(s: &str) -> Result<Decimal, ValueError> {
        let t = s.trim();
        let body = t.strip_prefix(['-', '+']).unwrap_or(t);
        let (mantissa, exp) = match body.split_once(['e', 'E']) {
            Some((m, e)) => (m, Some(e)),
            None => (body, None),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = |x: &str| x.chars().all(|c| c.is_ascii_digit());
        let ok = !(int.is_empty() && frac.is_empty())
            && digits(int)
            && digits(frac)
            && exp.is_none_or(|e| {
                let e = e.strip_prefix(['-', '+']).unwrap_or(e);
                !e.is_empty() && digits(e)
            });
        if ok {
            Ok(Decimal(t.to_owned()))
        } else {
            Err(verr(format!("`{s}` is not a decimal number")))
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As `f64` (lossy).
    pub fn to_f64(&self) -> Option<f64> {
        self.0.parse().ok()
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<i64> for Decimal {
    fn from(v: i64) -> Self {
        Decimal(v.to_string())
    }
}

/// A `fibery/location` value.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    /// Longitude, -180..=180.
    pub longitude: f64,
    /// Latitude, -90..=90.
    pub latitude: f64,
    /// `fullAddress`
    pub full_address: Option<String>,
    /// `addressParts` (`city`, `country`, ...), verbatim.
    pub address_parts: Option<Map<String, Value>>,
}

/// A typed field value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FieldValue {
    /// `null` (clears the field).
    Null,
    /// `fibery/text`
    Text(String),
    /// `fibery/int`
    Int(i64),
    /// `fibery/decimal` (written as a string).
    Decimal(Decimal),
    /// `fibery/bool`
    Bool(bool),
    /// `fibery/date`
    Date(Date),
    /// `fibery/date-time` (UTC).
    DateTime(OffsetDateTime),
    /// `fibery/date-range`
    DateRange {
        /// Start.
        start: Date,
        /// End.
        end: Date,
    },
    /// `fibery/date-time-range`
    DateTimeRange {
        /// Start (UTC).
        start: OffsetDateTime,
        /// End (UTC).
        end: OffsetDateTime,
    },
    /// `fibery/email`
    Email(String),
    /// `fibery/url` (kept as given after validation).
    Url(String),
    /// `fibery/uuid`
    Uuid(Uuid),
    /// `fibery/rank`
    Rank(Number),
    /// `fibery/json-value`, and primitives with no stricter model (`fibery/duration`, ...).
    Json(Value),
    /// `fibery/location`
    Location(Location),
    /// `fibery/emoji`
    Emoji(String),
    /// `fibery/color` (`#rrggbb`).
    Color(String),
    /// A single reference: relation, user, file, single-select option or workflow state.
    Ref(Uuid),
    /// A collection of references (collections, multi-selects, files).
    Refs(Vec<Uuid>),
}

fn expect_str<'a>(v: &'a Value, what: &str) -> Result<&'a str, ValueError> {
    v.as_str()
        .ok_or_else(|| verr(format!("expected {what} as a string, got {}", short(v))))
}

/// A short rendering of a value for messages (long strings are cut).
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(57).collect::<String>())
    } else {
        s
    }
}

fn range_parts(v: &Value) -> Result<(&str, &str), ValueError> {
    let m = v
        .as_object()
        .ok_or_else(|| verr(format!("expected {{\"start\", \"end\"}}, got {}", short(v))))?;
    let part = |k: &str| {
        m.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| verr(format!("range `{k}` must be a string")))
    };
    Ok((part("start")?, part("end")?))
}

/// Reads a reference: `"uuid"` or `{"fibery/id": "uuid"}`.
pub fn parse_ref(v: &Value) -> Result<Uuid, ValueError> {
    let s = match v {
        Value::String(s) => s.as_str(),
        Value::Object(m) => m.get("fibery/id").and_then(Value::as_str).ok_or_else(|| {
            verr(format!(
                "expected {{\"fibery/id\": \"<uuid>\"}}, got {}",
                short(v)
            ))
        })?,
        other => {
            return Err(verr(format!(
                "expected an id or {{\"fibery/id\": \"<uuid>\"}}, got {}",
                short(other)
            )));
        }
    };
    Uuid::parse_str(s).map_err(|_| verr(format!("`{s}` is not an entity id (UUID)")))
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

fn is_color(s: &str) -> bool {
    let Some(hex) = s.strip_prefix('#') else {
        return false;
    };
    matches!(hex.len(), 3 | 6 | 8) && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// `{"longitude", "latitude", "fullAddress"?, "addressParts"?}` with coordinates in range.
fn parse_location(v: &Value) -> Result<Location, ValueError> {
    let m = v
        .as_object()
        .ok_or_else(|| verr(format!("expected a location object, got {}", short(v))))?;
    let coord = |k: &str, max: f64| -> Result<f64, ValueError> {
        let x = m
            .get(k)
            .and_then(Value::as_f64)
            .ok_or_else(|| verr(format!("location `{k}` must be a number")))?;
        if x.abs() > max {
            return Err(verr(format!("location `{k}` {x} is out of range")));
        }
        Ok(x)
    };
    let full_address = match m.get("fullAddress") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(verr("location `fullAddress` must be a string")),
    };
    let address_parts = match m.get("addressParts") {
        None | Some(Value::Null) => None,
        Some(Value::Object(p)) => Some(p.clone()),
        Some(_) => return Err(verr("location `addressParts` must be an object")),
    };
    Ok(Location {
        longitude: coord("longitude", 180.0)?,
        latitude: coord("latitude", 90.0)?,
        full_address,
        address_parts,
    })
}

impl FieldValue {
    /// Reads a JSON value for a primitive type (the write shapes Fibery accepts).
    pub fn parse_primitive(p: &PrimitiveType, v: &Value) -> Result<FieldValue, ValueError> {
        if v.is_null() {
            return Ok(FieldValue::Null);
        }
        Ok(match p {
            PrimitiveType::Text => FieldValue::Text(expect_str(v, "text")?.to_owned()),
            PrimitiveType::Int => match v.as_i64() {
                Some(i) => FieldValue::Int(i),
                None => match v.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => FieldValue::Int(f as i64),
                    _ => return Err(verr(format!("expected an integer, got {}", short(v)))),
                },
            },
            PrimitiveType::Decimal => match v {
                Value::Number(n) => FieldValue::Decimal(Decimal(n.to_string())),
                Value::String(s) => FieldValue::Decimal(Decimal::parse(s)?),
                other => {
                    return Err(verr(format!(
                        "expected a decimal (number or numeric string), got {}",
                        short(other)
                    )));
                }
            },
            PrimitiveType::Bool => FieldValue::Bool(
                v.as_bool()
                    .ok_or_else(|| verr(format!("expected true or false, got {}", short(v))))?,
            ),
            PrimitiveType::Date => {
                let s = expect_str(v, "a YYYY-MM-DD date")?;
                match parse_date(s) {
                    Ok(d) => FieldValue::Date(d),
                    // Clients such as n8n send full ISO date-times for date fields.
                    Err(e) => FieldValue::Date(parse_date_time(s).map_err(|_| e)?.date()),
                }
            }
            PrimitiveType::DateTime => {
                FieldValue::DateTime(parse_date_time(expect_str(v, "an RFC 3339 date-time")?)?)
            }
            PrimitiveType::DateRange => {
                let (s, e) = range_parts(v)?;
                FieldValue::DateRange {
                    start: parse_date(s)?,
                    end: parse_date(e)?,
                }
            }
            PrimitiveType::DateTimeRange => {
                let (s, e) = range_parts(v)?;
                FieldValue::DateTimeRange {
                    start: parse_date_time(s)?,
                    end: parse_date_time(e)?,
                }
            }
            PrimitiveType::Email => {
                let s = expect_str(v, "an email address")?;
                if !is_email(s) {
                    return Err(verr(format!("`{s}` is not an email address")));
                }
                FieldValue::Email(s.to_owned())
            }
            PrimitiveType::Url => {
                let s = expect_str(v, "a URL")?;
                url::Url::parse(s).map_err(|e| verr(format!("`{s}` is not a URL ({e})")))?;
                FieldValue::Url(s.to_owned())
            }
            PrimitiveType::Uuid => {
                let s = expect_str(v, "a UUID")?;
                FieldValue::Uuid(
                    Uuid::parse_str(s).map_err(|_| verr(format!("`{s}` is not a UUID")))?,
                )
            }
            PrimitiveType::Rank => match v {
                Value::Number(n) => FieldValue::Rank(n.clone()),
                other => return Err(verr(format!("expected a number, got {}", short(other)))),
            },
            PrimitiveType::Location => FieldValue::Location(parse_location(v)?),
            PrimitiveType::Emoji => {
                let s = expect_str(v, "an emoji")?;
                if s.is_empty() {
                    return Err(verr("an emoji cannot be empty"));
                }
                FieldValue::Emoji(s.to_owned())
            }
            PrimitiveType::Color => {
                let s = expect_str(v, "a #rrggbb color")?;
                if !is_color(s) {
                    return Err(verr(format!("`{s}` is not a #rrggbb color")));
                }
                FieldValue::Color(s.to_owned())
            }
            PrimitiveType::JsonValue
            | PrimitiveType::Duration
            | PrimitiveType::LegacyRichText
            | PrimitiveType::Other(_) => FieldValue::Json(v.clone()),
        })
    }

    /// Reads a JSON value for any field type. References accept `"uuid"` or
    /// `{"fibery/id": "uuid"}`; collections accept an array of those. Rich text accepts a
    /// string (the document content).
    pub fn parse(ft: &FieldType, v: &Value) -> Result<FieldValue, ValueError> {
        if v.is_null() {
            return Ok(FieldValue::Null);
        }
        match ft {
            FieldType::Primitive(p) => FieldValue::parse_primitive(p, v),
            FieldType::RichText => Ok(FieldValue::Text(
                expect_str(v, "document content")?.to_owned(),
            )),
            FieldType::Unknown(_) => Ok(FieldValue::Json(v.clone())),
            t if t.is_collection() => {
                let arr = v
                    .as_array()
                    .ok_or_else(|| verr(format!("expected an array of ids, got {}", short(v))))?;
                arr.iter()
                    .map(parse_ref)
                    .collect::<Result<_, _>>()
                    .map(FieldValue::Refs)
            }
            _ => parse_ref(v).map(FieldValue::Ref),
        }
    }

    /// The exact JSON Fibery expects in `create`/`update` (collections: an array of refs).
    pub fn to_json(&self) -> Value {
        match self {
            FieldValue::Null => Value::Null,
            FieldValue::Text(s)
            | FieldValue::Email(s)
            | FieldValue::Url(s)
            | FieldValue::Emoji(s) => Value::String(s.clone()),
            FieldValue::Color(s) => Value::String(s.clone()),
            FieldValue::Int(i) => json!(i),
            FieldValue::Decimal(d) => Value::String(d.0.clone()),
            FieldValue::Bool(b) => Value::Bool(*b),
            FieldValue::Date(d) => Value::String(format_date(*d)),
            FieldValue::DateTime(dt) => Value::String(format_date_time(*dt)),
            FieldValue::DateRange { start, end } => {
                json!({"start": format_date(*start), "end": format_date(*end)})
            }
            FieldValue::DateTimeRange { start, end } => {
                json!({"start": format_date_time(*start), "end": format_date_time(*end)})
            }
            FieldValue::Uuid(u) => Value::String(u.to_string()),
            FieldValue::Rank(n) => Value::Number(n.clone()),
            FieldValue::Json(v) => v.clone(),
            FieldValue::Location(l) => {
                let mut m = Map::new();
                m.insert("longitude".into(), json!(l.longitude));
                m.insert("latitude".into(), json!(l.latitude));
                if let Some(a) = &l.full_address {
                    m.insert("fullAddress".into(), json!(a));
                }
                if let Some(p) = &l.address_parts {
                    m.insert("addressParts".into(), Value::Object(p.clone()));
                }
                Value::Object(m)
            }
            FieldValue::Ref(id) => json!({"fibery/id": id.to_string()}),
            FieldValue::Refs(ids) => Value::Array(
                ids.iter()
                    .map(|id| json!({"fibery/id": id.to_string()}))
                    .collect(),
            ),
        }
    }

    /// Whether this is [`FieldValue::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, FieldValue::Null)
    }
}

impl From<&str> for FieldValue {
    fn from(s: &str) -> Self {
        FieldValue::Text(s.to_owned())
    }
}

/// `From<T>` for the variants that hold a `T` as it is.
macro_rules! from_held {
    ($($ty:ty => $variant:ident),+ $(,)?) => {$(
        impl From<$ty> for FieldValue {
            fn from(v: $ty) -> Self {
                FieldValue::$variant(v)
            }
        }
    )+};
}

from_held!(String => Text, i64 => Int, bool => Bool, Date => Date);

impl From<OffsetDateTime> for FieldValue {
    fn from(d: OffsetDateTime) -> Self {
        FieldValue::DateTime(d.to_offset(UtcOffset::UTC))
    }
}

impl From<Uuid> for FieldValue {
    fn from(u: Uuid) -> Self {
        FieldValue::Uuid(u)
    }
}

impl From<crate::entity::EntityRef> for FieldValue {
    fn from(r: crate::entity::EntityRef) -> Self {
        FieldValue::Ref(r.id)
    }
}

impl From<FieldValue> for Value {
    fn from(v: FieldValue) -> Self {
        v.to_json()
    }
}

/// `serde` helpers for `OffsetDateTime` fields in Fibery's exact format (accepting any
/// RFC 3339 on input): `#[serde(with = "fibery_core::value::fibery_datetime")]`.
pub mod fibery_datetime {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    /// Serializes as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub fn serialize<S: Serializer>(dt: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_date_time(*dt))
    }

    /// Deserializes any RFC 3339 date-time (normalized to UTC).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_date_time(&s).map_err(serde::de::Error::custom)
    }

    /// The same for `Option<OffsetDateTime>` (`null` <-> `None`).
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::OffsetDateTime;

        /// Serializes `Some` like the parent module, `None` as null.
        pub fn serialize<S: Serializer>(
            dt: &Option<OffsetDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match dt {
                Some(dt) => s.serialize_str(&super::super::format_date_time(*dt)),
                None => s.serialize_none(),
            }
        }

        /// Deserializes null or any RFC 3339 date-time.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            match Option::<String>::deserialize(d)? {
                Some(s) => super::super::parse_date_time(&s)
                    .map(Some)
                    .map_err(serde::de::Error::custom),
                None => Ok(None),
            }
        }
    }
}
