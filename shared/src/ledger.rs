//! A claim's financials as an append-only ledger: reserve changes, payments
//! and recoveries, each in a bucket (cost type and category). Every figure
//! an adjuster sees is computed from the lines, never stored beside them:
//!
//! * outstanding reserve = reserve changes − payments (a payment erodes the
//!   reserve of its bucket);
//! * incurred = paid + outstanding − recovered.
//!
//! The rules for a new line (a payment within its reserve, the claim's
//! approval and the policy's limit; a recovery within what was paid) are
//! here so the form and the server check the same thing.

use serde::{Deserialize, Serialize};

use crate::macros::str_enum;
use crate::{
    FieldError, FieldErrors,
    money::{Currency, Money, MoneyInput},
    validation,
};

str_enum! {
    /// What a cost is: the loss itself, or the cost of handling it.
    pub enum CostType {
        ClaimCost => "claim_cost", "Claim cost";
        /// Adjusting, legal and other handling costs.
        Expense => "expense", "Expense";
    }
}

str_enum! {
    /// What the money is for.
    pub enum CostCategory {
        Body => "body", "Body damage";
        Property => "property", "Property damage";
        Medical => "medical", "Medical";
        Legal => "legal", "Legal";
        Rental => "rental", "Rental car";
        Towing => "towing", "Towing and storage";
        Other => "other", "Other";
    }
}

str_enum! {
    /// The three kinds of ledger line.
    pub enum EntryKind {
        Reserve => "reserve", "Reserve change";
        Payment => "payment", "Payment";
        Recovery => "recovery", "Recovery";
    }
}

str_enum! {
    /// A final payment closes its bucket: what is left of the reserve is
    /// released.
    pub enum PaymentType {
        Partial => "partial", "Partial";
        Final => "final", "Final";
    }
}

str_enum! {
    pub enum PaymentMethod {
        BankTransfer => "bank_transfer", "Bank transfer";
        Cheque => "cheque", "Cheque";
        Card => "card", "Card";
    }
}

str_enum! {
    /// Money coming back: from the party at fault's insurer (subrogation)
    /// or from selling what remains of the insured property (salvage).
    pub enum RecoveryType {
        Subrogation => "subrogation", "Subrogation";
        Salvage => "salvage", "Salvage";
    }
}

/// Where a line's money sits: a cost type and a category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Bucket {
    pub cost_type: CostType,
    pub category: CostCategory,
}

impl Bucket {
    /// `Claim cost · Body damage`.
    pub fn label(self) -> String {
        format!("{} · {}", self.cost_type.label(), self.category.label())
    }

    /// Parses both halves, reporting each against its own field.
    pub fn parse(cost_type: &str, category: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let cost_type = errors.check(CostType::parse("cost_type", cost_type));
        let category = errors.check(CostCategory::parse("category", category));
        errors.finish(|| {
            Some(Bucket {
                cost_type: cost_type?,
                category: category?,
            })
        })
    }
}

/// One line as the totals need it: its kind, bucket and amount in minor
/// units (a reserve change is signed; payments and recoveries are positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    pub bucket: Bucket,
    pub amount: i64,
}

/// The four figures of a bucket, a cost type or a whole claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub outstanding: Money,
    pub paid: Money,
    pub recovered: Money,
    /// Paid + outstanding − recovered.
    pub incurred: Money,
}

impl Figures {
    fn from_sums(currency: Currency, sums: Sums) -> Self {
        let outstanding = sums.reserved.saturating_sub(sums.paid);
        Self {
            outstanding: Money::new(outstanding, currency),
            paid: Money::new(sums.paid, currency),
            recovered: Money::new(sums.recovered, currency),
            incurred: Money::new(
                sums.paid
                    .saturating_add(outstanding)
                    .saturating_sub(sums.recovered),
                currency,
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    reserved: i64,
    paid: i64,
    recovered: i64,
}

impl Sums {
    fn add(&mut self, entry: &Entry) {
        let slot = match entry.kind {
            EntryKind::Reserve => &mut self.reserved,
            EntryKind::Payment => &mut self.paid,
            EntryKind::Recovery => &mut self.recovered,
        };
        *slot = slot.saturating_add(entry.amount);
    }
}

/// A bucket that has at least one line, with its figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketFigures {
    #[serde(flatten)]
    pub bucket: Bucket,
    #[serde(flatten)]
    pub figures: Figures,
}

/// A claim's financial position, computed from its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Every bucket with a line, in the order of [`CostType::ALL`] then
    /// [`CostCategory::ALL`].
    pub buckets: Vec<BucketFigures>,
    pub claim_cost: Figures,
    pub expense: Figures,
    pub total: Figures,
}

impl Totals {
    pub fn from_entries(currency: Currency, entries: &[Entry]) -> Self {
        let mut buckets = Vec::new();
        let (mut claim_cost, mut expense, mut total) =
            (Sums::default(), Sums::default(), Sums::default());
        for cost_type in CostType::ALL {
            for category in CostCategory::ALL {
                let bucket = Bucket {
                    cost_type,
                    category,
                };
                let mut sums = Sums::default();
                let mut any = false;
                for entry in entries.iter().filter(|e| e.bucket == bucket) {
                    any = true;
                    sums.add(entry);
                    total.add(entry);
                    match cost_type {
                        CostType::ClaimCost => claim_cost.add(entry),
                        CostType::Expense => expense.add(entry),
                    }
                }
                if any {
                    buckets.push(BucketFigures {
                        bucket,
                        figures: Figures::from_sums(currency, sums),
                    });
                }
            }
        }
        Self {
            buckets,
            claim_cost: Figures::from_sums(currency, claim_cost),
            expense: Figures::from_sums(currency, expense),
            total: Figures::from_sums(currency, total),
        }
    }

