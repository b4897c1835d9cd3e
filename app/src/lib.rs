//! Vanguard's user interface: the HTML shell, the router and the pages of
//! each feature, with their server functions.
//!
//! Compiled twice: with `hydrate` into the browser's WASM, with `ssr` into the
//! server. Server-only code (SQL, services, state) sits behind
//! `#[cfg(feature = "ssr")]`.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod dashboard;
pub mod error;
pub mod format;
pub mod forms;
pub mod health;
pub mod layout;
pub mod sections;

#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod request;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    StaticSegment, WildcardSegment,
    components::{Outlet, ParentRoute, Route, Router, Routes},
};

use crate::{
    admin::pages::AdminPage,
    auth::pages::{AccountPage, LoginPage},
    dashboard::DashboardPage,
    error::{ErrorPage, NotFoundPage},
    layout::Layout,
    sections::SectionPage,
};

/// The HTML document the server renders around [`App`].
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The CSP header allows scripts by this request's nonce only.
    #[cfg(feature = "ssr")]
    request::CspNonce::provide_to_leptos();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
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

    view! {
        <Stylesheet id="leptos" href="/pkg/vanguard.css" />
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
                <ParentRoute path=StaticSegment("") view=Frame>
                    <Route path=StaticSegment("") view=|| view! { <Title text="Dashboard" /><DashboardPage /> } />
                    <Route path=StaticSegment("customers") view=|| view! {
                        <Title text="Customers" />
                        <SectionPage title="Customers" summary="Policyholders and claimants, with their policies and claims." />
                    } />
                    <Route path=StaticSegment("policies") view=|| view! {
                        <Title text="Policies" />
                        <SectionPage title="Policies" summary="Policies by line, status and renewal date." />
                    } />
                    <Route path=StaticSegment("claims") view=|| view! {
                        <Title text="Claims" />
                        <SectionPage title="Claims" summary="Every claim, its lines, status and timeline." />
                    } />
                    <Route path=StaticSegment("reviews") view=|| view! {
                        <Title text="Review queue" />
                        <SectionPage title="Review queue" summary="Claims awaiting an adjuster's decision, most urgent first." />
                    } />
                    <Route path=StaticSegment("audit") view=|| view! {
                        <Title text="Audit" />
                        <SectionPage title="Audit" summary="The tamper-evident record of every change, and its verification." />
                    } />
                    <Route path=StaticSegment("admin") view=AdminPage />
                    <Route path=StaticSegment("account") view=AccountPage />
                    // Unknown addresses of a signed-in user: the 404 page
                    // inside the frame.
                    <Route path=WildcardSegment("any") view=|| view! {
                        <Title text="Not found" />
                        <NotFoundPage />
                    } />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
