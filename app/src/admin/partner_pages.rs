//! The Admin page's partner organisations: list them, create one, and see
//! the API clients each holds (clients are issued for a partner in the API
//! client section below it).

use leptos::prelude::*;
use shared::tenancy::{PartnerKind, PartnerView};

use super::{ApiClientSummary, CreatePartner, list_api_clients, list_partners};
use crate::{
    error::ErrorPanel,
    forms::{Field, FormAlert, FormErrors},
};

#[component]
pub fn PartnerSection() -> impl IntoView {
    let create = ServerAction::<CreatePartner>::new();
    let partners = Resource::new(move || create.version().get(), |_| list_partners());
    let errors = FormErrors::new(create.value());
    view! {
        <section class="card" aria-labelledby="partners-heading">
            <h2 id="partners-heading">"Partners"</h2>
            <p class="muted">"Brokers, TPAs, fleet operators and embedded-insurance platforms. A partner's API clients see only the customers, policies and claims of that partner."</p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match partners.await {
                        Ok(partners) => view! { <PartnerTable partners /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
            <details class="form-panel">
                <summary>"Add a partner"</summary>
                <ActionForm action=create>
                    <FormAlert errors />
                    <Field label="Slug" name="slug" errors required=true autocomplete="off" hint="How commands and the client form name it, e.g. “acme-brokers”." />
                    <Field label="Name" name="partner_name" error_for="name" errors required=true autocomplete="off" />
                    <label for="new-partner-kind">"Kind"</label>
                    <select id="new-partner-kind" name="kind">
                        {PartnerKind::ALL
                            .into_iter()
                            .map(|kind| view! { <option value=kind.as_str()>{kind.label()}</option> })
                            .collect_view()}
                    </select>
                    <button type="submit" class="button primary" disabled=move || create.pending().get()>"Add partner"</button>
                </ActionForm>
            </details>
        </section>
    }
}

#[component]
fn PartnerTable(partners: Vec<PartnerView>) -> impl IntoView {
    if partners.is_empty() {
        return view! { <p class="muted">"No partners yet."</p> }.into_any();
    }
    view! {
        <table class="data-table" id="partner-table">
            <thead>
                <tr><th>"Name"</th><th>"Slug"</th><th>"Kind"</th><th>"Active clients"</th></tr>
            </thead>
            <tbody>
                {partners
                    .into_iter()
                    .map(|partner| view! {
                        <tr>
                            <td>{partner.name.clone()}</td>
                            <td><code>{partner.slug.clone()}</code></td>
                            <td>{partner.kind.label()}</td>
                            <td><PartnerClients slug=partner.slug count=partner.active_clients /></td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The partner's clients, fetched when the row is opened.
#[component]
fn PartnerClients(slug: String, count: i64) -> impl IntoView {
    let open = RwSignal::new(false);
    let clients = Resource::new(
        move || open.get(),
        move |open| {
            let slug = slug.clone();
            async move {
                if open {
                    list_api_clients(Some(slug)).await
                } else {
                    Ok(Vec::new())
                }
            }
        },
    );
    view! {
        <details on:toggle=move |_| open.set(true)>
            <summary>{count.to_string()}</summary>
            <Suspense fallback=|| view! { <span class="muted">"Loading…"</span> }>
                {move || Suspend::new(async move {
                    match clients.await {
                        Ok(clients) => view! { <ClientNames clients /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
        </details>
    }
}

#[component]
fn ClientNames(clients: Vec<ApiClientSummary>) -> impl IntoView {
    view! {
        <ul>
            {clients
                .into_iter()
                .map(|client| {
                    let state = if client.revoked_at.is_some() { " (revoked)" } else { "" };
                    view! { <li><code>{client.id.clone()}</code>" "{client.name.clone()}{state}</li> }
                })
                .collect_view()}
        </ul>
    }
}