    /// The figures of one bucket (zero when it has no line).
    pub fn bucket(&self, bucket: Bucket) -> Figures {
        self.buckets
            .iter()
            .find(|b| b.bucket == bucket)
            .map_or_else(
                || Figures::from_sums(self.total.paid.currency, Sums::default()),
                |b| b.figures,
            )
    }
}

/// The most a reserve may be set to in one bucket: far above any real
/// policy, low enough that sums of many lines cannot overflow.
pub const MAX_RESERVE_MINOR: i64 = 1_000_000_000_000_000;

/// An amount as a form (major units, in the policy's currency) or the API
/// (minor units with a currency) submits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AmountInput {
    Major(String),
    Minor(MoneyInput),
}

impl Default for AmountInput {
    fn default() -> Self {
        AmountInput::Major(String::new())
    }
}

impl AmountInput {
    /// The field an amount's errors name: `amount` on the form,
    /// `amount.amount` in the API's `{amount, currency}`.
    pub fn field(&self) -> &'static str {
        match self {
            AmountInput::Major(_) => "amount",
            AmountInput::Minor(_) => "amount.amount",
        }
    }

    /// A rule's error about the amount ([`NewPayment::check`] and the
    /// others name it `amount`), renamed to the field this input came in.
    pub fn rename(&self, mut error: FieldError) -> FieldError {
        if error.field == "amount" {
            error.field = self.field().into();
        }
        error
    }

    /// The amount in `currency` (the policy's), at least `min_allowed`
    /// minor units and at most [`MAX_RESERVE_MINOR`], reported against
    /// `amount` (`amount.amount` and `amount.currency` for the API's form).
    pub fn parse(&self, currency: Currency, min_allowed: i64) -> Result<Money, FieldErrors> {
        let field = self.field();
        let money = match self {
            AmountInput::Major(raw) => Money::parse_major("amount", raw, currency, false)?,
            AmountInput::Minor(input) => {
                let money = input.parse("amount", 0)?;
                if money.currency != currency {
                    return Err(FieldError::new(
                        "amount.currency",
                        format!("must be {currency}, the policy's currency"),
                    )
                    .into());
                }
                money
            }
        };
        if money.amount < min_allowed {
            let rule = if min_allowed > 0 {
                "must be greater than zero"
            } else {
                "must not be negative"
            };
            return Err(FieldError::new(field, rule).into());
        }
        if money.amount > MAX_RESERVE_MINOR {
            return Err(FieldError::new(field, "is too large").into());
        }
        Ok(money)
    }
}

/// The longest reason or reference a line keeps.
pub const REASON_MAX_CHARS: usize = 500;
pub const REFERENCE_MAX_CHARS: usize = 100;

/// A new outstanding reserve for a bucket, as submitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveInput {
    pub cost_type: String,
    pub category: String,
    /// The outstanding reserve the bucket should have from now on.
    pub amount: AmountInput,
    pub reason: String,
}

/// A checked reserve change: the bucket's outstanding reserve becomes
/// `outstanding`, recorded as the difference from what it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReserveChange {
    pub bucket: Bucket,
    pub outstanding: Money,
    pub reason: String,
}

impl ReserveChange {
    pub fn parse(input: &ReserveInput, currency: Currency) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let bucket = errors.check_all(Bucket::parse(&input.cost_type, &input.category));
        let outstanding = errors.check_all(input.amount.parse(currency, 0));
        let reason = errors.check(validation::text(
            "reason",
            &input.reason,
            3,
            REASON_MAX_CHARS,
            true,
        ));
        errors.finish(|| {
            Some(Self {
                bucket: bucket?,
                outstanding: outstanding?,
                reason: reason?,
            })
        })
    }

    /// The signed line that takes the bucket from its current outstanding
    /// reserve to the new one; refused when nothing would change.
    pub fn delta(&self, totals: &Totals) -> Result<i64, FieldError> {
        let current = totals.bucket(self.bucket).outstanding.amount;
        let delta = self.outstanding.amount.saturating_sub(current);
        if delta == 0 {
            return Err(FieldError::new(
                "amount",
                format!(
                    "is already the outstanding reserve on {}",
                    self.bucket.label()
                ),
            ));
        }
        Ok(delta)
    }
}

