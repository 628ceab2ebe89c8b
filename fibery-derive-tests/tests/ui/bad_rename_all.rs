use fibery_derive_tests::FiberyEntity;

#[derive(FiberyEntity)]
#[fibery(type = "Projects/Task", rename_all = "camelCase", crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id)]
    id: Option<uuid::Uuid>,
    name: String,
}

fn main() {}
