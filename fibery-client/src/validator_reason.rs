//! The reason of a failed `validator` rule in words a user can act on: the rule, its bounds
//! and the value's measure, e.g. `length must be 1..200, got 0`.

use serde_json::Value;
use validator::ValidationError;

/// The rule's own message when it has one, else the rule with its bounds and what the value
/// measured (`length` and `range`), else the rule's code with the value.
pub(crate) fn reason(e: &ValidationError) -> String {
    if let Some(m) = &e.message {
        return m.to_string();
    }
    let param = |k: &str| e.params.get(k).filter(|v| !v.is_null());
    let value = param("value");
    match e.code.as_ref() {
        "length" => {
            let bounds = match param("equal") {
                Some(n) => format!("exactly {n}"),
                None => span(param("min"), param("max")),
            };
            let got = value.and_then(measure).map(|n| format!(", got {n}"));
            format!("length must be {bounds}{}", got.unwrap_or_default())
        }
        "range" => {
            let (min, max) = (param("min"), param("max"));
            let (xmin, xmax) = (param("exclusive_min"), param("exclusive_max"));
            let bounds = match (min, max, xmin, xmax) {
                (Some(min), Some(max), None, None) => format!("in {min}..={max}"),
                _ => {
                    let low = xmin
                        .map(|v| format!("> {v}"))
                        .or(min.map(|v| format!(">= {v}")));
                    let high = xmax
                        .map(|v| format!("< {v}"))
                        .or(max.map(|v| format!("<= {v}")));
                    low.into_iter()
                        .chain(high)
                        .collect::<Vec<_>>()
                        .join(" and ")
                }
            };
            let got = value.map(|v| format!(", got {v}")).unwrap_or_default();
            format!("must be {bounds}{got}")
        }
        code => {
            let got = value.map(|v| format!(" (value: {v})")).unwrap_or_default();
            format!("rule `{code}` failed{got}")
        }
    }
}

/// `min..max`, `min..` or `..max`.
fn span(min: Option<&Value>, max: Option<&Value>) -> String {
    let show = |v: Option<&Value>| v.map(Value::to_string).unwrap_or_default();
    format!("{}..{}", show(min), show(max))
}

/// What `validator`'s `length` counts: characters of a string, items of a list or map.
fn measure(v: &Value) -> Option<usize> {
    match v {
        Value::String(s) => Some(s.chars().count()),
        Value::Array(a) => Some(a.len()),
        Value::Object(m) => Some(m.len()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(code: &'static str, params: &[(&'static str, Value)]) -> ValidationError {
        let mut e = ValidationError::new(code);
        for (k, v) in params {
            e.add_param((*k).into(), v);
        }
        e
    }

    #[test]
    fn bounds_and_measures_are_named() {
        let len = rule(
            "length",
            &[("min", json!(1)), ("max", json!(200)), ("value", json!(""))],
        );
        assert_eq!(reason(&len), "length must be 1..200, got 0");
        let eq = rule("length", &[("equal", json!(3)), ("value", json!(["a"]))]);
        assert_eq!(reason(&eq), "length must be exactly 3, got 1");
        let min = rule("range", &[("min", json!(0)), ("value", json!(-1))]);
        assert_eq!(reason(&min), "must be >= 0, got -1");
        let both = rule(
            "range",
            &[("min", json!(1)), ("max", json!(5)), ("value", json!(9))],
        );
        assert_eq!(reason(&both), "must be in 1..=5, got 9");
        let excl = rule(
            "range",
            &[
                ("exclusive_min", json!(0)),
                ("max", json!(5)),
                ("value", json!(0)),
            ],
        );
        assert_eq!(reason(&excl), "must be > 0 and <= 5, got 0");
        let email = rule("email", &[("value", json!("x"))]);
        assert_eq!(reason(&email), "rule `email` failed (value: \"x\")");
        let mut custom = rule("length", &[("min", json!(1))]);
        custom.message = Some("name it".into());
        assert_eq!(reason(&custom), "name it");
    }
}
