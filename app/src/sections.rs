//! Landing pages of the sections whose capabilities are still being built.
//! Each is replaced by its feature module (customers, policies, ...) as that
//! capability lands; until then the page says what will be there, so the
//! navigation is complete and honest.

use leptos::prelude::*;

#[component]
pub fn SectionPage(title: &'static str, summary: &'static str) -> impl IntoView {
    view! {
        <header class="page-header">
            <h1>{title}</h1>
            <p class="page-lede">{summary}</p>
        </header>
        <section class="card empty-state">
            <p>"This section is not available in this release yet."</p>
        </section>
    }
}
