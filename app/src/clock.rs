//! The calendar as the server sees it, shared by every feature that dates
//! something (a claim's number year, a date-of-birth bound, a policy term).

use shared::dates::Date;

/// Today (UTC).
pub fn today() -> Date {
    Date::from(time::OffsetDateTime::now_utc().date())
}
