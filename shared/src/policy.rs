//! Policies: their numbers, lines of business, the status lifecycle, and
//! the rules a new policy must meet.
//!
//! Lifecycle (every other move is refused with a reason):
//!
//! ```text
//! quote --activate--> active --lapse--> lapsed --reinstate--> active
//! quote --cancel----> cancelled <--cancel-- active
//!                     active --expire--> expired
//! ```
//!
//! Renewal is not a status change: it issues a new policy for the next term
//! (see [`PolicyStatus::renew`]), so the old one keeps its history.

use serde::{Deserialize, Serialize};

use crate::dates::DateRange;
use crate::macros::{reference_number, str_enum};
use crate::money::{Currency, Money, MoneyInput};
use crate::validation::{FieldError, FieldErrors};
use crate::workflow::{Blocked, StateMachine, TransitionError};

reference_number!(
    /// A policy's human-facing number, `POL-2025-000123`: year of issue and a
    /// sequence within the year. The public URL id is a separate, random id.
    PolicyNumber,
    "POL",
    "policy_number"
);

str_enum! {
    /// What a policy insures.
    pub enum LineOfBusiness {
        Auto => "auto", "Auto";
        Home => "home", "Home";
        Health => "health", "Health";
        Life => "life", "Life";
        Liability => "liability", "Liability";
        Marine => "marine", "Marine";
        /// Several vehicles of one business under one policy.
        Fleet => "fleet", "Fleet";
    }
}

str_enum! {
    /// Where a policy is in its lifecycle.
    pub enum PolicyStatus {
        /// Priced and offered; not in force yet.
        Quote => "quote", "Quote";
        /// In force.
        Active => "active", "Active";
        /// Premium unpaid: cover is suspended until the policy is reinstated.
        Lapsed => "lapsed", "Lapsed";
        /// Ended early, at the customer's or insurer's request. Final.
        Cancelled => "cancelled", "Cancelled";
        /// Reached the end of its term. Final, but it can be renewed.
        Expired => "expired", "Expired";
    }
}

str_enum! {
    /// A change of a policy's status that staff (or the system) can make.
    pub enum PolicyAction {
        Activate => "activate", "Activate";
        Lapse => "lapse", "Lapse";
        Cancel => "cancel", "Cancel";
        Expire => "expire", "Expire";
        Reinstate => "reinstate", "Reinstate";
    }
}

impl StateMachine for PolicyStatus {
    type Action = PolicyAction;

    const ENTITY: &'static str = "policy";
    const ACTIONS: &'static [PolicyAction] = &PolicyAction::ALL;

    fn rule(action: PolicyAction) -> (&'static [Self], Self) {
        use PolicyStatus::*;
        match action {
            PolicyAction::Activate => (&[Quote], Active),
            PolicyAction::Cancel => (&[Quote, Active], Cancelled),
            PolicyAction::Lapse => (&[Active], Lapsed),
            PolicyAction::Expire => (&[Active], Expired),
            PolicyAction::Reinstate => (&[Lapsed], Active),
        }
    }

    fn phrase(self) -> &'static str {
        match self {
            PolicyStatus::Quote => "a quote",
            PolicyStatus::Active => "active",
            PolicyStatus::Lapsed => "lapsed",
            PolicyStatus::Cancelled => "cancelled",
            PolicyStatus::Expired => "expired",
        }
    }

    fn status_name(self) -> &'static str {
        self.as_str()
    }

    fn action_name(action: PolicyAction) -> &'static str {
        action.as_str()
    }
}

impl PolicyStatus {
    /// Every new policy starts as a quote.
    pub const INITIAL: PolicyStatus = PolicyStatus::Quote;

    /// The status after `action`, or why it is not allowed now.
    pub fn apply(self, action: PolicyAction) -> Result<PolicyStatus, TransitionError> {
        self.transition(action)
    }

    /// The actions to offer, in [`PolicyAction::ALL`] order.
    pub fn available_actions(self) -> Vec<PolicyAction> {
        self.available()
    }

    /// Every other action, with the reason to show beside it.
    pub fn blocked_actions(self) -> Vec<Blocked<PolicyAction>> {
        self.blocked()
    }

    /// Active policies renew ahead of their end, expired ones after it;
    /// quotes, lapsed and cancelled policies cannot.
    pub fn can_renew(self) -> bool {
        matches!(self, PolicyStatus::Active | PolicyStatus::Expired)
    }

    /// The term of the renewal policy: it starts the day after `term` ends
    /// and has the same length (see [`DateRange::next_term`]).
    pub fn renew(self, term: &DateRange) -> Result<DateRange, TransitionError> {
        if self.can_renew() {
            return Ok(term.next_term());
        }
        Err(TransitionError::NotAllowed {
            action: "renew",
            from: self.as_str(),
            reason: format!(
                "only possible when the policy is active or expired; it is {}",
                self.phrase()
            ),
        })
    }
}

