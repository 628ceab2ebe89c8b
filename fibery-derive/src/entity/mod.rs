//! `#[derive(FiberyEntity)]`: parse (darling) -> model -> check -> expand (quote).

mod attrs;
mod expand;

use darling::util::{Override, SpannedValue};
use darling::{FromDeriveInput, ast};
use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;

use crate::names::{self, RenameRule};
use crate::types::{Wrapper, split_wrapper, type_is};
use attrs::{ContainerAttrs, FieldAttrs};

/// Entry point: returns the generated impl, or every error found.
pub(crate) fn derive(input: syn::DeriveInput) -> TokenStream {
    match parse(&input).and_then(|model| expand::expand(&model)) {
        Ok(ts) => ts,
        Err(err) => err.write_errors(),
    }
}

/// How a Rust field maps (checked model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Id,
    Primitive,
    RichText(DocFormat),
    Relation,
    Enum { string: bool },
    Files,
    Skip,
}

/// Rich-text exchange format (mirrors `fibery_core::entity::DocFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocFormat {
    Md,
    Html,
    Json,
}

/// One checked field.
pub(crate) struct Field {
    pub ident: syn::Ident,
    pub ty: syn::Type,
    pub kind: Kind,
    /// The Fibery field name (empty for skipped fields).
    pub fibery_name: String,
    pub wrapper: Wrapper,
    pub readonly: bool,
}

/// The checked model of one struct.
pub(crate) struct Entity {
    pub ident: syn::Ident,
    pub type_name: String,
    pub krate: syn::Path,
    pub fields: Vec<Field>,
}

fn err(span: Span, msg: impl std::fmt::Display) -> darling::Error {
    darling::Error::from(syn::Error::new(span, msg.to_string()))
}

/// darling parse, then semantic checks with every error accumulated.
pub(crate) fn parse(input: &syn::DeriveInput) -> darling::Result<Entity> {
    let attrs = ContainerAttrs::from_derive_input(input)?;
    let mut acc = darling::Error::accumulator();

    if !attrs.generics.params.is_empty() {
        acc.push(darling::Error::from(syn::Error::new_spanned(
            &attrs.generics,
            "FiberyEntity cannot be derived for generic structs",
        )));
    }

    let type_name = match &attrs.type_name {
        Some(t) => {
            if let Err(why) = names::check_type_name(t) {
                acc.push(err(t.span(), why));
            }
            t.as_str().to_owned()
        }
        None => {
            acc.push(err(
                attrs.ident.span(),
                "missing `#[fibery(type = \"Space/Type\")]` on the struct",
            ));
            String::new()
        }
    };
    let space = type_name.split_once('/').map(|(s, _)| s.to_owned());

    let rename = (attrs.rename_all.as_ref()).map(|r| RenameRule::parse_or_report(r, &mut acc));

    let krate = attrs
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::fibery_client));

    let fields = match attrs.data {
        ast::Data::Struct(f) => f.fields,
        // darling's `supports(struct_named)` already rejects enums.
        ast::Data::Enum(_) => return Err(darling::Error::unsupported_shape("enum")),
    };

    let ctx = FieldCtx {
        space: space.as_deref(),
        rename,
    };
    let mut out = Vec::with_capacity(fields.len());
    for f in fields {
        if let Some(field) = check_field(&ctx, f, &mut acc) {
            out.push(field);
        }
    }

    // Struct-level checks over the fields.
    let ids: Vec<&Field> = out.iter().filter(|f| f.kind == Kind::Id).collect();
    if ids.is_empty() {
        acc.push(err(
            attrs.ident.span(),
            "missing `#[fibery(id)] id: Option<Uuid>` field: the client sets client-generated ids before creating, and updates need them",
        ));
    }
    for extra in ids.iter().skip(1) {
        acc.push(err(
            extra.ident.span(),
            format!(
                "more than one `#[fibery(id)]` field (the first is `{}`)",
                ids[0].ident
            ),
        ));
    }
    for (i, f) in out.iter().enumerate() {
        if matches!(f.kind, Kind::Skip | Kind::Id) || f.fibery_name.is_empty() {
            continue;
        }
        if let Some(prev) = out[..i]
            .iter()
            .find(|p| p.kind != Kind::Skip && p.fibery_name == f.fibery_name)
        {
            acc.push(err(
                f.ident.span(),
                format!(
                    "Fibery field `{}` is already mapped by `{}`",
                    f.fibery_name, prev.ident
                ),
            ));
        }
    }

    acc.finish_with(Entity {
        ident: attrs.ident,
        type_name,
        krate,
        fields: out,
    })
}

