//! Authority limits: how much a member of staff may reserve on one bucket
//! and pay (or approve) at once without a second pair of eyes, per
//! currency, since 25,000.00 USD is not 25,000 JPY. A limit is set for a
//! role and may be overridden for one user; a currency with no limit gives
//! no authority at all (everything in it goes to a supervisor), except to
//! administrators, who are the supervisors.

use serde::{Deserialize, Serialize};

use crate::{
    FieldError, FieldErrors,
    auth::Role,
    macros::str_enum,
    money::{Currency, Money},
};

str_enum! {
    /// Who a limit is for.
    pub enum SubjectKind {
        Role => "role", "Role";
        /// One user, overriding their role's limit in that currency.
        User => "user", "User";
    }
}

/// A caller's authority in one currency. `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authority {
    pub currency: Currency,
    /// The most a bucket's outstanding reserve may be set to.
    pub reserve: Option<Money>,
    /// The largest single payment, and the largest approved amount.
    pub payment: Option<Money>,
}

impl Authority {
    /// What `role` has in `currency` when no limit is configured.
    pub fn default_for(role: Role, currency: Currency) -> Self {
        let limit = (role != Role::Admin).then_some(Money::new(0, currency));
        Self {
            currency,
            reserve: limit,
            payment: limit,
        }
    }

    /// Whether setting a bucket's outstanding reserve to `outstanding` is
    /// within this authority.
    pub fn covers_reserve(&self, outstanding: Money) -> bool {
        covers(self.reserve, outstanding)
    }

    /// Whether a payment (or an approval) of `amount` is within it.
    pub fn covers_payment(&self, amount: Money) -> bool {
        covers(self.payment, amount)
    }

    /// "reserves up to USD 25,000.00, payments up to USD 10,000.00", as
    /// the forms show it before anything is submitted.
    pub fn describe(&self) -> String {
        let limit = |limit: Option<Money>| {
            limit.map_or_else(|| "without limit".to_owned(), |m| format!("up to {m}"))
        };
        format!(
            "reserves {}, payments {}",
            limit(self.reserve),
            limit(self.payment)
        )
    }
}

fn covers(limit: Option<Money>, amount: Money) -> bool {
    limit.is_none_or(|limit| limit.currency == amount.currency && amount.amount <= limit.amount)
}

/// A limit as the admin form or the API submits it: amounts in major
/// units of `currency`, empty for "no limit".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitInput {
    pub subject_kind: String,
    /// A role's name, or a user's id.
    pub subject: String,
    pub currency: String,
    pub reserve: String,
    pub payment: String,
}

/// A checked limit (whether a user id names a user is checked where the
/// users are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLimit {
    pub subject_kind: SubjectKind,
    pub subject: String,
    pub authority: Authority,
}

impl NewLimit {
    pub fn parse(input: &LimitInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let kind = errors.check(SubjectKind::parse("subject_kind", &input.subject_kind));
        let subject = match kind {
            Some(SubjectKind::Role) => errors.check(
                Role::parse_staff("subject", &input.subject).and_then(|role| {
                    if role.permits(crate::auth::Permission::ClaimsDecide) {
                        Ok(role.as_str().to_owned())
                    } else {
                        Err(FieldError::new(
                            "subject",
                            "must be a role that decides claims (admin or adjuster)",
                        ))
                    }
                }),
            ),
            Some(SubjectKind::User) => {
                let id = input.subject.trim();
                if id.is_empty() {
                    errors.push("subject", "is required: the user's id");
                    None
                } else {
                    Some(id.to_owned())
                }
            }
            None => None,
        };
        let currency = errors.check(Currency::parse("currency", &input.currency));
        let amount = |errors: &mut FieldErrors, field: &str, raw: &str| {
            let currency = currency?;
            if raw.trim().is_empty() {
                return Some(None);
            }
            errors
                .check(Money::parse_major(field, raw, currency, false))
                .map(Some)
        };
        let reserve = amount(&mut errors, "reserve", &input.reserve);
        let payment = amount(&mut errors, "payment", &input.payment);
        errors.finish(|| {
            Some(Self {
                subject_kind: kind?,
                subject: subject?,
                authority: Authority {
                    currency: currency?,
                    reserve: reserve?,
                    payment: payment?,
                },
            })
        })
    }
}

#[cfg(test)]
mod tests;
