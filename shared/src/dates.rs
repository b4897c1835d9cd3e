//! Calendar dates (no time of day, no zone) and date ranges such as a
//! policy's term.
//!
//! Dates travel as ISO-8601 `YYYY-MM-DD` strings, which is also what an HTML
//! `<input type="date">` submits. "Today" is always an argument: this crate
//! never reads a clock, so rules stay testable and the browser and server
//! can agree on one `today` (the server's, in UTC).

use serde::{Deserialize, Serialize};

use crate::validation::{FieldError, FieldErrors};

/// A calendar date, serialized as `YYYY-MM-DD`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Date(time::Date);

impl Date {
    /// Years a submitted date may have. Anything outside is a typo (`0202`,
    /// `20255`) rather than a real policy, birth or incident date, and the
    /// bound keeps date arithmetic far from the calendar's limits.
    pub const MIN_YEAR: i32 = 1900;
    pub const MAX_YEAR: i32 = 2999;

    /// Parses exactly `YYYY-MM-DD` (surrounding spaces allowed) into a real
    /// calendar date in `MIN_YEAR..=MAX_YEAR`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        let shape_ok = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(FieldError::new(field, "must be a date like 2025-01-31"));
        }
        // All digits by now, so the numbers always parse.
        let number = |range: std::ops::Range<usize>| -> u16 {
            text.get(range)
                .and_then(|s| s.parse().ok())
                .unwrap_or_default()
        };
        let (year, month, day) = (number(0..4), number(5..7), number(8..10));
        let year = i32::from(year);
        if !(Self::MIN_YEAR..=Self::MAX_YEAR).contains(&year) {
            return Err(FieldError::new(
                field,
                format!(
                    "must be in a year between {} and {}",
                    Self::MIN_YEAR,
                    Self::MAX_YEAR
                ),
            ));
        }
        let small = |n: u16| u8::try_from(n).unwrap_or(0);
        Self::from_ymd(year, small(month), small(day))
            .ok_or_else(|| FieldError::new(field, "is not a real calendar date"))
    }

    /// A date from its parts; `None` if there is no such day (2025-02-29).
    /// Unlike [`Date::parse`] the year is not bounded: this is for values
    /// the system computed or stored itself.
    pub fn from_ymd(year: i32, month: u8, day: u8) -> Option<Self> {
        let month = time::Month::try_from(month).ok()?;
        time::Date::from_calendar_date(year, month, day)
            .ok()
            .map(Self)
    }

    pub fn year(self) -> i32 {
        self.0.year()
    }

    /// 1 (January) to 12.
    pub fn month(self) -> u8 {
        self.0.month().into()
    }

    pub fn day(self) -> u8 {
        self.0.day()
    }

    pub fn to_time(self) -> time::Date {
        self.0
    }

    /// `days` later (earlier when negative); `None` past the calendar's end.
    pub fn add_days(self, days: i64) -> Option<Self> {
        let julian = i64::from(self.0.to_julian_day()).checked_add(days)?;
        time::Date::from_julian_day(i32::try_from(julian).ok()?)
            .ok()
            .map(Self)
    }

    /// Whole days from `earlier` to `self` (negative if `earlier` is later).
    pub fn days_since(self, earlier: Date) -> i64 {
        i64::from(self.0.to_julian_day()) - i64::from(earlier.0.to_julian_day())
    }

    /// The Monday that starts this date's ISO-8601 week, for weekly reports
    /// and "claims this week" buckets.
    pub fn iso_week_start(self) -> Date {
        let back = i64::from(self.0.weekday().number_days_from_monday());
        // Only fails for a week straddling the calendar's first day.
        self.add_days(-back).unwrap_or(self)
    }

    /// The ISO-8601 week-numbering year and week (1–53). Around New Year
    /// the year can differ from the calendar year: 2024-12-30 is in week 1
    /// of 2025.
    pub fn iso_week(self) -> (i32, u8) {
        let (year, week, _) = self.0.to_iso_week_date();
        (year, week)
    }

    /// The same day `months` calendar months later, or the month's last
    /// day when it is shorter (Jan 31 + 1 month = Feb 28 or 29).
    fn add_months(self, months: i32) -> Option<Self> {
        let index = self.year().checked_mul(12)? + i32::from(self.month()) - 1 + months;
        let (year, month) = (index.div_euclid(12), index.rem_euclid(12) + 1);
        let month = u8::try_from(month).ok()?;
        (1..=self.day())
            .rev()
            .find_map(|day| Self::from_ymd(year, month, day))
    }
}

impl std::fmt::Debug for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Date({self})")
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.year(),
            self.month(),
            self.day()
        )
    }
}

impl From<time::Date> for Date {
    fn from(date: time::Date) -> Self {
        Self(date)
    }
}

impl From<Date> for time::Date {
    fn from(date: Date) -> Self {
        date.0
    }
}

