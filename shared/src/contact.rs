//! Contact details: email addresses (and, with the customer domain, phone
//! numbers, postal addresses and their masking).

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// A syntactically plausible email address, trimmed and lower-cased so the
/// same mailbox always compares (and blind-indexes) equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if value.len() > Self::MAX_LEN {
            return Err(FieldError::new(
                field,
                format!("must be at most {} characters", Self::MAX_LEN),
            ));
        }
        let valid = match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !value.chars().any(|c| c.is_whitespace() || c.is_control())
            }
            None => false,
        };
        if !valid {
            return Err(FieldError::new(
                field,
                "must be an email address like name@example.com",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = FieldError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("email", &value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        let email = Email::parse("email", "  Jane.Doe@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "jane.doe@example.com");
    }

    #[test]
    fn malformed_emails_name_the_field_and_the_rule() {
        for bad in [
            "",
            "jane",
            "jane@",
            "@example.com",
            "jane@example",
            "ja ne@example.com",
            "a@b@c.com",
        ] {
            let error = Email::parse("contact.email", bad).unwrap_err();
            assert_eq!(error.field, "contact.email", "{bad:?}");
        }
    }
}
