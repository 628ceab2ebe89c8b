//! Reading commands from JSON: [`CommandParseError`], and the serde `Deserializer` over a
//! borrowed [`Value`] that locates every error by JSON pointer (serde's own errors say what
//! went wrong but not where).

use std::fmt::Display;

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Value;

use super::{Command, SchemaCommand, names, no_args};
use crate::error::names as error_names;
use crate::query::{ParseErrorKind, Query, QueryParseError};

/// What kind of problem a [`CommandParseError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandErrorKind {
    /// Not a command: not an object with a string `command`, or a bad `correlationId`.
    NotACommand,
    /// The args do not fit the command (a key missing or of the wrong type).
    InvalidArgs,
    /// The query of a `fibery.entity/query` does not parse.
    Query(ParseErrorKind),
}

impl CommandErrorKind {
    /// The name of the error Fibery answers such a command with (for the emulator's envelope).
    pub fn fibery_name(self) -> &'static str {
        match self {
            CommandErrorKind::NotACommand | CommandErrorKind::InvalidArgs => {
                error_names::INVALID_ARGS
            }
            CommandErrorKind::Query(kind) => kind.fibery_name(),
        }
    }
}

/// Error from parsing a command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (at `{pointer}`)")]
#[non_exhaustive]
pub struct CommandParseError {
    /// The kind of problem.
    pub kind: CommandErrorKind,
    /// Where: a JSON pointer (RFC 6901, `fibery/id` is written `fibery~1id`) into the command
    /// or request body; inside a query, continued by the query parser's pointer (whose keys
    /// such as `q/where` keep their slash).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
    /// The offending JSON (`null` when a key is missing). Fibery puts it in a query error's
    /// `data.expr`. Boxed to keep `Result`s small.
    pub expr: Box<Value>,
    /// Set once `pointer` is final (the innermost location wins).
    placed: bool,
    /// A key reported missing by serde, appended to the pointer when placed.
    missing: Option<&'static str>,
    /// serde met an unknown enum variant (for the command name: an unmodelled command).
    unknown_variant: bool,
}

impl CommandParseError {
    pub(crate) fn new(
        kind: CommandErrorKind,
        pointer: impl Into<String>,
        expr: &Value,
        message: impl Into<String>,
    ) -> Self {
        CommandParseError {
            kind,
            pointer: pointer.into(),
            message: message.into(),
            expr: Box::new(expr.clone()),
            placed: true,
            missing: None,
            unknown_variant: false,
        }
    }

    /// A query error inside the command whose `query` args start at `args_at`.
    pub(crate) fn query(e: QueryParseError, args_at: &str) -> Self {
        CommandParseError {
            kind: CommandErrorKind::Query(e.kind),
            pointer: format!("{args_at}{}", e.pointer),
            message: e.message,
            expr: e.expr,
            placed: true,
            missing: None,
            unknown_variant: false,
        }
    }

    fn unplaced(message: String) -> Self {
        CommandParseError {
            kind: CommandErrorKind::InvalidArgs,
            pointer: String::new(),
            message,
            expr: Box::new(Value::Null),
            placed: false,
            missing: None,
            unknown_variant: false,
        }
    }

    /// Gives an error raised while reading `v` (at `at`) its location.
    pub(crate) fn place(mut self, at: &str, v: &Value) -> Self {
        if self.placed {
            return self;
        }
        self.placed = true;
        match self.missing {
            Some(key) => format!("{at}/{}", escape(key)).clone_into(&mut self.pointer),
            None => {
                at.clone_into(&mut self.pointer);
                self.expr = Box::new(v.clone());
            }
        }
        self
    }

    /// Whether serde found the command name at `at/command` unknown.
    pub(crate) fn is_unknown_command(&self, at: &str) -> bool {
        self.unknown_variant && self.pointer == format!("{at}/command")
    }
}

impl de::Error for CommandParseError {
    fn custom<T: Display>(msg: T) -> Self {
        CommandParseError::unplaced(msg.to_string())
    }

    fn missing_field(field: &'static str) -> Self {
        let mut e = CommandParseError::unplaced(format!("`{field}` is missing"));
        e.missing = Some(field);
        e
    }

