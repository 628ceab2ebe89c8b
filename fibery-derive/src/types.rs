//! Syntactic inspection of field types (`Option<T>`, `Vec<T>`, last path segment).

/// The container a field type is wrapped in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wrapper {
    Plain,
    Option,
    Vec,
}

/// The single generic argument of `Name<T>` when the last path segment is `name`.
fn generic_arg<'a>(ty: &'a syn::Type, name: &str) -> Option<&'a syn::Type> {
    let syn::Type::Path(p) = ty else {
        return None;
    };
    if p.qself.is_some() {
        return None;
    }
    let seg = p.path.segments.last()?;
    if seg.ident != name {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    if args.args.len() != 1 {
        return None;
    }
    match args.args.first()? {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

/// Splits `Option<T>` / `Vec<T>` into the wrapper and `T`.
pub(crate) fn split_wrapper(ty: &syn::Type) -> (Wrapper, &syn::Type) {
    if let Some(inner) = generic_arg(ty, "Option") {
        (Wrapper::Option, inner)
    } else if let Some(inner) = generic_arg(ty, "Vec") {
        (Wrapper::Vec, inner)
    } else {
        (Wrapper::Plain, ty)
    }
}

/// Whether the type is a path whose last segment is `name` without generics.
pub(crate) fn type_is(ty: &syn::Type, name: &str) -> bool {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == name && s.arguments.is_none()),
        syn::Type::Group(g) => type_is(&g.elem, name),
        syn::Type::Paren(p) => type_is(&p.elem, name),
        _ => false,
    }
}