impl TryFrom<String> for Date {
    type Error = FieldError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("date", &value)
    }
}

impl From<Date> for String {
    fn from(date: Date) -> Self {
        date.to_string()
    }
}

/// A span of whole days, both ends included (a policy covers its last day),
/// with `ends_on` strictly after `starts_on`. Serialized as
/// `{ "starts_on": "...", "ends_on": "..." }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawRange")]
pub struct DateRange {
    starts_on: Date,
    ends_on: Date,
}

#[derive(Deserialize)]
struct RawRange {
    starts_on: Date,
    ends_on: Date,
}

impl TryFrom<RawRange> for DateRange {
    type Error = FieldError;

    fn try_from(raw: RawRange) -> Result<Self, Self::Error> {
        Self::new(raw.starts_on, raw.ends_on)
    }
}

impl DateRange {
    /// The error, if any, is on `ends_on`: that is the field to correct.
    pub fn new(starts_on: Date, ends_on: Date) -> Result<Self, FieldError> {
        if ends_on > starts_on {
            Ok(Self { starts_on, ends_on })
        } else {
            Err(FieldError::new("ends_on", "must be after the start date"))
        }
    }

    /// Parses the two submitted dates (fields `starts_on` and `ends_on`).
    pub fn parse(starts_on: &str, ends_on: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let starts_on = errors.check(Date::parse("starts_on", starts_on));
        let ends_on = errors.check(Date::parse("ends_on", ends_on));
        if let (Some(starts_on), Some(ends_on)) = (starts_on, ends_on) {
            return Self::new(starts_on, ends_on).map_err(FieldErrors::from);
        }
        Err(errors)
    }

    pub fn starts_on(&self) -> Date {
        self.starts_on
    }

    pub fn ends_on(&self) -> Date {
        self.ends_on
    }

    /// Whether `date` falls in the range, both ends included.
    pub fn contains(&self, date: Date) -> bool {
        self.starts_on <= date && date <= self.ends_on
    }

    /// Days from `from` to the last day: 0 on the last day itself, negative
    /// once the range is over ("expires in 3 days", "expired 2 days ago").
    pub fn days_until_end(&self, from: Date) -> i64 {
        self.ends_on.days_since(from)
    }

    /// How many days the range covers, both ends counted.
    pub fn len_days(&self) -> i64 {
        self.ends_on.days_since(self.starts_on) + 1
    }

