use fibery_derive_tests::FiberyEntity;
use uuid::Uuid;

#[derive(FiberyEntity)]
#[fibery(type = "Projects/Task", crate = "fibery_derive_tests")]
struct Task<T> {
    #[fibery(id)]
    id: Option<Uuid>,
    #[fibery(field = "Projects/Name")]
    name: T,
}

fn main() {}
