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
    let id = Uuid::new_v4();
    p.set_id(id);
    assert_eq!(p.id(), Some(id));
    assert_eq!(Project::FIELDS[1].rust_name, "type");
}
