//! Paging of lists: `?page=&per_page=` in, `{ items, page, per_page, total }`
//! out. Pages are 1-based, as people count them and as they appear in URLs.
//!
//! # The total is counted up to a cap
//!
//! Counting every matching row costs a scan of all of them on every page
//! view: the claims list fell from 881 to 158 requests a second as the
//! table grew from 1.2k to 78k claims. So the total is counted up to
//! [`COUNT_CAP`] rows past the current page at most ([`PageRequest::count_limit`]);
//! a list with more says so (`total_capped`, shown as "1,000+") instead of
//! counting on. Below the cap the total is exact and the JSON unchanged.

use serde::{Deserialize, Serialize};

use crate::validation::{FieldError, FieldErrors};

/// Which page of a list to show; always valid once built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawPageRequest")]
pub struct PageRequest {
    page: u32,
    per_page: u32,
}

#[derive(Deserialize)]
struct RawPageRequest {
    page: Option<u32>,
    per_page: Option<u32>,
}

impl TryFrom<RawPageRequest> for PageRequest {
    type Error = FieldErrors;

    fn try_from(raw: RawPageRequest) -> Result<Self, Self::Error> {
        Self::new(
            raw.page.unwrap_or(Self::DEFAULT_PAGE),
            raw.per_page.unwrap_or(Self::DEFAULT_PER_PAGE),
        )
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: Self::DEFAULT_PAGE,
            per_page: Self::DEFAULT_PER_PAGE,
        }
    }
}

impl PageRequest {
    pub const DEFAULT_PAGE: u32 = 1;
    pub const DEFAULT_PER_PAGE: u32 = 25;
    /// Bounded so one request cannot ask the database for everything.
    pub const MAX_PER_PAGE: u32 = 100;

    /// From query-string values (`page`, `per_page`); absent or blank means
    /// the default. Too large a `per_page` is an error rather than silently
    /// clamped, so a client learns the limit instead of missing rows.
    pub fn parse(page: Option<&str>, per_page: Option<&str>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let page = errors.check(Self::number("page", page, Self::DEFAULT_PAGE));
        let per_page = errors.check(Self::number("per_page", per_page, Self::DEFAULT_PER_PAGE));
        errors
            .finish(|| Some((page?, per_page?)))
            .and_then(|(page, per_page)| Self::new(page, per_page))
    }

    fn number(field: &str, raw: Option<&str>, default: u32) -> Result<u32, FieldError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| FieldError::new(field, "must be a whole number")),
        }
    }

    pub fn new(page: u32, per_page: u32) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        if page == 0 {
            errors.push("page", "must be at least 1");
        }
        if !(1..=Self::MAX_PER_PAGE).contains(&per_page) {
            errors.push(
                "per_page",
                format!("must be between 1 and {}", Self::MAX_PER_PAGE),
            );
        }
        errors.finish(|| Some(Self { page, per_page }))
    }

    pub fn page(&self) -> u32 {
        self.page
    }

    pub fn per_page(&self) -> u32 {
        self.per_page
    }

    /// Rows to skip (SQL `OFFSET`); u64 because page × per_page can exceed u32.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page)
    }

    /// Rows to return (SQL `LIMIT`).
    pub fn limit(&self) -> u32 {
        self.per_page
    }

    /// How many matching rows to count at most: one more than the cap (or
    /// than the rows up to the end of this page, when that is further), so
    /// that a count reaching it means "more than that".
    pub fn count_limit(&self) -> u64 {
        COUNT_CAP
            .max(self.offset().saturating_add(u64::from(self.per_page)))
            .saturating_add(1)
    }
}

/// The total a list counts exactly; beyond it the count stops (see the
/// module docs).
pub const COUNT_CAP: u64 = 1_000;

fn is_false(value: &bool) -> bool {
    !*value
}

/// One page of a list, with what the UI needs to draw the pager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    /// Matching rows across all pages, or a lower bound when
    /// `total_capped`.
    pub total: u64,
    /// The count stopped at [`PageRequest::count_limit`]: there are more
    /// rows than `total` (absent from the JSON when false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub total_capped: bool,
    /// The cursor of the next page, for lists read by keyset (`after=`);
    /// absent on the last page and on lists without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

impl<T> Page<T> {
    /// `total` as counted up to `request.count_limit()`: reaching the limit
    /// marks it a lower bound.
    pub fn new(request: PageRequest, items: Vec<T>, total: u64) -> Self {
        let limit = request.count_limit();
        Self {
            items,
            page: request.page,
            per_page: request.per_page,
            total_capped: total >= limit,
            total: total.min(limit - 1),
            next_after: None,
        }
    }

    /// The same page with the cursor of the next one.
    pub fn with_next_after(self, next_after: Option<String>) -> Self {
        Self { next_after, ..self }
    }

    /// The total as people read it: `1,000+` once the count stopped.
    pub fn total_label(&self) -> String {
        if self.total_capped {
            format!("{}+", thousands(self.total))
        } else {
            self.total.to_string()
        }
    }