/// The term of a renewal: starts the day after `term` ends, same length
/// (whole-month terms by calendar months). Same as [`DateRange::next_term`];
/// [`PolicyStatus::renew`] also checks the status.
pub fn next_term(term: &DateRange) -> DateRange {
    term.next_term()
}

/// Where a policy is written: an ISO 3166-1 country (`GB`) or an ISO 3166-2
/// subdivision (`US-FL`), stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Jurisdiction(String);

impl Jurisdiction {
    /// Two letters, optionally a dash and one to three letters or digits;
    /// case and surrounding spaces are forgiven.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim().to_ascii_uppercase();
        let (country, subdivision) = match value.split_once('-') {
            Some((country, subdivision)) => (country, Some(subdivision)),
            None => (value.as_str(), None),
        };
        let country_ok = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
        let subdivision_ok = subdivision.is_none_or(|s| {
            (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if country_ok && subdivision_ok {
            Ok(Self(value))
        } else {
            Err(FieldError::new(
                field,
                "must be an ISO 3166 code: a country (GB) or a subdivision (US-FL)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new policy as submitted by the form or `POST /api/v1/policies`.
/// Missing fields deserialize as empty so they come back as field errors.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NewPolicyInput {
    pub customer_id: String,
    /// A [`LineOfBusiness`] name: `auto`, `home`, ...
    pub line: String,
    /// `YYYY-MM-DD`.
    pub starts_on: String,
    /// `YYYY-MM-DD`, after `starts_on`; the policy covers this day too.
    pub ends_on: String,
    pub premium: MoneyInput,
    pub coverage_limit: MoneyInput,
    pub deductible: MoneyInput,
    /// Where the policy is written, an ISO 3166 code (`US-FL`); empty for
    /// none (the default SLA rules then apply to its claims).
    pub jurisdiction: String,
}

/// A new policy that passed every rule; it starts as
/// [`PolicyStatus::INITIAL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPolicy {
    /// The customer's public id, as submitted (its existence is the
    /// server's to check).
    pub customer_id: String,
    pub line: LineOfBusiness,
    pub term: DateRange,
    pub premium: Money,
    pub coverage_limit: Money,
    pub deductible: Money,
    pub jurisdiction: Option<Jurisdiction>,
}

impl NewPolicy {
    /// Checks every field and reports every problem at once:
    /// premium and coverage limit above zero, a deductible from zero up to
    /// (not including) the coverage limit, one currency for all three
    /// (reported on the later field), and a valid term.
    pub fn parse(input: &NewPolicyInput) -> Result<NewPolicy, FieldErrors> {
        let mut errors = FieldErrors::new();
        let customer_id = errors.check(parse_public_id("customer_id", &input.customer_id));
        let line = errors.check(LineOfBusiness::parse("line", &input.line));
        let term = errors.check_all(DateRange::parse(&input.starts_on, &input.ends_on));
        let premium = errors.check_all(input.premium.parse("premium", 1));
        let coverage_limit = errors.check_all(input.coverage_limit.parse("coverage_limit", 1));
        let deductible = errors.check_all(input.deductible.parse("deductible", 0));
        let jurisdiction = match input.jurisdiction.trim() {
            "" => Some(None),
            raw => errors
                .check(Jurisdiction::parse("jurisdiction", raw))
                .map(Some),
        };

        // A currency that does not parse has its own error already; compare
        // the rest against the first good one.
        let mut first: Option<(&str, Currency)> = None;
        for (name, money) in [
            ("premium", &input.premium),
            ("coverage limit", &input.coverage_limit),
            ("deductible", &input.deductible),
        ] {
            let Ok(currency) = Currency::parse("", &money.currency) else {
                continue;
            };
            match first {
                None => first = Some((name, currency)),
                Some((first_name, expected)) if expected != currency => errors.push(
                    format!("{}.currency", name.replace(' ', "_")),
                    format!("must be {expected} like the {first_name}"),
                ),
                Some(_) => {}
            }
        }

        if let (Some(limit), Some(deductible)) = (coverage_limit, deductible)
            && limit.currency == deductible.currency
            && deductible.amount >= limit.amount
        {
            errors.push("deductible.amount", "must be less than the coverage limit");
        }

        errors.finish(|| {
            Some(NewPolicy {
                customer_id: customer_id?,
                line: line?,
                term: term?,
                premium: premium?,
                coverage_limit: coverage_limit?,
                deductible: deductible?,
                jurisdiction: jurisdiction?,
            })
        })
    }
}

/// A record's public id as it appears in URLs (a UUID, or similar): 1–64
/// ASCII letters, digits, dashes and underscores.
pub fn parse_public_id(field: &str, raw: &str) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "must be an id of up to 64 letters, digits, dashes or underscores",
        ))
    }
}

#[cfg(test)]
mod tests;
