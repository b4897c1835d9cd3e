//! Display formatting shared by pages.

/// A stored instant (microseconds since the Unix epoch, UTC) as
/// `YYYY-MM-DD HH:MM UTC`. Pure arithmetic (Howard Hinnant's civil-from-days)
/// so it costs the WASM bundle no date library.
pub fn instant(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rem / 3_600,
        (rem % 3_600) / 60
    )
}

/// [`instant`] for optional values.
pub fn maybe_instant(micros: Option<i64>) -> String {
    micros.map_or_else(|| "never".to_owned(), instant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_render_as_utc_calendar_times() {
        assert_eq!(instant(0), "1970-01-01 00:00 UTC");
        // 2026-11-23 09:30:00 UTC
        assert_eq!(instant(1_795_426_200 * 1_000_000), "2026-11-23 09:30 UTC");
        // 2024-02-29 23:59 UTC (leap day)
        assert_eq!(instant(1_709_251_140 * 1_000_000), "2024-02-29 23:59 UTC");
        assert_eq!(maybe_instant(None), "never");
    }
}
