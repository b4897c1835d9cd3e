//! The claims list: filters checked field by field, the sort and its
//! cursor, one partner's claims only.

use shared::{
    FieldErrors,
    claim::{ClaimStatus, Priority, search::ClaimSearch},
    contact::PersonName,
    dates::Date,
    pagination::{Page, PageRequest},
};

use super::{select, sort::Sort, summary_from_row};
use crate::{
    claims::{ClaimFilters, ClaimSummary},
    db::{Db, Filter},
    error::AppError,
    tenancy::{self, Scope},
    vault::Vault,
};

/// The filters, checked: every error names its field. `name_index` gives a
/// last name's blind index (the vault's), for the search box.
fn build_filter(
    filters: &ClaimFilters,
    me: Option<&str>,
    name_index: &dyn Fn(&PersonName) -> String,
) -> Result<(Filter, Sort), FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut filter = Filter::default();
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    if let Some(search) = present(&filters.q)
        .and_then(|raw| errors.check(ClaimSearch::parse("q", &raw)))
        .flatten()
    {
        match search {
            ClaimSearch::Claim(number) => {
                filter.equals("cl.claim_number", number.as_str().to_owned())
            }
            // Subqueries on `cl`: the count runs over `claims cl` alone.
            ClaimSearch::Policy(number) => filter.bound(
                "cl.policy_id IN (SELECT id FROM policies WHERE policy_number = {})",
                number.as_str().to_owned(),
            ),
            ClaimSearch::InsuredLastName(name) => filter.bound(
                "cl.customer_id IN (SELECT id FROM customers WHERE last_name_index = {})",
                name_index(&name),
            ),
        }
    }
    let queue = present(&filters.queue).is_some_and(|q| q != "false" && q != "0");
    if queue {
        filter.literal("cl.status IN ('triaged', 'in_review')");
    }
    if let Some(status) =
        present(&filters.status).and_then(|raw| errors.check(ClaimStatus::parse("status", &raw)))
    {
        filter.equals("cl.status", status.as_str().to_owned());
    }
    if let Some(priority) =
        present(&filters.priority).and_then(|raw| errors.check(Priority::parse("priority", &raw)))
    {
        filter.equals("cl.priority", priority.as_str().to_owned());
    }
    match present(&filters.assignee).as_deref() {
        None => {}
        Some("none") => filter.literal("cl.assignee_id IS NULL"),
        Some("me") => match me {
            Some(me) => filter.equals("cl.assignee_id", me.to_owned()),
            None => errors.push("assignee", "`me` needs a signed-in member of staff"),
        },
        Some(user) => filter.equals("cl.assignee_id", user.to_owned()),
    }
    for (field, raw, op) in [("from", &filters.from, ">="), ("to", &filters.to, "<=")] {
        if let Some(date) = present(raw).and_then(|raw| errors.check(Date::parse(field, &raw))) {
            filter.compare("cl.incident_date", op, date.to_string());
        }
    }
    if let Some(customer) = present(&filters.customer_id) {
        filter.equals("cl.customer_id", customer);
    }
    if let Some(policy) = present(&filters.policy_id) {
        filter.equals("cl.policy_id", policy);
    }
    let sort = errors.check(Sort::parse(present(&filters.sort).as_deref(), queue));
    if let (Some(sort), Some(after)) = (sort, present(&filters.after))
        && let Some(key) = errors.check(sort.parse_cursor(&after))
    {
        filter.after(sort.keys(), key);
    }
    errors.into_result()?;
    // Every error above was pushed into `errors`: a missing sort was one.
    let sort = sort.unwrap_or(Sort::Newest);
    Ok((filter, sort))
}

/// A page of claims; a partner's caller (`scope`) gets its organisation's
/// only (filtered in SQL), with cross-organisation flags left out.
pub async fn list(
    db: &Db,
    vault: &Vault,
    scope: &Scope,
    filters: &ClaimFilters,
    me: Option<&str>,
    page: PageRequest,
) -> Result<Page<ClaimSummary>, AppError> {
    let name_index = |name: &PersonName| crate::customers::ssr::last_name_index(vault, name);
    let (mut filter, sort) = build_filter(filters, me, &name_index)?;
    tenancy::restrict(&mut filter, scope, "cl.partner_id");
    let fetched = filter
        .fetch(db, &select(), "claims cl", &sort.order(), page)
        .await?;
    let now = db.clock().now_micros();
    let mut items = fetched
        .rows
        .iter()
        .map(|row| summary_from_row(row, now))
        .collect::<Result<Vec<_>, _>>()?;
    let next_after = items
        .last()
        .filter(|_| fetched.more)
        .map(|last| sort.cursor_after(last));
    crate::claims::redact::summaries(db, scope, &mut items).await?;
    Ok(Page::new(page, items, fetched.total).with_next_after(next_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_filters_and_sorts_name_the_field() {
        let filters = ClaimFilters {
            status: Some("lost".into()),
            sort: Some("random".into()),
            from: Some("2026-02-30".into()),
            ..ClaimFilters::default()
        };
        let Err(errors) = build_filter(&filters, None, &|_| String::new()) else {
            panic!("bad filters were accepted");
        };
        for field in ["status", "sort", "from"] {
            assert!(errors.for_field(field).is_some(), "{field}: {errors:?}");
        }
    }
}
