use fibery_derive_tests::{EntityRef, FiberyEntity};

#[derive(FiberyEntity)]
#[fibery(type = "Projects/Task", crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id)]
    id: Option<uuid::Uuid>,
    #[fibery(files = "Files/Files")]
    files: Option<EntityRef>,
}

fn main() {}
