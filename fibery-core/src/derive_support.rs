//! Runtime helpers called by the code that `#[derive(FiberyEntity)]` generates.
//!
//! Not a public API: the derive reaches this module as
//! `::fibery_client::__private::fibery_core::__derive` (or through the path given with
//! `#[fibery(crate = "..")]`), so every struct's expansion calls these functions instead of
//! carrying its own copy of them. Names and signatures may change in any release.
//!
//! Every error names the Fibery field (and, when decoding, the Fibery type) it is about.

use std::fmt::Display;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};
use uuid::Uuid;

use crate::entity::{DecodeError, EncodeError, FieldMapping};
use crate::schema::{FieldType, PrimitiveType, Schema};
use crate::validate::{Rule, Violation};

/// Reason given when a required value is `null` or absent from the row.
const MISSING: &str = "value is missing (null)";

/// A [`DecodeError`] for `field` of the Fibery type `type_name`.
pub fn decode_error(type_name: &str, field: &str, reason: impl Display) -> DecodeError {
    DecodeError {
        type_name: type_name.to_owned(),
        field: field.to_owned(),
        reason: reason.to_string(),
    }
}

/// An [`EncodeError`] for `field`.
pub fn encode_error(field: &str, reason: impl Display) -> EncodeError {
    EncodeError {
        field: field.to_owned(),
        reason: reason.to_string(),
    }
}

/// The row's value for `field`, or `null` when the row has no such key.
pub fn field<'a>(row: &'a Map<String, Value>, field: &str) -> &'a Value {
    static NULL: Value = Value::Null;
    row.get(field).unwrap_or(&NULL)
}

/// Deserializes a primitive (or rich-text content, or an id).
///
/// Fibery returns decimals as strings, so when `v` is a string that parses as a JSON number
/// and `T` did not accept the string, the number is tried. A `null` that `T` does not accept
/// (anything but an `Option`) is reported as a missing value.
pub fn decode_value<T: DeserializeOwned>(
    type_name: &str,
    field: &str,
    v: &Value,
) -> Result<T, DecodeError> {
    match T::deserialize(v) {
        Ok(x) => Ok(x),
        Err(e) => {
            if let Value::String(s) = v
                && let Ok(n) = s.parse::<Number>()
                && let Ok(x) = T::deserialize(&Value::Number(n))
            {
                return Ok(x);
            }
            if v.is_null() {
                Err(decode_error(type_name, field, MISSING))
            } else {
                Err(decode_error(type_name, field, e))
            }
        }
    }
}

/// Rich-text content: a string (blank content, an empty document, reads as `null` when `T`
/// accepts it, i.e. `None` for an `Option<String>`), or `null`. A row straight from a query
/// holds the document reference (`{"Collaboration~Documents/secret": ..}`) instead of its
/// content: that reads as a document not loaded, `None` for an `Option`, and otherwise fails
/// with a reason saying how to load it.
pub fn decode_rich_text<T: DeserializeOwned>(
    type_name: &str,
    field: &str,
    v: &Value,
) -> Result<T, DecodeError> {
    match v {
        Value::String(s) if s.trim().is_empty() => {
            T::deserialize(&Value::Null).or_else(|_| decode_value(type_name, field, v))
        }
        Value::Object(_) => T::deserialize(&Value::Null).map_err(|_| {
            decode_error(
                type_name,
                field,
                "the row holds the document reference, not its content: decode it with \
                 `Entities::decode` (which fetches the documents)",
            )
        }),
        _ => decode_value(type_name, field, v),
    }
}

/// One relation item `{"fibery/id": ..}`, read as `T` itself (e.g.
/// [`EntityRef`](crate::entity::EntityRef), or any type deserializable from that object) or,
/// failing that, from the bare id (e.g. [`Uuid`]).
pub fn decode_ref<T: DeserializeOwned>(
    type_name: &str,
    field: &str,
    v: &Value,
) -> Result<T, DecodeError> {
    T::deserialize(v).or_else(|e| match v.get("fibery/id") {
        Some(id) => T::deserialize(id).map_err(|e| decode_error(type_name, field, e)),
        None if v.is_null() => Err(decode_error(type_name, field, MISSING)),
        None => Err(decode_error(type_name, field, e)),
    })
}

