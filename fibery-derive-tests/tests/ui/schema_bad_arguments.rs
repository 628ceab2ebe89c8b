mod generated {
    fibery_derive::schema!("schema.json", typs = ["Projects/Task"]);
}

fn main() {}
