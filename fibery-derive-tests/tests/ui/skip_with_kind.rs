use fibery_derive_tests::FiberyEntity;
use uuid::Uuid;

#[derive(FiberyEntity)]
#[fibery(type = "Projects/Task", crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id, readonly)]
    id: Option<Uuid>,
    #[fibery(field = "Projects/Name", skip)]
    name: String,
}

fn main() {}
