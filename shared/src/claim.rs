//! Claims: their numbers, the review workflow, priorities, claimed lines,
//! the rules for a new claim and for an adjuster's decision.
//!
//! Workflow (every other move is refused with a reason):
//!
//! ```text
//! submitted --triage--> triaged --start_review--> in_review
//! in_review --approve--> approved --pay--> paid --close--> closed
//! in_review --deny--> denied --close--> closed
//! in_review --request_info--> info_requested --provide_info--> in_review
//! closed | denied --reopen (with a reason)--> in_review
//! ```

use serde::{Deserialize, Serialize};

use crate::contact::{Email, PersonName, Phone};
use crate::dates::Date;
use crate::macros::{reference_number, str_enum};
use crate::money::{Currency, Money, MoneyError, MoneyInput};
use crate::policy::PolicyNumber;
use crate::validation::{self, FieldError, FieldErrors};
use crate::workflow::{Blocked, StateMachine, TransitionError};

reference_number!(
    /// A claim's human-facing number, `CLM-2025-000123`: year of receipt and
    /// a sequence within the year. The public URL id is a separate, random id.
    ClaimNumber,
    "CLM",
    "claim_number"
);

str_enum! {
    /// Where a claim is in its workflow.
    pub enum ClaimStatus {
        /// Received (form or API); the pipeline has not looked at it yet.
        Submitted => "submitted", "Submitted";
        /// Checked against the policy and given a priority; waiting for an adjuster.
        Triaged => "triaged", "Triaged";
        InReview => "in_review", "In review";
        Approved => "approved", "Approved";
        Denied => "denied", "Denied";
        /// Waiting for the claimant; the review resumes when it arrives.
        InfoRequested => "info_requested", "Information requested";
        Paid => "paid", "Paid";
        Closed => "closed", "Closed";
    }
}

str_enum! {
    /// A step in a claim's workflow.
    pub enum ClaimAction {
        Triage => "triage", "Triage";
        StartReview => "start_review", "Start review";
        Approve => "approve", "Approve";
        Deny => "deny", "Deny";
        RequestInfo => "request_info", "Request information";
        ProvideInfo => "provide_info", "Provide information";
        Pay => "pay", "Record payment";
        Close => "close", "Close";
        Reopen => "reopen", "Reopen";
    }
}

impl ClaimAction {
    /// Actions that must say why, for the claimant and the audit trail: a
    /// denial, a request for information, reopening a settled claim.
    pub fn requires_reason(self) -> bool {
        matches!(
            self,
            ClaimAction::Deny | ClaimAction::RequestInfo | ClaimAction::Reopen
        )
    }
}

impl ClaimAction {
    /// Steps staff take with a button: not triage (the pipeline's), not
    /// the three decisions (they have their own form and rules) and not
    /// payment (recording the final claim-cost payment pays the claim).
    pub fn is_manual(self) -> bool {
        !matches!(
            self,
            ClaimAction::Triage
                | ClaimAction::Pay
                | ClaimAction::Approve
                | ClaimAction::Deny
                | ClaimAction::RequestInfo
        )
    }
}

impl StateMachine for ClaimStatus {
    type Action = ClaimAction;

    const ENTITY: &'static str = "claim";
    const ACTIONS: &'static [ClaimAction] = &ClaimAction::ALL;

    fn rule(action: ClaimAction) -> (&'static [Self], Self) {
        use ClaimStatus::*;
        match action {
            ClaimAction::Triage => (&[Submitted], Triaged),
            ClaimAction::StartReview => (&[Triaged], InReview),
            ClaimAction::Approve => (&[InReview], Approved),
            ClaimAction::Deny => (&[InReview], Denied),
            ClaimAction::RequestInfo => (&[InReview], InfoRequested),
            ClaimAction::ProvideInfo => (&[InfoRequested], InReview),
            ClaimAction::Pay => (&[Approved], Paid),
            ClaimAction::Close => (&[Paid, Denied], Closed),
            ClaimAction::Reopen => (&[Closed, Denied], InReview),
        }
    }

    fn phrase(self) -> &'static str {
        match self {
            ClaimStatus::Submitted => "submitted",
            ClaimStatus::Triaged => "triaged",
            ClaimStatus::InReview => "in review",
            ClaimStatus::Approved => "approved",
            ClaimStatus::Denied => "denied",
            ClaimStatus::InfoRequested => "waiting for information",
            ClaimStatus::Paid => "paid",
            ClaimStatus::Closed => "closed",
        }
    }

    fn status_name(self) -> &'static str {
        self.as_str()
    }

    fn action_name(action: ClaimAction) -> &'static str {
        action.as_str()
    }
}

