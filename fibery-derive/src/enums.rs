//! `#[derive(FiberyEnum)]`: a unit-variant enum <-> Fibery option names.

use darling::util::SpannedValue;
use darling::{FromDeriveInput, FromVariant, ast};
use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;

use crate::names::RenameRule;

#[derive(FromDeriveInput)]
#[darling(attributes(fibery), supports(enum_unit))]
struct EnumAttrs {
    ident: syn::Ident,
    generics: syn::Generics,
    data: ast::Data<VariantAttrs, ()>,
    #[darling(default)]
    rename_all: Option<SpannedValue<String>>,
}

#[derive(FromVariant)]
#[darling(attributes(fibery))]
struct VariantAttrs {
    ident: syn::Ident,
    name: Option<SpannedValue<String>>,
}

fn err(span: proc_macro2::Span, msg: impl std::fmt::Display) -> darling::Error {
    darling::Error::from(syn::Error::new(span, msg.to_string()))
}

pub(crate) fn derive(input: syn::DeriveInput) -> TokenStream {
    match expand(&input) {
        Ok(ts) => ts,
        Err(e) => e.write_errors(),
    }
}

fn expand(input: &syn::DeriveInput) -> darling::Result<TokenStream> {
    let attrs = EnumAttrs::from_derive_input(input)?;
    let mut acc = darling::Error::accumulator();
    if !attrs.generics.params.is_empty() {
        acc.push(err(
            attrs.generics.span(),
            "FiberyEnum cannot be derived for generic enums",
        ));
    }
    let rule = (attrs.rename_all.as_ref())
        .map(|r| RenameRule::parse_or_report(r, &mut acc))
        .unwrap_or_default();
    let variants = match attrs.data {
        ast::Data::Enum(v) => v,
        // darling's `supports(enum_unit)` already rejects structs.
        ast::Data::Struct(_) => return Err(darling::Error::unsupported_shape("struct")),
    };
    if variants.is_empty() {
        acc.push(err(
            attrs.ident.span(),
            "FiberyEnum needs at least one variant",
        ));
    }
    let mut names: Vec<(syn::Ident, String)> = Vec::new();
    for v in variants {
        let name = match &v.name {
            Some(n) => {
                if n.trim().is_empty() {
                    acc.push(err(n.span(), "an option name cannot be empty"));
                }
                n.as_str().to_owned()
            }
            None => rule.apply(&v.ident.to_string()),
        };
        if let Some((prev, _)) = names.iter().find(|(_, n)| *n == name) {
            acc.push(err(
                v.ident.span(),
                format!("option name `{name}` is already used by `{prev}`"),
            ));
        }
        names.push((v.ident, name));
    }
    acc.finish()?;

    let ident = &attrs.ident;
    let all = names.iter().map(|(_, n)| n);
    let to_name = names.iter().map(|(v, n)| quote!(Self::#v => #n,));
    let from_name = names
        .iter()
        .map(|(v, n)| quote!(#n => ::std::option::Option::Some(Self::#v),));
    Ok(quote! {
        const _: () = {
            #[automatically_derived]
            impl #ident {
                /// The Fibery option names, in declaration order.
                pub const FIBERY_NAMES: &'static [&'static str] = &[#(#all),*];

                /// The Fibery option name of this variant.
                pub fn fibery_name(&self) -> &'static str {
                    match self {
                        #(#to_name)*
                    }
                }

                /// The variant for a Fibery option name (exact match).
                pub fn from_fibery_name(name: &str) -> ::std::option::Option<Self> {
                    match name {
                        #(#from_name)*
                        _ => ::std::option::Option::None,
                    }
                }
            }
        };
    })
}
