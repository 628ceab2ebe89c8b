use fibery_derive_tests::FiberyEntity;
use uuid::Uuid;

#[derive(FiberyEntity)]
#[fibery(typ = "Projects/Task", crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id)]
    id: Option<Uuid>,
}

fn main() {}
