//! Service-level clocks on a claim: the deadlines a regulator or a
//! contract sets for acknowledging a claim and for deciding it, per
//! jurisdiction and line of business, and how much time is left, in words.
//!
//! Both clocks start when the claim is reported. The acknowledge clock stops
//! at the first human touch (an adjuster takes the claim, or decides or asks
//! for information); the decide clock stops at approval or denial. A claim's
//! deadlines are fixed when it is filed, from the rule in force then: an
//! admin's later edit applies to new claims, as a regulation does.

use serde::{Deserialize, Serialize};

use crate::{
    FieldError, FieldErrors,
    macros::str_enum,
    policy::{Jurisdiction, LineOfBusiness},
};

/// The rule of any jurisdiction or any line: `*` in the rules table.
pub const ANY: &str = "*";

/// The fallback rule, seeded as `*`/`*`: acknowledge within 15 days (the
/// NAIC model regulation's figure, which most US states adopt) and decide
/// within 30.
pub const DEFAULT_ACKNOWLEDGE_HOURS: u32 = 15 * 24;
/// See [`DEFAULT_ACKNOWLEDGE_HOURS`].
pub const DEFAULT_DECIDE_HOURS: u32 = 30 * 24;

/// The longest deadline a rule may set: a year.
pub const MAX_HOURS: u32 = 366 * 24;

const MICROS_PER_MINUTE: i64 = 60_000_000;
const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;

str_enum! {
    /// Which deadline.
    pub enum SlaClock {
        Acknowledge => "acknowledge", "Acknowledge";
        Decide => "decide", "Decide";
    }
}

/// A rule as the admin form submits it; an empty or `*` jurisdiction or
/// line means any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SlaRuleInput {
    pub jurisdiction: String,
    pub line: String,
    pub acknowledge_hours: String,
    pub decide_hours: String,
}

/// A checked rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaRule {
    /// `None`: any jurisdiction.
    pub jurisdiction: Option<Jurisdiction>,
    /// `None`: any line.
    pub line: Option<LineOfBusiness>,
    pub acknowledge_hours: u32,
    pub decide_hours: u32,
}

impl SlaRule {
    /// Deadlines of 1 to [`MAX_HOURS`] hours, the decision no sooner than
    /// the acknowledgement.
    pub fn parse(input: &SlaRuleInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let key = errors.check_all(Self::parse_key(&input.jurisdiction, &input.line));
        let hours = |field: &str, raw: &str| {
            raw.trim()
                .parse::<u32>()
                .ok()
                .filter(|h| (1..=MAX_HOURS).contains(h))
                .ok_or_else(|| {
                    FieldError::new(
                        field,
                        format!("must be a whole number of hours from 1 to {MAX_HOURS}"),
                    )
                })
        };
        let acknowledge = errors.check(hours("acknowledge_hours", &input.acknowledge_hours));
        let decide = errors.check(hours("decide_hours", &input.decide_hours));
        if let (Some(acknowledge), Some(decide)) = (acknowledge, decide)
            && decide < acknowledge
        {
            errors.push(
                "decide_hours",
                "must be at least the acknowledge deadline: a claim is acknowledged before it is decided",
            );
        }
        errors.finish(|| {
            let (jurisdiction, line) = key?;
            Some(Self {
                jurisdiction,
                line,
                acknowledge_hours: acknowledge?,
                decide_hours: decide?,
            })
        })
    }

    /// A rule's key: an empty or `*` jurisdiction or line means any.
    pub fn parse_key(
        jurisdiction: &str,
        line: &str,
    ) -> Result<(Option<Jurisdiction>, Option<LineOfBusiness>), FieldErrors> {
        let mut errors = FieldErrors::new();
        let jurisdiction = match jurisdiction.trim() {
            "" | ANY => Some(None),
            raw => errors
                .check(Jurisdiction::parse("jurisdiction", raw))
                .map(Some),
        };
        let line = match line.trim() {
            "" | ANY => Some(None),
            raw => errors.check(LineOfBusiness::parse("line", raw)).map(Some),
        };
        errors.finish(|| Some((jurisdiction?, line?)))
    }

    /// The key as the rules table stores it (`*` for any).
    pub fn key(&self) -> (String, String) {
        stored_key(self.jurisdiction.as_ref(), self.line)
    }
}

/// A rule's key as the rules table stores it (`*` for any).
pub fn stored_key(
    jurisdiction: Option<&Jurisdiction>,
    line: Option<LineOfBusiness>,
) -> (String, String) {
    (
        jurisdiction.map_or(ANY, Jurisdiction::as_str).to_owned(),
        line.map_or(ANY, LineOfBusiness::as_str).to_owned(),
    )
}

/// The deadline a claim is working to now, as read at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub clock: SlaClock,
    /// Microseconds since the epoch.
    pub due_at: i64,
    /// `due_at - now`: negative once breached.
    pub remaining: i64,
}

impl Deadline {
    pub fn new(clock: SlaClock, due_at: i64, now: i64) -> Self {
        Self {
            clock,
            due_at,
            remaining: due_at.saturating_sub(now),
        }
    }

    pub fn breached(&self) -> bool {
        self.remaining < 0
    }

    /// "Acknowledge due in 3 h", "Decide 2 days overdue".
    pub fn describe(&self) -> String {
        format!("{} {}", self.clock.label(), in_words(self.remaining))
    }
}

/// Time left in words, rounded down to what a queue needs: minutes within
/// the hour, hours within two days, then days. "due in 3 h", "2 days
/// overdue", "due now".
pub fn in_words(remaining_micros: i64) -> String {
    let span = remaining_micros.unsigned_abs();
    let minutes = span / MICROS_PER_MINUTE.unsigned_abs();
    let hours = span / MICROS_PER_HOUR.unsigned_abs();
    let amount = if minutes == 0 {
        return "due now".to_owned();
    } else if hours == 0 {
        format!("{minutes} min")
    } else if hours < 48 {
        format!("{hours} h")
    } else {
        let days = hours / 24;
        format!("{days} days")
    };
    if remaining_micros < 0 {
        format!("{amount} overdue")
    } else {
        format!("due in {amount}")
    }
}

/// A deadline in hours as a person says it: "15 days", "36 h".
pub fn hours_in_words(hours: u32) -> String {
    if hours.is_multiple_of(24) {
        match hours / 24 {
            1 => "1 day".to_owned(),
            days => format!("{days} days"),
        }
    } else {
        format!("{hours} h")
    }
}

/// `hours` after `start`, in stored microseconds.
pub fn due_after(start: i64, hours: u32) -> i64 {
    start.saturating_add(i64::from(hours).saturating_mul(MICROS_PER_HOUR))
}

#[cfg(test)]
mod tests;
