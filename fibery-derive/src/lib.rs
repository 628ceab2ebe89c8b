//! Derive macros for fibery-client.
#![forbid(unsafe_code)]

mod entity;
mod enums;
mod names;
mod schema_macro;
mod types;

use proc_macro::TokenStream;

/// Derives `fibery_core::entity::FiberyEntity`.
#[proc_macro_derive(FiberyEntity, attributes(fibery, validate))]
pub fn derive_fibery_entity(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    entity::derive(input).into()
}

/// Derives the option-name mapping of a unit-variant enum.
#[proc_macro_derive(FiberyEnum, attributes(fibery))]
pub fn derive_fibery_enum(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    enums::derive(input).into()
}

/// Generates structs for Fibery types from a schema file (path relative to the crate root).
#[proc_macro]
pub fn schema(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as schema_macro::SchemaInput);
    schema_macro::expand(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
