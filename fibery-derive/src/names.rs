//! Fibery name rules shared by both derives: `Space/Name` checks and `rename_all`.

use darling::util::SpannedValue;
use heck::ToTitleCase;

/// A `rename_all` rule: how a Rust identifier becomes the part after `Space/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum RenameRule {
    /// `due_date` -> `Due Date` (Fibery's own style; the default).
    #[default]
    TitleCase,
    /// `due_date` -> `Due date`.
    SentenceCase,
    /// `due_date` -> `due date`.
    LowerCase,
    /// `due_date` -> `due_date`.
    Verbatim,
}

impl RenameRule {
    /// The accepted spellings, for error messages.
    pub(crate) const NAMES: &'static str =
        "`Title Case`, `Sentence case`, `lower case`, `verbatim`";

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Title Case" => RenameRule::TitleCase,
            "Sentence case" => RenameRule::SentenceCase,
            "lower case" => RenameRule::LowerCase,
            "verbatim" => RenameRule::Verbatim,
            _ => return None,
        })
    }

    /// The rule a `rename_all` attribute names. An unknown one is reported to `acc` and the
    /// default is used, so the rest of the item is still checked (and, say, fields are not also
    /// reported as unmapped).
    pub(crate) fn parse_or_report(
        r: &SpannedValue<String>,
        acc: &mut darling::error::Accumulator,
    ) -> Self {
        RenameRule::parse(r).unwrap_or_else(|| {
            let msg = format!(
                "unknown rename_all rule `{}`; expected one of {}",
                r.as_str(),
                RenameRule::NAMES
            );
            acc.push(darling::Error::from(syn::Error::new(r.span(), msg)));
            RenameRule::default()
        })
    }

    /// Applies the rule to a Rust identifier (field or variant name).
    pub(crate) fn apply(self, ident: &str) -> String {
        let title = ident.to_title_case();
        match self {
            RenameRule::TitleCase => title,
            RenameRule::SentenceCase => {
                let lower = title.to_lowercase();
                let mut chars = lower.chars();
                match chars.next() {
                    Some(c) => c.to_uppercase().chain(chars).collect(),
                    None => lower,
                }
            }
            RenameRule::LowerCase => title.to_lowercase(),
            RenameRule::Verbatim => ident.to_owned(),
        }
    }
}

fn check_space_name(s: &str, what: &str, example: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "invalid Fibery {what} name `{s}`: expected `Space/Name` such as `{example}`"
        ))
    };
    let Some((space, name)) = s.split_once('/') else {
        return bad();
    };
    if space.is_empty()
        || name.is_empty()
        || space.trim() != space
        || name.trim() != name
        || s.chars().any(char::is_control)
    {
        return bad();
    }
    Ok(())
}

/// A type name: `Space/Type` (`fibery/user` and other built-ins have that form too).
pub(crate) fn check_type_name(s: &str) -> Result<(), String> {
    check_space_name(s, "type", "Projects/Task")
}

/// A field name: `Space/Field`, or a built-in such as `fibery/id`, `workflow/state`,
/// `assignments/assignees` or `Files/Files`.
pub(crate) fn check_field_name(s: &str) -> Result<(), String> {
    check_space_name(s, "field", "Projects/Name").map_err(|e| {
        format!("{e} (or a built-in such as `workflow/state` or `assignments/assignees`)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rename_rules() {
        assert_eq!(RenameRule::TitleCase.apply("due_date"), "Due Date");
        assert_eq!(RenameRule::TitleCase.apply("external_id"), "External Id");
        assert_eq!(RenameRule::SentenceCase.apply("due_date"), "Due date");
        assert_eq!(RenameRule::LowerCase.apply("due_date"), "due date");
        assert_eq!(RenameRule::Verbatim.apply("due_date"), "due_date");
        assert_eq!(RenameRule::TitleCase.apply("InProgress"), "In Progress");
        assert_eq!(RenameRule::parse("Title Case"), Some(RenameRule::TitleCase));
        assert_eq!(RenameRule::parse("title"), None);
    }

    #[test]
    fn name_checks() {
        assert!(check_field_name("Projects/Name").is_ok());
        assert!(check_field_name("workflow/state").is_ok());
        assert!(check_field_name("Product Management/Due Date").is_ok());
        assert!(check_field_name("Name").is_err());
        assert!(check_field_name("/Name").is_err());
        assert!(check_field_name("Projects/").is_err());
        assert!(check_field_name(" Projects/Name").is_err());
        assert!(check_type_name("Projects/Task").is_ok());
        assert!(check_type_name("Task").is_err());
    }
}
