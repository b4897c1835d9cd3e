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

/// The book of business at a glance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BookSummary {
    pub customers: i64,
    pub policies: crate::policies::PolicySummary,
    pub claims: crate::claims::ClaimStats,
}

#[server]
pub async fn get_book_summary() -> Result<BookSummary, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::PoliciesRead, |call| async move {
        let db = &call.state.db;
        Ok(BookSummary {
            customers: crate::customers::ssr::count(db).await?,
            policies: crate::policies::ssr::summary(db).await?,
            claims: crate::claims::ssr::stats(db).await?,
        })
    })
    .await
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let status = Resource::new(|| (), |_| system_status());
    let book = Resource::new(|| (), |_| get_book_summary());
    // My work, for those who work claims (others would get a 403).
    let works_claims = use_context::<Option<crate::auth::CurrentUser>>()
        .flatten()
        .is_some_and(|u| u.can(shared::auth::Permission::ClaimsWrite));
    let work = Resource::new(
        || (),
        move |_| async move {
            if works_claims {
                Some(crate::claims::activities::list_my_work().await)
            } else {
                None
            }
        },
    );
    view! {
        <header class="page-header">
            <h1>"Dashboard"</h1>
            <p class="page-lede">"The state of the book of business at a glance."</p>
        </header>
        // One boundary for every panel: the page streams once, when all
        // the answers are in (an SSR stream with several boundaries resolving
        // at the same moment was seen to stall under load).
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (book, status, work) = (book.await, status.await, work.await);
                view! {
                    {work.map(|work| match work {
                        Ok(items) => view! { <crate::claims::pages::MyWorkPanel items /> }.into_any(),
                        Err(error) => view! { <p class="error">{error.to_string()}</p> }.into_any(),
                    })}
                    {match book {
                        Ok(book) => view! { <ClaimsPanel claims=book.claims.clone() /><BookPanel book /> }.into_any(),
                        Err(error) => view! { <p class="error">{error.to_string()}</p> }.into_any(),
                    }}
                    <section class="card" aria-labelledby="system-heading">
                        <h2 id="system-heading">"System"</h2>
                        {match status {
                            Ok(report) => view! { <SystemPanel report /> }.into_any(),
                            Err(error) => view! { <p class="error">{error.to_string()}</p> }.into_any(),
                        }}
                    </section>
                }
            })}
        </Suspense>
    }
}