impl ClaimStatus {
    /// Every claim starts here, whichever way it arrives.
    pub const INITIAL: ClaimStatus = ClaimStatus::Submitted;

    /// The status after `action`, or why it is not allowed now. Actions
    /// that [require a reason](ClaimAction::requires_reason) fail without a
    /// non-blank `reason`; others ignore it.
    pub fn apply(
        self,
        action: ClaimAction,
        reason: Option<&str>,
    ) -> Result<ClaimStatus, TransitionError> {
        let next = self.transition(action)?;
        if action.requires_reason() && reason.is_none_or(|r| r.trim().is_empty()) {
            return Err(TransitionError::ReasonRequired {
                action: action.as_str(),
            });
        }
        Ok(next)
    }

    /// The actions to offer, in [`ClaimAction::ALL`] order.
    pub fn available_actions(self) -> Vec<ClaimAction> {
        self.available()
    }

    /// Every other action, with the reason to show beside it.
    pub fn blocked_actions(self) -> Vec<Blocked<ClaimAction>> {
        self.blocked()
    }

    /// The workflow as a Mermaid state diagram (the README's).
    pub fn diagram() -> String {
        <Self as StateMachine>::mermaid(Self::INITIAL)
    }
}

str_enum! {
    /// How soon a claim must be looked at. Ordered most urgent first, so
    /// sorting a queue by priority puts urgent claims on top.
    #[derive(PartialOrd, Ord)]
    pub enum Priority {
        Urgent => "urgent", "Urgent";
        Standard => "standard", "Standard";
        Low => "low", "Low";
    }
}

/// One claimed item as submitted. Missing fields deserialize as empty so
/// they come back as field errors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClaimLineInput {
    pub code: String,
    pub description: Option<String>,
    pub amount: MoneyInput,
}

/// One claimed item: a loss code (`WINDSHIELD`, `WATER_DAMAGE`, a partner's
/// own code), an optional description and a positive amount.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "ClaimLineInput")]
pub struct ClaimLine {
    code: String,
    description: Option<String>,
    amount: Money,
}

impl ClaimLine {
    pub const CODE_MAX_CHARS: usize = 32;
    pub const DESCRIPTION_MAX_CHARS: usize = 500;

    /// Checks `{field}.code`, `{field}.description` and `{field}.amount.*`
    /// (`field` is e.g. `lines[0]`).
    pub fn parse(field: &str, raw: &ClaimLineInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let code = errors.check(Self::parse_code(&format!("{field}.code"), &raw.code));
        let description = errors.check(validation::optional_text(
            &format!("{field}.description"),
            raw.description.as_deref(),
            Self::DESCRIPTION_MAX_CHARS,
            false,
        ));
        let amount = errors.check_all(raw.amount.parse(&format!("{field}.amount"), 1));
        errors.finish(|| {
            Some(Self {
                code: code?,
                description: description?,
                amount: amount?,
            })
        })
    }

    /// Upper-cased, so partner systems' `water_damage` and `WATER_DAMAGE`
    /// are one code in reports.
    fn parse_code(field: &str, raw: &str) -> Result<String, FieldError> {
        let code = raw.trim().to_ascii_uppercase();
        if code.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        let valid = code.len() <= Self::CODE_MAX_CHARS
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if valid {
            Ok(code)
        } else {
            Err(FieldError::new(
                field,
                "must be 1 to 32 letters, digits, dashes or underscores",
            ))
        }
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    pub fn amount(&self) -> Money {
        self.amount
    }
}

impl TryFrom<ClaimLineInput> for ClaimLine {
    type Error = FieldErrors;

    fn try_from(raw: ClaimLineInput) -> Result<Self, Self::Error> {
        Self::parse("line", &raw)
    }
}

/// The claimed total: the sum of the lines, which must share one currency.
pub fn claim_total(lines: &[ClaimLine]) -> Result<Money, MoneyError> {
    Money::sum(lines.iter().map(ClaimLine::amount))
}

/// Who is claiming, when not the policyholder themself, as submitted.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClaimantInput {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl std::fmt::Debug for ClaimantInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimantInput").finish_non_exhaustive()
    }
}

/// A claimant's contact details (PII: encrypted at rest, masked on display).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claimant {
    pub name: PersonName,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
}

