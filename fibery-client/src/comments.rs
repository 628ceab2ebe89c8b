//! Comments on entities (types with the `comments/comments-mixin`), by Fibery's documented
//! flow: a `comments/comment` entity with a client-generated id and document secret, linked
//! into the parent's `comments/comments` collection in one `fibery.command/batch`, then its
//! text written as a document (`create-or-update-documents` creates it for the new secret).

use fibery_core::command::Command;
use fibery_core::entity::DocFormat;
use fibery_core::query::{Filter, Order, Query, SelectItem, SubQuery};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::client::Client;
use crate::error::{Error, Result};

const COMMENT: &str = "comments/comment";
const COMMENTS: &str = "comments/comments";
const SECRET: &str = "comment/document-secret";
const AUTHOR: &str = "comment/author";

/// Comments read per entity by [`Client::comments`].
pub const MAX_COMMENTS: u64 = 1000;

/// One comment with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Comment {
    /// The comment entity's id.
    pub id: Uuid,
    /// The author's `fibery/id`, if set.
    pub author: Option<Uuid>,
    /// When it was written (RFC 3339).
    pub created: Option<String>,
    /// Its text in the format asked for.
    pub text: String,
    /// The secret of its document.
    pub document_secret: String,
}

impl Client {
    /// Adds a Markdown comment by the calling user to entity `id` of `type_name`: one
    /// query for the user's id, one batch (create the comment, link it), one document
    /// write. Returns the comment's id.
    pub async fn add_comment(&self, type_name: &str, id: Uuid, markdown: &str) -> Result<Uuid> {
        let me = self.current_user().await?;
        self.add_comment_by(type_name, id, me, markdown).await
    }

    /// [`add_comment`](Self::add_comment) with an explicit author (a `fibery/user` id); two
    /// requests.
    pub async fn add_comment_by(
        &self,
        type_name: &str,
        id: Uuid,
        author: Uuid,
        markdown: &str,
    ) -> Result<Uuid> {
        let (comment, secret) = (Uuid::new_v4(), Uuid::new_v4());
        let create = Command::create(
            COMMENT,
            json!({"fibery/id": comment, SECRET: secret, AUTHOR: {"fibery/id": author}}),
        );
        let link = Command::add_collection_items(type_name, COMMENTS, id, [comment]);
        self.submit(Command::batch([create, link])).await?;
        self.set_documents(&[(secret.to_string(), markdown.to_owned())], DocFormat::Md)
            .await?;
        Ok(comment)
    }

    /// The comments of entity `id`, oldest first (at most [`MAX_COMMENTS`]), with their
    /// text in `format`: one query, then one documents request per
    /// [`document_chunk`](crate::ClientBuilder::document_chunk) comments.
    pub async fn comments(
        &self,
        type_name: &str,
        id: Uuid,
        format: DocFormat,
    ) -> Result<Vec<Comment>> {
        let sub = SubQuery::new()
            .select(["fibery/id", SECRET, "fibery/creation-date"])
            .select_item(SelectItem::deref(AUTHOR, ["fibery/id"]))
            .order_by("fibery/creation-date", Order::Asc)
            .limit(MAX_COMMENTS);
        let q = Query::from(type_name)
            .select(["fibery/id"])
            .select_item(SelectItem::sub_query(COMMENTS, sub))
            .filter(Filter::eq("fibery/id", id.to_string()))
            .limit(1);
        let rows = self.query(&q).await?;
        let list = rows
            .first()
            .and_then(|r| r.get(COMMENTS))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut out: Vec<Comment> = list.iter().filter_map(comment_of).collect();
        let secrets: Vec<String> = out.iter().map(|c| c.document_secret.clone()).collect();
        let mut texts = self.documents(&secrets, format).await?;
        for c in &mut out {
            c.text = texts.remove(&c.document_secret).unwrap_or_default();
        }
        Ok(out)
    }

    /// The calling user's `fibery/id` (`$my-id`).
    pub async fn current_user(&self) -> Result<Uuid> {
        let q = Query::from("fibery/user")
            .select(["fibery/id"])
            .filter(Filter::is_me("fibery/id"))
            .limit(1);
        let rows = self.query_rows(q).await?;
        rows.first()
            .and_then(|r| r.get("fibery/id"))
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(|| Error::decode("current user", "no fibery/user row for $my-id"))
    }
}

fn comment_of(v: &Value) -> Option<Comment> {
    let uuid = |x: Option<&Value>| {
        x.and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok())
    };
    Some(Comment {
        id: uuid(v.get("fibery/id"))?,
        author: uuid(v.get(AUTHOR).and_then(|a| a.get("fibery/id"))),
        created: v
            .get("fibery/creation-date")
            .and_then(Value::as_str)
            .map(str::to_owned),
        text: String::new(),
        document_secret: v.get(SECRET)?.as_str()?.to_owned(),
    })
}
