//! The outbox as the server's `/metrics` shows it: one scrape, a series of
//! them, and the soak's verdict on that series.

use std::time::{Duration, Instant};

use super::{DRAIN_POLL, SOAK_REFERENCE_AT, SOAK_SLACK};
use crate::fixtures;

/// The outbox as one scrape of `/metrics` showed it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outbox {
    pub pending: u64,
    pub running: u64,
    pub done: u64,
    pub dead: u64,
    pub oldest_pending_seconds: u64,
}

impl Outbox {
    /// Jobs the workers still owe: pending (due or backing off) and running.
    pub fn backlog(&self) -> u64 {
        self.pending + self.running
    }

    /// The `vanguard_outbox_jobs{state}` gauges and
    /// `vanguard_outbox_oldest_pending_age_seconds`; `None` when the scrape
    /// has no outbox family (the server omits it when its database did not
    /// answer the count).
    pub fn parse(metrics: &str) -> Option<Self> {
        let mut outbox = Self::default();
        let mut seen = false;
        for (name, labels, value) in metrics.lines().filter_map(sample_line) {
            let value = value.max(0.0).round() as u64;
            match name {
                "vanguard_outbox_jobs" => {
                    let slot = match label(labels, "state") {
                        Some("pending") => &mut outbox.pending,
                        Some("running") => &mut outbox.running,
                        Some("done") => &mut outbox.done,
                        Some("dead") => &mut outbox.dead,
                        _ => continue,
                    };
                    *slot = value;
                    seen = true;
                }
                "vanguard_outbox_oldest_pending_age_seconds" => {
                    outbox.oldest_pending_seconds = value;
                }
                _ => {}
            }
        }
        seen.then_some(outbox)
    }
}

/// The name, labels (inside the braces) and value of a Prometheus text
/// sample line; `None` for comments, blank lines and what does not parse.
pub(super) fn sample_line(line: &str) -> Option<(&str, &str, f64)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (name, labels, rest) = match line.split_once('{') {
        Some((name, after)) => {
            let (labels, rest) = after.split_once('}')?;
            (name, labels, rest)
        }
        None => {
            let (name, rest) = line.split_once(char::is_whitespace)?;
            (name, "", rest)
        }
    };
    // A timestamp may follow the value.
    let value = rest.split_whitespace().next()?.parse().ok()?;
    Some((name.trim(), labels, value))
}

/// The value of `key` in `a="x",b="y"`.
pub(super) fn label<'a>(labels: &'a str, key: &str) -> Option<&'a str> {
    labels.split(',').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"'))
    })
}

/// Reads the outbox from a server's `/metrics`.
#[derive(Clone)]
pub(super) struct Metrics {
    pub(super) client: reqwest::Client,
    pub(super) url: String,
}

impl Metrics {
    /// One scrape; `None` when it had no outbox family. A non-2xx is an
    /// error.
    pub(super) async fn scrape(&self) -> anyhow::Result<Option<Outbox>> {
        let response = self.client.get(&self.url).send().await?;
        let text = fixtures::expect(response, 200, "GET /metrics")
            .await?
            .text()
            .await?;
        Ok(Outbox::parse(&text))
    }

    /// A scrape that has the outbox: retried for up to 5 s, as a database
    /// busy under the load can miss one count.
    pub(super) async fn outbox(&self) -> anyhow::Result<Outbox> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(outbox) = self.scrape().await? {
                return Ok(outbox);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "`/metrics` has had no `vanguard_outbox_jobs` for 5 s (the server cannot count its \
                 outbox)"
            );
            tokio::time::sleep(DRAIN_POLL).await;
        }
    }
}

/// The least-squares slope of `(x, y)` points: 0 with fewer than two
/// distinct `x`.
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let mean_x = points.iter().map(|(x, _)| x).sum::<f64>() / n;
    let mean_y = points.iter().map(|(_, y)| y).sum::<f64>() / n;
    let (covariance, variance) = points.iter().fold((0.0, 0.0), |(cov, var), (x, y)| {
        (
            cov + (x - mean_x) * (y - mean_y),
            var + (x - mean_x) * (x - mean_x),
        )
    });
    if variance > 0.0 {
        covariance / variance
    } else {
        0.0
    }
}

/// The soak's verdict on a backlog series `(seconds since the start, jobs)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounded {
    /// When the reference sample was taken, and its backlog.
    pub reference_at: f64,
    pub reference: f64,
    /// `2 × reference + SOAK_SLACK`.
    pub limit: f64,
    /// The largest backlog from half-way on.
    pub second_half_max: f64,
    pub bounded: bool,
}

impl Bounded {
    /// The rule: no sample of the second half of a soak of `duration`
    /// seconds exceeds twice the backlog at 5 s (at a tenth of a shorter
    /// soak) plus [`SOAK_SLACK`] jobs. A queue that only fluctuates passes
    /// however large it is once warmed up; one that keeps growing, even
    /// slowly, outgrows the limit. `None` without samples.
    pub fn judge(samples: &[(f64, f64)], duration: f64) -> Option<Self> {
        let last = *samples.last()?;
        let reference_at = SOAK_REFERENCE_AT.min(duration / 10.0);
        let (reference_at, reference) = samples
            .iter()
            .find(|(at, _)| *at >= reference_at)
            .copied()
            .unwrap_or(last);
        let second_half_max = samples
            .iter()
            .filter(|(at, _)| *at >= duration / 2.0)
            .map(|(_, jobs)| *jobs)
            .fold(last.1, f64::max);
        let limit = 2.0 * reference + SOAK_SLACK;
        Some(Self {
            reference_at,
            reference,
            limit,
            second_half_max,
            bounded: second_half_max <= limit,
        })
    }
}
