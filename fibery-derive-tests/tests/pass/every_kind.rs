use fibery_derive_tests::{EntityRef, FiberyEntity, FiberyEnum};
use uuid::Uuid;
use validator::Validate;

#[derive(FiberyEnum, Debug, Clone, Copy, PartialEq)]
enum Priority {
    Low,
    High,
    #[fibery(name = "Very High")]
    Critical,
}

#[derive(FiberyEntity, Validate, Debug, Clone, PartialEq)]
#[fibery(type = "Projects/Task", crate = "fibery_derive_tests")]
struct Task {
    #[fibery(id)]
    id: Option<Uuid>,
    #[fibery(field = "Projects/Name")]
    #[validate(length(min = 1, max = 200))]
    name: String,
    #[fibery(field = "Projects/Estimate")]
    #[validate(range(min = 0.0))]
    estimate: Option<f64>,
    #[fibery(rich_text = "Projects/Description", format = "html")]
    description: Option<String>,
    #[fibery(relation = "Projects/Project")]
    project: Option<EntityRef>,
    #[fibery(relation = "assignments/assignees")]
    assignees: Vec<EntityRef>,
    #[fibery(enum_field = "workflow/state")]
    state: Option<String>,
    #[fibery(enum_field = "Projects/Priority")]
    priority: Option<Priority>,
    #[fibery(enum_field = "Projects/Tags")]
    tags: Vec<String>,
    #[fibery(files = "Files/Files")]
    files: Vec<Uuid>,
    #[fibery(field = "Projects/Days Left", readonly)]
    days_left: Option<i64>,
    #[fibery(skip)]
    scratch: Vec<u8>,
}

fn main() {
    assert_eq!(Task::TYPE_NAME, "Projects/Task");
    assert_eq!(Task::FIELDS.len(), 11);
    let task = Task {
        id: None,
        name: String::new(),
        estimate: Some(-1.0),
        description: None,
        project: None,
        assignees: vec![],
        state: None,
        priority: Some(Priority::Critical),
        tags: vec![],
        files: vec![],
        days_left: None,
        scratch: vec![],
    };
    // validator's derive works on the same struct.
    let errors = task.validate().unwrap_err();
    assert!(errors.field_errors().contains_key("name"));
    assert!(errors.field_errors().contains_key("estimate"));
    assert_eq!(task.encode().unwrap().enums[0].1, vec!["Very High".to_owned()]);
}
