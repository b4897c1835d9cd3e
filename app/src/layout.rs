//! The frame around every page: top bar, navigation, main area.

use leptos::prelude::*;
use leptos_router::components::A;

/// The sections of the product, in navigation order.
pub const NAV: &[(&str, &str)] = &[
    ("/", "Dashboard"),
    ("/customers", "Customers"),
    ("/policies", "Policies"),
    ("/claims", "Claims"),
    ("/reviews", "Review queue"),
    ("/audit", "Audit"),
    ("/admin", "Admin"),
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
            </header>
            <nav id="sidebar" class="sidebar" aria-label="Main">
                <ul>
                    {NAV
                        .iter()
                        .map(|(href, label)| view! {
                            <li><A href=*href exact=true>{*label}</A></li>
                        })
                        .collect_view()}
                </ul>
            </nav>
            <main id="main" class="content" tabindex="-1">{children()}</main>
            <footer class="footer">"Vanguard "{shared::VERSION}</footer>
        </div>
    }
}
