use fibery_derive_tests::FiberyEntity;

#[derive(Debug)]
enum Priority {
    Low,
    High,
}

#[derive(FiberyEntity)]
#[fibery(type = "Projects/Task", crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id)]
    id: Option<uuid::Uuid>,
    #[fibery(enum_field = "Projects/Priority")]
    priority: Option<Priority>,
}

fn main() {}
