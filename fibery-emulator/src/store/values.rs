//! Field values: checking and normalising primitives for storage (dates and date-times in
//! fibery-core's format).

use fibery_core::value::{format_date, format_date_time, parse_date_time};
use serde_json::{Map, Value, json};

/// A `fibery/date`: `YYYY-MM-DD` as sent, or the UTC date of a full date-time (clients such
/// as n8n send ISO date-times for date fields).
fn date_of(s: &str) -> Option<String> {
    if fibery_core::value::parse_date(s).is_ok() {
        return Some(s.to_string());
    }
    parse_date_time(s).ok().map(|t| format_date(t.date()))
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
        "fibery/date" => match v.as_str().and_then(date_of) {
            Some(d) => Ok(Value::String(d)),
            None => want("a date YYYY-MM-DD"),
        },
        "fibery/date-time" => match v.as_str().and_then(|s| parse_date_time(s).ok()) {
            Some(t) => Ok(Value::String(format_date_time(t))),
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
