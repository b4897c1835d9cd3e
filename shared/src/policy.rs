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
mod tests {
    use super::*;
    use crate::dates::Date;
    use PolicyAction::*;
    use PolicyStatus::*;

    #[test]
    fn policy_numbers_parse_normalize_and_format() {
        let number = PolicyNumber::parse("policy_number", " pol-2025-000123 ").unwrap();
        assert_eq!(number.as_str(), "POL-2025-000123");
        assert_eq!((number.year(), number.sequence()), (2025, 123));
        assert_eq!(PolicyNumber::format(2025, 123), Some(number.clone()));
        assert_eq!(number.to_string(), "POL-2025-000123");
        assert_eq!(
            serde_json::to_string(&number).unwrap(),
            r#""POL-2025-000123""#
        );
        assert_eq!(
            PolicyNumber::format(2026, 999_999).unwrap().as_str(),
            "POL-2026-999999"
        );
    }

    #[test]
    fn policy_numbers_outside_the_pattern_are_rejected() {
        for bad in [
            "",
            "POL-2025-123",
            "POL-25-000123",
            "POL-2025-0001234",
            "CLM-2025-000123",
            "POL2025000123",
            "POL-2025-00012A",
            "POL-0999-000001",
            "POL-2025-000000",
            "POL-2025-000123-1",
            "POL--2025-000123",
        ] {
            assert_eq!(
                PolicyNumber::parse("policy_number", bad),
                Err(FieldError::new(
                    "policy_number",
                    "must look like POL-2025-000123"
                )),
                "{bad:?}"
            );
        }
        assert!(serde_json::from_str::<PolicyNumber>(r#""POL-1""#).is_err());
        assert_eq!(PolicyNumber::format(2025, 0), None);
        assert_eq!(PolicyNumber::format(2025, 1_000_000), None);
        assert_eq!(PolicyNumber::format(999, 1), None);
        assert_eq!(PolicyNumber::format(10_000, 1), None);
    }

    #[test]
    fn lines_of_business_round_trip_and_unknown_lines_list_the_choices() {
        for line in LineOfBusiness::ALL {
            assert_eq!(LineOfBusiness::parse("line", line.as_str()), Ok(line));
            let json = serde_json::to_string(&line).unwrap();
            assert_eq!(json, format!("\"{}\"", line.as_str()));
        }
        assert_eq!(LineOfBusiness::Marine.label(), "Marine");
        assert_eq!(
            LineOfBusiness::parse("line", "boat").unwrap_err().message,
            "must be one of auto, home, health, life, liability, marine, fleet"
        );
    }

    #[test]
    fn the_policy_lifecycle_allows_exactly_the_documented_moves() {
        let legal = [
            (Quote, Activate, Active),
            (Quote, Cancel, Cancelled),
            (Active, Lapse, Lapsed),
            (Active, Cancel, Cancelled),
            (Active, Expire, Expired),
            (Lapsed, Reinstate, Active),
        ];
        for status in PolicyStatus::ALL {
            for action in PolicyAction::ALL {
                let expected = legal
                    .iter()
                    .find(|(from, via, _)| *from == status && *via == action)
                    .map(|(_, _, to)| *to);
                assert_eq!(status.apply(action).ok(), expected, "{status:?} {action:?}");
            }
        }
    }

    #[test]
    fn refused_policy_moves_say_why_in_words() {
        let error = Lapsed.apply(Cancel).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot cancel: only possible when the policy is a quote or active; it is lapsed"
        );
        assert_eq!(
            error,
            TransitionError::NotAllowed {
                action: "cancel",
                from: "lapsed",
                reason: "only possible when the policy is a quote or active; it is lapsed".into(),
            }
        );
        assert_eq!(
            Cancelled.apply(Reinstate).unwrap_err().to_string(),
            "cannot reinstate: the policy is cancelled, which is final"
        );
    }

    #[test]
    fn available_and_blocked_actions_partition_all_actions() {
        assert_eq!(Quote.available_actions(), vec![Activate, Cancel]);
        assert_eq!(Active.available_actions(), vec![Lapse, Cancel, Expire]);
        assert_eq!(Lapsed.available_actions(), vec![Reinstate]);
        assert!(Expired.available_actions().is_empty());
        for status in PolicyStatus::ALL {
            let available = status.available_actions();
            let blocked = status.blocked_actions();
            assert_eq!(available.len() + blocked.len(), PolicyAction::ALL.len());
            assert!(blocked.iter().all(|b| !available.contains(&b.action)));
        }
        let blocked = Quote.blocked_actions();
        assert_eq!(
            blocked[0],
            Blocked {
                action: Lapse,
                reason: "only possible when the policy is active; it is a quote".into()
            }
        );
        assert!(
            Expired
                .blocked_actions()
                .iter()
                .all(|b| b.reason == "the policy is expired, which is final")
        );
    }

    #[test]
    fn only_active_or_expired_policies_renew_into_the_following_term() {
        let term = DateRange::parse("2025-01-01", "2025-12-31").unwrap();
        let next = DateRange::parse("2026-01-01", "2026-12-31").unwrap();
        assert_eq!(Active.renew(&term), Ok(next));
        assert_eq!(Expired.renew(&term), Ok(next));
        for status in [Quote, Lapsed, Cancelled] {
            assert!(!status.can_renew());
            let error = status.renew(&term).unwrap_err();
            assert!(
                error.to_string().starts_with(
                    "cannot renew: only possible when the policy is active or expired"
                )
            );
        }
        assert_eq!(next_term(&term), next);
        assert_eq!(PolicyStatus::INITIAL, Quote);
    }

    fn usd(amount: i64) -> MoneyInput {
        MoneyInput {
            amount,
            currency: "USD".into(),
        }
    }

    fn valid_input() -> NewPolicyInput {
        NewPolicyInput {
            customer_id: "0192f3c4-7a1b-7c2d-9e3f-a4b5c6d7e8f9".into(),
            line: "home".into(),
            starts_on: "2025-01-01".into(),
            ends_on: "2025-12-31".into(),
            premium: usd(120_000),
            coverage_limit: usd(50_000_000),
            deductible: usd(100_000),
        }
    }

    #[test]
    fn a_valid_new_policy_parses_into_typed_values() {
        let policy = NewPolicy::parse(&valid_input()).unwrap();
        assert_eq!(policy.line, LineOfBusiness::Home);
        assert_eq!(
            policy.term.starts_on(),
            Date::parse("d", "2025-01-01").unwrap()
        );
        assert_eq!(policy.premium, Money::new(120_000, Currency::USD));
        assert_eq!(policy.deductible.amount, 100_000);
        let zero_deductible = NewPolicyInput {
            deductible: usd(0),
            ..valid_input()
        };
        assert!(NewPolicy::parse(&zero_deductible).is_ok());
    }

    #[test]
    fn new_policies_report_every_broken_rule_at_once() {
        let errors = NewPolicy::parse(&NewPolicyInput::default()).unwrap_err();
        for field in [
            "customer_id",
            "line",
            "starts_on",
            "ends_on",
            "premium.amount",
            "premium.currency",
            "coverage_limit.amount",
            "coverage_limit.currency",
            "deductible.currency",
        ] {
            assert!(errors.for_field(field).is_some(), "{field}: {errors}");
        }
        let from_json: NewPolicyInput = serde_json::from_str(r#"{"line":"auto"}"#).unwrap();
        assert_eq!(from_json.line, "auto");
    }

    #[test]
    fn premium_and_coverage_must_be_positive_and_the_deductible_below_the_limit() {
        let check = |input: NewPolicyInput, field: &str, message: &str| {
            let errors = NewPolicy::parse(&input).unwrap_err();
            assert_eq!(errors.for_field(field), Some(message), "{errors}");
            assert_eq!(errors.0.len(), 1, "{errors}");
        };
        check(
            NewPolicyInput {
                premium: usd(0),
                ..valid_input()
            },
            "premium.amount",
            "must be greater than zero",
        );
        check(
            NewPolicyInput {
                coverage_limit: usd(-5),
                ..valid_input()
            },
            "coverage_limit.amount",
            "must be greater than zero",
        );
        check(
            NewPolicyInput {
                deductible: usd(-1),
                ..valid_input()
            },
            "deductible.amount",
            "must not be negative",
        );
        check(
            NewPolicyInput {
                deductible: usd(50_000_000),
                ..valid_input()
            },
            "deductible.amount",
            "must be less than the coverage limit",
        );
        check(
            NewPolicyInput {
                ends_on: "2024-12-31".into(),
                ..valid_input()
            },
            "ends_on",
            "must be after the start date",
        );
        check(
            NewPolicyInput {
                line: "pets".into(),
                ..valid_input()
            },
            "line",
            "must be one of auto, home, health, life, liability, marine, fleet",
        );
        check(
            NewPolicyInput {
                customer_id: "../etc/passwd".into(),
                ..valid_input()
            },
            "customer_id",
            "must be an id of up to 64 letters, digits, dashes or underscores",
        );
    }

    #[test]
    fn mixed_currencies_are_reported_on_the_later_field() {
        let eur = |amount| MoneyInput {
            amount,
            currency: "EUR".into(),
        };
        let errors = NewPolicy::parse(&NewPolicyInput {
            deductible: eur(100_000),
            ..valid_input()
        })
        .unwrap_err();
        assert_eq!(
            errors.0,
            vec![FieldError::new(
                "deductible.currency",
                "must be USD like the premium"
            )]
        );

        let errors = NewPolicy::parse(&NewPolicyInput {
            coverage_limit: eur(50_000_000),
            deductible: eur(100_000),
            ..valid_input()
        })
        .unwrap_err();
        assert_eq!(
            errors.for_field("coverage_limit.currency"),
            Some("must be USD like the premium")
        );
        assert_eq!(
            errors.for_field("deductible.currency"),
            Some("must be USD like the premium")
        );

        // With the premium's currency unreadable, the limit sets the standard.
        let errors = NewPolicy::parse(&NewPolicyInput {
            premium: MoneyInput {
                amount: 1,
                currency: "?".into(),
            },
            deductible: eur(100_000),
            ..valid_input()
        })
        .unwrap_err();
        assert!(errors.for_field("premium.currency").is_some());
        assert_eq!(
            errors.for_field("deductible.currency"),
            Some("must be USD like the coverage limit")
        );
    }

    #[test]
    fn public_ids_are_bounded_and_plain() {
        assert_eq!(parse_public_id("id", " abc-123_X "), Ok("abc-123_X".into()));
        assert_eq!(
            parse_public_id("id", "").unwrap_err().message,
            "is required"
        );
        assert!(parse_public_id("id", &"a".repeat(65)).is_err());
        assert!(parse_public_id("id", "a b").is_err());
    }
}
