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
    fn an_empty_collection_is_ok() {
        assert_eq!(FieldErrors::new().into_result(), Ok(()));
    }
}
