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
    use crate::{auth::ssr::authorize, error::respond};
    use shared::{auth::Permission, pagination::PageRequest};
    respond(
        async move {
            let (state, principal) = authorize(Permission::CustomersRead).await?;
            let page = PageRequest::new(page.unwrap_or(1), 25)?;
            ssr::list(
                &state,
                &principal.scope,
                &ssr::Search::from_query(query.as_deref().unwrap_or_default()),
                page,
            )
            .await
        }
        .await,
    )
}

#[server]
pub async fn get_customer(id: String) -> Result<CustomerView, AppError> {
    use crate::{auth::ssr::authorize, error::respond};
    use shared::auth::Permission;
    respond(
        async move {
            let (state, _) = authorize(Permission::CustomersRead).await?;
            ssr::find(&state, &id)
                .await?
                .ok_or_else(|| AppError::NotFound("The customer".into()))
        }
        .await,
    )
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
    use crate::{
        auth::ssr::{audit_context, authorize},
        error::respond,
        request::RequestMeta,
    };
    use shared::{auth::Permission, customer::NewCustomerInput};
    respond(
        async move {
            let (state, principal) = authorize(Permission::CustomersWrite).await?;
            let input = NewCustomerInput {
                first_name,
                last_name,
                email,
                phone,
                date_of_birth,
                address: None,
                national_id,
            };
            let customer = ssr::create(
                &state,
                &audit_context(Some(&principal), &RequestMeta::current()),
                &principal.scope,
                &input,
            )
            .await?;
            leptos_axum::redirect(&format!("/customers/{}", customer.id));
            Ok(customer)
        }
        .await,
    )
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
    use crate::{
        auth::ssr::{audit_context, authorize},
        error::respond,
        request::RequestMeta,
    };
    use shared::{auth::Permission, customer::NewCustomerInput};
    respond(
        async move {
            let (state, principal) = authorize(Permission::CustomersWrite).await?;
            let changes = NewCustomerInput {
                first_name,
                last_name,
                email,
                phone,
                date_of_birth,
                address: None,
                national_id,
            };
            ssr::update(
                &state,
                &audit_context(Some(&principal), &RequestMeta::current()),
                &id,
                &changes,
                Some(version),
            )
            .await
        }
        .await,
    )
}

#[server]
pub async fn reveal_customer_field(
    id: String,
    field: String,
    reason: String,
) -> Result<Option<String>, AppError> {
    use crate::{
        auth::ssr::{audit_context, authorize},
        error::respond,
        request::RequestMeta,
    };
    use shared::auth::Permission;
    respond(
        async move {
            let (state, principal) = authorize(Permission::PiiReveal).await?;
            ssr::reveal(
                &state,
                &audit_context(Some(&principal), &RequestMeta::current()),
                &id,
                &field,
                &reason,
            )
            .await
        }
        .await,
    )
}

/// `confirm` must be `erase`: the confirmation page sends it.
#[server]
pub async fn erase_customer(id: String, confirm: Option<String>) -> Result<(), AppError> {
    use crate::{
        auth::ssr::{audit_context, authorize},
        error::respond,
        request::RequestMeta,
    };
    use shared::auth::Permission;
    respond(
        async move {
            let (state, principal) = authorize(Permission::PiiErase).await?;
            ssr::erase(
                &state,
                &audit_context(Some(&principal), &RequestMeta::current()),
                &id,
                confirm.as_deref(),
            )
            .await
        }
        .await,
    )
}
