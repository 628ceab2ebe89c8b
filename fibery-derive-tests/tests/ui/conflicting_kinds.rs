use fibery_derive_tests::{EntityRef, FiberyEntity};

#[derive(FiberyEntity)]
#[fibery(type = "Projects/Task", crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id)]
    id: Option<uuid::Uuid>,
    #[fibery(field = "Projects/Project", relation = "Projects/Project")]
    project: Option<EntityRef>,
}

fn main() {}