struct FieldCtx<'a> {
    space: Option<&'a str>,
    rename: Option<RenameRule>,
}

/// Which mapping attributes a field carries, with their spans (for conflict messages).
fn present_kinds(f: &FieldAttrs) -> Vec<(&'static str, Span)> {
    let mut kinds = Vec::new();
    let span_of = |o: &Override<SpannedValue<String>>, fallback: Span| match o {
        Override::Explicit(v) => v.span(),
        Override::Inherit => fallback,
    };
    let fallback = f.ident.as_ref().map_or_else(Span::call_site, |i| i.span());
    if f.id.is_present() {
        kinds.push(("id", f.id.span()));
    }
    if let Some(o) = &f.field {
        kinds.push(("field", span_of(o, fallback)));
    }
    if let Some(o) = &f.rich_text {
        kinds.push(("rich_text", span_of(o, fallback)));
    }
    if let Some(o) = &f.relation {
        kinds.push(("relation", span_of(o, fallback)));
    }
    if let Some(o) = &f.enum_field {
        kinds.push(("enum_field", span_of(o, fallback)));
    }
    if let Some(o) = &f.files {
        kinds.push(("files", span_of(o, fallback)));
    }
    if f.skip.is_present() {
        kinds.push(("skip", f.skip.span()));
    }
    kinds
}

/// Checks one field, pushing every problem to `acc`; the field is still returned (with a
/// best-effort kind) so struct-level checks see it.
fn check_field(
    ctx: &FieldCtx<'_>,
    f: FieldAttrs,
    acc: &mut darling::error::Accumulator,
) -> Option<Field> {
    let Some(ident) = f.ident.clone() else {
        acc.push(err(f.ty.span(), "FiberyEntity needs named fields"));
        return None;
    };

    check_combinations(&f, &ident, acc);

    // The name given (or derived) for the chosen kind.
    let name_from =
        |o: &Override<SpannedValue<String>>, acc: &mut darling::error::Accumulator| -> String {
            match o {
                Override::Explicit(v) => {
                    if let Err(why) = names::check_field_name(v) {
                        acc.push(err(v.span(), why));
                    }
                    v.as_str().to_owned()
                }
                Override::Inherit => derive_name(ctx, &ident, ctx.rename.unwrap_or_default()),
            }
        };

    let (wrapper, inner) = split_wrapper(&f.ty);
    let ty = f.ty.clone();
    let bad_type = |msg: &str, acc: &mut darling::error::Accumulator| {
        acc.push(darling::Error::from(syn::Error::new_spanned(&ty, msg)));
    };

    let nested = split_wrapper(inner).0 != Wrapper::Plain;
    if nested && (f.relation.is_some() || f.enum_field.is_some() || f.files.is_some()) {
        bad_type(
            "nested `Option`/`Vec` cannot be mapped: use `Vec<T>` for collections (empty when none) and `Option<T>` for single values",
            acc,
        );
    }

    let (kind, fibery_name) = if f.skip.is_present() {
        (Kind::Skip, String::new())
    } else if f.id.is_present() {
        if !(type_is(inner, "Uuid") && matches!(wrapper, Wrapper::Plain | Wrapper::Option)) {
            bad_type("the `id` field must be `Uuid` or `Option<Uuid>`", acc);
        }
        (Kind::Id, "fibery/id".to_owned())
    } else if let Some(o) = &f.rich_text {
        let format = rich_text_format(f.format.as_ref(), acc);
        if !(type_is(inner, "String") && matches!(wrapper, Wrapper::Plain | Wrapper::Option)) {
            bad_type(
                "a `rich_text` field must be `String` or `Option<String>` (the document content)",
                acc,
            );
        }
        (Kind::RichText(format), name_from(o, acc))
    } else if let Some(o) = &f.relation {
        if is_unmappable(inner) {
            bad_type(
                "a `relation` field must be `EntityRef`, `Option<EntityRef>` or `Vec<EntityRef>` (or `Uuid` in their place)",
                acc,
            );
        }
        (Kind::Relation, name_from(o, acc))
    } else if let Some(o) = &f.enum_field {
        if is_unmappable(inner) {
            bad_type(
                "an `enum_field` must be `String`, `Option<String>`, `Vec<String>` or the same with an enum deriving `FiberyEnum`",
                acc,
            );
        }
        (
            Kind::Enum {
                string: type_is(inner, "String"),
            },
            name_from(o, acc),
        )
    } else if let Some(o) = &f.files {
        if wrapper != Wrapper::Vec || is_unmappable(inner) {
            bad_type(
                "a `files` field must be `Vec<EntityRef>` or `Vec<Uuid>`",
                acc,
            );
        }
        (Kind::Files, name_from(o, acc))
    } else {
        // Primitive: explicit `field`, or unannotated under `rename_all`.
        let name = match &f.field {
            Some(o) => name_from(o, acc),
            None => unannotated_name(ctx, &ident, acc),
        };
        if let Some(why) = primitive_type_problem(&f.ty, inner) {
            bad_type(why, acc);
        }
        (Kind::Primitive, name)
    };

    if fibery_name == "fibery/id" && kind != Kind::Id {
        acc.push(err(
            ident.span(),
            "`fibery/id` is the entity id: mark the field `#[fibery(id)]`",
        ));
    }

    Some(Field {
        ident,
        ty: f.ty.clone(),
        kind,
        fibery_name,
        wrapper,
        readonly: f.readonly.is_present(),
    })
}

