//! The claims list's one search box, told apart by shape: a claim number
//! (`CLM-2026-000123`), a policy number (`POL-…`), or the insured's last
//! name, which is encrypted and matched exactly through its blind index
//! (case and surrounding spaces forgiven; no prefixes, since a prefix
//! index would tell an observer of the database which names share their
//! first letters).

use crate::{FieldError, claim::ClaimNumber, contact::PersonName, policy::PolicyNumber};

/// What a search names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimSearch {
    Claim(ClaimNumber),
    Policy(PolicyNumber),
    InsuredLastName(PersonName),
}

impl ClaimSearch {
    /// `None` for an empty box.
    pub fn parse(field: &str, raw: &str) -> Result<Option<Self>, FieldError> {
        let value = raw.trim();
        if value.is_empty() {
            return Ok(None);
        }
        let upper = value.to_uppercase();
        let search = if upper.starts_with(&format!("{}-", ClaimNumber::PREFIX)) {
            Self::Claim(ClaimNumber::parse(field, &upper)?)
        } else if upper.starts_with(&format!("{}-", PolicyNumber::PREFIX)) {
            Self::Policy(PolicyNumber::parse(field, &upper)?)
        } else if value.chars().any(|c| c.is_ascii_digit()) {
            return Err(FieldError::new(
                field,
                "must be a claim number (CLM-2026-000123), a policy number (POL-…) or the insured's last name",
            ));
        } else {
            Self::InsuredLastName(PersonName::parse(field, value)?)
        };
        Ok(Some(search))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_box_tells_numbers_from_names_by_shape() {
        assert_eq!(ClaimSearch::parse("q", "  ").unwrap(), None);
        assert!(matches!(
            ClaimSearch::parse("q", "clm-2026-000123").unwrap(),
            Some(ClaimSearch::Claim(n)) if n.as_str() == "CLM-2026-000123"
        ));
        assert!(matches!(
            ClaimSearch::parse("q", "POL-2026-000007").unwrap(),
            Some(ClaimSearch::Policy(_))
        ));
        assert!(matches!(
            ClaimSearch::parse("q", " Moss ").unwrap(),
            Some(ClaimSearch::InsuredLastName(n)) if n.as_str() == "Moss"
        ));
        for bad in ["CLM-26", "12345", "POL-x"] {
            assert_eq!(
                ClaimSearch::parse("q", bad).unwrap_err().field,
                "q",
                "{bad}"
            );
        }
    }
}
