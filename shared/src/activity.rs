//! Activities on a claim: the diary of work to do ("call the claimant",
//! "get a repair estimate"), each with an owner, a due date, a priority and
//! its completion. A claim with open activities cannot close.

use serde::{Deserialize, Serialize};

use crate::{FieldErrors, claim::Priority, dates::Date, validation};

/// The longest activity subject.
pub const SUBJECT_MAX_CHARS: usize = 200;

/// The furthest ahead an activity may be due: a diary, not a calendar.
pub const MAX_DAYS_AHEAD: i64 = 366;

/// An activity as the form or the API submits it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActivityInput {
    pub subject: String,
    /// `YYYY-MM-DD`.
    pub due_on: String,
    /// `urgent`, `standard` or `low`; empty is standard.
    pub priority: String,
    /// The user who owns it; empty is the caller.
    pub owner_id: Option<String>,
}

/// A checked activity (the owner's existence is checked where the users
/// are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewActivity {
    pub subject: String,
    pub due_on: Date,
    pub priority: Priority,
    pub owner_id: Option<String>,
}

impl NewActivity {
    /// Due today or later, within [`MAX_DAYS_AHEAD`] of `today`.
    pub fn parse(input: &ActivityInput, today: Date) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let subject = errors.check(validation::text(
            "subject",
            &input.subject,
            3,
            SUBJECT_MAX_CHARS,
            false,
        ));
        let due_on = errors.check(Date::parse("due_on", &input.due_on).and_then(|due| {
            let ahead = due.days_since(today);
            if ahead < 0 {
                Err(crate::FieldError::new("due_on", "must be today or later"))
            } else if ahead > MAX_DAYS_AHEAD {
                Err(crate::FieldError::new(
                    "due_on",
                    "must be within a year from today",
                ))
            } else {
                Ok(due)
            }
        }));
        let priority = match input.priority.trim() {
            "" => Some(Priority::Standard),
            raw => errors.check(Priority::parse("priority", raw)),
        };
        let owner_id = input
            .owner_id
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_owned);
        errors.finish(|| {
            Some(Self {
                subject: subject?,
                due_on: due_on?,
                priority: priority?,
                owner_id,
            })
        })
    }
}

/// "due in 3 days", "due today", "2 days overdue": how lists say it.
pub fn due_in_words(due_on: Date, today: Date) -> String {
    match due_on.days_since(today) {
        0 => "due today".to_owned(),
        1 => "due tomorrow".to_owned(),
        -1 => "1 day overdue".to_owned(),
        days if days > 1 => format!("due in {days} days"),
        days => format!("{} days overdue", -days),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(raw: &str) -> Date {
        Date::parse("d", raw).unwrap()
    }

    #[test]
    fn an_activity_is_due_from_today_to_a_year_ahead_and_names_each_broken_rule() {
        let today = day("2026-12-04");
        let input = |due: &str| ActivityInput {
            subject: "Call the claimant".into(),
            due_on: due.into(),
            ..ActivityInput::default()
        };
        let ok = NewActivity::parse(&input("2026-12-04"), today).unwrap();
        assert_eq!(ok.priority, Priority::Standard, "empty is standard");
        assert_eq!(ok.owner_id, None);
        let past = NewActivity::parse(&input("2026-12-03"), today).unwrap_err();
        assert_eq!(past.for_field("due_on"), Some("must be today or later"));
        assert!(NewActivity::parse(&input("2027-12-06"), today).is_err());
        let bad = NewActivity::parse(
            &ActivityInput {
                subject: "x".into(),
                due_on: "soon".into(),
                priority: "asap".into(),
                owner_id: Some("  ".into()),
            },
            today,
        )
        .unwrap_err();
        for field in ["subject", "due_on", "priority"] {
            assert!(bad.for_field(field).is_some(), "{field}");
        }
    }

    #[test]
    fn due_dates_read_in_words() {
        let today = day("2026-12-04");
        assert_eq!(due_in_words(today, today), "due today");
        assert_eq!(due_in_words(day("2026-12-05"), today), "due tomorrow");
        assert_eq!(due_in_words(day("2026-12-07"), today), "due in 3 days");
        assert_eq!(due_in_words(day("2026-12-03"), today), "1 day overdue");
        assert_eq!(due_in_words(day("2026-12-02"), today), "2 days overdue");
    }
}
