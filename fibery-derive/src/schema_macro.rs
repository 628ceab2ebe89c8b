//! `schema!("path.json", types = [..])`: structs generated from a schema file at compile time.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{LitStr, Token, bracketed};

/// Parsed macro input.
pub(crate) struct SchemaInput {
    path: LitStr,
    types: Vec<LitStr>,
    types_span: Span,
    krate: Option<LitStr>,
    include_readonly: Option<syn::LitBool>,
    options: Option<LitStr>,
}

impl Parse for SchemaInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let path: LitStr = input.parse()?;
        let mut types = None;
        let mut krate = None;
        let mut include_readonly = None;
        let mut options = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key = syn::Ident::parse_any(input)?;
            input.parse::<Token![=]>()?;
            match key.to_string().as_str() {
                "types" => {
                    let content;
                    let bracket = bracketed!(content in input);
                    let list: Punctuated<LitStr, Token![,]> =
                        content.parse_terminated(|p| p.parse::<LitStr>(), Token![,])?;
                    if types.is_some() {
                        return Err(syn::Error::new(key.span(), "duplicate `types`"));
                    }
                    types = Some((list.into_iter().collect::<Vec<_>>(), bracket.span.join()));
                }
                "crate" => krate = Some(input.parse::<LitStr>()?),
                "include_readonly" => include_readonly = Some(input.parse::<syn::LitBool>()?),
                "options" => options = Some(input.parse::<LitStr>()?),
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown argument `{other}`; expected `types`, `crate`, `include_readonly` or `options`"
                        ),
                    ));
                }
            }
        }
        let Some((types, types_span)) = types else {
            return Err(syn::Error::new(
                path.span(),
                "missing `types = [\"Space/Type\", ...]`",
            ));
        };
        Ok(SchemaInput {
            path,
            types,
            types_span,
            krate,
            include_readonly,
            options,
        })
    }
}

pub(crate) fn expand(input: SchemaInput) -> syn::Result<TokenStream> {
    let dir = std::env::var("CARGO_MANIFEST_DIR").map_err(|_| {
        syn::Error::new(
            input.path.span(),
            "CARGO_MANIFEST_DIR is not set (not run by cargo?)",
        )
    })?;
    let (full, text) = read_relative(&dir, &input.path, "schema")?;
    let schema = fibery_core::schema::Schema::parse(&text)
        .map_err(|e| syn::Error::new(input.path.span(), format!("invalid schema file: {e}")))?;

    let mut options = fibery_codegen::Options::default();
    if let Some(k) = &input.krate {
        options = options.crate_path(k.value());
    }
    if let Some(b) = &input.include_readonly {
        options = options.include_readonly(b.value);
    }
    let mut rebuild = vec![full.clone()];
    if let Some(path) = &input.options {
        let (full, text) = read_relative(&dir, path, "options")?;
        let enums = fibery_codegen::enum_options_from_json(&text)
            .map_err(|e| syn::Error::new(path.span(), format!("invalid options file: {e}")))?;
        options = options.enum_options(enums);
        rebuild.push(full);
    }
    let names: Vec<String> = input.types.iter().map(LitStr::value).collect();
    let code = fibery_codegen::generate(&schema, &names, &options).map_err(|e| {
        let span = match &e {
            fibery_codegen::CodegenError::UnknownType { name, .. }
            | fibery_codegen::CodegenError::NotAnEntityType(name)
            | fibery_codegen::CodegenError::DuplicateType(name) => input
                .types
                .iter()
                .find(|t| t.value() == *name)
                .map_or(input.types_span, LitStr::span),
            _ => input.types_span,
        };
        syn::Error::new(span, e.to_string())
    })?;
    let items: TokenStream = code.parse().map_err(|e| {
        syn::Error::new(
            input.path.span(),
            format!("fibery-codegen produced invalid tokens: {e}"),
        )
    })?;
    // Rebuild when the schema (or options) file changes.
    let rebuild = rebuild.iter().map(|p| p.to_string_lossy().into_owned());
    Ok(quote! {
        #(const _: &str = ::std::include_str!(#rebuild);)*
        #items
    })
}

/// Reads the file at `path` (relative to the crate's manifest directory `dir`).
fn read_relative(
    dir: &str,
    path: &LitStr,
    what: &str,
) -> syn::Result<(std::path::PathBuf, String)> {
    let full = std::path::Path::new(dir).join(path.value());
    let text = std::fs::read_to_string(&full).map_err(|e| {
        syn::Error::new(
            path.span(),
            format!(
                "cannot read {what} file `{}` (relative to CARGO_MANIFEST_DIR): {e}",
                path.value()
            ),
        )
    })?;
    Ok((full, text))
}