    /// The page count as people read it: `40+` once the count stopped.
    pub fn pages_label(&self) -> String {
        if self.total_capped {
            format!("{}+", self.total_pages())
        } else {
            self.total_pages().to_string()
        }
    }

    /// At least 1, so an empty list still reads "page 1 of 1".
    pub fn total_pages(&self) -> u64 {
        self.total.div_ceil(u64::from(self.per_page.max(1))).max(1)
    }

    /// Rows before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page)
    }

    pub fn has_previous(&self) -> bool {
        self.page > 1
    }

    pub fn has_next(&self) -> bool {
        self.total_capped || u64::from(self.page) < self.total_pages()
    }

    /// The items, and the page without them (what a pager needs), so a
    /// view can render both without copying the rows.
    pub fn into_items(self) -> (Vec<T>, Page<()>) {
        let mut items = Vec::with_capacity(self.items.len());
        let rest = self.map(|item| items.push(item));
        (items, rest)
    }

    /// The same page with each item converted (rows to view models).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            page: self.page,
            per_page: self.per_page,
            total: self.total,
            total_capped: self.total_capped,
            next_after: self.next_after,
        }
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_or_blank_values_mean_page_one_of_twenty_five() {
        let defaults = PageRequest::parse(None, Some(" ")).unwrap();
        assert_eq!(defaults, PageRequest::default());
        assert_eq!((defaults.page(), defaults.per_page()), (1, 25));
        assert_eq!(defaults.offset(), 0);
    }

    #[test]
    fn explicit_values_set_the_offset_and_limit() {
        let request = PageRequest::parse(Some("3"), Some("100")).unwrap();
        assert_eq!(request.offset(), 200);
        assert_eq!(request.limit(), 100);
        let far = PageRequest::new(u32::MAX, 100).unwrap();
        assert_eq!(far.offset(), (u64::from(u32::MAX) - 1) * 100);
    }

    #[test]
    fn pages_below_one_and_sizes_outside_one_to_one_hundred_are_rejected() {
        let errors = PageRequest::parse(Some("0"), Some("101")).unwrap_err();
        assert_eq!(errors.for_field("page"), Some("must be at least 1"));
        assert_eq!(
            errors.for_field("per_page"),
            Some("must be between 1 and 100")
        );
        let errors = PageRequest::parse(Some("-1"), Some("ten")).unwrap_err();
        assert_eq!(errors.for_field("page"), Some("must be a whole number"));
        assert_eq!(errors.for_field("per_page"), Some("must be a whole number"));
        assert!(PageRequest::parse(None, Some("0")).is_err());
        assert!(PageRequest::parse(Some("1.5"), None).is_err());
    }

    #[test]
    fn page_requests_deserialize_with_defaults_and_the_same_rules() {
        let request: PageRequest = serde_json::from_str(r#"{"page":2}"#).unwrap();
        assert_eq!((request.page(), request.per_page()), (2, 25));
        assert!(serde_json::from_str::<PageRequest>(r#"{"per_page":500}"#).is_err());
    }

    #[test]
    fn pages_count_their_total_pages_and_neighbours() {
        let request = PageRequest::new(2, 10).unwrap();
        let page = Page::new(request, vec![11, 12], 21);
        assert_eq!(page.total_pages(), 3);
        assert_eq!(page.offset(), 10);
        assert!(page.has_previous() && page.has_next());
        let last = Page::new(PageRequest::new(3, 10).unwrap(), vec![21], 21);
        assert!(!last.has_next());
        let exact = Page::new(request, Vec::<u8>::new(), 20);
        assert_eq!(exact.total_pages(), 2);
        let empty = Page::new(PageRequest::default(), Vec::<u8>::new(), 0);
        assert_eq!(empty.total_pages(), 1);
        assert!(!empty.has_next() && !empty.has_previous());
    }

    #[test]
    fn a_count_that_reaches_the_cap_reads_as_a_lower_bound() {
        let first = PageRequest::default();
        assert_eq!(first.count_limit(), COUNT_CAP + 1);
        let exact = Page::new(first, vec![1], COUNT_CAP);
        assert!(!exact.total_capped);
        assert_eq!(exact.total_label(), "1000");
        let capped = Page::new(first, vec![1], COUNT_CAP + 1);
        assert!(capped.total_capped && capped.has_next());
        assert_eq!(
            (capped.total, capped.total_label()),
            (1_000, "1,000+".to_owned())
        );
        assert_eq!(capped.pages_label(), "40+");
        assert_eq!(
            serde_json::to_value(&capped).unwrap()["total_capped"],
            serde_json::json!(true)
        );
        // Past the cap, the count runs to the end of the page asked for.
        let deep = PageRequest::new(50, 100).unwrap();
        assert_eq!(deep.count_limit(), 5_001);
        assert!(!Page::new(deep, vec![1], 4_950).total_capped);
    }

    #[test]
    fn pages_serialize_with_their_counts_and_map_items() {
        let page = Page::new(PageRequest::default(), vec![1, 2], 2).map(|n| n * 10);
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            serde_json::json!({ "items": [10, 20], "page": 1, "per_page": 25, "total": 2 })
        );
    }
}
