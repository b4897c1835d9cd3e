//! The customer list (search, paging, creation) and the customer page
//! (masked details, reveal with a reason, erasure).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::{A, Form},
    hooks::{use_params_map, use_query_map},
};
use shared::{
    confirm::Irreversible,
    customer::{CustomerView, NewCustomer, NewCustomerInput, PiiField},
};

use super::{
    CreateCustomer, EraseCustomer, RevealCustomerField, UpdateCustomer, get_customer,
    list_customers,
};
use crate::{
    auth::CurrentUser,
    encoding::urlencode,
    error::ErrorPanel,
    format::instant,
    forms::{ConfirmLink, ConfirmStep, ConfirmSubmit, Field, FormAlert, FormErrors, confirming},
    pager::Pager,
};

#[component]
pub fn CustomersPage() -> impl IntoView {
    let query = use_query_map();
    let search = move || query.with(|q| q.get("q").unwrap_or_default());
    let page = move || {
        query.with(|q| {
            q.get("page")
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1)
        })
    };
    let customers = Resource::new(
        move || (search(), page()),
        |(q, page)| list_customers(Some(q), Some(page)),
    );

    view! {
        <Title text="Customers" />
        <header class="page-header">
            <h1>"Customers"</h1>
            <p class="page-lede">"Policyholders and claimants. Personal data is masked; reveal it on a customer's page."</p>
        </header>
        <section class="card">
            <Form method="GET" action="">
                <label for="customer-search" class="field-label">"Find a customer"</label>
                <div class="search-row">
                    <input id="customer-search" type="search" name="q" value=search
                        placeholder="Email, last name, national id or CUS-number" />
                    <button type="submit" class="button">"Search"</button>
                </div>
                <p class="field-hint">"Exact matches only: personal data is encrypted and searched through blind indexes."</p>
            </Form>
            <p class="export-link">
                <a rel="external" download="customers.csv" id="export-customers"
                    href=move || format!("/customers/export.csv?q={}", urlencode(&search()))>"Export these customers as CSV"</a>
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match customers.await {
                        Ok(page) => view! { <CustomerTable page /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <NewCustomerForm />
    }
}

#[component]
fn CustomerTable(page: shared::pagination::Page<CustomerView>) -> impl IntoView {
    if page.items.is_empty() {
        return view! { <p class="empty-state">"No customers match."</p> }.into_any();
    }
    let (items, page) = page.into_items();
    view! {
        <table class="data-table" id="customer-table">
            <thead><tr><th>"Number"</th><th>"Name"</th><th>"Email"</th><th>"Since"</th></tr></thead>
            <tbody>
                {items.into_iter().map(|c| view! {
                    <tr>
                        <td><A href=format!("/customers/{}", c.id)>{c.customer_number.clone()}</A></td>
                        <td>{format!("{} {}", c.first_name, c.last_name)}</td>
                        <td>{c.email.clone()}</td>
                        <td>{instant(c.created_at)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <Pager page noun="customers" />
    }
    .into_any()
}

#[component]
fn NewCustomerForm() -> impl IntoView {
    let action = ServerAction::<CreateCustomer>::new();
    let errors = FormErrors::new(action.value());
    let check = move |ev: leptos::ev::SubmitEvent| {
        let Ok(input) = CreateCustomer::from_event(&ev) else {
            return;
        };
        let parsed = NewCustomer::parse(
            &NewCustomerInput {
                first_name: input.first_name,
                last_name: input.last_name,
                email: input.email,
                phone: input.phone,
                date_of_birth: input.date_of_birth,
                address: None,
                national_id: input.national_id,
            },
            None,
        );
        let found = parsed.err().unwrap_or_default();
        if !found.is_empty() {
            ev.prevent_default();
        }
        errors.local.set(found);
    };
    view! {
        <section class="card">
            <details class="form-panel" open=move || errors.server.get().is_some()>
                <summary>"New customer"</summary>
                <ActionForm action on:submit:capture=check>
                    <FormAlert errors />
                    <div class="form-grid">
                        <Field label="First name" name="first_name" errors required=true autocomplete="off" />
                        <Field label="Last name" name="last_name" errors required=true autocomplete="off" />
                        <Field label="Email" name="email" kind="email" errors required=true autocomplete="off" />
                        <Field label="Phone" name="phone" kind="tel" errors autocomplete="off" />
                        <Field label="Date of birth" name="date_of_birth" kind="date" errors />
                        <Field label="National id" name="national_id" errors autocomplete="off" />
                    </div>
                    <button type="submit" class="button primary" disabled=move || action.pending().get()>"Create customer"</button>
                </ActionForm>
            </details>
        </section>
    }
}

#[component]
pub fn CustomerPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let erase = ServerAction::<EraseCustomer>::new();
    let update = ServerAction::<UpdateCustomer>::new();
    let customer = Resource::new(
        move || (id(), erase.version().get(), update.version().get()),
        |(id, ..)| get_customer(id),
    );
    let user = use_context::<Option<CurrentUser>>().flatten();

    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let user = user.clone();
                Suspend::new(async move {
                    match customer.await {
                        Ok(customer) => view! { <CustomerDetail customer user erase update /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn CustomerDetail(
    customer: CustomerView,
    user: Option<CurrentUser>,
    erase: ServerAction<EraseCustomer>,
    update: ServerAction<UpdateCustomer>,
) -> impl IntoView {
    use shared::auth::Permission;
    let can_edit = user
        .as_ref()
        .is_some_and(|u| u.can(Permission::CustomersWrite))
        && !customer.erased;
    let can_reveal =
        user.as_ref().is_some_and(|u| u.can(Permission::PiiReveal)) && !customer.erased;
    let can_erase = user.as_ref().is_some_and(|u| u.can(Permission::PiiErase)) && !customer.erased;
    let can_write_policies = user
        .as_ref()
        .is_some_and(|u| u.can(Permission::PoliciesWrite))
        && !customer.erased;
    let facts: Vec<(&str, Option<String>)> = vec![
        ("First name", Some(customer.first_name.clone())),
        ("Last name", Some(customer.last_name.clone())),
        ("Email", Some(customer.email.clone())),
        ("Phone", customer.phone.clone()),
        ("Date of birth", customer.date_of_birth.clone()),
        ("Address", customer.address.clone()),
        ("National id", customer.national_id.clone()),
    ];
    let id = customer.id.clone();
    view! {
        <Title text=customer.customer_number.clone() />
        <header class="page-header">
            <h1>{format!("Customer {}", customer.customer_number)}</h1>
            <p class="page-lede">{if customer.erased { "Personal data erased at the customer's request.".to_owned() } else { format!("Customer since {}", instant(customer.created_at)) }}</p>
        </header>
        <section class="card">
            <h2>"Personal data"</h2>
            <dl class="facts" id="customer-facts">
                {facts.into_iter().map(|(label, value)| view! {
                    <dt>{label}</dt><dd>{value.unwrap_or_else(|| "—".into())}</dd>
                }).collect_view()}
            </dl>
            <p class="action-row">
                <a href=format!("/policies?customer_id={id}") id="customer-policies">"This customer's policies"</a>
                <a href=format!("/claims?customer_id={id}") id="customer-claims">"This customer's claims"</a>
            </p>
        </section>
        {can_edit.then(|| view! { <EditCustomerForm customer=customer.clone() update /> })}
        {can_write_policies.then(|| view! { <crate::policies::pages::NewPolicyForm customer_id=id.clone() /> })}
        {can_reveal.then(|| view! { <RevealForm id=id.clone() /> })}
        {can_erase.then(|| {
            let erasure = Irreversible::EraseCustomer;
            let confirming = confirming();
            let (id, number) = (id.clone(), customer.customer_number.clone());
            move || {
                if confirming.get().as_deref() == Some(erasure.word()) {
                    let (id, number) = (id.clone(), number.clone());
                    view! {
                        <ConfirmStep irreversible=erasure title=format!("Erase the personal data of {number}") back=format!("/customers/{id}")>
                            <ActionForm action=erase>
                                <FormAlert errors=FormErrors::new(erase.value()) />
                                <input type="hidden" name="id" value=id.clone() />
                                <ConfirmSubmit irreversible=erasure />
                            </ActionForm>
                        </ConfirmStep>
                    }
                    .into_any()
                } else {
                    view! {
                        <section class="card danger-zone">
                            <h2>"Erase personal data"</h2>
                            <p class="muted">{erasure.consequence()}</p>
                            <ConfirmLink irreversible=erasure label="Erase personal data" />
                        </section>
                    }
                    .into_any()
                }
            }
        })}
    }
}

#[component]
fn RevealForm(id: String) -> impl IntoView {
    let action = ServerAction::<RevealCustomerField>::new();
    let errors = FormErrors::new(action.value());
    let revealed = move || action.value().get().and_then(Result::ok);
    view! {
        <section class="card">
            <h2>"Reveal a field"</h2>
            <p class="muted">"Revealing is recorded in the audit trail with your reason."</p>
            {move || revealed().map(|value| view! {
                <p class="secret-box" role="status" id="revealed-value">{value.unwrap_or_else(|| "(not given)".into())}</p>
            })}
            <ActionForm action>
                <FormAlert errors />
                <input type="hidden" name="id" value=id />
                <label for="reveal-field">"Field"</label>
                <select id="reveal-field" name="field">
                    {PiiField::ALL.into_iter().map(|f| view! { <option value=f.as_str()>{f.label()}</option> }).collect_view()}
                </select>
                <Field label="Reason" name="reason" errors required=true autocomplete="off" hint="For example: “verifying identity on call 4411”." />
                <button type="submit" class="button">"Reveal"</button>
            </ActionForm>
        </section>
    }
}

/// Changes personal data without showing it: each field starts blank with
/// the masked value as its placeholder, and a blank field keeps its value.
#[component]
fn EditCustomerForm(customer: CustomerView, update: ServerAction<UpdateCustomer>) -> impl IntoView {
    let errors = FormErrors::new(update.value());
    let saved = move || update.value().get().is_some_and(|r| r.is_ok());
    let fields = [
        (
            "First name",
            "first_name",
            "text",
            customer.first_name.clone(),
        ),
        ("Last name", "last_name", "text", customer.last_name.clone()),
        ("Email", "email", "email", customer.email.clone()),
        (
            "Phone",
            "phone",
            "tel",
            customer.phone.clone().unwrap_or_default(),
        ),
        ("Date of birth", "date_of_birth", "date", String::new()),
        (
            "National id",
            "national_id",
            "text",
            customer.national_id.clone().unwrap_or_default(),
        ),
    ];
    view! {
        <section class="card">
            <details class="form-panel" open=move || errors.server.get().is_some()>
                <summary>"Edit details"</summary>
                <ActionForm action=update attr:id="edit-customer">
                    <FormAlert errors />
                    {move || saved().then(|| view! { <p class="form-ok" role="status">"Saved."</p> })}
                    <input type="hidden" name="id" value=customer.id.clone() />
                    <input type="hidden" name="version" value=customer.version.to_string() />
                    <p class="field-hint">"Leave a field blank to keep it. Current values are shown masked."</p>
                    <div class="form-grid">
                        {fields.into_iter().map(|(label, name, kind, current)| {
                            let message = errors.field(name);
                            let id = format!("edit-{name}");
                            view! {
                                <div class="field" class:has-error=move || message.get().is_some()>
                                    <label for=id.clone()>{label}</label>
                                    <input id=id type=kind name=name placeholder=current />
                                    <p class="field-error">{move || message.get()}</p>
                                </div>
                            }
                        }).collect_view()}
                    </div>
                    <button type="submit" class="button" disabled=move || update.pending().get()>"Save changes"</button>
                </ActionForm>
            </details>
        </section>
    }
}
