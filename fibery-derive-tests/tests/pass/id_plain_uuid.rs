use fibery_derive_tests::FiberyEntity;
use uuid::Uuid;

// `crate` path with a leading `::`, a plain (non-optional) id, a raw identifier.
#[derive(FiberyEntity, Default)]
#[fibery(type = "Projects/Project", crate = "::fibery_derive_tests")]
struct Project {
    #[fibery(id)]
    id: Uuid,
    #[fibery(field = "Projects/Name")]
    r#type: String,
}

fn main() {
    let mut p = Project::default();
    // A nil id (from `Default`) is "no id yet": the client assigns one before creating.
    assert_eq!(p.id(), None);
    assert!(!p.encode().unwrap().fields.contains_key("fibery/id"));
    let id = Uuid::new_v4();
    p.set_id(id);
    assert_eq!(p.id(), Some(id));
    assert_eq!(p.encode().unwrap().fields["fibery/id"], id.to_string());
    assert_eq!(Project::FIELDS[1].rust_name, "type");
    assert_eq!(Project::FIELDS[1].fibery_name, "Projects/Name");
}
