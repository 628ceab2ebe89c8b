//! Rich text: write on create (batched), read in md / html / plain text / json.

use fibery_examples as common;

use fibery_client::DocFormat;
use uuid::Uuid;

#[fibery_client::entity(type = "Projects/Task")]
#[derive(Debug, Clone)]
struct Note {
    #[fibery(id)]
    id: Option<Uuid>,
    #[fibery(field = "Projects/Name")]
    #[validate(length(min = 1))]
    name: String,
    #[fibery(rich_text = "Projects/Description", format = "md")]
    body: Option<String>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let session = common::connect().await?;
    let client = &session.client;
    let before = client.stats().requests;
    let notes: Vec<Note> = (0..60)
        .map(|i| Note {
            id: None,
            name: format!("Note {i}"),
            body: Some(format!("# Note {i}\n\nSome **bold** text.")),
        })
        .collect();
    let report = client.entities::<Note>().create_all(notes).await?;
    println!(
        "60 notes with rich text in {} requests (schema + options + creates + secrets + document chunks)",
        client.stats().requests - before
    );
    let id = report.ids()[0];
    for format in [
        DocFormat::Md,
        DocFormat::Html,
        DocFormat::PlainText,
        DocFormat::Json,
    ] {
        let content = client
            .rich_text("Projects/Task", "Projects/Description", id, format)
            .await?;
        println!("{:>10}: {}", format.as_str(), content.replace('\n', "\\n"));
    }
    client
        .set_rich_text(
            "Projects/Task",
            "Projects/Description",
            id,
            DocFormat::Html,
            "<p>rewritten in <em>HTML</em></p>",
        )
        .await?;
    println!(
        "after update: {}",
        client
            .rich_text("Projects/Task", "Projects/Description", id, DocFormat::Md)
            .await?
    );
    let back = client.entities::<Note>().get(id).await?.expect("exists");
    println!("typed read: {:?}", back.body);
    session.finish().await;
    Ok(())
}
