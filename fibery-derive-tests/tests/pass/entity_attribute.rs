use fibery_derive_tests::FiberyEntity;
use uuid::Uuid;
use validator::Validate as _;

// `#[entity(..)]` = `#[derive(FiberyEntity, Validate)]` through the `__private` re-exports.
#[fibery_derive::entity(type = "Projects/Task", crate = "fibery_derive_tests")]
#[derive(Debug)]
struct Task {
    #[fibery(id)]
    id: Option<Uuid>,
    #[fibery(field = "Projects/Name")]
    #[validate(length(min = 1))]
    name: String,
}

fn main() {
    let t = Task { id: None, name: String::new() };
    assert!(t.validate().unwrap_err().field_errors().contains_key("name"));
    assert_eq!(Task::TYPE_NAME, "Projects/Task");
    assert!(t.encode().unwrap().fields.contains_key("Projects/Name"));
}
