//! Process metrics in the Prometheus text format (`GET /metrics`): request
//! counts and latency by method, route template and status, requests in
//! flight, and business counters. Gauges read at scrape time (database
//! pool, outbox depth, readiness) are added by the server's handler.
//!
//! Hand-rolled on atomics and one mutex per family rather than a metrics
//! crate: a dozen series, no dependency, no global registry to configure.
//! Route labels are templates (`/api/v1/claims/{id}`), never raw paths, so
//! the number of series stays bounded.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The process's counters.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
    in_flight: AtomicI64,
    claims_ingested: Mutex<BTreeMap<&'static str, u64>>,
    claims_decided: Mutex<BTreeMap<&'static str, u64>>,
    webhook_deliveries: Mutex<BTreeMap<&'static str, u64>>,
    sla_breaches: Mutex<BTreeMap<&'static str, u64>>,
    policies_created: AtomicU64,
    pool_wait_micros: AtomicU64,
}

/// The one set of counters of this process.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::default)
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    if let Ok(mut map) = map.lock() {
        *map.entry(key).or_default() += 1;
    }
}

/// A request in flight until dropped.
pub struct InFlight;

impl Drop for InFlight {
    fn drop(&mut self) {
        global().in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub fn request_started(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight
    }

    pub fn request_finished(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        bump(
            &self.requests,
            (method.to_owned(), route.to_owned(), status),
        );
        let seconds = elapsed.as_secs_f64();
        if let Ok(mut latency) = self.latency.lock() {
            let histogram = latency
                .entry((method.to_owned(), route.to_owned()))
                .or_default();
            for (count, bound) in histogram.counts.iter_mut().zip(BUCKETS) {
                if seconds <= bound {
                    *count += 1;
                }
            }
            histogram.count += 1;
            histogram.sum += seconds;
        }
    }

    /// `source`: `staff`, `api` or `legacy`.
    pub fn claim_ingested(&self, source: &'static str) {
        bump(&self.claims_ingested, source);
    }

    /// `outcome`: `approve`, `deny` or `request_info`.
    pub fn claim_decided(&self, outcome: &'static str) {
        bump(&self.claims_decided, outcome);
    }

    /// `outcome`: `delivered` or `failed`.
    pub fn webhook_delivered(&self, outcome: &'static str) {
        bump(&self.webhook_deliveries, outcome);
    }

    /// A claim's SLA deadline met late; `clock`: `acknowledge` or `decide`.
    pub fn sla_breached(&self, clock: &'static str) {
        bump(&self.sla_breaches, clock);
    }

    pub fn policy_created(&self) {
        self.policies_created.fetch_add(1, Ordering::Relaxed);
    }

    /// Time spent waiting for a pooled connection (write transactions).
    pub fn pool_waited(&self, waited: Duration) {
        self.pool_wait_micros.fetch_add(
            u64::try_from(waited.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The counters as Prometheus text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        family(
            &mut out,
            "vanguard_http_requests_total",
            "counter",
            "HTTP requests by method, route template and status.",
        );
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), n) in requests.iter() {
                let _ = writeln!(
                    out,
                    "vanguard_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(method),
                    escape(route)
                );
            }
        }
        family(
            &mut out,
            "vanguard_http_request_duration_seconds",
            "histogram",
            "HTTP request latency by method and route template.",
        );
        if let Ok(latency) = self.latency.lock() {
            for ((method, route), h) in latency.iter() {
                let labels = format!("method=\"{}\",route=\"{}\"", escape(method), escape(route));
                for (count, bound) in h.counts.iter().zip(BUCKETS) {
                    let _ = writeln!(
                        out,
                        "vanguard_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                    );
                }
                let _ = writeln!(
                    out,
                    "vanguard_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\nvanguard_http_request_duration_seconds_sum{{{labels}}} {}\nvanguard_http_request_duration_seconds_count{{{labels}}} {}",
                    h.count, h.sum, h.count
                );
            }
        }
        gauge(
            &mut out,
            "vanguard_http_requests_in_flight",
            "HTTP requests being served.",
            self.in_flight.load(Ordering::Relaxed),
        );
        for (name, help, label, map) in [
            (
                "vanguard_claims_ingested_total",
                "Claims accepted, by source.",
                "source",
                &self.claims_ingested,
            ),
            (
                "vanguard_claims_decided_total",
                "Adjusters' decisions, by outcome.",
                "outcome",
                &self.claims_decided,
            ),
            (
                "vanguard_webhook_deliveries_total",
                "Webhook delivery attempts, by outcome.",
                "outcome",
                &self.webhook_deliveries,
            ),
            (
                "vanguard_sla_breaches_total",
                "SLA deadlines met late (acknowledged or decided after the deadline), by clock.",
                "clock",
                &self.sla_breaches,
            ),
        ] {
            family(&mut out, name, "counter", help);
            if let Ok(map) = map.lock() {
                for (value, n) in map.iter() {
                    let _ = writeln!(out, "{name}{{{label}=\"{value}\"}} {n}");
                }
            }
        }
        family(
            &mut out,
            "vanguard_policies_created_total",
            "counter",
            "Policies issued (new business and renewals).",
        );
        let _ = writeln!(
            out,
            "vanguard_policies_created_total {}",
            self.policies_created.load(Ordering::Relaxed)
        );
        family(
            &mut out,
            "vanguard_db_pool_acquire_wait_seconds_total",
            "counter",
            "Time spent waiting for a database connection for writes.",
        );
        let _ = writeln!(
            out,
            "vanguard_db_pool_acquire_wait_seconds_total {}",
            self.pool_wait_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        out
    }
}

/// `# HELP` and `# TYPE` lines of a family.
pub fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A whole single-series gauge family.
pub fn gauge(out: &mut String, name: &str, help: &str, value: impl std::fmt::Display) {
    family(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

/// Label values escaped as the text format requires.
pub fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_lands_in_its_counter_and_every_bucket_above_its_latency() {
        let metrics = Metrics::default();
        metrics.request_finished("GET", "/api/v1/claims/{id}", 200, Duration::from_millis(30));
        let text = metrics.render();
        assert!(text.contains(
            "vanguard_http_requests_total{method=\"GET\",route=\"/api/v1/claims/{id}\",status=\"200\"} 1"
        ));
        assert!(text.contains("le=\"0.025\"} 0"), "{text}");
        assert!(text.contains("le=\"0.05\"} 1"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 1"), "{text}");
    }
}
