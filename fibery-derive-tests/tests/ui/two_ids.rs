use fibery_derive_tests::FiberyEntity;
use uuid::Uuid;

#[derive(FiberyEntity)]
#[fibery(type = "Projects/Task", crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id)]
    id: Option<Uuid>,
    #[fibery(id)]
    other_id: Option<Uuid>,
}

fn main() {}
