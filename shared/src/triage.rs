//! Triage: the coverage check and the rules that give a new claim its
//! priority and fraud flags.
//!
//! The pipeline gathers [`ClaimFacts`] from the database and asks a
//! [`TriageRules`] implementation for an [`Assessment`]. [`RuleBook`] is the
//! plain rule set; anything else (a scoring model, a vendor service) can
//! replace it behind the trait without the pipeline changing.

use serde::{Deserialize, Serialize};

use crate::claim::Priority;
use crate::dates::{Date, DateRange};
use crate::macros::str_enum;
use crate::money::Money;
use crate::policy::{LineOfBusiness, PolicyStatus};

/// What triage knows about a claim and its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimFacts {
    pub total_claimed: Money,
    pub incident_date: Date,
    pub line: LineOfBusiness,
    pub policy_status: PolicyStatus,
    pub policy_term: DateRange,
    pub coverage_limit: Money,
    pub deductible: Money,
    /// Other claims on the same policy with an incident in the year before
    /// this one's.
    pub prior_claims_in_year: u32,
    /// Numbers of other claims on the policy for the same incident date with
    /// an item code in common.
    pub possible_duplicates: Vec<String>,
}

str_enum! {
    /// Why a claim deserves a second look. Flags never decide a claim; they
    /// put it in front of an adjuster with the reason spelled out.
    pub enum FlagCode {
        NotInForce => "not_in_force", "Policy not in force";
        OverLimit => "over_limit", "Over the coverage limit";
        NearLimit => "near_limit", "Close to the coverage limit";
        EarlyClaim => "early_claim", "Soon after the policy started";
        RepeatClaims => "repeat_claims", "Repeat claims";
        PossibleDuplicate => "possible_duplicate", "Possible duplicate";
        /// The same file (by SHA-256) is attached to another claim.
        DuplicateAttachment => "duplicate_attachment", "Same attachment as another claim";
        Manual => "manual", "Flagged by an adjuster";
    }
}

/// One fraud or coverage flag, with the reason shown to the adjuster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FraudFlag {
    pub code: FlagCode,
    pub reason: String,
}

/// Whether the policy covered the loss.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Coverage {
    Covered,
    NotCovered(String),
}

impl Coverage {
    pub fn as_str(&self) -> &'static str {
        match self {
            Coverage::Covered => "covered",
            Coverage::NotCovered(_) => "not_covered",
        }
    }

    pub fn note(&self) -> Option<&str> {
        match self {
            Coverage::Covered => None,
            Coverage::NotCovered(why) => Some(why),
        }
    }
}

/// The outcome of triage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub coverage: Coverage,
    pub priority: Priority,
    pub flags: Vec<FraudFlag>,
}

/// Anything that can triage a claim.
pub trait TriageRules: Send + Sync {
    fn assess(&self, facts: &ClaimFacts) -> Assessment;
}

/// The rule set in force, with its thresholds as named constants so the
/// README and the tests can quote them.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleBook;

impl RuleBook {
    /// A claim at or above this share of the coverage limit is urgent.
    pub const URGENT_SHARE_PERCENT: i64 = 50;
    /// A claim at or below this share of the limit, unflagged, is low.
    pub const LOW_SHARE_PERCENT: i64 = 5;
    /// Flagged as near the limit at or above this share of what is payable.
    pub const NEAR_LIMIT_PERCENT: i64 = 90;
    /// Flagged when the loss happened this many days or fewer after the
    /// policy started.
    pub const EARLY_CLAIM_DAYS: i64 = 30;
    /// Flagged when the policy already had this many claims in the year.
    pub const REPEAT_CLAIMS: u32 = 2;

    fn coverage(facts: &ClaimFacts) -> Coverage {
        // Expired and lapsed policies were in force during their term; a
        // quote never was, and a cancelled one has no record of when it
        // stopped, so both need a person to look.
        let in_force_status = matches!(
            facts.policy_status,
            PolicyStatus::Active | PolicyStatus::Expired | PolicyStatus::Lapsed
        );
        if !in_force_status {
            return Coverage::NotCovered(format!(
                "the policy is {}",
                facts.policy_status.label().to_lowercase()
            ));
        }
        if !facts.policy_term.contains(facts.incident_date) {
            return Coverage::NotCovered(format!(
                "the incident date {} is outside the policy term {} to {}",
                facts.incident_date,
                facts.policy_term.starts_on(),
                facts.policy_term.ends_on()
            ));
        }
        if facts.total_claimed.currency != facts.coverage_limit.currency {
            return Coverage::NotCovered(format!(
                "the claim is in {} but the policy is in {}",
                facts.total_claimed.currency, facts.coverage_limit.currency
            ));
        }
        Coverage::Covered
    }
}