impl Claimant {
    /// Checks `{field}.name`, `{field}.email`, `{field}.phone`; blank
    /// optional parts count as absent.
    pub fn parse(field: &str, raw: &ClaimantInput) -> Result<Self, FieldErrors> {
        fn optional(value: &Option<String>) -> Option<&str> {
            value.as_deref().map(str::trim).filter(|v| !v.is_empty())
        }
        let mut errors = FieldErrors::new();
        let name = errors.check(PersonName::parse(&format!("{field}.name"), &raw.name));
        let email = optional(&raw.email)
            .map(|value| errors.check(Email::parse(&format!("{field}.email"), value)));
        let phone = optional(&raw.phone)
            .map(|value| errors.check(Phone::parse(&format!("{field}.phone"), value)));
        errors.finish(|| {
            Some(Self {
                name: name?,
                email: email.map(|e| e.ok_or(())).transpose().ok()?,
                phone: phone.map(|p| p.ok_or(())).transpose().ok()?,
            })
        })
    }
}

impl std::fmt::Debug for Claimant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claimant")
            .field("name", &self.name)
            .field("email", &self.email.as_ref().map(Email::mask))
            .field("phone", &self.phone)
            .finish()
    }
}

/// A new claim as submitted by the form or `POST /api/v1/claims`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewClaimInput {
    pub policy_number: String,
    /// `YYYY-MM-DD`, the day of the loss.
    pub incident_date: String,
    pub description: String,
    pub claimant: Option<ClaimantInput>,
    pub lines: Vec<ClaimLineInput>,
}

/// A new claim that passed every rule; it starts as
/// [`ClaimStatus::INITIAL`]. Whether the policy exists and covered the
/// incident date is the pipeline's check, not a form rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClaim {
    pub policy_number: PolicyNumber,
    pub incident_date: Date,
    pub description: String,
    pub claimant: Option<Claimant>,
    pub lines: Vec<ClaimLine>,
    /// The sum of the lines, all in this currency.
    pub total: Money,
}

impl NewClaim {
    pub const DESCRIPTION_MAX_CHARS: usize = 2000;
    pub const MAX_LINES: usize = 100;

    /// Checks every field and reports every problem at once. `today` is the
    /// server's date (UTC): an incident cannot be in the future.
    ///
    /// Line errors are named by position: `lines[0].code`,
    /// `lines[2].amount.amount`, `lines[1].amount.currency`.
    pub fn parse(input: &NewClaimInput, today: Date) -> Result<NewClaim, FieldErrors> {
        let mut errors = FieldErrors::new();
        let policy_number =
            errors.check(PolicyNumber::parse("policy_number", &input.policy_number));
        let incident_date = errors.check(
            Date::parse("incident_date", &input.incident_date).and_then(|date| {
                if date > today {
                    Err(FieldError::new(
                        "incident_date",
                        "must not be in the future",
                    ))
                } else {
                    Ok(date)
                }
            }),
        );
        let description = errors.check(validation::text(
            "description",
            &input.description,
            1,
            Self::DESCRIPTION_MAX_CHARS,
            true,
        ));
        let claimant = match &input.claimant {
            Some(raw) => errors.check_all(Claimant::parse("claimant", raw)).map(Some),
            None => Some(None),
        };
        let lines = Self::parse_lines(&input.lines, &mut errors);
        let total = lines
            .as_deref()
            .and_then(|lines| errors.check(claim_total(lines).map_err(|e| e.at("lines"))));
        errors.finish(|| {
            Some(NewClaim {
                policy_number: policy_number?,
                incident_date: incident_date?,
                description: description?,
                claimant: claimant?,
                lines: lines?,
                total: total?,
            })
        })
    }

    fn parse_lines(raw: &[ClaimLineInput], errors: &mut FieldErrors) -> Option<Vec<ClaimLine>> {
        if raw.is_empty() {
            errors.push("lines", "must have at least one line");
            return None;
        }
        if raw.len() > Self::MAX_LINES {
            // Checking each of thousands of lines would only flood the form.
            errors.push(
                "lines",
                format!("must have at most {} lines", Self::MAX_LINES),
            );
            return None;
        }
        let before = errors.0.len();
        let mut lines = Vec::with_capacity(raw.len());
        let mut first_currency: Option<Currency> = None;
        for (i, line) in raw.iter().enumerate() {
            let field = format!("lines[{i}]");
            if let Some(line) = errors.check_all(ClaimLine::parse(&field, line)) {
                lines.push(line);
            }
            // A currency that does not parse has its own error already.
            let Ok(currency) = Currency::parse("", &line.amount.currency) else {
                continue;
            };
            match first_currency {
                None => first_currency = Some(currency),
                Some(expected) if expected != currency => errors.push(
                    format!("{field}.amount.currency"),
                    format!("must be {expected} like the other lines"),
                ),
                Some(_) => {}
            }
        }
        (errors.0.len() == before).then_some(lines)
    }
}

