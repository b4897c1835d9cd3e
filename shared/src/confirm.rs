//! Actions that cannot be taken back, and the confirmation each one needs.
//!
//! One click must not erase a customer or deny a claim. Every irreversible
//! action carries an explicit `confirm` field whose value is the action's
//! own word (`confirm=erase`, `confirm=cancel`, ...): the pages send it from a
//! second, explicit submit on a page that restates what will happen, and API
//! clients put it in the request body. The server refuses the action without
//! it, whoever asks, so a replayed or forged request cannot skip the step.

use crate::{ClaimAction, FieldError, PolicyAction};

/// The name of the field, in forms and JSON bodies alike.
pub const FIELD: &str = "confirm";

/// An action that needs [`FIELD`] set to its [`Irreversible::word`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Irreversible {
    EraseCustomer,
    CancelPolicy,
    LapsePolicy,
    ExpirePolicy,
    DenyClaim,
}

impl Irreversible {
    /// The policy action that needs confirming, if `action` is one.
    pub fn of_policy(action: PolicyAction) -> Option<Self> {
        match action {
            PolicyAction::Cancel => Some(Self::CancelPolicy),
            PolicyAction::Lapse => Some(Self::LapsePolicy),
            PolicyAction::Expire => Some(Self::ExpirePolicy),
            PolicyAction::Activate | PolicyAction::Reinstate => None,
        }
    }

    /// The claim step that needs confirming, if `action` is one.
    pub fn of_claim(action: ClaimAction) -> Option<Self> {
        (action == ClaimAction::Deny).then_some(Self::DenyClaim)
    }

    /// The value [`FIELD`] must carry: the action's wire name.
    pub fn word(self) -> &'static str {
        match self {
            Self::EraseCustomer => "erase",
            Self::CancelPolicy => "cancel",
            Self::LapsePolicy => "lapse",
            Self::ExpirePolicy => "expire",
            Self::DenyClaim => "deny",
        }
    }

    /// The button on the confirmation page: says exactly what it does.
    pub fn button(self) -> &'static str {
        match self {
            Self::EraseCustomer => "Yes, erase the personal data",
            Self::CancelPolicy => "Yes, cancel the policy",
            Self::LapsePolicy => "Yes, lapse the policy",
            Self::ExpirePolicy => "Yes, expire the policy",
            Self::DenyClaim => "Yes, deny the claim",
        }
    }

    /// What will happen, restated before the second submit.
    pub fn consequence(self) -> &'static str {
        match self {
            Self::EraseCustomer => {
                "The customer's encryption key is destroyed: their personal data becomes \
                 unreadable everywhere, backups included. Policies, claims and the audit \
                 trail remain. This cannot be undone."
            }
            Self::CancelPolicy => {
                "The policy stops covering losses from now on and can never be reinstated; \
                 the customer would need a new quote."
            }
            Self::LapsePolicy => {
                "Cover stops for unpaid premium. Losses while the policy is lapsed are not \
                 covered, even if it is reinstated later."
            }
            Self::ExpirePolicy => {
                "The term ends now and the policy stops covering losses. It can be renewed, \
                 but this term cannot be reopened."
            }
            Self::DenyClaim => {
                "The claim is refused with your reason, which the claimant is told. The \
                 denial stays on the claim's record even if it is reopened later."
            }
        }
    }

    /// `Ok` when `given` is this action's word; otherwise the error names
    /// [`FIELD`] and what it must be.
    pub fn check(self, given: Option<&str>) -> Result<(), FieldError> {
        if given.map(str::trim) == Some(self.word()) {
            Ok(())
        } else {
            Err(FieldError::new(
                FIELD,
                format!(
                    "must be \"{}\" to confirm this action, which cannot be undone",
                    self.word()
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_actions_that_cannot_be_taken_back_need_confirming() {
        let confirmed: Vec<PolicyAction> = PolicyAction::ALL
            .into_iter()
            .filter(|a| Irreversible::of_policy(*a).is_some())
            .collect();
        assert_eq!(
            confirmed,
            [
                PolicyAction::Lapse,
                PolicyAction::Cancel,
                PolicyAction::Expire
            ]
        );
        for action in PolicyAction::ALL {
            if let Some(irreversible) = Irreversible::of_policy(action) {
                assert_eq!(
                    irreversible.word(),
                    action.as_str(),
                    "the word is the action"
                );
            }
        }
        assert_eq!(
            Irreversible::of_claim(ClaimAction::Deny),
            Some(Irreversible::DenyClaim)
        );
        assert_eq!(Irreversible::of_claim(ClaimAction::Approve), None);
    }

    #[test]
    fn the_action_is_refused_naming_the_field_unless_its_word_is_given() {
        let erase = Irreversible::EraseCustomer;
        assert_eq!(erase.check(Some("erase")), Ok(()));
        assert_eq!(erase.check(Some(" erase ")), Ok(()));
        for given in [
            None,
            Some(""),
            Some("yes"),
            Some("true"),
            Some("cancel"),
            Some("ERASE"),
        ] {
            let error = erase.check(given).unwrap_err();
            assert_eq!(error.field, "confirm", "{given:?}");
            assert_eq!(
                error.message,
                "must be \"erase\" to confirm this action, which cannot be undone"
            );
        }
    }
}