    fn unknown_variant(variant: &str, _expected: &'static [&'static str]) -> Self {
        let mut e = CommandParseError::unplaced(format!("unknown variant `{variant}`"));
        e.unknown_variant = true;
        e
    }
}

/// `~` and `/` escaped as in a JSON pointer.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Reads the command at pointer `at` (see [`Command::from_json`]).
pub(crate) fn command(v: &Value, at: &str) -> Result<Command, CommandParseError> {
    let (name, _) = head(v, at)?;
    let empty = no_args();
    let args = args_of(v, &empty);
    let args_at = format!("{at}/args");
    let cmd = match name {
        names::QUERY => Command::Query(
            Query::from_args(args).map_err(|e| CommandParseError::query(e, &args_at))?,
        ),
        names::BATCH => Command::Batch(list(args, &args_at, command)?),
        names::SCHEMA_BATCH => Command::SchemaBatch(list(args, &args_at, schema_command)?),
        _ => modelled(
            v,
            at,
            |d| Command::deserialize(d),
            |command, args| Command::Raw { command, args },
        )?,
    };
    match v.get("correlationId") {
        None | Some(Value::Null) => Ok(cmd),
        Some(Value::String(id)) => Ok(cmd.with_correlation_id(id.clone())),
        Some(other) => Err(CommandParseError::new(
            CommandErrorKind::NotACommand,
            format!("{at}/correlationId"),
            other,
            "`correlationId` must be a string",
        )),
    }
}

/// Reads the schema command at pointer `at` (see [`SchemaCommand::from_json`]).
pub(crate) fn schema_command(v: &Value, at: &str) -> Result<SchemaCommand, CommandParseError> {
    modelled(
        v,
        at,
        |d| SchemaCommand::deserialize(d),
        |command, args| SchemaCommand::Raw { command, args },
    )
}

/// `args`, with omitted or `null` ones read as `empty` (`{}`).
fn args_of<'a>(v: &'a Value, empty: &'a Value) -> &'a Value {
    v.get("args").filter(|a| !a.is_null()).unwrap_or(empty)
}

/// Reads a command through serde's derived tag dispatch (`derived`); an unmodelled name
/// becomes `raw(name, args)`.
fn modelled<T>(
    v: &Value,
    at: &str,
    derived: impl FnOnce(EntriesDeserializer<'_>) -> Result<T, CommandParseError>,
    raw: impl FnOnce(String, Option<Value>) -> T,
) -> Result<T, CommandParseError> {
    let (name, name_v) = head(v, at)?;
    let empty = no_args();
    let dispatch = entries(vec![("command", name_v), ("args", args_of(v, &empty))], at);
    match derived(dispatch).map_err(|e| e.place(at, v)) {
        Err(e) if e.is_unknown_command(at) => Ok(raw(name.to_owned(), v.get("args").cloned())),
        r => r,
    }
}

/// The name of the command `v`, and its JSON.
fn head<'a>(v: &'a Value, at: &str) -> Result<(&'a str, &'a Value), CommandParseError> {
    let Some(m) = v.as_object() else {
        return Err(CommandParseError::new(
            CommandErrorKind::NotACommand,
            at,
            v,
            "a command must be an object {\"command\", \"args\"}",
        ));
    };
    match m.get("command") {
        Some(name_v @ Value::String(name)) => Ok((name, name_v)),
        other => Err(CommandParseError::new(
            CommandErrorKind::NotACommand,
            format!("{at}/command"),
            other.unwrap_or(&Value::Null),
            "`command` must be a string",
        )),
    }
}

