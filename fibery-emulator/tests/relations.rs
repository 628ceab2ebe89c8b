//! Relation cardinalities of the relations-enums fixture: self relation, many-to-many, one-to-one.

mod common;

use common::{Api, TOKEN};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let p = format!(
        "{}/../fibery-core/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn ids(e: &Value, field: &str) -> Vec<String> {
    e[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["fibery/id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn self_many_to_many_and_one_to_one_relations_stay_consistent() {
    let emu = fibery_emulator::Emulator::builder()
        .schema(fibery_emulator::schema_from_value(fixture("relations-enums.json")).unwrap())
        .seed_json(fixture("relations-enums.options.json"))
        .token(TOKEN)
        .without_rate_limits()
        .start()
        .await
        .unwrap();
    let api = Api::new(&emu);
    let id = |v: Value| v["fibery/id"].as_str().unwrap().to_string();
    let a = id(api.create("Crm/Company", json!({"Crm/Name": "A"})).await);
    let b = id(api.create("Crm/Company", json!({"Crm/Name": "B"})).await);
    let get = |ty: &'static str, want: String| {
        let all = emu.entities(ty);
        all.into_iter()
            .find(|e| e["fibery/id"] == want.as_str())
            .unwrap()
    };
    // Self relation: A's parent is B -> B's subsidiaries hold A.
    api.ok(
        "fibery.entity/update",
        json!({"type": "Crm/Company", "entity": {"fibery/id": a, "Crm/Parent": {"fibery/id": b}}}),
    )
    .await;
    assert_eq!(
        ids(&get("Crm/Company", b.clone()), "Crm/Subsidiaries"),
        vec![a.clone()]
    );
    assert!(ids(&get("Crm/Company", a.clone()), "Crm/Subsidiaries").is_empty());
    // Many-to-many: both sides list each other; removing from either side clears both.
    let c = id(api.create("Crm/Contact", json!({"Crm/Name": "C"})).await);
    let d1 = id(api
        .create("Crm/Deal", json!({"Crm/Name": "D1", "Crm/Amount": "10"}))
        .await);
    let d2 = id(api.create("Crm/Deal", json!({"Crm/Name": "D2"})).await);
    api.ok("fibery.entity/add-collection-items", json!({"type": "Crm/Contact", "field": "Crm/Deals", "entity": {c.clone(): [d1.clone(), d2.clone()]}})).await;
    assert_eq!(
        ids(&get("Crm/Deal", d1.clone()), "Crm/Contacts"),
        vec![c.clone()]
    );
    api.ok("fibery.entity/remove-collection-items", json!({"type": "Crm/Deal", "field": "Crm/Contacts", "entity": {"fibery/id": d2}, "items": [{"fibery/id": c}]})).await;
    assert_eq!(
        ids(&get("Crm/Contact", c.clone()), "Crm/Deals"),
        vec![d1.clone()]
    );
    // One-to-one: a new partner steals the link from the old one.
    api.ok("fibery.entity/update", json!({"type": "Crm/Deal", "entity": {"fibery/id": d1, "Crm/Primary Contact": {"fibery/id": c}}})).await;
    assert_eq!(
        get("Crm/Contact", c.clone())["Crm/Primary Deal"],
        json!({"fibery/id": d1})
    );
    api.ok("fibery.entity/update", json!({"type": "Crm/Deal", "entity": {"fibery/id": d2, "Crm/Primary Contact": {"fibery/id": c}}})).await;
    assert_eq!(
        get("Crm/Contact", c.clone())["Crm/Primary Deal"],
        json!({"fibery/id": d2})
    );
    assert_eq!(
        get("Crm/Deal", d1.clone())["Crm/Primary Contact"],
        Value::Null
    );
    // Deleting the contact detaches it everywhere.
    api.ok(
        "fibery.entity/delete",
        json!({"type": "Crm/Contact", "entity": {"fibery/id": c}}),
    )
    .await;
    assert_eq!(
        get("Crm/Deal", d2.clone())["Crm/Primary Contact"],
        Value::Null
    );
    assert!(ids(&get("Crm/Deal", d1.clone()), "Crm/Contacts").is_empty());
    // Querying across the self relation in both directions.
    let rows = api.query(json!({"q/from": "Crm/Company", "q/select": {"n": "Crm/Name", "parent": ["Crm/Parent", "Crm/Name"],
        "subs": ["q/count", ["Crm/Subsidiaries", "fibery/id"]]}, "q/order-by": [[["Crm/Name"], "q/asc"]], "q/limit": 10}), json!({})).await;
    assert_eq!(
        rows,
        json!([{"n": "A", "parent": "B", "subs": 0}, {"n": "B", "parent": null, "subs": 1}])
    );
}
