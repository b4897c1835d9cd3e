//! Latency samples and what the report says about them.

use std::time::Duration;

/// What one load phase measured.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Requests (or transactions) completed inside the measured window.
    pub count: usize,
    /// The measured window.
    pub window: Duration,
    /// Latencies, sorted ascending.
    sorted: Vec<Duration>,
    /// Requests that failed (open loops only; a closed loop stops at the
    /// first), and the first one's error.
    pub failed: usize,
    pub first_failure: Option<String>,
}

impl Summary {
    pub fn new(mut latencies: Vec<Duration>, window: Duration) -> Self {
        latencies.sort_unstable();
        Self {
            count: latencies.len(),
            window,
            sorted: latencies,
            failed: 0,
            first_failure: None,
        }
    }

    /// Completions per second over the window.
    pub fn rate(&self) -> f64 {
        let seconds = self.window.as_secs_f64();
        if seconds > 0.0 {
            self.count as f64 / seconds
        } else {
            0.0
        }
    }

    /// The nearest-rank percentile (`p` in 0..=100); zero without samples.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.sorted.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.sorted.len()) - 1;
        self.sorted.get(index).copied().unwrap_or_default()
    }

    pub fn p50(&self) -> Duration {
        self.percentile(50.0)
    }

    pub fn p99(&self) -> Duration {
        self.percentile(99.0)
    }

    /// `812 req/s · p50 12.3 ms · p99 40.1 ms` (and ` · 3 failed`).
    pub fn describe(&self, unit: &str) -> String {
        format!(
            "{:.0} {unit}/s · p50 {} · p99 {}{}",
            self.rate(),
            millis(self.p50()),
            millis(self.p99()),
            self.failures()
        )
    }

    /// ` · 3 failed`, or nothing when none did.
    pub fn failures(&self) -> String {
        if self.failed > 0 {
            format!(" · {} failed", self.failed)
        } else {
            String::new()
        }
    }
}

/// A duration in milliseconds, with more decimals when it is small.
pub fn millis(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1_000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// The median of a few durations (cold starts).
pub fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted.get(n / 2).copied().unwrap_or_default(),
        n => {
            let low = sorted.get(n / 2 - 1).copied().unwrap_or_default();
            let high = sorted.get(n / 2).copied().unwrap_or_default();
            (low + high) / 2
        }
    }
}

/// Bytes in decimal megabytes (10^6), as budgets are written.
pub fn megabytes(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

/// Bytes in decimal kilobytes (10^3).
pub fn kilobytes(bytes: u64) -> f64 {
    bytes as f64 / 1_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples = (1..=100).map(Duration::from_millis).collect();
        let summary = Summary::new(samples, Duration::from_secs(2));
        assert_eq!(summary.p50(), Duration::from_millis(50));
        assert_eq!(summary.p99(), Duration::from_millis(99));
        assert_eq!(summary.percentile(100.0), Duration::from_millis(100));
        assert!((summary.rate() - 50.0).abs() < f64::EPSILON);
    }

    #[test]
    fn empty_and_single_samples() {
        let empty = Summary::new(Vec::new(), Duration::from_secs(1));
        assert_eq!(empty.p99(), Duration::ZERO);
        let one = Summary::new(vec![Duration::from_millis(7)], Duration::from_secs(1));
        assert_eq!(one.p50(), Duration::from_millis(7));
        assert_eq!(one.p99(), Duration::from_millis(7));
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        let ms = Duration::from_millis;
        assert_eq!(median(&[ms(30), ms(10), ms(20)]), ms(20));
        assert_eq!(median(&[ms(10), ms(20)]), ms(15));
    }
}
