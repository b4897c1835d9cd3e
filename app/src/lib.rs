//! Vanguard's user interface: the HTML shell, the router and the pages of
//! each feature, with their server functions.
//!
//! Compiled twice: with `hydrate` into the browser's WASM, with `ssr` into the
//! server. Server-only code (SQL, services, state) sits behind
//! `#[cfg(feature = "ssr")]`.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod claims;
pub mod customers;
pub mod dashboard;
pub mod encoding;
pub mod error;
pub mod format;
pub mod forms;
pub mod health;
pub mod layout;
pub mod pager;
pub mod policies;
pub mod webhooks;
pub mod workflow;

#[cfg(feature = "ssr")]
pub mod batch;
#[cfg(feature = "ssr")]
pub mod clock;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod db_failure;
#[cfg(feature = "ssr")]
pub mod idempotency;
#[cfg(feature = "ssr")]
pub mod lifecycle;
#[cfg(feature = "ssr")]
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod numbering;
#[cfg(feature = "ssr")]
pub mod request;
#[cfg(feature = "ssr")]
pub mod retention;
#[cfg(feature = "ssr")]
pub mod server_call;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod storage;
#[cfg(feature = "ssr")]
pub mod tenancy;
#[cfg(feature = "ssr")]
pub mod vault;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::{
    ParamSegment, SsrMode, StaticSegment,
    components::{Outlet, ParentRoute, Route, Router, Routes},
};

use crate::{
    admin::pages::AdminPage,
    audit::pages::AuditPage,
    auth::{
        mfa_pages::{AccountMfaPage, EnrolPage, VerifyPage},
        pages::{AccountPage, LoginPage},
    },
    claims::pages::{ApprovalsPage, ClaimPage, ClaimsPage, MyWorkPage, ReviewQueuePage, SlaPage},
    customers::pages::{CustomerPage, CustomersPage},
    dashboard::DashboardPage,
    error::{ErrorPage, NotFoundPage},
    layout::Layout,
    policies::pages::{PoliciesPage, PolicyPage},
};

/// The HTML document the server renders around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The CSP header allows scripts by this request's nonce only.
    #[cfg(feature = "ssr")]
    request::CspNonce::provide_to_leptos();
    // Rendered by the server only, so it can name the versioned bundle the
    // server serves as immutable (server/src/assets.rs).
    let stylesheet = format!("/pkg/{}.css", options.output_name);
    let banner = environment_banner();
    let body_class = banner.is_some().then_some("has-environment-banner");
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <link rel="stylesheet" id="leptos" href=stylesheet />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class=body_class>
                <App />
                // After <App />, outside what the browser hydrates: the
                // banner is the server's alone and needs no WASM.
                {banner
                    .map(|text| {
                        view! {
                            <aside class="environment-banner" aria-label="Environment">
                                {text.to_string()}
                            </aside>
                        }
                    })}
            </body>
        </html>
    }
}

/// The text of the banner every page shows in this deployment
/// (`VANGUARD_ENVIRONMENT_BANNER`, e.g. "Preview pr-42: demo data"), from
/// the server's state; `None` in production and in the browser.
fn environment_banner() -> Option<std::sync::Arc<str>> {
    #[cfg(feature = "ssr")]
    {
        use_context::<state::AppState>().and_then(|state| state.environment_banner.clone())
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

/// The signed-in frame (navigation, user menu) around a page, with the
/// error boundary that turns a page's failure into the error panel.
#[component]
fn Frame() -> impl IntoView {
    view! {
        <Layout>
            <ErrorBoundary fallback=|errors| view! { <ErrorPage errors /> }>
                <Outlet />
            </ErrorBoundary>
        </Layout>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Who is signed in: read from the request while rendering on the
    // server, carried in the page to the browser (no round trip, nothing to
    // wait for). Signing in or out reloads the page, so it never goes stale.
    let user = SharedValue::new(auth::current_user_snapshot).into_inner();
    provide_context::<Option<auth::CurrentUser>>(user);

    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Vanguard".to_owned() } else { format!("{page} · Vanguard") }
        } />
        <Router>
            <Routes fallback=|| view! {
                <Title text="Not found" />
                <Layout><NotFoundPage /></Layout>
            }>
                // Outside the frame: nobody is signed in yet.
                <Route path=StaticSegment("login") view=LoginPage />
                // Half signed in (password accepted): the second step, or
                // enrolment when MFA is required. Async: their data (and
                // recovery codes to show once) is read before the page
                // is sent.
                <Route path=(StaticSegment("login"), StaticSegment("verify")) view=VerifyPage />
                <Route path=(StaticSegment("login"), StaticSegment("enrol")) view=EnrolPage ssr=SsrMode::Async />
                // Async: a page is sent once its data has loaded, so the
                // status its data decides (404 for a missing record, 403 for
                // a forbidden section) is known before the head is written;
                // streaming sent 200 whenever the data came after the shell.
                <ParentRoute path=StaticSegment("") view=Frame ssr=SsrMode::Async>
                    <Route path=StaticSegment("") view=|| view! { <Title text="Dashboard" /><DashboardPage /> } />
                    <Route path=StaticSegment("customers") view=CustomersPage />
                    <Route path=(StaticSegment("customers"), ParamSegment("id")) view=CustomerPage />
                    <Route path=StaticSegment("policies") view=PoliciesPage />
                    <Route path=(StaticSegment("policies"), ParamSegment("id")) view=PolicyPage />
                    <Route path=StaticSegment("claims") view=ClaimsPage />
                    <Route path=(StaticSegment("claims"), ParamSegment("id")) view=ClaimPage />
                    <Route path=StaticSegment("reviews") view=ReviewQueuePage />
                    <Route path=StaticSegment("approvals") view=ApprovalsPage />
                    <Route path=StaticSegment("sla") view=SlaPage />
                    <Route path=StaticSegment("work") view=MyWorkPage />
                    <Route path=StaticSegment("audit") view=AuditPage />
                    <Route path=StaticSegment("admin") view=AdminPage />
                    <Route path=StaticSegment("account") view=AccountPage />
                    <Route path=(StaticSegment("account"), StaticSegment("mfa")) view=AccountMfaPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
