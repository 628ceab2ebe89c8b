//! Files: upload from a path (streamed) and from bytes, attach to an entity, download.

use fibery_examples as common;

use fibery_client::core::command::Command;
use serde_json::json;
use uuid::Uuid;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let session = common::connect().await?;
    let client = &session.client;

    let dir = std::env::temp_dir().join(format!("fibery-files-example-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("report.csv");
    std::fs::write(&path, "id,value\n1,42\n2,43\n")?;

    let from_path = client.upload_file(&path).await?;
    let from_bytes = client
        .upload_bytes("hello.txt", "text/plain", b"hello, fibery".to_vec())
        .await?;
    println!(
        "uploaded {} ({}) and {} ({})",
        from_path.name, from_path.id, from_bytes.name, from_bytes.id
    );

    let task = client
        .command(Command::create(
            "Projects/Task",
            json!({"fibery/id": Uuid::new_v4(), "Projects/Name": "Task with files"}),
        ))
        .await?;
    let task_id = Uuid::parse_str(task["fibery/id"].as_str().unwrap_or_default())?;
    client
        .attach_files(
            "Projects/Task",
            task_id,
            "Files/Files",
            &[from_path.id, from_bytes.id],
        )
        .await?;

    let mut out = tokio::fs::File::create(dir.join("downloaded.csv")).await?;
    let n = client.download_file(&from_path.secret, &mut out).await?;
    println!(
        "downloaded {n} bytes to {}",
        dir.join("downloaded.csv").display()
    );
    let mut buf = Vec::new();
    client.download_file(&from_bytes.secret, &mut buf).await?;
    println!("hello.txt says: {}", String::from_utf8_lossy(&buf));

    std::fs::remove_dir_all(&dir)?;
    session.finish().await;
    Ok(())
}