str_enum! {
    /// The three decisions an adjuster can take on a claim in review.
    pub enum DecisionKind {
        Approve => "approve", "Approve";
        Deny => "deny", "Deny";
        RequestInfo => "request_info", "Request information";
    }
}

/// An adjuster's decision as submitted. `amount` is for `approve`, `reason`
/// for `deny` and `request_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecisionInput {
    /// A [`DecisionKind`] name.
    pub kind: String,
    pub amount: Option<MoneyInput>,
    pub reason: String,
}

/// A decision that passed its rules; build one with [`Decision::parse`].
/// Serialized (for events and the audit trail) as
/// `{ "kind": "approve", "amount": {...} }` or
/// `{ "kind": "deny", "reason": "..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decision {
    Approve { amount: Money },
    Deny { reason: String },
    RequestInfo { reason: String },
}

impl Decision {
    /// Long enough to be a reason the claimant can act on, not "no" or "n/a".
    pub const REASON_MIN_CHARS: usize = 10;
    pub const REASON_MAX_CHARS: usize = 2000;

    /// Checks a decision against the policy's coverage limit and deductible:
    /// an approval needs an amount (`amount.amount`, `amount.currency`) above
    /// zero, in the policy's currency and at most the limit less the
    /// deductible; a denial or request for information needs a `reason` of
    /// at least [`Decision::REASON_MIN_CHARS`] characters.
    pub fn parse(
        input: &DecisionInput,
        coverage_limit: Money,
        deductible: Money,
    ) -> Result<Decision, FieldErrors> {
        let kind = DecisionKind::parse("kind", &input.kind)?;
        let reason = || {
            validation::text(
                "reason",
                &input.reason,
                Self::REASON_MIN_CHARS,
                Self::REASON_MAX_CHARS,
                true,
            )
        };
        Ok(match kind {
            DecisionKind::Approve => {
                let Some(amount) = &input.amount else {
                    return Err(FieldError::new("amount", "is required to approve").into());
                };
                let amount = amount.parse("amount", 1)?;
                let amount = check_approved_amount("amount", amount, coverage_limit, deductible)?;
                Decision::Approve { amount }
            }
            DecisionKind::Deny => Decision::Deny { reason: reason()? },
            DecisionKind::RequestInfo => Decision::RequestInfo { reason: reason()? },
        })
    }

    pub fn kind(&self) -> DecisionKind {
        match self {
            Decision::Approve { .. } => DecisionKind::Approve,
            Decision::Deny { .. } => DecisionKind::Deny,
            Decision::RequestInfo { .. } => DecisionKind::RequestInfo,
        }
    }

    /// The workflow step this decision takes; pass it with
    /// [`Decision::reason`] to [`ClaimStatus::apply`].
    pub fn action(&self) -> ClaimAction {
        match self {
            Decision::Approve { .. } => ClaimAction::Approve,
            Decision::Deny { .. } => ClaimAction::Deny,
            Decision::RequestInfo { .. } => ClaimAction::RequestInfo,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Decision::Approve { .. } => None,
            Decision::Deny { reason } | Decision::RequestInfo { reason } => Some(reason),
        }
    }

    pub fn amount(&self) -> Option<Money> {
        match self {
            Decision::Approve { amount } => Some(*amount),
            _ => None,
        }
    }
}

/// The most a claim on this policy can pay: the coverage limit less the
/// deductible, and never below zero.
pub fn max_payable(coverage_limit: Money, deductible: Money) -> Result<Money, MoneyError> {
    let payable = coverage_limit.checked_sub(deductible)?;
    Ok(Money::new(payable.amount.max(0), payable.currency))
}

/// The rule for an approved amount: above zero, in the policy's currency,
/// and at most [`max_payable`]. Errors are on `{field}.amount` or
/// `{field}.currency`.
pub fn check_approved_amount(
    field: &str,
    amount: Money,
    coverage_limit: Money,
    deductible: Money,
) -> Result<Money, FieldError> {
    let amount_field = format!("{field}.amount");
    Money::parse_amount(&amount_field, amount.amount, 1)?;
    if amount.currency != coverage_limit.currency {
        return Err(FieldError::new(
            format!("{field}.currency"),
            format!(
                "must be {} like the policy's coverage",
                coverage_limit.currency
            ),
        ));
    }
    // Mixed currencies here are bad policy data, not the adjuster's input.
    let max = max_payable(coverage_limit, deductible).map_err(|e| e.at(&amount_field))?;
    if amount.amount > max.amount {
        return Err(FieldError::new(
            amount_field,
            format!("must be at most {max} (the coverage limit less the deductible)"),
        ));
    }
    Ok(amount)
}

pub mod search;

#[cfg(test)]
mod tests;