    /// The following term of the same length, starting the day after this
    /// one ends (a renewal).
    ///
    /// Terms of whole calendar months (the usual annual, half-yearly or
    /// monthly policy) renew by months, so 2024-01-01..2024-12-31 (a leap
    /// year, 366 days) renews to 2025-01-01..2025-12-31 rather than running
    /// into 2026. Any other term keeps its length in days.
    pub fn next_term(&self) -> DateRange {
        let start = self.ends_on.add_days(1);
        let by_months = start.and_then(|start| {
            let months = (start.year() - self.starts_on.year()) * 12 + i32::from(start.month())
                - i32::from(self.starts_on.month());
            let whole_months = start.day() == self.starts_on.day()
                && self.starts_on.add_months(months) == Some(start);
            whole_months
                .then(|| start.add_months(months)?.add_days(-1))
                .flatten()
        });
        let by_days = || start?.add_days(self.len_days() - 1);
        match (start, by_months.or_else(by_days)) {
            (Some(starts_on), Some(ends_on)) => DateRange { starts_on, ends_on },
            // Only at the end of the calendar (year 9999), unreachable from
            // parsed dates: keep the current term rather than panic.
            _ => *self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(raw: &str) -> Date {
        Date::parse("date", raw).unwrap()
    }

    fn range(starts_on: &str, ends_on: &str) -> DateRange {
        DateRange::parse(starts_on, ends_on).unwrap()
    }

    #[test]
    fn iso_dates_parse_and_print_the_same() {
        let parsed = date(" 2024-02-29 ");
        assert_eq!((parsed.year(), parsed.month(), parsed.day()), (2024, 2, 29));
        assert_eq!(parsed.to_string(), "2024-02-29");
        assert_eq!(Date::from_ymd(2024, 2, 29), Some(parsed));
        assert_eq!(time::Date::from(parsed).to_string(), "2024-02-29");
    }

    #[test]
    fn dates_outside_the_iso_shape_or_the_calendar_are_rejected() {
        for bad in [
            "2024-2-29",
            "29/02/2024",
            "2024-02-29T00:00",
            "20240229",
            "2024-0a-01",
            "+024-01-01",
            "2024_01_01",
            "２０２４-01-01",
        ] {
            assert_eq!(
                Date::parse("incident_date", bad).unwrap_err(),
                FieldError::new("incident_date", "must be a date like 2025-01-31"),
                "{bad:?}"
            );
        }
        for bad in [
            "2025-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "2024-01-00",
        ] {
            assert_eq!(
                Date::parse("d", bad).unwrap_err().message,
                "is not a real calendar date",
                "{bad:?}"
            );
        }
        assert_eq!(Date::parse("d", "").unwrap_err().message, "is required");
        assert_eq!(
            Date::parse("d", "0202-01-01").unwrap_err().message,
            "must be in a year between 1900 and 2999"
        );
        assert!(Date::parse("d", "3000-01-01").is_err());
    }

    #[test]
    fn dates_serialize_as_iso_strings() {
        let json = serde_json::to_string(&date("2025-01-05")).unwrap();
        assert_eq!(json, r#""2025-01-05""#);
        assert_eq!(
            serde_json::from_str::<Date>(&json).unwrap(),
            date("2025-01-05")
        );
        assert!(serde_json::from_str::<Date>(r#""2025-02-30""#).is_err());
    }

    #[test]
    fn day_arithmetic_crosses_months_and_years() {
        assert_eq!(date("2024-12-31").add_days(1), Some(date("2025-01-01")));
        assert_eq!(date("2024-03-01").add_days(-1), Some(date("2024-02-29")));
        assert_eq!(date("2025-01-01").days_since(date("2024-01-01")), 366);
        assert_eq!(date("2024-01-01").days_since(date("2025-01-01")), -366);
    }

    #[test]
    fn iso_weeks_start_on_monday_and_can_belong_to_the_next_year() {
        // 2025-01-01 is a Wednesday.
        assert_eq!(date("2025-01-01").iso_week_start(), date("2024-12-30"));
        assert_eq!(date("2024-12-30").iso_week_start(), date("2024-12-30"));
        assert_eq!(date("2025-01-05").iso_week_start(), date("2024-12-30"));
        assert_eq!(date("2025-01-06").iso_week_start(), date("2025-01-06"));
        assert_eq!(date("2024-12-30").iso_week(), (2025, 1));
        assert_eq!(date("2021-01-03").iso_week(), (2020, 53));
        assert_eq!(date("2025-06-18").iso_week(), (2025, 25));
    }

    #[test]
    fn ranges_must_end_after_they_start_and_blame_ends_on() {
        let same_day = DateRange::parse("2025-01-01", "2025-01-01").unwrap_err();
        assert_eq!(
            same_day.for_field("ends_on"),
            Some("must be after the start date")
        );
        assert!(DateRange::parse("2025-01-02", "2025-01-01").is_err());
        let both = DateRange::parse("soon", "").unwrap_err();
        assert!(both.for_field("starts_on").is_some());
        assert!(both.for_field("ends_on").is_some());
        let valid = range("2025-01-01", "2025-12-31");
        assert_eq!(valid.starts_on(), date("2025-01-01"));
        assert_eq!(valid.ends_on(), date("2025-12-31"));
    }

    #[test]
    fn ranges_serialize_as_two_dates_and_refuse_backwards_json() {
        let json = serde_json::to_value(range("2025-01-01", "2025-12-31")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "starts_on": "2025-01-01", "ends_on": "2025-12-31" })
        );
        let backwards = r#"{"starts_on":"2025-02-01","ends_on":"2025-01-01"}"#;
        assert!(serde_json::from_str::<DateRange>(backwards).is_err());
    }

    #[test]
    fn ranges_include_both_ends_and_count_days_to_the_end() {
        let term = range("2025-01-01", "2025-12-31");
        assert!(term.contains(date("2025-01-01")));
        assert!(term.contains(date("2025-12-31")));
        assert!(!term.contains(date("2024-12-31")));
        assert!(!term.contains(date("2026-01-01")));
        assert_eq!(term.days_until_end(date("2025-12-28")), 3);
        assert_eq!(term.days_until_end(date("2025-12-31")), 0);
        assert_eq!(term.days_until_end(date("2026-01-02")), -2);
        assert_eq!(term.len_days(), 365);
    }

    #[test]
    fn whole_month_terms_renew_by_calendar_months() {
        let leap_year = range("2024-01-01", "2024-12-31");
        assert_eq!(leap_year.next_term(), range("2025-01-01", "2025-12-31"));
        let into_leap_february = range("2023-03-01", "2024-02-29");
        assert_eq!(
            into_leap_february.next_term(),
            range("2024-03-01", "2025-02-28")
        );
        let half_year = range("2025-07-15", "2026-01-14");
        assert_eq!(half_year.next_term(), range("2026-01-15", "2026-07-14"));
        let month = range("2025-01-31", "2025-02-28");
        // Not whole months (31st to 28th), so it keeps its 29 days.
        assert_eq!(month.next_term(), range("2025-03-01", "2025-03-29"));
    }

    #[test]
    fn other_terms_renew_with_the_same_number_of_days() {
        let ten_days = range("2025-01-01", "2025-01-10");
        let next = ten_days.next_term();
        assert_eq!(next, range("2025-01-11", "2025-01-20"));
        assert_eq!(next.len_days(), ten_days.len_days());
    }
}
