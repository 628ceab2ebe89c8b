//! Derive macros for [fibery-client](https://docs.rs/fibery-client): map your structs onto
//! Fibery types.
//!
//! * [`FiberyEntity`]: implements `fibery_core::entity::FiberyEntity` (type name, field
//!   mappings, select list, encode to create/update parts, decode from query rows).
//! * [`FiberyEnum`]: a unit-variant enum <-> single/multi-select option names.
//! * [`macro@entity`]: `#[fibery_client::entity(type = "..")]` = `#[derive(FiberyEntity,
//!   Validate)]` with validator reached through the hidden re-export (no `validator`
//!   dependency needed). The form to use for hand-written structs.
//! * [`schema!`]: structs generated at compile time from a schema file (the generator is the
//!   `fibery-codegen` crate, which `fibery codegen` uses too).
//!
//! Use them through `fibery-client` (feature `derive`, on by default): the generated code only
//! names `::fibery_client::__private::{fibery_core, serde, serde_json, uuid, validator}`, so
//! your crate needs no other dependency. `#[fibery(crate = "path")]` points it elsewhere.
//!
//! # Example
//!
//! ```
//! use fibery_client::{EntityRef, FiberyEntity, FiberyEnum, Uuid, Validate, json};
//!
//! #[derive(FiberyEnum, Debug, Clone, Copy, PartialEq)]
//! enum Priority {
//!     Low,
//!     High,
//!     #[fibery(name = "Needs Triage")]
//!     Triage,
//! }
//!
//! #[fibery_client::entity(type = "Projects/Task")]
//! #[derive(Debug, PartialEq)]
//! struct Task {
//!     #[fibery(id)]
//!     id: Option<Uuid>,
//!     #[fibery(field = "Projects/Name")]
//!     #[validate(length(min = 1, max = 200))]
//!     name: String,
//!     #[fibery(field = "Projects/Estimate")]
//!     estimate: Option<f64>,
//!     #[fibery(rich_text = "Projects/Description", format = "md")]
//!     description: Option<String>,
//!     #[fibery(relation = "Projects/Project")]
//!     project: Option<EntityRef>,
//!     #[fibery(enum_field = "workflow/state")]
//!     state: Option<String>,
//!     #[fibery(enum_field = "Projects/Priority")]
//!     priority: Option<Priority>,
//!     #[fibery(enum_field = "Projects/Tags")]
//!     tags: Vec<String>,
//!     #[fibery(files = "Files/Files")]
//!     files: Vec<Uuid>,
//!     #[fibery(skip)]
//!     scratch: u32,
//! }
//!
//! let task = Task {
//!     id: Some(Uuid::from_u128(1)),
//!     name: "Ship it".into(),
//!     estimate: Some(1.5),
//!     description: Some("**soon**".into()),
//!     project: Some(EntityRef::new(Uuid::from_u128(2))),
//!     state: Some("Open".into()),
//!     priority: Some(Priority::Triage),
//!     tags: vec!["api".into()],
//!     files: vec![],
//!     scratch: 0,
//! };
//! task.validate().unwrap();
//!
//! // Encoding splits the entity into the parts Fibery writes in separate steps.
//! let parts = task.encode().unwrap();
//! assert_eq!(parts.fields["Projects/Name"], json!("Ship it"));
//! assert_eq!(parts.fields["Projects/Project"], json!({"fibery/id": Uuid::from_u128(2).to_string()}));
//! assert_eq!(parts.enums[1], ("Projects/Priority".to_owned(), vec!["Needs Triage".to_owned()], false));
//! assert_eq!(parts.rich_text[0].2, "**soon**");
//!
//! // Decoding reads a row of `Task::select()` (documents already substituted by the client).
//! let row = json!({
//!     "fibery/id": Uuid::from_u128(1).to_string(),
//!     "Projects/Name": "Ship it",
//!     "Projects/Estimate": "1.5",                       // decimals come back as strings
//!     "Projects/Description": "**soon**",
//!     "Projects/Project": {"fibery/id": Uuid::from_u128(2).to_string()},
//!     "workflow/state": {"enum/name": "Open"},
//!     "Projects/Priority": {"enum/name": "Needs Triage"},
//!     "Projects/Tags": [{"enum/name": "api"}],
//!     "Files/Files": null,                              // empty collections may be null
//! });
//! assert_eq!(Task::decode(&row).unwrap(), task);
//!
//! // Errors name the field.
//! let err = Task::decode(&json!({"Projects/Name": 42})).unwrap_err();
//! assert_eq!(err.field, "Projects/Name");
//! ```
//!
//! # `#[derive(FiberyEntity)]` attributes
//!
//! On the struct (named fields, no generics), as `#[fibery(..)]` or as the arguments of
//! `#[fibery_client::entity(..)]`:
//!
//! | attribute | meaning |
//! |---|---|
//! | `type = "Space/Type"` | the Fibery type (required) |
//! | `rename_all = "Title Case"` | derive Fibery names for fields that do not spell one out (below) |
//! | `crate = "path"` | where `__private` lives (default `::fibery_client`) |
//!
//! On fields (exactly one kind per field):
//!
//! | attribute | Rust type | Fibery field |
//! |---|---|---|
//! | `id` | `Option<Uuid>` or `Uuid` (nil = none yet) | `fibery/id`; exactly one is required (the client sets a client-generated id before creating, so retried creates cannot duplicate) |
//! | `field = "S/N"` | any `Serialize + DeserializeOwned` (`Option<T>` when nullable) | a primitive |
//! | `rich_text = "S/N", format = "md"\|"html"\|"json"` | `String` or `Option<String>` | a rich-text document (default `md`) |
//! | `relation = "S/N"` | `EntityRef`, `Option<EntityRef>`, `Vec<EntityRef>` (or `Uuid`) | a single or collection relation, users too |
//! | `enum_field = "S/N"` | `String`, `Option<String>`, `Vec<String>`, or an enum deriving [`FiberyEnum`] in their place | a single-select, workflow state (`workflow/state`) or multi-select (`Vec`) |
//! | `files = "S/N"` | `Vec<EntityRef>` or `Vec<Uuid>` | a files collection (`Files/Files`) |
//! | `readonly` (with a kind) | as for the kind | read back but never written (formulas, lookups) |
//! | `skip` | any `Default` | not mapped |
//!
//! `validate(..)` field attributes are validator's rules; the client calls `validate()` before
//! sending anything. [`macro@entity`] and structs generated by [`schema!`] reach validator
//! through fibery-client. Spelling it out as `#[derive(FiberyEntity, Validate)]` also works but
//! then your crate needs `validator = "0.21"` (validator's derive names `::validator`).
//!
//! **Names.** Fibery names look like `Space/Name` (`Projects/Due Date`); built-ins from other
//! namespaces (`workflow/state`, `assignments/assignees`, `Files/Files`) have the same shape.
//! A name may be omitted: a bare kind (`#[fibery(relation)]`) or, when the struct has
//! `rename_all`, a field without any `#[fibery]` attribute (a primitive) gets
//! `<space of the type>/<rule applied to the Rust name>`. Rules: `"Title Case"`
//! (`due_date` -> `Projects/Due Date`, the default for bare kinds, and Fibery's own style),
//! `"Sentence case"` (`Due date`), `"lower case"` (`due date`), `"verbatim"` (`due_date`).
//! Without `rename_all`, an unannotated field is a compile error, so nothing is mapped by
//! accident.
//!
//! **Compile-time checks** (all reported in one build, each on its span): malformed
//! attributes (unknown keys get a did-you-mean), a missing or malformed type name, names not
//! of the `Space/Name` form, a missing or second `id`, conflicting kinds on one field, `format`
//! without `rich_text`, types a kind cannot map (`&str`, `id: String`, `files` that is not a
//! `Vec`, an `EntityRef` mapped as a primitive, ...), two fields on one Fibery name, and an
//! `enum_field` type that has no `FiberyEnum` mapping.
//!
//! **Encoding** (`encode`): primitives through `serde_json::to_value`; `None` is skipped, so an
//! update never clears a field you left out; single relations become `{"fibery/id": ..}`;
//! collections, files and enums (by option name) are returned separately for the client's
//! follow-up commands; `readonly` fields are never written. **Decoding** (`decode`): decimals
//! that arrive as strings are parsed, `null` collections read as empty, option names come from
//! `{"enum/name": ..}`, and every error names the Fibery field. Collections are sets in Fibery:
//! they come back in the workspace's order, not the order written.
//!
//! **Schema drift**: `T::check_schema(&schema)` (from `fibery_core`) verifies every mapped
//! field exists with a compatible kind and suggests near names; the client runs it once per
//! type and schema version.
//!
//! # `schema!`
//!
//! ```
//! mod generated {
//!     fibery_client::schema!(
//!         "../fibery-core/tests/fixtures/project-management.json",
//!         types = ["Projects/Task", "Projects/Project"],
//!     );
//! }
//! use fibery_client::FiberyEntity;
//! assert_eq!(generated::Task::TYPE_NAME, "Projects/Task");
//! let project = generated::Project {
//!     id: None,
//!     name: Some("Docs".into()),
//!     tasks: vec![],
//!     start: None,
//!     brief: None,
//!     task_count: None, // a formula: read back, never written
//! };
//! assert!(project.encode().unwrap().fields.contains_key("Projects/Name"));
//! ```
//!
//! reads the file (a `fibery.schema/query` result; path relative to the crate's
//! `Cargo.toml`) at compile time and emits one struct per type (`Projects/Task` -> `Task`),
//! with `#[derive(FiberyEntity, Validate, Debug, Clone, PartialEq, Serialize, Deserialize)]`,
//! snake_case fields, `Option` for fields the schema does not require, `String` for option
//! names and dates, `serde_json::Value` for ranges, JSON and locations, and `#[validate(email)]`,
//! `#[validate(url)]` or `#[validate(length(min = 1))]` where the schema implies them. Optional
//! arguments: `crate = "path"`, `include_readonly = false`.
//!
//! # What the derive generates
//!
//! For the struct below, `cargo expand` shows this (kept in sync by a test). The `_d::`
//! functions are the encode/decode helpers every derive shares: they live once in
//! `fibery_core` (a hidden module) rather than in each expansion.
//!
//! ```
#![doc = include_str!("../docs/expanded.rs")]
//! ```
#![forbid(unsafe_code)]

