mod generated {
    fibery_derive::schema!("schema.json");
}

fn main() {}
