use fibery_derive_tests::FiberyEntity;

#[derive(FiberyEntity)]
#[fibery(type = "Task", crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id)]
    id: Option<uuid::Uuid>,
}

fn main() {}
