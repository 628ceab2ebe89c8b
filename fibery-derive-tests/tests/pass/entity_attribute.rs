use fibery_derive_tests::FiberyEntity;
use uuid::Uuid;
use validator::Validate as _;

// `#[entity(..)]` = `#[derive(FiberyEntity, Validate)]` through the `__private` re-exports;
// the id need not come first.
#[fibery_derive::entity(type = "Projects/Project", crate = "fibery_derive_tests")]
#[derive(Debug)]
struct Project {
    #[fibery(field = "Projects/Name")]
    #[validate(length(min = 1))]
    name: String,
    #[fibery(id)]
    id: Option<Uuid>,
}

fn main() {
    let p = Project { name: String::new(), id: None };
    assert!(p.validate().unwrap_err().field_errors().contains_key("name"));
    assert_eq!(Project::TYPE_NAME, "Projects/Project");
    assert!(p.encode().unwrap().fields.contains_key("Projects/Name"));
}
