//! The pager under every list: "N things · page X of Y" with Previous and
//! Next links that keep every filter of the current address (search,
//! status, sort, rows per page...), so paging never drops what the user
//! asked for. Only `page` changes; a keyset `after` cursor is dropped,
//! since it names a position in the old page's order.

use leptos::prelude::*;
use leptos_router::{hooks::use_query_map, params::ParamsMap};
use shared::pagination::Page;

use crate::encoding::urlencode;

/// The link to page `page` of the list the current query describes.
pub fn page_link(query: &ParamsMap, page: u32) -> String {
    let kept = query
        .into_iter()
        .filter(|(name, _)| !matches!(name.as_ref(), "page" | "after"))
        .map(|(name, value)| format!("{}={}", urlencode(name), urlencode(value)));
    let parts: Vec<String> = kept.chain([format!("page={page}")]).collect();
    format!("?{}", parts.join("&"))
}

#[component]
pub fn Pager(
    /// The page without its items ([`Page::into_items`]).
    page: Page<()>,
    /// What the list holds, plural: "claims".
    noun: &'static str,
    #[prop(default = "Previous")] previous: &'static str,
    #[prop(default = "Next")] next: &'static str,
) -> impl IntoView {
    let query = use_query_map();
    let link = move |page: u32| query.with_untracked(|q| page_link(q, page));
    let current = page.page;
    let summary = format!(
        "{} {noun} · page {current} of {}",
        page.total_label(),
        page.pages_label()
    );
    view! {
        <nav class="pager" aria-label="Pages">
            <span>{summary}</span>
            {(current > 1).then(|| view! { <a href=link(current - 1)>{previous}</a> })}
            {page.has_next().then(|| view! { <a href=link(current + 1)>{next}</a> })}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_link_keeps_every_filter_and_replaces_the_page_and_cursor() {
        let mut query = ParamsMap::new();
        query.insert("q", "moss".to_owned());
        query.insert("status", "active".to_owned());
        query.insert("page", "2".to_owned());
        query.insert("after", "abc".to_owned());
        let link = page_link(&query, 3);
        assert!(link.starts_with('?'), "{link}");
        assert_eq!(link, "?q=moss&status=active&page=3");
        for part in ["q=moss", "status=active", "page=3"] {
            assert!(link.contains(part), "{part} in {link}");
        }
        assert!(
            !link.contains("page=2") && !link.contains("after"),
            "{link}"
        );
    }
}
