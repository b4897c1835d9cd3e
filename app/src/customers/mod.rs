//! Customers: the list with its search box, the detail page with reveal
//! and erasure, creation; the services and SQL are in [`ssr`].
#![expect(
    clippy::too_many_arguments,
    reason = "server functions take one argument per form field, as ActionForm posts them"
)]

pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use shared::{customer::CustomerView, pagination::Page};

use crate::error::AppError;

#[server]
pub async fn list_customers(
    query: Option<String>,
    page: Option<u32>,
) -> Result<Page<CustomerView>, AppError> {
    use crate::server_call::serve;
    use shared::{auth::Permission, pagination::PageRequest};
    serve(Permission::CustomersRead, |call| async move {
        let (state, principal) = (&call.state, &call.principal);
        let page = PageRequest::new(page.unwrap_or(1), 25)?;
        ssr::list(
            &state.db,
            &state.vault,
            &principal.scope,
            &ssr::Search::from_query(query.as_deref().unwrap_or_default()),
            page,
        )
        .await
    })
    .await
}

#[server]
pub async fn get_customer(id: String) -> Result<CustomerView, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::CustomersRead, |call| async move {
        let state = &call.state;
        ssr::find(&state.db, &state.vault, &id)
            .await?
            .ok_or_else(|| AppError::NotFound("The customer".into()))
    })
    .await
}

/// What the staff form posts, as the API's input (the postal address is
/// captured through the API for now).
#[cfg(feature = "ssr")]
fn staff_form(
    first_name: String,
    last_name: String,
    email: String,
    phone: Option<String>,
    date_of_birth: Option<String>,
    national_id: Option<String>,
) -> shared::customer::NewCustomerInput {
    shared::customer::NewCustomerInput {
        first_name,
        last_name,
        email,
        phone,
        date_of_birth,
        address: None,
        national_id,
    }
}

/// The staff form (the postal address is captured through the API for now).
#[server]
pub async fn create_customer(
    first_name: String,
    last_name: String,
    email: String,
    phone: Option<String>,
    date_of_birth: Option<String>,
    national_id: Option<String>,
) -> Result<CustomerView, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::CustomersWrite, |call| async move {
        let (state, principal) = (&call.state, &call.principal);
        let input = staff_form(
            first_name,
            last_name,
            email,
            phone,
            date_of_birth,
            national_id,
        );
        let customer = ssr::create(
            &state.db,
            &state.vault,
            &call.context,
            &principal.scope,
            &input,
        )
        .await?;
        leptos_axum::redirect(&format!("/customers/{}", customer.id));
        Ok(customer)
    })
    .await
}

/// The edit form: blank fields keep their values; `version` is the version
/// the page showed (a stale page gets 412).
#[server]
pub async fn update_customer(
    id: String,
    version: i64,
    first_name: String,
    last_name: String,
    email: String,
    phone: Option<String>,
    date_of_birth: Option<String>,
    national_id: Option<String>,
) -> Result<CustomerView, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::CustomersWrite, |call| async move {
        let state = &call.state;
        let changes = staff_form(
            first_name,
            last_name,
            email,
            phone,
            date_of_birth,
            national_id,
        );
        ssr::update(
            &state.db,
            &state.vault,
            &call.context,
            &id,
            &changes,
            Some(version),
        )
        .await
    })
    .await
}

#[server]
pub async fn reveal_customer_field(
    id: String,
    field: String,
    reason: String,
) -> Result<Option<String>, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::PiiReveal, |call| async move {
        let state = &call.state;
        ssr::reveal(&state.db, &state.vault, &call.context, &id, &field, &reason).await
    })
    .await
}

/// `confirm` must be `erase`: the confirmation page sends it.
#[server]
pub async fn erase_customer(id: String, confirm: Option<String>) -> Result<(), AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::PiiErase, |call| async move {
        let state = &call.state;
        ssr::erase(
            &state.db,
            &state.vault,
            &call.context,
            &id,
            confirm.as_deref(),
        )
        .await
    })
    .await
}
