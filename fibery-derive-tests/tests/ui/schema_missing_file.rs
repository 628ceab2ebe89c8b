mod generated {
    fibery_derive::schema!("no/such/schema.json", types = ["Projects/Task"]);
}

fn main() {}
