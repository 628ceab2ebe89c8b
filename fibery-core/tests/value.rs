//! FieldValue: parsing per field type and exact output formats.

use fibery_core::schema::{FieldType, PrimitiveType};
use fibery_core::value::*;
use serde_json::json;

#[test]
fn date_times_accept_rfc3339_and_write_fibery_form() {
    for (input, out) in [
        ("2020-01-22T01:02:23.977Z", "2020-01-22T01:02:23.977Z"),
        ("2020-01-22T01:02:23Z", "2020-01-22T01:02:23.000Z"),
        ("2020-01-22T01:02:23.5Z", "2020-01-22T01:02:23.500Z"),
        (
            "2020-01-22T03:02:23.977999+02:00",
            "2020-01-22T01:02:23.977Z",
        ),
        ("2020-01-21T20:02:23-05:00", "2020-01-22T01:02:23.000Z"),
    ] {
        let v = FieldValue::parse_primitive(&PrimitiveType::DateTime, &json!(input)).unwrap();
        assert_eq!(v.to_json(), json!(out), "{input}");
    }
    for bad in [
        "2020-01-22",
        "2020-01-22T01:02",
        "yesterday",
        "2020-02-30T00:00:00Z",
    ] {
        assert!(
            FieldValue::parse_primitive(&PrimitiveType::DateTime, &json!(bad)).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn dates_and_ranges() {
    let range = |start: &str, end: &str| json!({"start": start, "end": end});
    for (ty, input, out) in [
        (
            PrimitiveType::Date,
            json!("1979-10-12"),
            json!("1979-10-12"),
        ),
        (
            PrimitiveType::Date,
            json!("1979-10-12T22:00:00.000Z"),
            json!("1979-10-12"),
        ),
        (
            PrimitiveType::DateTimeRange,
            range("2019-06-18T02:40:00Z", "2019-07-25T11:40:00.000Z"),
            range("2019-06-18T02:40:00.000Z", "2019-07-25T11:40:00.000Z"),
        ),
        (
            PrimitiveType::DateRange,
            range("2019-06-27", "2019-06-30"),
            range("2019-06-27", "2019-06-30"),
        ),
    ] {
        let v = FieldValue::parse_primitive(&ty, &input).unwrap();
        assert_eq!(v.to_json(), out, "{input}");
    }
}

#[test]
fn decimals_stay_text() {
    assert_eq!(
        FieldValue::parse_primitive(&PrimitiveType::Decimal, &json!("2.01"))
            .unwrap()
            .to_json(),
        json!("2.01")
    );
    assert_eq!(
        FieldValue::parse_primitive(&PrimitiveType::Decimal, &json!(0.33))
            .unwrap()
            .to_json(),
        json!("0.33")
    );
    assert_eq!(
        FieldValue::parse_primitive(&PrimitiveType::Decimal, &json!(7))
            .unwrap()
            .to_json(),
        json!("7")
    );
    for ok in ["-1", "+1.5", ".5", "5.", "1e3", "1.2E-4"] {
        assert!(Decimal::parse(ok).is_ok(), "{ok}");
    }
    for bad in ["", ".", "1,5", "abc", "1e", "--1", "1.2.3"] {
        assert!(Decimal::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(Decimal::parse("1.25").unwrap().to_f64(), Some(1.25));
}

#[test]
fn references_and_collections() {
    let id = "acb5ef80-9679-11e9-bc42-526af7764f64";
    let single = FieldType::Relation {
        target: "A/B".into(),
        collection: false,
    };
    assert_eq!(
        FieldValue::parse(&single, &json!(id)).unwrap().to_json(),
        json!({"fibery/id": id})
    );
    assert_eq!(
        FieldValue::parse(&single, &json!({"fibery/id": id}))
            .unwrap()
            .to_json(),
        json!({"fibery/id": id})
    );
    assert!(FieldValue::parse(&single, &json!({"id": id})).is_err());
    assert!(FieldValue::parse(&single, &json!("High")).is_err());
    assert_eq!(
        FieldValue::parse(&single, &json!(null)).unwrap(),
        FieldValue::Null
    );
    let multi = FieldType::MultiSelect {
        enum_type: "A/E".into(),
    };
    assert_eq!(
        FieldValue::parse(&multi, &json!([id, {"fibery/id": id}]))
            .unwrap()
            .to_json(),
        json!([{"fibery/id": id}, {"fibery/id": id}])
    );
    assert!(FieldValue::parse(&multi, &json!(id)).is_err());
    assert_eq!(
        FieldValue::parse(&FieldType::RichText, &json!("# md")).unwrap(),
        FieldValue::Text("# md".into())
    );
}

#[test]
fn other_primitives_roundtrip_their_json() {
    let cases = [
        (PrimitiveType::Text, json!("Don't panic")),
        (PrimitiveType::Int, json!(42)),
        (PrimitiveType::Bool, json!(true)),
        (PrimitiveType::Email, json!("a@b.io")),
        (PrimitiveType::Url, json!("https://x.fibery.io/a")),
        (
            PrimitiveType::Uuid,
            json!("acb5ef80-9679-11e9-bc42-526af7764f64"),
        ),
        (PrimitiveType::Rank, json!(-6569916191130599i64)),
        (PrimitiveType::JsonValue, json!({"paranoid?": true})),
        (
            PrimitiveType::Location,
            json!({"longitude": 2.35, "latitude": 48.89, "fullAddress": "Paris", "addressParts": {"city": "Paris"}}),
        ),
        (PrimitiveType::Emoji, json!("🏏")),
        (PrimitiveType::Color, json!("#5357ac")),
    ];
    for (p, v) in cases {
        let fv = FieldValue::parse_primitive(&p, &v).unwrap();
        assert_eq!(fv.to_json(), v, "{p}");
    }
    assert_eq!(
        FieldValue::parse_primitive(&PrimitiveType::Int, &json!(3.0)).unwrap(),
        FieldValue::Int(3)
    );
    assert!(
        FieldValue::parse_primitive(&PrimitiveType::Location, &json!({"longitude": 1})).is_err()
    );
}

#[test]
fn serde_helper_module() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Row {
        #[serde(with = "fibery_datetime")]
        at: time::OffsetDateTime,
        #[serde(with = "fibery_datetime::option")]
        maybe: Option<time::OffsetDateTime>,
    }
    let row: Row =
        serde_json::from_value(json!({"at": "2024-01-06T15:29:02.818+01:00", "maybe": null}))
            .unwrap();
    assert_eq!(
        serde_json::to_value(&row).unwrap(),
        json!({"at": "2024-01-06T14:29:02.818Z", "maybe": null})
    );
    assert!(serde_json::from_value::<Row>(json!({"at": "x", "maybe": null})).is_err());
}
