//! The calendar as the server sees it, shared by every feature that dates
//! something (a claim's number year, a date-of-birth bound, a policy term).

use shared::dates::Date;

/// Today (UTC).
pub fn today() -> Date {
    Date::from(time::OffsetDateTime::now_utc().date())
}

/// The system's time in stored microseconds since the Unix epoch, UTC
/// (what [`crate::db::now_micros`] answers).
#[cfg(feature = "ssr")]
pub fn system_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// The time the SLA clocks read, injectable so tests move it instead of
/// sleeping: the system's time plus an offset that only tests change
/// ([`Clock::advance`]). Clones share the offset, so advancing the clock
/// of a test's state moves every handler's.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_micros: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

#[cfg(feature = "ssr")]
impl Clock {
    /// Now, in stored microseconds ([`system_micros`] plus the offset).
    pub fn now_micros(&self) -> i64 {
        system_micros().saturating_add(
            self.offset_micros
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Moves this clock (and every clone of it) `by` into the future.
    pub fn advance(&self, by: std::time::Duration) {
        let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
        self.offset_micros
            .fetch_add(micros, std::sync::atomic::Ordering::Relaxed);
    }
}
