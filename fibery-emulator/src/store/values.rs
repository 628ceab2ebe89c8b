//! Field values: checking and normalising primitives for storage, Fibery's date-time format.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// Current time in Fibery's format.
pub(crate) fn format_ts(t: OffsetDateTime) -> String {
    let fmt =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".into())
}

fn parse_date_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

fn parse_date(s: &str) -> Option<String> {
    let fmt = format_description!("[year]-[month]-[day]");
    if time::Date::parse(s, &fmt).is_ok() {
        return Some(s.to_string());
    }
    // Clients (n8n) send full ISO date-times for date fields; keep the date part.
    parse_date_time(s).map(|t| {
        let d = t.to_offset(time::UtcOffset::UTC).date();
        d.format(&fmt).unwrap_or_default()
    })
}

fn decimal_string(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i.to_string())
            } else {
                n.as_f64().filter(|f| f.is_finite()).map(|f| f.to_string())
            }
        }
        Value::String(s) => {
            let t = s.trim();
            t.parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(|_| t.to_string())
        }
        _ => None,
    }
}

/// Checks and normalises a primitive value for storage; `Err` carries a reason.
pub(crate) fn normalize_primitive(ty: &str, v: &Value) -> Result<Value, String> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let want = |what: &str| Err(format!("Expected {what}, got {v}."));
    match ty {
        "fibery/text" | "fibery/email" | "fibery/url" | "fibery/emoji" | "fibery/color"
        | "fibery/rich-text" | "fibery/duration" => match v {
            Value::String(_) => Ok(v.clone()),
            _ => want("a string"),
        },
        "fibery/uuid" => match v.as_str() {
            Some(s) if uuid::Uuid::parse_str(s).is_ok() => Ok(v.clone()),
            _ => want("a UUID string"),
        },
        "fibery/int" => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
            Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
                Ok(json!(n.as_f64().unwrap_or_default() as i64))
            }
            _ => want("an integer"),
        },
        "fibery/decimal" => decimal_string(v)
            .map(Value::String)
            .ok_or_else(|| format!("Expected a decimal, got {v}.")),
        "fibery/rank" => match v {
            Value::Number(_) => Ok(v.clone()),
            _ => want("a number"),
        },
        "fibery/bool" => match v {
            Value::Bool(_) => Ok(v.clone()),
            _ => want("a boolean"),
        },
        "fibery/date" => match v.as_str().and_then(parse_date) {
            Some(d) => Ok(Value::String(d)),
            None => want("a date YYYY-MM-DD"),
        },
        "fibery/date-time" => match v.as_str().and_then(parse_date_time) {
            Some(t) => Ok(Value::String(format_ts(t))),
            None => want("an ISO-8601 date-time"),
        },
        "fibery/date-range" | "fibery/date-time-range" => {
            let inner = if ty == "fibery/date-range" {
                "fibery/date"
            } else {
                "fibery/date-time"
            };
            let obj = match v.as_object() {
                Some(o) => o,
                None => return want("an object {start, end}"),
            };
            let mut out = Map::new();
            for k in ["start", "end"] {
                let x = obj.get(k).cloned().unwrap_or(Value::Null);
                out.insert(k.into(), normalize_primitive(inner, &x)?);
            }
            Ok(Value::Object(out))
        }
        "fibery/location" => match v {
            Value::Object(_) => Ok(v.clone()),
            _ => want("a location object"),
        },
        _ => Ok(v.clone()),
    }
}