/// A relation collection: an array of items read with [`decode_ref`]; `null` reads as empty.
pub fn decode_refs<T: DeserializeOwned>(
    type_name: &str,
    field: &str,
    v: &Value,
) -> Result<Vec<T>, DecodeError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|i| decode_ref::<T>(type_name, field, i))
            .collect(),
        other => Err(decode_error(
            type_name,
            field,
            format!("expected an array of references, got {other}"),
        )),
    }
}

/// An option name of a single-select field: `{"enum/name": ".."}` or a bare string.
pub fn decode_enum_name<'a>(
    type_name: &str,
    field: &str,
    v: &'a Value,
) -> Result<&'a str, DecodeError> {
    v.as_str()
        .or_else(|| v.get("enum/name").and_then(Value::as_str))
        .ok_or_else(|| {
            if v.is_null() {
                decode_error(type_name, field, MISSING)
            } else {
                decode_error(
                    type_name,
                    field,
                    format!("expected an option name, got {v}"),
                )
            }
        })
}

/// The option names of a multi-select field, each read with [`decode_enum_name`]; `null`
/// reads as empty.
pub fn decode_enum_names<'a>(
    type_name: &str,
    field: &str,
    v: &'a Value,
) -> Result<Vec<&'a str>, DecodeError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|i| decode_enum_name(type_name, field, i))
            .collect(),
        other => Err(decode_error(
            type_name,
            field,
            format!("expected an array of option names, got {other}"),
        )),
    }
}

/// A value with a wire form of its own, where serde's default form is not Fibery's:
/// `time::Date` (`2026-03-15`) and `time::OffsetDateTime` (`2020-01-22T01:02:23.977Z`), and
/// `Option`s of them. The derive uses it for fields whose type is named `Date` or
/// `OffsetDateTime`.
pub trait Wire: Sized {
    /// The JSON Fibery expects.
    fn to_wire(&self) -> Value;
    /// Reads the JSON Fibery returns.
    fn from_wire(v: &Value) -> Result<Self, String>;
}

/// Implements [`Wire`] for a `time` type as a string, with its writer, its reader and what a
/// wrong value is called in the error.
macro_rules! wire_string {
    ($ty:ty, $what:literal, $format:path, $parse:path) => {
        impl Wire for $ty {
            fn to_wire(&self) -> Value {
                Value::String($format(*self))
            }
            fn from_wire(v: &Value) -> Result<Self, String> {
                let s = v
                    .as_str()
                    .ok_or_else(|| format!(concat!("expected ", $what, ", got {}"), v))?;
                $parse(s).map_err(|e| e.to_string())
            }
        }
    };
}

wire_string!(
    time::Date,
    "a date",
    crate::value::format_date,
    crate::dates::parse_day
);
wire_string!(
    time::OffsetDateTime,
    "a date-time",
    crate::value::format_date_time,
    crate::value::parse_date_time
);

impl<T: Wire> Wire for Option<T> {
    fn to_wire(&self) -> Value {
        self.as_ref().map_or(Value::Null, Wire::to_wire)
    }
    fn from_wire(v: &Value) -> Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            v => T::from_wire(v).map(Some),
        }
    }
}

/// Encodes a [`Wire`] value.
pub fn encode_wire<T: Wire>(_field: &str, v: &T) -> Result<Value, EncodeError> {
    Ok(v.to_wire())
}

/// Decodes a [`Wire`] value; `null` for a type that needs a value is a missing value.
pub fn decode_wire<T: Wire>(type_name: &str, field: &str, v: &Value) -> Result<T, DecodeError> {
    T::from_wire(v).map_err(|e| {
        if v.is_null() {
            decode_error(type_name, field, MISSING)
        } else {
            decode_error(type_name, field, e)
        }
    })
}

/// Serializes a primitive (or an id) to its JSON value.
pub fn encode_value<T: Serialize + ?Sized>(field: &str, v: &T) -> Result<Value, EncodeError> {
    serde_json::to_value(v).map_err(|e| encode_error(field, e))
}

