use fibery_derive_tests::{EntityRef, FiberyEntity};

#[derive(FiberyEntity)]
#[fibery(type = "Projects/Task", rename_all = "Title Case", crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id)]
    id: Option<uuid::Uuid>,
    name: String,
    external_id: Option<String>,
    #[fibery(relation)]
    project: Option<EntityRef>,
    #[fibery(skip)]
    ignored: (),
}

fn main() {
    let names: Vec<&str> = Task::FIELDS.iter().map(|f| f.fibery_name).collect();
    assert_eq!(names, ["fibery/id", "Projects/Name", "Projects/External Id", "Projects/Project"]);
}
