//! darling-parsed attributes of `#[derive(FiberyEntity)]` (the raw input of the pipeline).

use darling::util::{Flag, Override, SpannedValue};
use darling::{FromDeriveInput, FromField, ast};

/// Container attributes: `#[fibery(type = "Space/Type", rename_all = "..", crate = "..")]`.
#[derive(FromDeriveInput)]
#[darling(attributes(fibery), supports(struct_named))]
pub(crate) struct ContainerAttrs {
    pub ident: syn::Ident,
    pub generics: syn::Generics,
    pub data: ast::Data<(), FieldAttrs>,
    /// The Fibery type. Optional here so a missing one is reported on the struct's name.
    #[darling(rename = "type")]
    pub type_name: Option<SpannedValue<String>>,
    /// How Fibery names are derived from Rust field names when a field gives none.
    #[darling(default)]
    pub rename_all: Option<SpannedValue<String>>,
    /// Path of the crate that provides `__private` (default `::fibery_client`).
    #[darling(rename = "crate")]
    pub krate: Option<syn::Path>,
}

/// Field attributes. Every kind is `Option<Override<..>>` so both `relation` (name derived
/// through `rename_all`) and `relation = "Space/Field"` parse.
#[derive(FromField)]
#[darling(attributes(fibery))]
pub(crate) struct FieldAttrs {
    pub ident: Option<syn::Ident>,
    pub ty: syn::Type,
    pub id: Flag,
    pub field: Option<Override<SpannedValue<String>>>,
    pub rich_text: Option<Override<SpannedValue<String>>>,
    pub format: Option<SpannedValue<String>>,
    pub relation: Option<Override<SpannedValue<String>>>,
    pub enum_field: Option<Override<SpannedValue<String>>>,
    pub files: Option<Override<SpannedValue<String>>>,
    pub skip: Flag,
    pub readonly: Flag,
}