/// The id of a relation item: anything serializing to an id string ([`Uuid`]) or to an object
/// with a `fibery/id` string ([`EntityRef`](crate::entity::EntityRef)).
pub fn encode_ref_id<T: Serialize + ?Sized>(field: &str, v: &T) -> Result<Uuid, EncodeError> {
    let value = encode_value(field, v)?;
    let id = match &value {
        Value::String(s) => Some(s.as_str()),
        other => other.get("fibery/id").and_then(Value::as_str),
    };
    id.and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| encode_error(field, format!("expected an entity id, got {value}")))
}

/// A single relation as Fibery writes it: `{"fibery/id": "<id>"}` (see [`encode_ref_id`]).
pub fn encode_ref<T: Serialize + ?Sized>(field: &str, v: &T) -> Result<Value, EncodeError> {
    let id = encode_ref_id(field, v)?;
    let mut obj = Map::new();
    obj.insert("fibery/id".to_owned(), Value::String(id.to_string()));
    Ok(Value::Object(obj))
}

/// The Fibery primitive types a Rust type can hold, by the last segment of its path (`String`
/// for `std::string::String`); empty for a type the schema check does not know.
pub fn primitive_family(rust_type: &str) -> &'static [&'static str] {
    match rust_type {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
        | "usize" => &["fibery/int", "fibery/rank"],
        "f32" | "f64" => &["fibery/decimal", "fibery/int", "fibery/rank"],
        "bool" => &["fibery/bool"],
        "Date" => &["fibery/date"],
        "OffsetDateTime" => &["fibery/date-time"],
        "DateRange" => &["fibery/date-range"],
        "DateTimeRange" => &["fibery/date-time-range"],
        "Uuid" => &["fibery/uuid"],
        "String" => &[
            "fibery/text",
            "fibery/email",
            "fibery/url",
            "fibery/emoji",
            "fibery/color",
            "fibery/date",
            "fibery/date-time",
            "fibery/uuid",
            "fibery/decimal",
            "fibery/duration",
            "fibery/rich-text",
        ],
        _ => &[],
    }
}