#[component]
fn BookPanel(book: BookSummary) -> impl IntoView {
    use shared::policy::PolicyStatus;
    let policies = book.policies;
    let active = policies
        .by_status
        .iter()
        .find(|(status, _)| *status == PolicyStatus::Active)
        .map_or(0, |(_, n)| *n);
    let total: i64 = policies.by_status.iter().map(|(_, n)| n).sum();
    let premium = if policies.premium_in_force.is_empty() {
        "—".to_owned()
    } else {
        policies
            .premium_in_force
            .iter()
            .map(|m| m.format())
            .collect::<Vec<_>>()
            .join(" · ")
    };
    // A stacked bar of the policy statuses (plain SVG: no chart library in
    // the WASM bundle).
    let mut offset = 0.0_f64;
    let segments = policies
        .by_status
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(status, n)| {
            let width = if total > 0 { *n as f64 * 100.0 / total as f64 } else { 0.0 };
            let x = offset;
            offset += width;
            view! {
                <rect class=format!("bar-{}", status.as_str()) x=format!("{x:.2}%") y="0" width=format!("{width:.2}%") height="14">
                    <title>{format!("{}: {n}", status.label())}</title>
                </rect>
            }
        })
        .collect_view();
    let legend = policies
        .by_status
        .iter()
        .map(|(status, n)| view! { <li><span class=format!("swatch bar-{}", status.as_str())></span>{format!("{} {n}", status.label())}</li> })
        .collect_view();
    let expiring = policies.expiring;
    view! {
        <div class="kpis" id="book-summary">
            <div class="kpi"><p class="kpi-value">{book.customers}</p><p class="kpi-label">"Customers"</p></div>
            <div class="kpi"><p class="kpi-value">{active}</p><p class="kpi-label">"Active policies"</p></div>
            <div class="kpi"><p class="kpi-value">{premium}</p><p class="kpi-label">"Premium in force"</p></div>
        </div>
        <section class="card" aria-labelledby="book-heading">
            <h2 id="book-heading">"Policies by status"</h2>
            {if total == 0 {
                view! { <p class="empty-state">"No policies yet: issue a quote from a customer's page."</p> }.into_any()
            } else {
                view! {
                    <svg class="status-bar" role="img" aria-label="Policies by status" width="100%" height="14">{segments}</svg>
                    <ul class="legend">{legend}</ul>
                }.into_any()
            }}
            <h3>{format!("Expiring within {} days", crate::policies::EXPIRY_HORIZON_DAYS)}</h3>
            {if expiring.is_empty() {
                view! { <p class="muted">"None."</p> }.into_any()
            } else {
                view! {
                    <table class="data-table" id="expiring-table">
                        <thead><tr><th>"Policy"</th><th>"Customer"</th><th>"Line"</th><th>"Ends on"</th></tr></thead>
                        <tbody>
                            {expiring.into_iter().map(|p| view! {
                                <tr>
                                    <td><a href=format!("/policies/{}", p.id)>{p.policy_number.clone()}</a></td>
                                    <td>{p.customer_number.clone()}</td>
                                    <td>{p.line.label()}</td>
                                    <td>{p.ends_on.clone()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}

/// Open work, outcomes, money and the weekly flow of claims.
#[component]
fn ClaimsPanel(claims: crate::claims::ClaimStats) -> impl IntoView {
    let open: i64 = claims.open_by_status.iter().map(|(_, n)| n).sum();
    let money = |amounts: &[shared::money::Money]| {
        if amounts.is_empty() {
            "—".to_owned()
        } else {
            amounts
                .iter()
                .map(|m| m.format())
                .collect::<Vec<_>>()
                .join(" · ")
        }
    };
    let rate = claims
        .approval_rate()
        .map_or_else(|| "—".to_owned(), |r| format!("{r} %"));
    let by_status = claims
        .open_by_status
        .iter()
        .map(|(status, n)| view! { <li><a href=format!("/claims?status={}", status.as_str())>{format!("{} {n}", status.label())}</a></li> })
        .collect_view();
    let by_priority = claims
        .open_by_priority
        .iter()
        .map(|(priority, n)| {
            let label = priority.map_or("Not triaged", |p| p.label());
            view! { <li>{format!("{label} {n}")}</li> }
        })
        .collect_view();
    // Opened (left) and closed (right) bars per week, scaled to the busiest
    // week; plain SVG, no chart library in the WASM bundle.
    let peak = claims
        .weekly
        .iter()
        .map(|(_, opened, closed)| (*opened).max(*closed))
        .max()
        .unwrap_or(0)
        .max(1);
    let bars = claims
        .weekly
        .iter()
        .enumerate()
        .map(|(i, (week, opened, closed))| {
            let height = |n: i64| n as f64 * 80.0 / peak as f64;
            let x = i as f64 * 25.0;
            view! {
                <g>
                    <rect class="bar-opened" x=format!("{:.1}", x + 3.0) y=format!("{:.1}", 90.0 - height(*opened)) width="9" height=format!("{:.1}", height(*opened))>
                        <title>{format!("Week of {week}: {opened} opened")}</title>
                    </rect>
                    <rect class="bar-closed" x=format!("{:.1}", x + 13.0) y=format!("{:.1}", 90.0 - height(*closed)) width="9" height=format!("{:.1}", height(*closed))>
                        <title>{format!("Week of {week}: {closed} closed")}</title>
                    </rect>
                </g>
            }
        })
        .collect_view();
    let first_week = claims
        .weekly
        .first()
        .map(|(w, ..)| w.clone())
        .unwrap_or_default();
    view! {
        <div class="kpis" id="claims-summary">
            <div class="kpi"><p class="kpi-value">{open}</p><p class="kpi-label">"Open claims"</p></div>
            <div class="kpi"><p class="kpi-value">{rate}</p><p class="kpi-label">"Approval rate"</p></div>
            <div class="kpi"><p class="kpi-value">{money(&claims.reserved)}</p><p class="kpi-label">"Outstanding reserves"</p></div>
            <div class="kpi"><p class="kpi-value">{money(&claims.paid)}</p><p class="kpi-label">"Paid (claims and expenses)"</p></div>
        </div>
        <section class="card" aria-labelledby="claims-heading">
            <h2 id="claims-heading">"Claims"</h2>
            <div class="two-columns">
                <div><h3>"Open by status"</h3><ul class="legend">{by_status}</ul></div>
                <div><h3>"Open by priority"</h3><ul class="legend">{by_priority}</ul></div>
            </div>
            <h3>"Opened and closed per week"</h3>
            <svg class="weekly-chart" id="weekly-chart" role="img" viewBox="0 0 300 95" width="100%" height="120"
                aria-label=format!("Claims opened and closed per week for the 12 weeks from {first_week}")>
                <line x1="0" y1="90.5" x2="300" y2="90.5" class="axis" />
                {bars}
            </svg>
            <ul class="legend"><li><span class="swatch bar-opened"></span>"Opened"</li><li><span class="swatch bar-closed"></span>"Closed"</li></ul>
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
