use fibery_derive_tests::FiberyEntity;

#[derive(FiberyEntity)]
#[fibery(crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id)]
    id: Option<uuid::Uuid>,
}

fn main() {}
