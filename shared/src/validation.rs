//! The error type of every validation rule.

use serde::{Deserialize, Serialize};

/// One broken rule on one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field's name as the client sent it (`snake_case`, dotted for
    /// nested fields, e.g. `premium.amount`).
    pub field: String,
    /// What the rule requires, in words a member of staff understands.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// All broken rules of one submission, so a form can show every problem at
/// once instead of one per round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", display_list(.0))]
pub struct FieldErrors(pub Vec<FieldError>);

fn display_list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Records the error of a `parse` result, if any, and hands back the value.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    /// Like [`FieldErrors::check`], for a nested `parse` (an address, a money
    /// amount, a claim line) that reports several errors of its own.
    pub fn check_all<T>(&mut self, result: Result<T, FieldErrors>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(errors) => {
                self.0.extend(errors.0);
                None
            }
        }
    }

    /// `Ok(value)` when nothing was recorded, otherwise all the errors; the
    /// usual last line of a `parse` that collects errors.
    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, Self> {
        match (self.is_empty(), value()) {
            (true, Some(value)) => Ok(value),
            // No errors but a missing value would be a bug in the caller's
            // bookkeeping; report it rather than panic in the browser.
            (true, None) => Err(FieldErrors::from(FieldError::new("", "is invalid"))),
            (false, _) => Err(self),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for one field, for showing it beside its input.
    pub fn for_field(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// `Ok(())` when nothing was recorded, otherwise all the errors.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

/// The common rule for free text: trimmed, `min_chars..=max_chars`
/// characters, no control characters (they corrupt display and logs), except
/// line breaks and tabs where `multiline` allows them.
pub fn text(
    field: &str,
    raw: &str,
    min_chars: usize,
    max_chars: usize,
    multiline: bool,
) -> Result<String, FieldError> {
    let value = raw.trim();
    let chars = value.chars().count();
    if chars == 0 && min_chars > 0 {
        return Err(FieldError::new(field, "is required"));
    }
    if chars < min_chars {
        return Err(FieldError::new(
            field,
            format!("must be at least {min_chars} characters"),
        ));
    }
    if chars > max_chars {
        return Err(FieldError::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        let message = if !multiline && value.contains(['\n', '\r']) {
            "must be a single line"
        } else {
            "must not contain control characters"
        };
        return Err(FieldError::new(field, message));
    }
    Ok(value.to_owned())
}

/// Like [`text`] for an optional field: absent or blank is `None`.
pub fn optional_text(
    field: &str,
    raw: Option<&str>,
    max_chars: usize,
    multiline: bool,
) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => text(field, value, 1, max_chars, multiline).map(Some),
    }
}

impl From<FieldError> for FieldErrors {
    fn from(error: FieldError) -> Self {
        Self(vec![error])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_collects_every_error_and_keeps_valid_values() {
        let mut errors = FieldErrors::new();
        let ok: Option<u8> = errors.check(Ok(7));
        let bad: Option<u8> = errors.check(Err(FieldError::new("email", "is required")));
        errors.push("phone", "must contain digits only");

        assert_eq!(ok, Some(7));
        assert_eq!(bad, None);
        assert_eq!(errors.for_field("email"), Some("is required"));
        assert_eq!(
            errors.to_string(),
            "email: is required; phone: must contain digits only"
        );
        assert!(errors.into_result().is_err());
    }

    #[test]
    fn check_all_merges_nested_errors_and_finish_returns_the_value_only_when_clean() {
        let mut errors = FieldErrors::new();
        let nested: Result<u8, FieldErrors> = Err(FieldErrors(vec![
            FieldError::new("address.city", "is required"),
            FieldError::new("address.country", "is required"),
        ]));
        assert_eq!(errors.check_all(nested), None);
        assert_eq!(errors.check_all(Ok::<u8, FieldErrors>(3)), Some(3));
        assert_eq!(errors.0.len(), 2);
        assert!(errors.finish(|| Some(1)).is_err());
        assert_eq!(FieldErrors::new().finish(|| Some(1)), Ok(1));
    }

    #[test]
    fn text_is_trimmed_and_bounded_and_refuses_control_characters() {
        assert_eq!(text("note", "  hi  ", 1, 10, false), Ok("hi".to_owned()));
        assert_eq!(
            text("note", "   ", 1, 10, false).unwrap_err().message,
            "is required"
        );
        assert_eq!(
            text("note", "abc", 5, 10, false).unwrap_err().message,
            "must be at least 5 characters"
        );
        assert_eq!(
            text("note", "abcdefghijk", 1, 10, false)
                .unwrap_err()
                .message,
            "must be at most 10 characters"
        );
        assert_eq!(
            text("note", "a\nb", 1, 10, false).unwrap_err().message,
            "must be a single line"
        );
        assert_eq!(text("note", "a\nb", 1, 10, true), Ok("a\nb".to_owned()));
        assert_eq!(
            text("note", "a\u{7}b", 1, 10, true).unwrap_err().message,
            "must not contain control characters"
        );
        assert_eq!(optional_text("note", Some("  "), 10, false), Ok(None));
        assert_eq!(optional_text("note", None, 10, false), Ok(None));
        assert_eq!(
            optional_text("note", Some(" x "), 10, false),
            Ok(Some("x".to_owned()))
        );
    }

    #[test]
    fn an_empty_collection_is_ok() {
        assert_eq!(FieldErrors::new().into_result(), Ok(()));
    }
}
