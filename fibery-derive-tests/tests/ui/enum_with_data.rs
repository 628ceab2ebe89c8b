use fibery_derive_tests::FiberyEnum;

#[derive(FiberyEnum)]
enum Priority {
    Low,
    Custom(String),
}

fn main() {}