/// A derived entity's `check_schema`: [`Schema::check_mapping`] plus what only the derive
/// knows: the fields it writes, `(fibery name, rust field)`, must not be read-only in the
/// workspace, and its primitives, `(fibery name, rust type, last path segment of the type)`,
/// must have a Fibery type the Rust type can hold (see [`primitive_family`]).
pub fn check_schema(
    schema: &Schema,
    type_name: &str,
    fields: &[FieldMapping],
    written: &[(&str, &str)],
    primitives: &[(&str, &str, &str)],
) -> Result<(), Vec<Violation>> {
    let mut out = schema
        .check_mapping(type_name, fields)
        .err()
        .unwrap_or_default();
    for (name, rust) in written {
        if schema
            .field(type_name, name)
            .is_some_and(|d| d.is_readonly())
        {
            out.push(Violation {
                field: (*name).to_owned(),
                rule: Rule::ReadOnly,
                reason: format!(
                    "`{name}` is read-only in the workspace (formula, lookup or system field); \
                     mark Rust field `{rust}` `#[fibery(readonly)]`"
                ),
            });
        }
    }
    for (name, rust, segment) in primitives {
        let accepted = primitive_family(segment);
        if let Some(FieldType::Primitive(p)) = schema.field_type(type_name, name) {
            let known = !matches!(p, PrimitiveType::Other(_));
            if known && !accepted.is_empty() && !accepted.contains(&p.name()) {
                out.push(Violation {
                    field: (*name).to_owned(),
                    rule: Rule::WrongType,
                    reason: format!(
                        "Rust type `{rust}` cannot hold `{}` values of `{name}`",
                        p.name()
                    ),
                });
            }
        }
    }
    if out.is_empty() { Ok(()) } else { Err(out) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::EntityRef;
    use serde_json::json;

    const T: &str = "Projects/Task";
    const ID: &str = "a1b2c3d4-0000-4000-8000-000000000001";

    fn reason(e: DecodeError) -> (String, String, String) {
        (e.type_name, e.field, e.reason)
    }

    #[test]
    fn field_reads_absent_keys_as_null() {
        let row = json!({"A/x": 1});
        let row = row.as_object().unwrap();
        assert_eq!(field(row, "A/x"), &json!(1));
        assert_eq!(field(row, "A/y"), &Value::Null);
    }

    #[test]
    fn decode_value_reads_decimal_strings_as_numbers() {
        assert_eq!(decode_value::<f64>(T, "P/Cost", &json!("12.5")), Ok(12.5));
        assert_eq!(decode_value::<i64>(T, "P/N", &json!("7")), Ok(7));
        // A String field keeps the string as is.
        assert_eq!(
            decode_value::<String>(T, "P/Cost", &json!("12.5")),
            Ok("12.5".to_owned())
        );
        assert_eq!(
            decode_value::<Option<f64>>(T, "P/Cost", &json!("1e3")),
            Ok(Some(1000.0))
        );
    }

    #[test]
    fn decode_value_errors_name_type_and_field() {
        let (ty, field, why) = reason(decode_value::<i64>(T, "P/N", &Value::Null).unwrap_err());
        assert_eq!((ty.as_str(), field.as_str()), (T, "P/N"));
        assert_eq!(why, MISSING);
        let (_, field, why) = reason(decode_value::<i64>(T, "P/N", &json!("x")).unwrap_err());
        assert_eq!(field, "P/N");
        assert!(why.contains("invalid type: string \"x\""), "{why}");
        assert_eq!(
            decode_value::<Option<i64>>(T, "P/N", &Value::Null),
            Ok(None)
        );
    }

    #[test]
    fn rich_text_reads_blank_as_none_and_references_as_not_loaded() {
        let secret = json!({"Collaboration~Documents/secret": "s"});
        assert_eq!(
            decode_rich_text::<Option<String>>(T, "P/D", &json!("")),
            Ok(None)
        );
        assert_eq!(
            decode_rich_text::<Option<String>>(T, "P/D", &json!(" \n")),
            Ok(None)
        );
        assert_eq!(
            decode_rich_text::<Option<String>>(T, "P/D", &json!("# x")),
            Ok(Some("# x".to_owned()))
        );
        assert_eq!(
            decode_rich_text::<String>(T, "P/D", &json!("")),
            Ok(String::new())
        );
        assert_eq!(
            decode_rich_text::<Option<String>>(T, "P/D", &secret),
            Ok(None)
        );
        let e = decode_rich_text::<String>(T, "P/D", &secret).unwrap_err();
        assert_eq!(e.field, "P/D");
        assert!(e.reason.contains("Entities::decode"), "{}", e.reason);
    }

    #[test]
    fn dates_use_fiberys_wire_forms() {
        use time::macros::{date, datetime};
        let d = date!(2026 - 03 - 15);
        assert_eq!(encode_wire("P/Due", &d), Ok(json!("2026-03-15")));
        assert_eq!(encode_wire("P/Due", &Some(d)), Ok(json!("2026-03-15")));
        assert_eq!(
            encode_wire::<Option<time::Date>>("P/Due", &None),
            Ok(Value::Null)
        );
        assert_eq!(decode_wire(T, "P/Due", &json!("2026-03-15")), Ok(d));
        assert_eq!(
            decode_wire::<Option<time::Date>>(T, "P/Due", &Value::Null),
            Ok(None)
        );
        let e = decode_wire::<time::Date>(T, "P/Due", &Value::Null).unwrap_err();
        assert_eq!(e.reason, MISSING);
        let e = decode_wire::<time::Date>(T, "P/Due", &json!(3)).unwrap_err();
        assert_eq!(e.reason, "expected a date, got 3");
        let dt = datetime!(2020-01-22 03:02:23.9771 +02:00);
        assert_eq!(
            encode_wire("P/At", &dt),
            Ok(json!("2020-01-22T01:02:23.977Z"))
        );
        let back: time::OffsetDateTime =
            decode_wire(T, "P/At", &json!("2020-01-22T01:02:23.977Z")).unwrap();
        assert_eq!(back, datetime!(2020-01-22 01:02:23.977 UTC));
    }

    #[test]
    fn decode_ref_reads_objects_and_bare_ids() {
        let id: Uuid = ID.parse().unwrap();
        let obj = json!({"fibery/id": ID});
        assert_eq!(decode_ref::<Uuid>(T, "P/Proj", &obj), Ok(id));
        assert_eq!(decode_ref::<EntityRef>(T, "P/Proj", &obj).unwrap().id, id);
        assert_eq!(decode_ref::<Uuid>(T, "P/Proj", &json!(ID)), Ok(id));
        let e = decode_ref::<Uuid>(T, "P/Proj", &Value::Null).unwrap_err();
        assert_eq!((e.field.as_str(), e.reason.as_str()), ("P/Proj", MISSING));
        let e = decode_ref::<Uuid>(T, "P/Proj", &json!({"fibery/id": "nope"})).unwrap_err();
        assert_eq!(e.field, "P/Proj");
        assert!(e.reason.contains("UUID"), "{}", e.reason);
        let e = decode_ref::<Uuid>(T, "P/Proj", &json!(3)).unwrap_err();
        assert!(e.reason.contains("invalid type"), "{}", e.reason);
    }

    #[test]
    fn collections_read_null_as_empty_and_reject_non_arrays() {
        assert_eq!(decode_refs::<Uuid>(T, "P/Subs", &Value::Null), Ok(vec![]));
        assert_eq!(decode_enum_names(T, "P/Tags", &Value::Null), Ok(vec![]));
        let ids = decode_refs::<Uuid>(T, "P/Subs", &json!([{"fibery/id": ID}, ID])).unwrap();
        assert_eq!(ids.len(), 2);
        let e = decode_refs::<Uuid>(T, "P/Subs", &json!({"fibery/id": ID})).unwrap_err();
        assert_eq!(e.field, "P/Subs");
        assert!(
            e.reason
                .starts_with("expected an array of references, got {")
        );
        let e = decode_enum_names(T, "P/Tags", &json!("a")).unwrap_err();
        assert_eq!(e.reason, "expected an array of option names, got \"a\"");
    }

    #[test]
    fn enum_names_read_objects_and_strings() {
        assert_eq!(
            decode_enum_name(T, "P/Pri", &json!({"enum/name": "High"})),
            Ok("High")
        );
        assert_eq!(decode_enum_name(T, "P/Pri", &json!("Low")), Ok("Low"));
        assert_eq!(
            decode_enum_names(T, "P/Tags", &json!([{"enum/name": "a"}, "b"])),
            Ok(vec!["a", "b"])
        );
        let e = decode_enum_name(T, "P/Pri", &Value::Null).unwrap_err();
        assert_eq!((e.field.as_str(), e.reason.as_str()), ("P/Pri", MISSING));
        let e = decode_enum_name(T, "P/Pri", &json!(1)).unwrap_err();
        assert_eq!(e.reason, "expected an option name, got 1");
    }

    #[test]
    fn encode_refs_accept_ids_and_entity_refs() {
        let id: Uuid = ID.parse().unwrap();
        assert_eq!(encode_ref_id("P/Proj", &id), Ok(id));
        assert_eq!(encode_ref_id("P/Proj", &EntityRef::new(id)), Ok(id));
        assert_eq!(encode_ref("P/Proj", &id), Ok(json!({"fibery/id": ID})));
        let e = encode_ref_id("P/Proj", "not an id").unwrap_err();
        assert_eq!(e.field, "P/Proj");
        assert_eq!(e.reason, "expected an entity id, got \"not an id\"");
        assert_eq!(encode_value("P/N", &3), Ok(json!(3)));
    }

    #[test]
    fn encode_value_reports_serializer_errors_with_the_field() {
        use std::collections::BTreeMap;
        // JSON object keys must be strings.
        let bad: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
        let e = encode_value("P/Meta", &bad).unwrap_err();
        assert_eq!(e.field, "P/Meta");
        assert!(e.reason.contains("key must be a string"), "{}", e.reason);
    }
}
