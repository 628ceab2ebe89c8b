//! Replays documented request/response pairs (tests/conformance/cases.json) and checks shapes.

mod common;

use std::collections::HashMap;

use serde_json::Value;

fn subst(v: &Value, vars: &HashMap<String, String>) -> Value {
    match v {
        Value::String(s) => {
            let mut out = s.clone();
            for (k, val) in vars {
                out = out.replace(&format!("{{{{{k}}}}}"), val);
            }
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| subst(x, vars)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    (
                        subst(&Value::String(k.clone()), vars)
                            .as_str()
                            .unwrap_or(k)
                            .to_string(),
                        subst(x, vars),
                    )
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn is_fibery_ts(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
}

/// Checks `actual` against the expected shape; returns the first mismatch.
fn shape(expected: &Value, actual: &Value, at: &str) -> Result<(), String> {
    let fail = || Err(format!("at {at}: expected {expected}, got {actual}"));
    match expected {
        Value::String(s) if s.starts_with('<') && s.ends_with('>') => {
            let ok = match s.as_str() {
                "<any>" => true,
                "<string>" => actual.is_string(),
                "<uuid>" => actual
                    .as_str()
                    .is_some_and(|x| uuid::Uuid::parse_str(x).is_ok()),
                "<date-time>" => actual.as_str().is_some_and(is_fibery_ts),
                "<number>" => actual.is_number(),
                "<number-string>" => actual.as_str().is_some_and(|x| x.parse::<f64>().is_ok()),
                _ => false,
            };
            if ok { Ok(()) } else { fail() }
        }
        Value::Object(o) => {
            let Some(a) = actual.as_object() else {
                return fail();
            };
            for (k, v) in o {
                let Some(av) = a.get(k) else {
                    return Err(format!("at {at}: missing key {k:?} in {actual}"));
                };
                shape(v, av, &format!("{at}/{k}"))?;
            }
            Ok(())
        }
        Value::Array(e) => {
            let Some(a) = actual.as_array() else {
                return fail();
            };
            if e.is_empty() {
                return if a.is_empty() { Ok(()) } else { fail() };
            }
            if a.len() < e.len() {
                return fail();
            }
            for (i, ev) in e.iter().enumerate() {
                shape(ev, &a[i], &format!("{at}/{i}"))?;
            }
            Ok(())
        }
        other => {
            if other == actual {
                Ok(())
            } else {
                fail()
            }
        }
    }
}

#[tokio::test]
async fn documented_examples_replay_with_matching_shapes() {
    let emu = common::pm().await;
    let http = reqwest::Client::new();
    let cases: Vec<Value> =
        serde_json::from_str(include_str!("conformance/cases.json")).expect("cases.json parses");
    assert!(cases.len() >= 20);
    let mut vars: HashMap<String, String> = HashMap::new();
    vars.insert("me".into(), emu.user_id());
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        assert!(
            case["source"].is_string(),
            "{name}: every case names its source"
        );
        let req = subst(&case["request"], &vars);
        let method = req["method"].as_str().unwrap_or("POST");
        let url = format!("{}{}", emu.base_url(), req["path"].as_str().unwrap());
        let mut rb = http.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        if req["auth"] != false {
            rb = rb.header("Authorization", format!("Token {}", common::TOKEN));
        }
        if let Some(mp) = req.get("multipart") {
            let part = reqwest::multipart::Part::bytes(
                mp["content"].as_str().unwrap().as_bytes().to_vec(),
            )
            .file_name(mp["filename"].as_str().unwrap().to_string());
            rb = rb.multipart(
                reqwest::multipart::Form::new()
                    .part(mp["name"].as_str().unwrap().to_string(), part),
            );
        } else if let Some(b) = req.get("body") {
            rb = rb.json(b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let want = subst(&case["response"], &vars);
        assert_eq!(
            status as u64,
            want["status"].as_u64().unwrap(),
            "{name}: status (body {text})"
        );
        if let Some(t) = want.get("text") {
            assert_eq!(text, t.as_str().unwrap(), "{name}: text body");
        }
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if let Some(b) = want.get("body")
            && let Err(e) = shape(b, &body, "")
        {
            panic!("{name}: {e}");
        }
        if let Some(n) = want.get("len") {
            assert_eq!(
                body.as_array().map(Vec::len),
                n.as_u64().map(|n| n as usize),
                "{name}: length"
            );
        }
        if let Some(c) = case.get("capture").and_then(Value::as_object) {
            for (var, ptr) in c {
                let v = body
                    .pointer(ptr.as_str().unwrap())
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("{name}: capture {ptr} in {body}"));
                vars.insert(var.clone(), v.to_string());
            }
        }
    }
}

#[test]
fn shape_matcher_rejects_mismatches() {
    use serde_json::json;
    assert!(shape(&json!({"a": "<uuid>"}), &json!({"a": "nope"}), "").is_err());
    assert!(shape(&json!({"a": 1}), &json!({"b": 1}), "").is_err());
    assert!(shape(&json!([{"a": 1}]), &json!([]), "").is_err());
    assert!(shape(&json!("<date-time>"), &json!("2026-01-01T00:00:00Z"), "").is_err());
    assert!(shape(&json!({"a": [1]}), &json!({"a": [1, 2], "b": 0}), "").is_ok());
}
