use fibery_derive_tests::FiberyEnum;

#[derive(FiberyEnum)]
enum Priority {
    High,
    #[fibery(name = "High")]
    Urgent,
}

fn main() {}
