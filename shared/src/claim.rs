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
    /// Steps staff take with a button: not triage (the pipeline's) and not
    /// the three decisions (they have their own form and rules).
    pub fn is_manual(self) -> bool {
        !matches!(
            self,
            ClaimAction::Triage
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

impl Priority {
    /// The service-level target: hours from triage to a first review.
    pub fn sla_hours(self) -> u32 {
        match self {
            Priority::Urgent => 24,
            Priority::Standard => 72,
            Priority::Low => 168,
        }
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_readme_draws_the_workflow_the_state_machine_defines() {
        let readme = include_str!("../../README.md");
        let diagram = ClaimStatus::diagram();
        assert!(
            readme.contains(&diagram),
            "update the README's claim workflow diagram to:\n{diagram}"
        );
    }

    use super::*;
    use ClaimAction as A;
    use ClaimStatus as S;

    fn usd(amount: i64) -> Money {
        Money::new(amount, Currency::USD)
    }

    fn usd_input(amount: i64) -> MoneyInput {
        MoneyInput::from(usd(amount))
    }

    fn date(raw: &str) -> Date {
        Date::parse("date", raw).unwrap()
    }

    #[test]
    fn claim_numbers_parse_normalize_and_format() {
        let number = ClaimNumber::parse("claim_number", "clm-2025-000042").unwrap();
        assert_eq!(number.as_str(), "CLM-2025-000042");
        assert_eq!((number.year(), number.sequence()), (2025, 42));
        assert_eq!(ClaimNumber::format(2025, 42), Some(number));
    }

    #[test]
    fn claim_numbers_outside_the_pattern_are_rejected() {
        for bad in [
            "",
            "CLM-2025-42",
            "POL-2025-000042",
            "CLM-2025-000042 x",
            "CLM 2025 000042",
        ] {
            assert_eq!(
                ClaimNumber::parse("claim_number", bad),
                Err(FieldError::new(
                    "claim_number",
                    "must look like CLM-2025-000123"
                )),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_claim_workflow_allows_exactly_the_documented_moves() {
        let legal = [
            (S::Submitted, A::Triage, S::Triaged),
            (S::Triaged, A::StartReview, S::InReview),
            (S::InReview, A::Approve, S::Approved),
            (S::InReview, A::Deny, S::Denied),
            (S::InReview, A::RequestInfo, S::InfoRequested),
            (S::InfoRequested, A::ProvideInfo, S::InReview),
            (S::Approved, A::Pay, S::Paid),
            (S::Paid, A::Close, S::Closed),
            (S::Denied, A::Close, S::Closed),
            (S::Closed, A::Reopen, S::InReview),
            (S::Denied, A::Reopen, S::InReview),
        ];
        for status in ClaimStatus::ALL {
            for action in ClaimAction::ALL {
                let expected = legal
                    .iter()
                    .find(|(from, via, _)| *from == status && *via == action)
                    .map(|(_, _, to)| *to);
                let result = status.apply(action, Some("the claimant sent receipts"));
                assert_eq!(result.ok(), expected, "{status:?} {action:?}");
            }
        }
        assert_eq!(ClaimStatus::INITIAL, S::Submitted);
    }

    #[test]
    fn reopening_denying_and_requesting_info_need_a_non_blank_reason() {
        for (status, action) in [
            (S::Closed, A::Reopen),
            (S::InReview, A::Deny),
            (S::InReview, A::RequestInfo),
        ] {
            for reason in [None, Some(""), Some("   ")] {
                assert_eq!(
                    status.apply(action, reason),
                    Err(TransitionError::ReasonRequired {
                        action: action.as_str()
                    })
                );
            }
        }
        assert_eq!(
            S::Closed.apply(A::Reopen, Some("new evidence")),
            Ok(S::InReview)
        );
        assert_eq!(S::Approved.apply(A::Pay, None), Ok(S::Paid));
        // Legality is checked first: a reason cannot make an illegal move legal.
        assert!(matches!(
            S::Submitted.apply(A::Reopen, None),
            Err(TransitionError::NotAllowed { .. })
        ));
    }

    #[test]
    fn refused_claim_moves_say_why_in_words() {
        assert_eq!(
            S::Submitted
                .apply(A::Approve, None)
                .unwrap_err()
                .to_string(),
            "cannot approve: only possible when the claim is in review; it is submitted"
        );
        assert_eq!(
            S::InReview.apply(A::Close, None).unwrap_err().to_string(),
            "cannot close: only possible when the claim is paid or denied; it is in review"
        );
        assert_eq!(
            S::InReview
                .apply(A::ProvideInfo, None)
                .unwrap_err()
                .to_string(),
            "cannot provide info: only possible when the claim is waiting for information; \
             it is in review"
        );
    }

    #[test]
    fn available_and_blocked_claim_actions_partition_all_actions() {
        assert_eq!(S::Submitted.available_actions(), vec![A::Triage]);
        assert_eq!(
            S::InReview.available_actions(),
            vec![A::Approve, A::Deny, A::RequestInfo]
        );
        assert_eq!(S::Denied.available_actions(), vec![A::Close, A::Reopen]);
        assert_eq!(S::Closed.available_actions(), vec![A::Reopen]);
        for status in ClaimStatus::ALL {
            assert!(
                !status.available_actions().is_empty(),
                "{status:?} is a dead end"
            );
            let blocked = status.blocked_actions();
            assert_eq!(
                blocked.len() + status.available_actions().len(),
                ClaimAction::ALL.len()
            );
        }
        let pay = S::InReview
            .blocked_actions()
            .into_iter()
            .find(|b| b.action == A::Pay)
            .unwrap();
        assert_eq!(
            pay.reason,
            "only possible when the claim is approved; it is in review"
        );
        let json = serde_json::to_value(&pay).unwrap();
        assert_eq!(json["action"], "pay");
    }

    #[test]
    fn claim_enums_use_snake_case_names_and_human_labels() {
        assert_eq!(
            serde_json::to_string(&S::InfoRequested).unwrap(),
            r#""info_requested""#
        );
        assert_eq!(S::InReview.label(), "In review");
        assert_eq!(A::StartReview.as_str(), "start_review");
        assert_eq!(A::RequestInfo.label(), "Request information");
        for status in ClaimStatus::ALL {
            assert_eq!(ClaimStatus::parse("status", status.as_str()), Ok(status));
        }
        assert!(ClaimStatus::parse("status", "In review").is_err());
        assert!(A::Reopen.requires_reason() && !A::Approve.requires_reason());
    }

    #[test]
    fn urgent_claims_sort_first_and_have_the_shortest_sla() {
        let mut queue = vec![Priority::Low, Priority::Urgent, Priority::Standard];
        queue.sort();
        assert_eq!(
            queue,
            vec![Priority::Urgent, Priority::Standard, Priority::Low]
        );
        assert_eq!(Priority::ALL.map(Priority::sla_hours), [24, 72, 168]);
        assert_eq!(Priority::parse("priority", "urgent"), Ok(Priority::Urgent));
        assert_eq!(
            Priority::parse("priority", "high").unwrap_err().message,
            "must be one of urgent, standard, low"
        );
    }

    fn line(code: &str, amount: MoneyInput) -> ClaimLineInput {
        ClaimLineInput {
            code: code.into(),
            description: None,
            amount,
        }
    }

    #[test]
    fn claim_lines_upper_case_their_code_and_need_a_positive_amount() {
        let parsed = ClaimLine::parse(
            "lines[0]",
            &ClaimLineInput {
                code: " water_damage-2 ".into(),
                description: Some(" Kitchen floor ".into()),
                amount: usd_input(45_000),
            },
        )
        .unwrap();
        assert_eq!(parsed.code(), "WATER_DAMAGE-2");
        assert_eq!(parsed.description(), Some("Kitchen floor"));
        assert_eq!(parsed.amount(), usd(45_000));

        let errors = ClaimLine::parse("lines[3]", &line("", usd_input(0))).unwrap_err();
        assert_eq!(errors.for_field("lines[3].code"), Some("is required"));
        assert_eq!(
            errors.for_field("lines[3].amount.amount"),
            Some("must be greater than zero")
        );
        let too_long = "X".repeat(33);
        for bad in ["WATER DAMAGE", "Ü", "A.B", too_long.as_str()] {
            let errors = ClaimLine::parse("lines[0]", &line(bad, usd_input(1))).unwrap_err();
            assert_eq!(
                errors.for_field("lines[0].code"),
                Some("must be 1 to 32 letters, digits, dashes or underscores"),
                "{bad:?}"
            );
        }
        assert!(ClaimLine::parse("lines[0]", &line(&"X".repeat(32), usd_input(1))).is_ok());
        let long = ClaimLineInput {
            description: Some("d".repeat(501)),
            ..line("GLASS", usd_input(1))
        };
        assert!(ClaimLine::parse("lines[0]", &long).is_err());
    }

    #[test]
    fn claim_totals_add_up_lines_of_one_currency_only() {
        let a = ClaimLine::parse("l", &line("A", usd_input(100))).unwrap();
        let b = ClaimLine::parse("l", &line("B", usd_input(250))).unwrap();
        let eur = ClaimLine::parse(
            "l",
            &line(
                "C",
                MoneyInput {
                    amount: 1,
                    currency: "EUR".into(),
                },
            ),
        )
        .unwrap();
        assert_eq!(claim_total(&[a.clone(), b]), Ok(usd(350)));
        assert!(matches!(
            claim_total(&[a, eur]),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
        assert_eq!(claim_total(&[]), Err(MoneyError::Empty));
    }

    fn valid_claim() -> NewClaimInput {
        NewClaimInput {
            policy_number: "POL-2025-000123".into(),
            incident_date: "2025-03-14".into(),
            description: "Burst pipe flooded the kitchen.\nPlumber's report attached.".into(),
            claimant: None,
            lines: vec![
                line("WATER_DAMAGE", usd_input(45_000)),
                line("PLUMBER", usd_input(5_000)),
            ],
        }
    }

    const TODAY: &str = "2025-03-20";

    #[test]
    fn a_valid_new_claim_parses_with_its_total() {
        let claim = NewClaim::parse(&valid_claim(), date(TODAY)).unwrap();
        assert_eq!(claim.policy_number.as_str(), "POL-2025-000123");
        assert_eq!(claim.incident_date, date("2025-03-14"));
        assert_eq!(claim.lines.len(), 2);
        assert_eq!(claim.total, usd(50_000));
        assert!(claim.claimant.is_none());
        let today_is_fine = NewClaimInput {
            incident_date: TODAY.into(),
            ..valid_claim()
        };
        assert!(NewClaim::parse(&today_is_fine, date(TODAY)).is_ok());
    }

    #[test]
    fn new_claims_report_every_broken_rule_with_positional_line_names() {
        let errors = NewClaim::parse(&NewClaimInput::default(), date(TODAY)).unwrap_err();
        assert_eq!(
            errors.for_field("policy_number"),
            Some("must look like POL-2025-000123")
        );
        assert_eq!(errors.for_field("incident_date"), Some("is required"));
        assert_eq!(errors.for_field("description"), Some("is required"));
        assert_eq!(
            errors.for_field("lines"),
            Some("must have at least one line")
        );

        let input = NewClaimInput {
            incident_date: "2025-03-21".into(),
            description: "x".repeat(2001),
            lines: vec![
                line("OK", usd_input(1)),
                line("BAD CODE", usd_input(-5)),
                line(
                    "EURO",
                    MoneyInput {
                        amount: 1,
                        currency: "EUR".into(),
                    },
                ),
            ],
            ..valid_claim()
        };
        let errors = NewClaim::parse(&input, date(TODAY)).unwrap_err();
        assert_eq!(
            errors.for_field("incident_date"),
            Some("must not be in the future")
        );
        assert_eq!(
            errors.for_field("description"),
            Some("must be at most 2000 characters")
        );
        assert!(errors.for_field("lines[1].code").is_some());
        assert_eq!(
            errors.for_field("lines[1].amount.amount"),
            Some("must be greater than zero")
        );
        assert_eq!(
            errors.for_field("lines[2].amount.currency"),
            Some("must be USD like the other lines")
        );
        assert_eq!(errors.for_field("lines[0].code"), None);
    }

    #[test]
    fn new_claims_hold_at_most_one_hundred_lines() {
        let lines = |n| vec![line("ITEM", usd_input(1)); n];
        let hundred = NewClaimInput {
            lines: lines(100),
            ..valid_claim()
        };
        assert_eq!(
            NewClaim::parse(&hundred, date(TODAY)).unwrap().total,
            usd(100)
        );
        let too_many = NewClaimInput {
            lines: lines(101),
            ..valid_claim()
        };
        let errors = NewClaim::parse(&too_many, date(TODAY)).unwrap_err();
        assert_eq!(
            errors.0,
            vec![FieldError::new("lines", "must have at most 100 lines")]
        );
    }

    #[test]
    fn a_claim_total_too_large_to_count_is_reported_on_lines() {
        let input = NewClaimInput {
            lines: vec![line("A", usd_input(i64::MAX)), line("B", usd_input(1))],
            ..valid_claim()
        };
        let errors = NewClaim::parse(&input, date(TODAY)).unwrap_err();
        assert_eq!(errors.for_field("lines"), Some("is too large"));
    }

    #[test]
    fn claimants_are_optional_but_validated_and_masked_in_debug_output() {
        let input = NewClaimInput {
            claimant: Some(ClaimantInput {
                name: "Jane Doe".into(),
                email: Some("jane@example.com".into()),
                phone: Some("  ".into()),
            }),
            ..valid_claim()
        };
        let claim = NewClaim::parse(&input, date(TODAY)).unwrap();
        let claimant = claim.claimant.as_ref().unwrap();
        assert_eq!(claimant.name.as_str(), "Jane Doe");
        assert_eq!(claimant.phone, None);
        let debug = format!("{claim:?} {input:?}");
        assert!(
            !debug.contains("Jane Doe") && !debug.contains("jane@"),
            "{debug}"
        );

        let bad = NewClaimInput {
            claimant: Some(ClaimantInput {
                name: String::new(),
                email: Some("jane".into()),
                phone: Some("12".into()),
            }),
            ..valid_claim()
        };
        let errors = NewClaim::parse(&bad, date(TODAY)).unwrap_err();
        for field in ["claimant.name", "claimant.email", "claimant.phone"] {
            assert!(errors.for_field(field).is_some(), "{field}");
        }
    }

    #[test]
    fn new_claims_deserialize_from_the_api_shape() {
        let json = r#"{
            "policy_number": "POL-2025-000123",
            "incident_date": "2025-03-14",
            "description": "Hail",
            "lines": [{ "code": "ROOF", "amount": { "amount": 120000, "currency": "USD" } }]
        }"#;
        let input: NewClaimInput = serde_json::from_str(json).unwrap();
        let claim = NewClaim::parse(&input, date(TODAY)).unwrap();
        assert_eq!(claim.total, usd(120_000));
    }

    fn decide(
        kind: &str,
        amount: Option<MoneyInput>,
        reason: &str,
    ) -> Result<Decision, FieldErrors> {
        let input = DecisionInput {
            kind: kind.into(),
            amount,
            reason: reason.into(),
        };
        // Limit 10,000.00 less a 1,000.00 deductible: at most 9,000.00.
        Decision::parse(&input, usd(1_000_000), usd(100_000))
    }

    #[test]
    fn approvals_must_be_positive_and_within_the_limit_less_the_deductible() {
        let approved = decide("approve", Some(usd_input(900_000)), "").unwrap();
        assert_eq!(
            approved,
            Decision::Approve {
                amount: usd(900_000)
            }
        );
        assert_eq!(approved.action(), A::Approve);
        assert_eq!(approved.amount(), Some(usd(900_000)));
        assert_eq!(
            serde_json::to_value(&approved).unwrap(),
            serde_json::json!({ "kind": "approve", "amount": { "amount": 900_000, "currency": "USD" } })
        );

        let message = |amount: Option<MoneyInput>, field: &str| {
            decide("approve", amount, "")
                .unwrap_err()
                .for_field(field)
                .map(str::to_owned)
        };
        assert_eq!(
            message(Some(usd_input(900_001)), "amount.amount").as_deref(),
            Some("must be at most USD 9,000.00 (the coverage limit less the deductible)")
        );
        assert_eq!(
            message(Some(usd_input(0)), "amount.amount").as_deref(),
            Some("must be greater than zero")
        );
        assert_eq!(
            message(
                Some(MoneyInput {
                    amount: 5,
                    currency: "EUR".into()
                }),
                "amount.currency"
            )
            .as_deref(),
            Some("must be USD like the policy's coverage")
        );
        assert_eq!(
            message(None, "amount").as_deref(),
            Some("is required to approve")
        );
    }

    #[test]
    fn nothing_is_payable_when_the_deductible_reaches_the_limit() {
        assert_eq!(max_payable(usd(100), usd(150)), Ok(usd(0)));
        assert_eq!(max_payable(usd(150), usd(100)), Ok(usd(50)));
        assert_eq!(
            check_approved_amount("amount", usd(1), usd(100), usd(100))
                .unwrap_err()
                .message,
            "must be at most USD 0.00 (the coverage limit less the deductible)"
        );
        let mixed = check_approved_amount("amount", usd(1), usd(100), Money::new(1, Currency::EUR));
        assert_eq!(mixed.unwrap_err().field, "amount.amount");
    }

    #[test]
    fn denials_and_information_requests_need_a_reason_of_ten_characters() {
        let denied = decide("deny", None, "  Not covered: flood excluded  ").unwrap();
        assert_eq!(denied.reason(), Some("Not covered: flood excluded"));
        assert_eq!(denied.action(), A::Deny);
        assert_eq!(denied.kind(), DecisionKind::Deny);
        let asked = decide("request_info", None, "Need receipts").unwrap();
        assert_eq!(asked.action(), A::RequestInfo);
        assert_eq!(
            S::InReview.apply(asked.action(), asked.reason()),
            Ok(S::InfoRequested)
        );

        for kind in ["deny", "request_info"] {
            assert_eq!(
                decide(kind, None, "no").unwrap_err().for_field("reason"),
                Some("must be at least 10 characters")
            );
            assert_eq!(
                decide(kind, None, "").unwrap_err().for_field("reason"),
                Some("is required")
            );
        }
        assert_eq!(
            decide("deny", None, &"x".repeat(10)).map(|d| d.kind()),
            Ok(DecisionKind::Deny)
        );
        assert_eq!(
            decide("maybe", None, "").unwrap_err().for_field("kind"),
            Some("must be one of approve, deny, request_info")
        );
    }
}
