//! Handing a claim to someone else: who, and why (the reason is in the
//! audit trail, for the adjuster who gets it and for the file).

use serde::{Deserialize, Serialize};

use crate::{FieldErrors, validation};

/// The shortest reason: a word or two is not a reason.
pub const REASON_MIN_CHARS: usize = 10;
/// The longest reason.
pub const REASON_MAX_CHARS: usize = 500;

/// A reassignment as the form or the API submits it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReassignmentInput {
    /// The user who works the claim from now on.
    pub assignee_id: String,
    pub reason: String,
}

/// A checked reassignment (whether the assignee may work claims is checked
/// where the users are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassignment {
    pub assignee_id: String,
    pub reason: String,
}

impl Reassignment {
    pub fn parse(input: &ReassignmentInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let assignee_id = errors.check(crate::policy::parse_public_id(
            "assignee_id",
            &input.assignee_id,
        ));
        let reason = errors.check(validation::text(
            "reason",
            &input.reason,
            REASON_MIN_CHARS,
            REASON_MAX_CHARS,
            false,
        ));
        errors.finish(|| {
            Some(Self {
                assignee_id: assignee_id?,
                reason: reason?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reassignment_needs_an_assignee_and_a_real_reason() {
        let ok = Reassignment::parse(&ReassignmentInput {
            assignee_id: " 0192f3c4-7a1b ".into(),
            reason: "  Ana covers Florida auto this week  ".into(),
        })
        .unwrap();
        assert_eq!(ok.assignee_id, "0192f3c4-7a1b");
        assert_eq!(ok.reason, "Ana covers Florida auto this week");
        let errors = Reassignment::parse(&ReassignmentInput {
            assignee_id: String::new(),
            reason: "busy".into(),
        })
        .unwrap_err();
        assert!(errors.for_field("assignee_id").is_some(), "{errors:?}");
        assert!(errors.for_field("reason").is_some(), "{errors:?}");
    }
}