/// `part` as a whole percentage of `whole` (0 when `whole` is not positive).
fn percent_of(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return 0;
    }
    i64::try_from(i128::from(part) * 100 / i128::from(whole)).unwrap_or(i64::MAX)
}

impl TriageRules for RuleBook {
    fn assess(&self, facts: &ClaimFacts) -> Assessment {
        let coverage = Self::coverage(facts);
        let mut flags = Vec::new();
        let mut flag = |code: FlagCode, reason: String| flags.push(FraudFlag { code, reason });
        if let Coverage::NotCovered(why) = &coverage {
            flag(FlagCode::NotInForce, format!("Not covered: {why}."));
        }
        let claimed = facts.total_claimed.amount;
        let limit = facts.coverage_limit.amount;
        let payable = (limit - facts.deductible.amount).max(0);
        let same_currency = facts.total_claimed.currency == facts.coverage_limit.currency;
        if same_currency && claimed > limit {
            flag(
                FlagCode::OverLimit,
                format!(
                    "Claimed {} exceeds the coverage limit of {}.",
                    facts.total_claimed, facts.coverage_limit
                ),
            );
        } else if same_currency && percent_of(claimed, payable) >= Self::NEAR_LIMIT_PERCENT {
            flag(
                FlagCode::NearLimit,
                format!(
                    "Claimed {} is {}% of the {} payable under the policy.",
                    facts.total_claimed,
                    percent_of(claimed, payable),
                    Money::new(payable, facts.coverage_limit.currency)
                ),
            );
        }
        let days_in = facts
            .incident_date
            .days_since(facts.policy_term.starts_on());
        if (0..=Self::EARLY_CLAIM_DAYS).contains(&days_in) {
            flag(
                FlagCode::EarlyClaim,
                format!("The loss happened {days_in} days after the policy started."),
            );
        }
        if !facts.possible_duplicates.is_empty() {
            flag(
                FlagCode::PossibleDuplicate,
                format!(
                    "Same policy, incident date and claimed items as {}.",
                    facts.possible_duplicates.join(", ")
                ),
            );
        }
        if facts.prior_claims_in_year >= Self::REPEAT_CLAIMS {
            flag(
                FlagCode::RepeatClaims,
                format!(
                    "{} other claims on this policy in the year before the loss.",
                    facts.prior_claims_in_year
                ),
            );
        }

        let share = percent_of(claimed, limit);
        // Health and life claims are about people: always looked at first.
        let personal_line = matches!(facts.line, LineOfBusiness::Health | LineOfBusiness::Life);
        let priority = if personal_line
            || (same_currency && share >= Self::URGENT_SHARE_PERCENT)
            || flags.len() >= 2
        {
            Priority::Urgent
        } else if flags.is_empty() && same_currency && share <= Self::LOW_SHARE_PERCENT {
            Priority::Low
        } else {
            Priority::Standard
        };
        Assessment {
            coverage,
            priority,
            flags,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn usd(amount: i64) -> Money {
        Money::new(amount, Currency::parse("currency", "USD").expect("USD"))
    }

    fn date(raw: &str) -> Date {
        Date::parse("date", raw).expect("date")
    }

    /// A home claim of 10,000.00 on a 100,000.00 policy, six months in.
    fn facts() -> ClaimFacts {
        ClaimFacts {
            total_claimed: usd(1_000_000),
            incident_date: date("2026-07-01"),
            line: LineOfBusiness::Home,
            policy_status: PolicyStatus::Active,
            policy_term: DateRange::new(date("2026-01-01"), date("2026-12-31")).expect("term"),
            coverage_limit: usd(10_000_000),
            deductible: usd(50_000),
            prior_claims_in_year: 0,
            possible_duplicates: Vec::new(),
        }
    }

    fn codes(assessment: &Assessment) -> Vec<FlagCode> {
        assessment.flags.iter().map(|f| f.code).collect()
    }

    #[test]
    fn an_ordinary_claim_is_standard_and_unflagged() {
        let assessment = RuleBook.assess(&facts());
        assert_eq!(assessment.coverage, Coverage::Covered);
        assert_eq!(assessment.priority, Priority::Standard);
        assert!(assessment.flags.is_empty());
    }

    #[test]
    fn a_small_unflagged_claim_is_low() {
        let assessment = RuleBook.assess(&ClaimFacts {
            total_claimed: usd(30_000),
            ..facts()
        });
        assert_eq!(assessment.priority, Priority::Low);
    }

    #[test]
    fn half_the_limit_or_a_personal_line_is_urgent() {
        let big = RuleBook.assess(&ClaimFacts {
            total_claimed: usd(5_000_000),
            ..facts()
        });
        assert_eq!(big.priority, Priority::Urgent);
        let health = RuleBook.assess(&ClaimFacts {
            line: LineOfBusiness::Health,
            total_claimed: usd(10_000),
            ..facts()
        });
        assert_eq!(health.priority, Priority::Urgent);
    }

    #[test]
    fn a_loss_outside_the_term_is_not_covered_and_flagged() {
        let assessment = RuleBook.assess(&ClaimFacts {
            incident_date: date("2025-12-31"),
            ..facts()
        });
        assert_eq!(assessment.coverage.as_str(), "not_covered");
        assert!(
            assessment
                .coverage
                .note()
                .is_some_and(|n| n.contains("outside the policy term"))
        );
        assert_eq!(codes(&assessment), vec![FlagCode::NotInForce]);
    }

    #[test]
    fn a_quote_or_cancelled_policy_covers_nothing() {
        for status in [PolicyStatus::Quote, PolicyStatus::Cancelled] {
            let assessment = RuleBook.assess(&ClaimFacts {
                policy_status: status,
                ..facts()
            });
            assert_eq!(assessment.coverage.as_str(), "not_covered", "{status:?}");
        }
        let expired = RuleBook.assess(&ClaimFacts {
            policy_status: PolicyStatus::Expired,
            ..facts()
        });
        assert_eq!(expired.coverage, Coverage::Covered);
    }

    #[test]
    fn amounts_near_or_over_the_limit_are_flagged() {
        let near = RuleBook.assess(&ClaimFacts {
            total_claimed: usd(9_000_000),
            ..facts()
        });
        assert_eq!(codes(&near), vec![FlagCode::NearLimit]);
        let over = RuleBook.assess(&ClaimFacts {
            total_claimed: usd(10_000_001),
            ..facts()
        });
        assert_eq!(codes(&over), vec![FlagCode::OverLimit]);
    }

    #[test]
    fn early_and_repeat_claims_are_flagged_and_two_flags_make_it_urgent() {
        let assessment = RuleBook.assess(&ClaimFacts {
            incident_date: date("2026-01-20"),
            prior_claims_in_year: 2,
            ..facts()
        });
        assert_eq!(
            codes(&assessment),
            vec![FlagCode::EarlyClaim, FlagCode::RepeatClaims]
        );
        assert_eq!(assessment.priority, Priority::Urgent);
        let one_prior = RuleBook.assess(&ClaimFacts {
            prior_claims_in_year: 1,
            ..facts()
        });
        assert!(one_prior.flags.is_empty());
    }

    #[test]
    fn a_possible_duplicate_is_flagged_with_the_other_claim_named() {
        let assessment = RuleBook.assess(&ClaimFacts {
            possible_duplicates: vec!["CLM-2026-000007".into()],
            ..facts()
        });
        assert_eq!(codes(&assessment), vec![FlagCode::PossibleDuplicate]);
        assert!(assessment.flags[0].reason.contains("CLM-2026-000007"));
    }

    #[test]
    fn a_claim_in_another_currency_is_not_covered() {
        let eur = Currency::parse("currency", "EUR").expect("EUR");
        let assessment = RuleBook.assess(&ClaimFacts {
            total_claimed: Money::new(100, eur),
            ..facts()
        });
        assert!(matches!(assessment.coverage, Coverage::NotCovered(_)));
    }
}
