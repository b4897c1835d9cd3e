//! The landing page.

use leptos::prelude::*;

use crate::{error::AppError, health::HealthReport};

/// The live health of this replica and its database, for the system panel.
#[server]
pub async fn system_status() -> Result<HealthReport, AppError> {
    crate::error::respond(
        async {
            crate::auth::ssr::signed_in()?;
            let state = crate::state::AppState::from_context()?;
            Ok(crate::health::ssr::report(&state).await)
        }
        .await,
    )
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let status = Resource::new(|| (), |_| system_status());
    view! {
        <header class="page-header">
            <h1>"Dashboard"</h1>
            <p class="page-lede">"The state of the book of business at a glance."</p>
        </header>
        <section class="card" aria-labelledby="system-heading">
            <h2 id="system-heading">"System"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Checking…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(report) => view! { <SystemPanel report /> }.into_any(),
                        Err(error) => view! { <p class="error">{error.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn SystemPanel(report: HealthReport) -> impl IntoView {
    let latency = report
        .database
        .latency_ms
        .map(|ms| format!("{ms:.1} ms"))
        .unwrap_or_else(|| "—".into());
    let schema = report
        .database
        .schema_version
        .map(|v| v.to_string())
        .unwrap_or_else(|| "—".into());
    view! {
        <dl class="facts" id="system-status" data-status=report.status.clone()>
            <dt>"Status"</dt>
            <dd><span class=format!("badge badge-{}", report.status)>{report.status.clone()}</span></dd>
            <dt>"Version"</dt>
            <dd>{report.version}</dd>
            <dt>"Database"</dt>
            <dd>{report.database.engine}" · "{report.database.status}" · "{latency}</dd>
            <dt>"Schema version"</dt>
            <dd>{schema}</dd>
            <dt>"Uptime"</dt>
            <dd>{format_uptime(report.uptime_seconds)}</dd>
        </dl>
    }
}

fn format_uptime(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes} min"),
        (0, _) => format!("{hours} h {minutes} min"),
        _ => format!("{days} d {hours} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::format_uptime;

    #[test]
    fn uptime_is_shown_in_its_two_largest_units() {
        assert_eq!(format_uptime(59), "0 min");
        assert_eq!(format_uptime(3_660), "1 h 1 min");
        assert_eq!(format_uptime(90_000), "1 d 1 h");
    }
}
