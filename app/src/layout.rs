//! The frame around every signed-in page: top bar with the user menu,
//! navigation (only the sections the user's role can open), main area.

use leptos::prelude::*;
use leptos_router::components::A;
use shared::auth::Permission;

use crate::auth::{CurrentUser, Logout, reload_at};

/// The sections of the product, in navigation order, with the permission
/// that opens each (the server checks it again on every call).
pub const NAV: &[(&str, &str, Option<Permission>)] = &[
    ("/", "Dashboard", None),
    ("/customers", "Customers", Some(Permission::CustomersRead)),
    ("/policies", "Policies", Some(Permission::PoliciesRead)),
    ("/claims", "Claims", Some(Permission::ClaimsRead)),
    ("/work", "My work", Some(Permission::ClaimsWrite)),
    ("/reviews", "Review queue", Some(Permission::ClaimsDecide)),
    ("/approvals", "Approvals", Some(Permission::ClaimsDecide)),
    ("/sla", "Service levels", Some(Permission::ClaimsRead)),
    ("/audit", "Audit", Some(Permission::AuditRead)),
    ("/admin", "Admin", Some(Permission::UsersManage)),
];

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    // The navigation is open by default so it works before (or without) the
    // WASM; the toggle collapses it to give tables more room.
    let nav_open = RwSignal::new(true);
    // Set only in the browser, once hydration has run: end-to-end tests wait
    // for it, and it proves the page is interactive.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let user = use_context::<Option<CurrentUser>>().flatten();

    view! {
        <div class="app" class:nav-collapsed=move || !nav_open.get()
            data-hydrated=move || hydrated.get().to_string()>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <header class="topbar">
                <button id="nav-toggle" class="icon-button" type="button"
                    aria-controls="sidebar"
                    aria-expanded=move || nav_open.get().to_string()
                    aria-label=move || if nav_open.get() { "Collapse navigation" } else { "Expand navigation" }
                    on:click=move |_| nav_open.update(|open| *open = !*open)>
                    <span aria-hidden="true">"☰"</span>
                </button>
                <a class="brand" href="/">"Vanguard"</a>
                <span class="brand-sub">"Insurance operations"</span>
                {user.clone().map(|user| view! { <UserMenu user /> })}
            </header>
            <nav id="sidebar" class="sidebar" aria-label="Main">
                <NavLinks user />
            </nav>
            <main id="main" class="content" tabindex="-1">{children()}</main>
            <footer class="footer">"Vanguard "{shared::VERSION}</footer>
        </div>
    }
}

#[component]
fn NavLinks(user: Option<CurrentUser>) -> impl IntoView {
    view! {
        <ul>
            {NAV
                .iter()
                .filter(|(_, _, permission)| match (permission, &user) {
                    (None, _) => true,
                    (Some(permission), Some(user)) => user.can(*permission),
                    (Some(_), None) => false,
                })
                .map(|(href, label, _)| view! {
                    <li><A href=*href exact=true>{*label}</A></li>
                })
                .collect_view()}
        </ul>
    }
}

#[component]
fn UserMenu(user: CurrentUser) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    Effect::new(move |_| {
        if matches!(logout.value().get(), Some(Ok(()))) {
            reload_at("/login");
        }
    });
    view! {
        <div class="user-menu">
            <a href="/account" class="user-name" title=user.email.clone()>
                {user.display_name.clone()}
                <span class="user-role">{user.role.label()}</span>
            </a>
            <ActionForm action=logout>
                <button type="submit" id="logout" class="button small ghost">"Sign out"</button>
            </ActionForm>
        </div>
    }
}