/// A payment as submitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInput {
    pub cost_type: String,
    pub category: String,
    /// The party of the claim paid.
    pub payee_id: String,
    pub method: String,
    /// `partial` or `final`.
    pub payment_type: String,
    pub amount: AmountInput,
    pub reference: Option<String>,
}

/// A checked payment (the payee's belonging to the claim is checked where
/// the parties are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    pub bucket: Bucket,
    pub payee_id: String,
    pub method: PaymentMethod,
    pub payment_type: PaymentType,
    pub amount: Money,
    pub reference: Option<String>,
}

/// What a payment may not exceed besides its reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentLimits {
    /// The policy's limit less the deductible: every payment together.
    pub max_payable: Money,
    /// The approved amount: claim-cost payments together (none before an
    /// approval).
    pub approved: Option<Money>,
}

impl NewPayment {
    pub fn parse(input: &PaymentInput, currency: Currency) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let bucket = errors.check_all(Bucket::parse(&input.cost_type, &input.category));
        let payee_id = input.payee_id.trim().to_owned();
        if payee_id.is_empty() {
            errors.push("payee_id", "is required: choose a party of the claim");
        }
        let method = errors.check(PaymentMethod::parse("method", &input.method));
        let payment_type = errors.check(PaymentType::parse("payment_type", &input.payment_type));
        let amount = errors.check_all(input.amount.parse(currency, 1));
        let reference = errors.check(validation::optional_text(
            "reference",
            input.reference.as_deref(),
            REFERENCE_MAX_CHARS,
            false,
        ));
        errors.finish(|| {
            Some(Self {
                bucket: bucket?,
                payee_id,
                method: method?,
                payment_type: payment_type?,
                amount: amount?,
                reference: reference?,
            })
        })
    }

    /// Within the bucket's outstanding reserve, the approval (claim costs)
    /// and the policy's limit less deductible, counting earlier payments.
    pub fn check(&self, totals: &Totals, limits: PaymentLimits) -> Result<(), FieldError> {
        let amount = self.amount;
        let outstanding = totals.bucket(self.bucket).outstanding;
        if amount.amount > outstanding.amount {
            return Err(FieldError::new(
                "amount",
                format!(
                    "is more than the outstanding reserve of {outstanding} on {}; raise the reserve first",
                    self.bucket.label()
                ),
            ));
        }
        if self.bucket.cost_type == CostType::ClaimCost {
            let Some(approved) = limits.approved else {
                return Err(FieldError::new(
                    "cost_type",
                    "claim costs can be paid once the claim is approved; expenses can be paid during the review",
                ));
            };
            let after = totals.claim_cost.paid.amount.saturating_add(amount.amount);
            if after > approved.amount {
                return Err(FieldError::new(
                    "amount",
                    format!(
                        "would bring claim-cost payments to {}, over the approved {approved}",
                        Money::new(after, amount.currency)
                    ),
                ));
            }
        }
        let after = totals.total.paid.amount.saturating_add(amount.amount);
        if after > limits.max_payable.amount {
            return Err(FieldError::new(
                "amount",
                format!(
                    "would bring payments to {}, over the {} this policy pays (limit less deductible)",
                    Money::new(after, amount.currency),
                    limits.max_payable
                ),
            ));
        }
        Ok(())
    }
}

/// A recovery as submitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryInput {
    pub cost_type: String,
    pub category: String,
    pub recovery_type: String,
    pub amount: AmountInput,
    /// Who paid it and their reference, as the receipt names them.
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecovery {
    pub bucket: Bucket,
    pub recovery_type: RecoveryType,
    pub amount: Money,
    pub reference: Option<String>,
}

impl NewRecovery {
    pub fn parse(input: &RecoveryInput, currency: Currency) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let bucket = errors.check_all(Bucket::parse(&input.cost_type, &input.category));
        let recovery_type =
            errors.check(RecoveryType::parse("recovery_type", &input.recovery_type));
        let amount = errors.check_all(input.amount.parse(currency, 1));
        let reference = errors.check(validation::optional_text(
            "reference",
            input.reference.as_deref(),
            REFERENCE_MAX_CHARS,
            false,
        ));
        errors.finish(|| {
            Some(Self {
                bucket: bucket?,
                recovery_type: recovery_type?,
                amount: amount?,
                reference: reference?,
            })
        })
    }

    /// No more can come back on a bucket than was paid from it.
    pub fn check(&self, totals: &Totals) -> Result<(), FieldError> {
        let figures = totals.bucket(self.bucket);
        let after = figures.recovered.amount.saturating_add(self.amount.amount);
        if after > figures.paid.amount {
            return Err(FieldError::new(
                "amount",
                format!(
                    "would bring recoveries on {} to {}, more than the {} paid from it",
                    self.bucket.label(),
                    Money::new(after, self.amount.currency),
                    figures.paid
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
