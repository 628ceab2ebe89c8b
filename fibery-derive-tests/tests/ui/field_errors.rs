use fibery_derive_tests::FiberyEntity;

// Field errors: a borrowed type, a Fibery name mapped twice, a field with no mapping.
#[derive(FiberyEntity)]
#[fibery(type = "Projects/Task", crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id)]
    id: Option<uuid::Uuid>,
    #[fibery(field = "Projects/Name")]
    name: &'static str,
    #[fibery(field = "Projects/Name")]
    title: Option<String>,
    effort: Option<i64>,
}

fn main() {}