/// Why `ty` (`inner` without its `Option`/`Vec`) cannot be a primitive field, if it cannot.
fn primitive_type_problem(ty: &syn::Type, inner: &syn::Type) -> Option<&'static str> {
    if matches!(ty, syn::Type::Reference(_)) || is_unmappable(ty) {
        Some(
            "this type cannot be read back from Fibery; use an owned type that implements serde's `Serialize` and `DeserializeOwned`",
        )
    } else if type_is(inner, "EntityRef") {
        Some("`EntityRef` fields are relations: use `#[fibery(relation = \"Space/Field\")]`")
    } else {
        None
    }
}

/// Attribute combinations that make no sense on one field.
fn check_combinations(f: &FieldAttrs, ident: &syn::Ident, acc: &mut darling::error::Accumulator) {
    let kinds = present_kinds(f);
    if kinds.len() > 1 {
        let names: Vec<String> = kinds.iter().map(|(k, _)| format!("`{k}`")).collect();
        acc.push(err(
            kinds[1].1,
            format!(
                "conflicting mapping attributes on `{ident}`: {} (use exactly one)",
                names.join(", ")
            ),
        ));
    }
    if let Some(fmt) = &f.format
        && f.rich_text.is_none()
    {
        acc.push(err(
            fmt.span(),
            "`format` only applies to `rich_text` fields",
        ));
    }
    if f.readonly.is_present() && (f.id.is_present() || f.skip.is_present()) {
        acc.push(err(
            f.readonly.span(),
            "`readonly` makes no sense on `id` or `skip` fields",
        ));
    }
}

/// The `format` of a `rich_text` field (Markdown when absent).
fn rich_text_format(
    format: Option<&SpannedValue<String>>,
    acc: &mut darling::error::Accumulator,
) -> DocFormat {
    let Some(v) = format else {
        return DocFormat::Md;
    };
    match v.as_str() {
        "md" | "markdown" => DocFormat::Md,
        "html" => DocFormat::Html,
        "json" => DocFormat::Json,
        other => {
            acc.push(err(
                v.span(),
                format!("unknown rich-text format `{other}`; expected `md`, `html` or `json`"),
            ));
            DocFormat::Md
        }
    }
}