/// The `commands` of a batch's `args` (at `at`), each read by `read`.
fn list<T>(
    args: &Value,
    at: &str,
    read: impl Fn(&Value, &str) -> Result<T, CommandParseError>,
) -> Result<Vec<T>, CommandParseError> {
    let at = format!("{at}/commands");
    let Some(items) = args.get("commands").and_then(Value::as_array) else {
        return Err(CommandParseError::new(
            CommandErrorKind::InvalidArgs,
            at,
            args.get("commands").unwrap_or(&Value::Null),
            "`commands` must be an array",
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, c)| read(c, &format!("{at}/{i}")))
        .collect()
}

/// A deserializer of the object with exactly these entries (in order), at `at`: lets serde's
/// derived tag dispatch read a command without copying its args.
pub(crate) fn entries<'a>(entries: Vec<(&'a str, &'a Value)>, at: &str) -> EntriesDeserializer<'a> {
    EntriesDeserializer {
        entries,
        at: at.to_owned(),
    }
}

struct Located<'a> {
    v: &'a Value,
    at: String,
}

impl<'de> de::Deserializer<'de> for Located<'de> {
    type Error = CommandParseError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let r = match self.v {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => visitor.visit_u64(u),
                (None, Some(i), _) => visitor.visit_i64(i),
                (None, None, f) => visitor.visit_f64(f.unwrap_or(f64::NAN)),
            },
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visitor.visit_seq(Items {
                iter: items.iter().enumerate(),
                at: &self.at,
            }),
            Value::Object(m) => visitor.visit_map(Entries {
                iter: m.iter().map(|(k, v)| (k.as_str(), v)),
                value: None,
                at: &self.at,
            }),
        };
        r.map_err(|e| e.place(&self.at, self.v))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.v {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    /// Args are objects: unlike serde's default, an array does not fill a struct by position.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        if self.v.is_object() {
            return self.deserialize_any(visitor);
        }
        let e: CommandParseError = de::Error::invalid_type(unexpected(self.v), &"an object");
        Err(e.place(&self.at, self.v))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let r = match self.v {
            Value::String(s) => {
                let variant: StrDeserializer<'_, CommandParseError> =
                    s.as_str().into_deserializer();
                visitor.visit_enum(variant)
            }
            other => Err(de::Error::invalid_type(unexpected(other), &"a name")),
        };
        r.map_err(|e| e.place(&self.at, self.v))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

fn unexpected(v: &Value) -> de::Unexpected<'_> {
    match v {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("a number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    }
}

struct Items<'a, 'p, I: Iterator<Item = (usize, &'a Value)>> {
    iter: I,
    at: &'p str,
}

impl<'a, I: Iterator<Item = (usize, &'a Value)>> SeqAccess<'a> for Items<'a, '_, I> {
    type Error = CommandParseError;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        let at = self.at;
        let item = self.iter.next();
        item.map(|(i, v)| located(seed, v, format!("{at}/{i}")))
            .transpose()
    }
}

struct Entries<'a, 'p, I: Iterator<Item = (&'a str, &'a Value)>> {
    iter: I,
    value: Option<(&'a str, &'a Value)>,
    at: &'p str,
}

impl<'a, I: Iterator<Item = (&'a str, &'a Value)>> MapAccess<'a> for Entries<'a, '_, I> {
    type Error = CommandParseError;

    fn next_key_seed<K: DeserializeSeed<'a>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let Some((k, v)) = self.iter.next() else {
            return Ok(None);
        };
        self.value = Some((k, v));
        let key: StrDeserializer<'_, CommandParseError> = k.into_deserializer();
        seed.deserialize(key).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        let (k, v) = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a map value without its key"))?;
        located(seed, v, format!("{}/{}", self.at, escape(k)))
    }
}

/// `seed` read from `v`, which stands at `at` (errors are placed there).
fn located<'a, T: DeserializeSeed<'a>>(
    seed: T,
    v: &'a Value,
    at: String,
) -> Result<T::Value, CommandParseError> {
    let r = seed.deserialize(Located { v, at: at.clone() });
    r.map_err(|e| e.place(&at, v))
}

/// An object given as its entries (see [`entries`]).
pub(crate) struct EntriesDeserializer<'a> {
    entries: Vec<(&'a str, &'a Value)>,
    at: String,
}

impl<'de> de::Deserializer<'de> for EntriesDeserializer<'de> {
    type Error = CommandParseError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(Entries {
            iter: self.entries.into_iter(),
            value: None,
            at: &self.at,
        })
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}
