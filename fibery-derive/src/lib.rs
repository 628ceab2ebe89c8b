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
#![doc = include_str!("../docs/attributes.md")]
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
//! names, `serde_json::Value` for JSON and locations, and `#[validate(email)]`,
//! `#[validate(url)]` or `#[validate(length(min = 1))]` where the schema implies them, and a doc
//! comment per field with its Fibery name and type. Dates are `time::Date` /
//! `time::OffsetDateTime`, date ranges `DateRange` / `DateTimeRange`; `Default` is derived when
//! every field has one (a required date has none). Optional
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

/// Derives `fibery_core::entity::FiberyEntity` for a struct with named fields: its Fibery
/// type, field mappings, select list, encoding and decoding. The whole attribute reference
/// follows; `#[fibery_client::entity(type = "..")]` takes the same attributes.
///
#[doc = include_str!("../docs/attributes.md")]
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
/// Generates one `FiberyEntity` struct per listed type from a schema file (a
/// `fibery.schema/query` result, path relative to the crate's `Cargo.toml`) at compile time:
/// `schema!("schema.json", types = ["Projects/Task"])`. Optional arguments: `crate = "path"`,
/// `include_readonly = false`. Each field carries a doc comment with its Fibery name and
/// type; dates are `time::Date` / `time::OffsetDateTime`; `Default` is derived when every
/// field has one. The generator is the `fibery-codegen` crate (also behind `fibery codegen`).
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
    /// The struct shown expanded in the crate docs: the `// Input:` comment of
    /// `docs/expanded.rs` (without its derive line).
    fn example() -> syn::DeriveInput {
        let input: Vec<&str> = include_str!("../docs/expanded.rs")
            .lines()
            .skip_while(|l| *l != "// Input:")
            .skip(1)
            .map_while(|l| l.strip_prefix("//"))
            .filter(|l| !l.contains("derive(FiberyEntity)"))
            .collect();
        syn::parse_str(&input.join("\n")).expect("the input struct in docs/expanded.rs")
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
