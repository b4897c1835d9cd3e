//! `GET /metrics`: the Prometheus text of [`app::metrics`] plus the gauges
//! read at scrape time: readiness, the database pool, the outbox and the
//! claims past their SLA deadline.
//!
//! Served without authentication like any exporter; keep it off the public
//! listener (the ALB rule in `deploy/terraform` answers 404 for it).

use axum::{
    Router,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};

use app::{
    metrics::{self, family, gauge},
    state::AppState,
    workflow::ssr as workflow,
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(state): State<AppState>) -> Response {
    let mut out = metrics::global().render();
    let ready = app::health::ssr::is_ready(&state).await;
    gauge(
        &mut out,
        "vanguard_ready",
        "1 when /health/ready answers 200.",
        u8::from(ready),
    );
    let pool = state.db.pool();
    let (size, idle) = pool_gauges(pool.size(), pool.num_idle());
    family(
        &mut out,
        "vanguard_db_pool_connections",
        "gauge",
        "Open database connections by state.",
    );
    out.push_str(&format!(
        "vanguard_db_pool_connections{{state=\"idle\"}} {idle}\nvanguard_db_pool_connections{{state=\"in_use\"}} {}\n",
        size.saturating_sub(idle)
    ));
    gauge(
        &mut out,
        "vanguard_db_pool_max_connections",
        "The pool's size limit.",
        pool.options().get_max_connections(),
    );
    // A database that is down leaves these families empty, not the scrape.
    if let Ok((by_state, oldest)) = workflow::outbox_depth(&state.db).await {
        family(
            &mut out,
            "vanguard_outbox_jobs",
            "gauge",
            "Pipeline jobs by state.",
        );
        for name in ["pending", "running", "done", "dead"] {
            let n = by_state
                .iter()
                .find(|(s, _)| s == name)
                .map_or(0, |(_, n)| *n);
            out.push_str(&format!("vanguard_outbox_jobs{{state=\"{name}\"}} {n}\n"));
        }
        gauge(
            &mut out,
            "vanguard_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending job (0 when none).",
            oldest.unwrap_or(0).max(0),
        );
    }
    let now = state.db.clock().now_micros();
    if let Ok(overdue) = app::claims::sla::ssr::overdue(&state.db, now).await {
        family(
            &mut out,
            "vanguard_sla_overdue_claims",
            "gauge",
            "Claims past their running SLA deadline, by clock (acknowledge, decide).",
        );
        for (clock, n) in overdue {
            out.push_str(&format!(
                "vanguard_sla_overdue_claims{{clock=\"{}\"}} {n}\n",
                clock.as_str()
            ));
        }
    }
    let mut response = out.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// `(size, idle)` with idle within `0..=size`. sqlx keeps its idle count in
/// an atomic that is decremented and incremented around a hand-over, so a
/// scrape can read it transiently wrapped below zero (`usize::MAX`) or above
/// the size; a count that does not fit is that wrap, i.e. none idle.
fn pool_gauges(size: u32, num_idle: usize) -> (u32, u32) {
    let idle = u32::try_from(num_idle).map_or(0, |idle| idle.min(size));
    (size, idle)
}

#[cfg(test)]
mod tests {
    use super::pool_gauges;

    #[test]
    fn idle_connections_never_exceed_the_pool_size_nor_wrap_below_zero() {
        assert_eq!(pool_gauges(4, 3), (4, 3));
        assert_eq!(pool_gauges(4, 9), (4, 4));
        assert_eq!(pool_gauges(4, usize::MAX), (4, 0));
        assert_eq!(pool_gauges(0, 0), (0, 0));
    }
}
