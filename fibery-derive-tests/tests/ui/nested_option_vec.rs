use fibery_derive_tests::{EntityRef, FiberyEntity};
use uuid::Uuid;

#[derive(FiberyEntity)]
#[fibery(type = "Projects/Task", crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id)]
    id: Option<Uuid>,
    #[fibery(relation = "assignments/assignees")]
    assignees: Option<Vec<EntityRef>>,
    #[fibery(enum_field = "Projects/Tags")]
    tags: Vec<Option<String>>,
}

fn main() {}
