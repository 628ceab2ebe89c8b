//! Comments round-trip: added in Markdown by the documented flow, listed with their text.

use fibery_client::{DocFormat, Uuid};

use super::{TASK, Task, client, emulator, task};

#[tokio::test]
async fn comments_round_trip_with_their_text_and_author() {
    let emu = emulator().await;
    let client = client(&emu).build().unwrap();
    let id = client
        .entities::<Task>()
        .create(task("discussed"))
        .await
        .unwrap()
        .id
        .unwrap();
    assert!(
        client
            .comments(TASK, id, DocFormat::Md)
            .await
            .unwrap()
            .is_empty()
    );

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

    let list = client.comments(TASK, id, DocFormat::Md).await.unwrap();
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
    let other = client
        .entities::<Task>()
        .create(task("quiet"))
        .await
        .unwrap()
        .id
        .unwrap();
    assert!(
        client
            .comments(TASK, other, DocFormat::Md)
            .await
            .unwrap()
            .is_empty()
    );
}
