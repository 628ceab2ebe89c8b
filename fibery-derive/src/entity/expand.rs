//! Code generation for `#[derive(FiberyEntity)]` from the checked model.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::{DocFormat, Entity, Field, Kind};
use crate::types::{Wrapper, split_wrapper, type_is};

fn doc_format(f: DocFormat) -> TokenStream {
    match f {
        DocFormat::Md => quote!(_fc::entity::DocFormat::Md),
        DocFormat::Html => quote!(_fc::entity::DocFormat::Html),
        DocFormat::Json => quote!(_fc::entity::DocFormat::Json),
    }
}

/// The `FieldMapping` literal of a mapped field (`None` for skipped fields).
fn mapping(f: &Field) -> Option<TokenStream> {
    let rust_name = f.ident.to_string();
    let rust_name = rust_name.strip_prefix("r#").unwrap_or(&rust_name);
    let name = &f.fibery_name;
    let vec = f.wrapper == Wrapper::Vec;
    let kind = match f.kind {
        Kind::Id => quote!(_fc::entity::MappingKind::Id),
        Kind::Primitive => quote!(_fc::entity::MappingKind::Primitive),
        Kind::RichText(fmt) => {
            let fmt = doc_format(fmt);
            quote!(_fc::entity::MappingKind::RichText(#fmt))
        }
        Kind::Relation => quote!(_fc::entity::MappingKind::Relation { collection: #vec }),
        Kind::Enum { .. } => quote!(_fc::entity::MappingKind::Enum { multi: #vec }),
        Kind::Files => quote!(_fc::entity::MappingKind::Files),
        Kind::Skip => return None,
    };
    let optional = f.wrapper == Wrapper::Option;
    Some(quote! {
        _fc::entity::FieldMapping {
            rust_name: #rust_name,
            fibery_name: #name,
            kind: #kind,
            optional: #optional,
        }
    })
}

/// Whether a primitive's type is `time::Date` or `time::OffsetDateTime` (by its last path
/// segment), whose serde form is not Fibery's: they go through `_d::Wire` instead.
fn has_wire_form(inner: &syn::Type) -> bool {
    type_is(inner, "Date") || type_is(inner, "OffsetDateTime")
}

/// The helper that encodes a primitive of type `inner`.
fn primitive_encoder(inner: &syn::Type) -> TokenStream {
    if has_wire_form(inner) {
        quote!(_d::encode_wire)
    } else {
        quote!(_d::encode_value)
    }
}

fn encode_field(f: &Field) -> TokenStream {
    let ident = &f.ident;
    let name = &f.fibery_name;
    let (_, inner) = split_wrapper(&f.ty);
    if f.readonly {
        return quote! {};
    }
    let enum_name = |v: TokenStream, string: bool| {
        if string {
            quote!(::std::clone::Clone::clone(#v))
        } else {
            // Spanned on the field type so a missing `FiberyEnum` points at it.
            let call = quote_spanned!(inner.span()=> <#inner>::fibery_name);
            quote!(::std::borrow::ToOwned::to_owned(#call(#v)))
        }
    };
    match (f.kind, f.wrapper) {
        (Kind::Skip, _) => quote! {},
        (Kind::Id, Wrapper::Option) => quote! {
            if let ::std::option::Option::Some(id) = self.#ident {
                out.fields.insert(#name.to_owned(), _json::Value::String(id.to_string()));
            }
        },
        (Kind::Id, _) => quote! {
            if !self.#ident.is_nil() {
                out.fields.insert(#name.to_owned(), _json::Value::String(self.#ident.to_string()));
            }
        },
        (Kind::Primitive, Wrapper::Option) => {
            let encode = primitive_encoder(inner);
            quote! {
                if let ::std::option::Option::Some(v) = &self.#ident {
                    out.fields.insert(#name.to_owned(), #encode(#name, v)?);
                }
            }
        }
        (Kind::Primitive, Wrapper::Plain) => {
            let encode = primitive_encoder(inner);
            quote! {
                out.fields.insert(#name.to_owned(), #encode(#name, &self.#ident)?);
            }
        }
        (Kind::Primitive, Wrapper::Vec) => {
            let encode = quote!(_d::encode_value);
            quote! {
                out.fields.insert(#name.to_owned(), #encode(#name, &self.#ident)?);
            }
        }
        (Kind::RichText(fmt), Wrapper::Option) => {
            let fmt = doc_format(fmt);
            quote! {
                if let ::std::option::Option::Some(v) = &self.#ident {
                    out.rich_text.push((#name.to_owned(), #fmt, v.clone()));
                }
            }
        }
        (Kind::RichText(fmt), _) => {
            let fmt = doc_format(fmt);
            quote! {
                out.rich_text.push((#name.to_owned(), #fmt, self.#ident.clone()));
            }
        }
        (Kind::Relation | Kind::Files, Wrapper::Vec) => quote! {
            out.collections.push((
                #name.to_owned(),
                self.#ident
                    .iter()
                    .map(|v| _d::encode_ref_id(#name, v))
                    .collect::<::std::result::Result<_, _>>()?,
            ));
        },
        (Kind::Relation | Kind::Files, Wrapper::Option) => quote! {
            if let ::std::option::Option::Some(v) = &self.#ident {
                out.fields.insert(#name.to_owned(), _d::encode_ref(#name, v)?);
            }
        },
        (Kind::Relation | Kind::Files, Wrapper::Plain) => quote! {
            out.fields.insert(#name.to_owned(), _d::encode_ref(#name, &self.#ident)?);
        },
        (Kind::Enum { string }, Wrapper::Vec) => {
            let each = enum_name(quote!(v), string);
            quote! {
                out.enums.push((
                    #name.to_owned(),
                    self.#ident.iter().map(|v| #each).collect(),
                    true,
                ));
            }
        }
        (Kind::Enum { string }, Wrapper::Option) => {
            let one = enum_name(quote!(v), string);
            quote! {
                if let ::std::option::Option::Some(v) = &self.#ident {
                    out.enums.push((#name.to_owned(), ::std::vec![#one], false));
                }
            }
        }
        (Kind::Enum { string }, Wrapper::Plain) => {
            let one = enum_name(quote!(&self.#ident), string);
            quote! {
                out.enums.push((#name.to_owned(), ::std::vec![#one], false));
            }
        }
    }
}

fn decode_field(f: &Field) -> TokenStream {
    let ident = &f.ident;
    let ty = &f.ty;
    let name = &f.fibery_name;
    let (_, inner) = split_wrapper(&f.ty);
    let value = quote!(_d::field(row, #name));
    let expr = match (f.kind, f.wrapper) {
        (Kind::Skip, _) => quote!(::std::default::Default::default()),
        (Kind::Primitive, Wrapper::Plain | Wrapper::Option) if has_wire_form(inner) => {
            quote!(_d::decode_wire::<#ty>(__TYPE_NAME, #name, #value)?)
        }
        (Kind::Id | Kind::Primitive, _) => {
            quote!(_d::decode_value::<#ty>(__TYPE_NAME, #name, #value)?)
        }
        (Kind::RichText(_), _) => {
            quote!(_d::decode_rich_text::<#ty>(__TYPE_NAME, #name, #value)?)
        }
        (Kind::Relation | Kind::Files, Wrapper::Vec) => {
            quote!(_d::decode_refs::<#inner>(__TYPE_NAME, #name, #value)?)
        }
        (Kind::Relation | Kind::Files, Wrapper::Option) => quote! {
            match #value {
                _json::Value::Null => ::std::option::Option::None,
                v => ::std::option::Option::Some(_d::decode_ref::<#inner>(__TYPE_NAME, #name, v)?),
            }
        },
        (Kind::Relation | Kind::Files, Wrapper::Plain) => {
            quote!(_d::decode_ref::<#ty>(__TYPE_NAME, #name, #value)?)
        }
        (Kind::Enum { string }, wrapper) => {
            // `one`: the value for option name `n` as a `Result`.
            let one = if string {
                quote!(::std::result::Result::Ok(::std::borrow::ToOwned::to_owned(
                    n
                )))
            } else {
                let call = quote_spanned!(inner.span()=> <#inner>::from_fibery_name);
                quote! {
                    #call(n).ok_or_else(|| {
                        _d::decode_error(__TYPE_NAME, #name, ::std::format!("unknown option `{}`", n))
                    })
                }
            };
            match wrapper {
                Wrapper::Vec => quote! {
                    _d::decode_enum_names(__TYPE_NAME, #name, #value)?
                        .into_iter()
                        .map(|n| #one)
                        .collect::<::std::result::Result<_, _fc::entity::DecodeError>>()?
                },
                Wrapper::Option => quote! {
                    match #value {
                        _json::Value::Null => ::std::option::Option::None,
                        v => {
                            let n = _d::decode_enum_name(__TYPE_NAME, #name, v)?;
                            ::std::option::Option::Some(#one?)
                        }
                    }
                },
                Wrapper::Plain => quote! {
                    {
                        let n = _d::decode_enum_name(__TYPE_NAME, #name, #value)?;
                        #one?
                    }
                },
            }
        }
    };
    quote!(#ident: #expr,)
}

/// The last path segment of a primitive field's type (`String` for `Option<String>`), which
/// names the Fibery types it can hold in core's `primitive_family`; `None`: not checked.
fn primitive_segment(f: &Field) -> Option<String> {
    if f.kind != Kind::Primitive || f.wrapper == Wrapper::Vec {
        return None;
    }
    let (_, inner) = split_wrapper(&f.ty);
    let syn::Type::Path(p) = inner else {
        return None;
    };
    let last = p.path.segments.last()?;
    last.arguments.is_none().then(|| last.ident.to_string())
}

/// `check_schema`: core's `check_schema` with what only the derive knows: which fields it
/// writes (they must not be read-only in the workspace) and the Rust types of primitives.
fn check_schema(m: &Entity) -> TokenStream {
    let writable = m
        .fields
        .iter()
        .filter(|f| !matches!(f.kind, Kind::Skip | Kind::Id) && !f.readonly)
        .map(|f| (&f.fibery_name, f.ident.to_string()));
    let writable = writable.map(|(n, r)| quote!((#n, #r)));
    let primitives = m.fields.iter().filter_map(|f| {
        let segment = primitive_segment(f)?;
        let name = &f.fibery_name;
        let ty = &f.ty;
        let rust = quote!(#ty).to_string().replace(' ', "");
        Some(quote!((#name, #rust, #segment)))
    });
    let result = quote!(::std::result::Result<(), ::std::vec::Vec<_fc::validate::Violation>>);
    quote! {
        fn check_schema(schema: &_fc::schema::Schema) -> #result {
            let fields = <Self as _fc::entity::FiberyEntity>::FIELDS;
            _d::check_schema(schema, __TYPE_NAME, fields, &[#(#writable),*], &[#(#primitives),*])
        }
    }
}

pub(super) fn expand(m: &Entity) -> darling::Result<TokenStream> {
    let krate = &m.krate;
    let ident = &m.ident;
    let type_name = &m.type_name;
    let mappings = m.fields.iter().filter_map(mapping);
    let id_field = m.fields.iter().find(|f| f.kind == Kind::Id);
    let (id_body, set_id_body) = match id_field {
        Some(f) if f.wrapper == Wrapper::Option => {
            let i = &f.ident;
            (
                quote!(self.#i),
                quote!(self.#i = ::std::option::Option::Some(id);),
            )
        }
        Some(f) => {
            let i = &f.ident;
            (
                // A nil id (e.g. from `Default`) means "not created yet".
                quote!(if self.#i.is_nil() {
                    ::std::option::Option::None
                } else {
                    ::std::option::Option::Some(self.#i)
                }),
                quote!(self.#i = id;),
            )
        }
        None => (quote!(::std::option::Option::None), quote!(let _ = id;)),
    };
    let encodes = m.fields.iter().map(encode_field);
    let decodes = m.fields.iter().map(decode_field);
    let check_schema = check_schema(m);

    Ok(quote! {
        const _: () = {
            use #krate::__private::fibery_core as _fc;
            use #krate::__private::serde_json as _json;
            use #krate::__private::uuid as _uuid;
            // The encode/decode helpers shared by every derive.
            use #krate::__private::fibery_core::__derive as _d;

            const __TYPE_NAME: &str = #type_name;

            #[automatically_derived]
            impl _fc::entity::FiberyEntity for #ident {
                const TYPE_NAME: &'static str = #type_name;
                const FIELDS: &'static [_fc::entity::FieldMapping] = &[#(#mappings),*];

                fn id(&self) -> ::std::option::Option<_uuid::Uuid> {
                    #id_body
                }

                fn set_id(&mut self, id: _uuid::Uuid) {
                    #set_id_body
                }

                fn encode(&self) -> ::std::result::Result<_fc::entity::EncodedEntity, _fc::entity::EncodeError> {
                    let mut out = _fc::entity::EncodedEntity::default();
                    #(#encodes)*
                    ::std::result::Result::Ok(out)
                }

                fn decode(row: &_json::Value) -> ::std::result::Result<Self, _fc::entity::DecodeError> {
                    let row = row.as_object().ok_or_else(|| {
                        _d::decode_error(__TYPE_NAME, "fibery/id", ::std::format!("expected a row object, got {}", row))
                    })?;
                    ::std::result::Result::Ok(Self {
                        #(#decodes)*
                    })
                }

                #check_schema
            }
        };
    })
}
