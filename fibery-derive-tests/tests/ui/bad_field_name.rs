use fibery_derive_tests::FiberyEntity;

#[derive(FiberyEntity)]
#[fibery(type = "Projects/Task", crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id)]
    id: Option<uuid::Uuid>,
    #[fibery(field = "Name")]
    name: String,
}

fn main() {}
