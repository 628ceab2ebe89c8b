use fibery_derive_tests::FiberyEntity;
use uuid::Uuid;

// Every semantic error in one struct is reported by one build.
#[derive(FiberyEntity)]
#[fibery(type = "Projects", crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id)]
    id: Option<String>,
    #[fibery(field = "Projects/")]
    name: String,
    #[fibery(relation = "Projects/Project")]
    project: &'static str,
    #[fibery(id)]
    second_id: Uuid,
}

fn main() {}