mod entity;
mod enums;
mod names;
mod schema_macro;
mod types;

use proc_macro::TokenStream;

/// Derives `fibery_core::entity::FiberyEntity`; see the [crate docs](crate) for attributes.
#[proc_macro_derive(FiberyEntity, attributes(fibery, validate))]
pub fn derive_fibery_entity(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    entity::derive(input).into()
}

/// Derives the option-name mapping of a unit-variant enum: `FIBERY_NAMES`,
/// `fibery_name(&self)` and `from_fibery_name(&str)`.
///
/// Option names default to the variant name in Title Case (`InProgress` -> `In Progress`);
/// `#[fibery(name = "..")]` on a variant or `#[fibery(rename_all = "..")]` on the enum (rules
/// as for [`FiberyEntity`]) override that.
#[proc_macro_derive(FiberyEnum, attributes(fibery))]
pub fn derive_fibery_enum(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    enums::derive(input).into()
}

/// Generates structs for Fibery types from a schema file (path relative to the crate root):
/// `schema!("schema.json", types = ["Space/Type", ..], crate = "..", include_readonly = false)`.
/// See the [crate docs](crate#schema).
#[proc_macro]
pub fn schema(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as schema_macro::SchemaInput);
    schema_macro::expand(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Shorthand for `#[derive(FiberyEntity, Validate)]` plus `#[fibery(..)]` that reaches
/// validator through the hidden re-export, so a crate that depends only on `fibery-client`
/// can validate hand-written structs:
///
/// ```
/// #[fibery_client::entity(type = "Projects/Task")]
/// #[derive(Debug)]
/// struct Task {
///     #[fibery(id)]
///     id: Option<fibery_client::Uuid>,
///     #[fibery(field = "Projects/Name")]
///     #[validate(length(min = 1))]
///     name: String,
/// }
///
/// use fibery_client::{FiberyEntity, Validate};
/// let t = Task { id: None, name: String::new() };
/// assert!(t.validate().is_err());
/// assert_eq!(Task::TYPE_NAME, "Projects/Task");
/// ```
///
/// The arguments are those of the container attribute `#[fibery(..)]` (`type`, `rename_all`,
/// `crate`).
#[proc_macro_attribute]
pub fn entity(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = proc_macro2::TokenStream::from(args);
    let item = proc_macro2::TokenStream::from(item);
    entity_attr(args, item)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn entity_attr(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    // Only `crate = "path"` matters here; everything else is checked by the derive.
    let mut krate: syn::Path = syn::parse_quote!(::fibery_client);
    let tokens: Vec<proc_macro2::TokenTree> = args.clone().into_iter().collect();
    for w in tokens.windows(3) {
        if let [
            proc_macro2::TokenTree::Ident(key),
            proc_macro2::TokenTree::Punct(eq),
            proc_macro2::TokenTree::Literal(lit),
        ] = w
            && key == "crate"
            && eq.as_char() == '='
        {
            let lit: syn::LitStr =
                syn::parse2(proc_macro2::TokenTree::Literal(lit.clone()).into())?;
            krate = lit.parse()?;
        }
    }
    let validator = quote::quote!(#krate::__private::validator)
        .to_string()
        .replace(' ', "");
    Ok(quote::quote! {
        #[derive(#krate::__private::fibery_derive::FiberyEntity, #krate::__private::validator::Validate)]
        #[fibery(#args)]
        #[validate(crate = #validator)]
        #item
    })
}

#[cfg(test)]
mod tests {
    /// The struct shown expanded in the crate docs (`docs/expanded.rs`).
    fn example() -> syn::DeriveInput {
        syn::parse_quote! {
            #[fibery(type = "Projects/Task")]
            pub struct Task {
                #[fibery(id)]
                pub id: Option<Uuid>,
                #[fibery(field = "Projects/Name")]
                pub name: String,
                #[fibery(rich_text = "Projects/Description")]
                pub description: Option<String>,
                #[fibery(relation = "Projects/Project")]
                pub project: Option<EntityRef>,
                #[fibery(enum_field = "Projects/Tags")]
                pub tags: Vec<String>,
            }
        }
    }

    /// The code as rustfmt prints it, without blank and comment lines.
    fn rustfmt(code: &str) -> String {
        use std::io::Write;
        let mut child = std::process::Command::new("rustfmt")
            .args(["--edition", "2024", "--emit", "stdout"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("rustfmt is installed (rustup component add rustfmt)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(code.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "rustfmt failed");
        significant(&String::from_utf8(out.stdout).unwrap())
    }

    fn significant(code: &str) -> String {
        code.lines()
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn expanded_example_in_docs_is_current() {
        let expanded = crate::entity::derive(example()).to_string();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/expanded.rs");
        if let Some(out) = std::env::var_os("FIBERY_DERIVE_WRITE_EXPANDED") {
            std::fs::write(out, &expanded).unwrap();
        }
        let doc = std::fs::read_to_string(path).unwrap();
        // The doc file is a doctest: the struct (without the derive) as hidden (`# `) lines, a
        // marker line, then the expansion.
        let unhidden: String = doc
            .lines()
            .map(|l| {
                if l == "#" {
                    ""
                } else if let Some(rest) = l.strip_prefix("# ") {
                    rest
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let (_, generated) = unhidden
            .split_once("// ---- generated by #[derive(FiberyEntity)] ----")
            .expect("marker line in docs/expanded.rs");
        assert_eq!(
            significant(generated),
            rustfmt(&expanded),
            "docs/expanded.rs is stale: run fibery-derive/docs/regenerate.sh"
        );
    }
}