/// The Fibery name of a field without a mapping attribute: derived under `rename_all`,
/// otherwise an error.
fn unannotated_name(
    ctx: &FieldCtx<'_>,
    ident: &syn::Ident,
    acc: &mut darling::error::Accumulator,
) -> String {
    match ctx.rename {
        Some(rule) => derive_name(ctx, ident, rule),
        None => {
            acc.push(err(
                ident.span(),
                format!(
                    "field `{ident}` is not mapped: add `#[fibery(field = \"Space/Name\")]` (or another kind), `#[fibery(skip)]`, or `rename_all` on the struct"
                ),
            ));
            String::new()
        }
    }
}

/// Types that cannot be decoded from a JSON row at all.
fn is_unmappable(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Reference(_)
        | syn::Type::Ptr(_)
        | syn::Type::BareFn(_)
        | syn::Type::ImplTrait(_)
        | syn::Type::TraitObject(_)
        | syn::Type::Never(_)
        | syn::Type::Infer(_) => true,
        syn::Type::Paren(p) => is_unmappable(&p.elem),
        syn::Type::Group(g) => is_unmappable(&g.elem),
        _ => false,
    }
}

/// `Space/<rule(ident)>`, the name a field gets when it does not spell one out.
fn derive_name(ctx: &FieldCtx<'_>, ident: &syn::Ident, rule: RenameRule) -> String {
    let raw = ident.to_string();
    let raw = raw.strip_prefix("r#").unwrap_or(&raw);
    format!("{}/{}", ctx.space.unwrap_or("_"), rule.apply(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(input: TokenStream) -> darling::Result<Entity> {
        parse(&syn::parse2(input).unwrap())
    }

    #[test]
    fn model_kinds_names_and_wrappers() {
        let m = parse_str(quote::quote! {
            #[fibery(type = "Projects/Task", rename_all = "Sentence case")]
            struct Task {
                #[fibery(id)] id: Option<Uuid>,
                due_date: Option<String>,
                #[fibery(relation)] parent_task: Option<EntityRef>,
                #[fibery(rich_text, format = "json")] body: String,
                #[fibery(enum_field = "Projects/Tags")] tags: Vec<Tag>,
                #[fibery(files = "Files/Files", readonly)] files: Vec<Uuid>,
                #[fibery(skip)] cache: u8,
            }
        })
        .unwrap();
        assert_eq!(m.type_name, "Projects/Task");
        let got: Vec<(String, Kind, Wrapper, bool)> = m
            .fields
            .iter()
            .map(|f| (f.fibery_name.clone(), f.kind, f.wrapper, f.readonly))
            .collect();
        assert_eq!(
            got,
            vec![
                ("fibery/id".into(), Kind::Id, Wrapper::Option, false),
                (
                    "Projects/Due date".into(),
                    Kind::Primitive,
                    Wrapper::Option,
                    false
                ),
                (
                    "Projects/Parent task".into(),
                    Kind::Relation,
                    Wrapper::Option,
                    false
                ),
                (
                    "Projects/Body".into(),
                    Kind::RichText(DocFormat::Json),
                    Wrapper::Plain,
                    false
                ),
                (
                    "Projects/Tags".into(),
                    Kind::Enum { string: false },
                    Wrapper::Vec,
                    false
                ),
                ("Files/Files".into(), Kind::Files, Wrapper::Vec, true),
                (String::new(), Kind::Skip, Wrapper::Plain, false),
            ]
        );
    }

    #[test]
    fn bare_kinds_default_to_title_case() {
        let m = parse_str(quote::quote! {
            #[fibery(type = "Crm/Deal")]
            struct Deal {
                #[fibery(id)] id: Uuid,
                #[fibery(field)] close_window: Option<String>,
                #[fibery(enum_field)] stage: String,
            }
        })
        .unwrap();
        assert_eq!(m.fields[1].fibery_name, "Crm/Close Window");
        assert_eq!(m.fields[2].kind, Kind::Enum { string: true });
    }

    #[test]
    fn semantic_errors_accumulate() {
        let err = parse_str(quote::quote! {
            #[fibery(type = "Bad")]
            struct T {
                #[fibery(field = "x")] a: String,
                #[fibery(relation = "S/R")] b: &'static str,
                c: i64,
            }
        })
        .err()
        .expect("errors");
        // bad type, bad field name, unmappable relation type, unmapped field, missing id
        assert_eq!(err.len(), 5, "{err}");
    }
}
