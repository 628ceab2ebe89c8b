//! Comments round-trip: added in Markdown by the documented flow, listed with their text.

use fibery_client::comments::Comment;
use fibery_client::{Client, DocFormat, Uuid};

use super::{TASK, Task, client, emulator, task};

#[tokio::test]
async fn comments_round_trip_with_their_text_and_author() {
    let emu = emulator().await;
    let client = client(&emu).build().unwrap();
    let id = created(&client, "discussed").await;
    assert!(comments_md(&client, id).await.is_empty());

    let me: Uuid = emu.user_id().parse().unwrap();
    assert_eq!(client.current_user().await.unwrap(), me);
    let first = client
        .add_comment(TASK, id, "First, **bold**.")
        .await
        .unwrap();
    let before = emu.request_log().len();
    let second = client
        .add_comment_by(TASK, id, me, "Second: a [link](https://example.com)")
        .await
        .unwrap();
    assert_eq!(
        emu.request_log().len() - before,
        2,
        "one batch, one document write"
    );

    let list = comments_md(&client, id).await;
    let got: Vec<(Uuid, &str, Option<Uuid>)> = list
        .iter()
        .map(|c| (c.id, c.text.trim(), c.author))
        .collect();
    assert_eq!(
        got,
        vec![
            (first, "First, **bold**.", Some(me)),
            (second, "Second: a [link](https://example.com)", Some(me)),
        ]
    );
    let plain = client
        .comments(TASK, id, DocFormat::PlainText)
        .await
        .unwrap();
    assert_eq!(plain[0].text.trim(), "First, bold.");
    // The comment is a real entity linked to its parent, not a side table.
    let other = created(&client, "quiet").await;
    assert!(comments_md(&client, other).await.is_empty());
}

/// The id of a new task named `name`.
async fn created(client: &Client, name: &str) -> Uuid {
    let task = client.entities::<Task>().create(task(name)).await.unwrap();
    task.id.unwrap()
}

/// The comments of task `id`, in Markdown.
async fn comments_md(client: &Client, id: Uuid) -> Vec<Comment> {
    client.comments(TASK, id, DocFormat::Md).await.unwrap()
}
