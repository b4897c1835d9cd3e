//! The webhooks section of the Admin page: endpoints, the secret shown once,
//! the delivery log and replay.

use leptos::prelude::*;
use shared::webhook::NewWebhook;

use super::{
    CreateWebhook, DeliveryView, DisableWebhook, ReplayDelivery, WebhookEndpoint, get_webhooks,
};
use crate::{
    error::ErrorPanel,
    format::instant,
    forms::{Field, FormAlert, FormErrors},
};

#[component]
pub fn WebhookSection() -> impl IntoView {
    let create = ServerAction::<CreateWebhook>::new();
    let disable = ServerAction::<DisableWebhook>::new();
    let replay = ServerAction::<ReplayDelivery>::new();
    let overview = Resource::new(
        move || {
            (
                create.version().get(),
                disable.version().get(),
                replay.version().get(),
            )
        },
        |_| get_webhooks(),
    );
    let errors = FormErrors::new(create.value());
    let created = move || create.value().get().and_then(Result::ok);
    let replay_error = move || replay.value().get().and_then(Result::err);
    // The server checks again: server functions are public endpoints.
    let check = move |ev: leptos::ev::SubmitEvent| {
        let Ok(input) = CreateWebhook::from_event(&ev) else {
            return;
        };
        let allowed = overview
            .get_untracked()
            .and_then(Result::ok)
            .map(|overview| overview.allowed_hosts)
            .unwrap_or_default();
        let found = NewWebhook::parse(&input.url, &input.description, &allowed)
            .err()
            .unwrap_or_default();
        if !found.is_empty() {
            ev.prevent_default();
        }
        errors.local.set(found);
    };

    view! {
        <section class="card" aria-labelledby="webhooks-heading" id="webhooks">
            <h2 id="webhooks-heading">"Webhooks"</h2>
            <p class="muted">
                "Each triaged claim is posted as "<code>"claim.triaged"</code>" to every active endpoint, signed in "
                <code>"Vanguard-Signature"</code>" (HMAC-SHA256 with the endpoint's secret). Failed deliveries are retried with backoff by the pipeline; any delivery can be replayed from the log."
            </p>
            {move || created().map(|created| view! {
                <div class="secret-box" role="status" id="webhook-secret">
                    <p><strong>{format!("Endpoint {} registered.", created.endpoint.url)}</strong>" Copy the signing secret now: it is shown only once."</p>
                    <code class="secret">{created.secret}</code>
                </div>
            })}
            {move || replay_error().map(|error| view! { <p class="form-alert" role="alert">{error.to_string()}</p> })}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match overview.await {
                        Ok(overview) => view! {
                            <EndpointTable endpoints=overview.endpoints disable />
                            <DeliveryLog deliveries=overview.deliveries replay />
                        }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
            <details class="form-panel">
                <summary>"Register an endpoint"</summary>
                <ActionForm action=create on:submit:capture=check attr:id="webhook-form">
                    <FormAlert errors />
                    <Field label="URL" name="url" errors required=true autocomplete="off" hint="https:// to a public address (private, loopback and metadata addresses are refused)" />
                    <Field label="Description" name="description" errors required=true autocomplete="off" hint="Who receives it, e.g. “Acme claims gateway”." />
                    <Field label="Partner" name="partner" errors autocomplete="off" hint="The partner's slug: the endpoint then receives only that partner's claims. Empty: the insurer's own, every claim." />
                    <button type="submit" class="button primary" disabled=move || create.pending().get()>"Register"</button>
                </ActionForm>
            </details>
        </section>
    }
}

#[component]
fn EndpointTable(
    endpoints: Vec<WebhookEndpoint>,
    disable: ServerAction<DisableWebhook>,
) -> impl IntoView {
    if endpoints.is_empty() {
        return view! { <p class="muted">"No endpoints yet."</p> }.into_any();
    }
    let rows = endpoints
        .into_iter()
        .map(|e| {
            let state = if e.active {
                view! {
                    <ActionForm action=disable>
                        <input type="hidden" name="id" value=e.id.clone() />
                        <button type="submit" class="button small danger">"Disable"</button>
                    </ActionForm>
                }
                .into_any()
            } else {
                view! { <span class="badge badge-muted">"Disabled"</span> }.into_any()
            };
            view! {
                <tr>
                    <td><code>{e.url}</code></td>
                    <td>{e.description}</td>
                    <td>{e.partner_id.unwrap_or_else(|| "insurer (all claims)".into())}</td>
                    <td>{e.events.join(", ")}</td>
                    <td>{instant(e.created_at)}</td>
                    <td>{state}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="data-table" id="webhook-endpoints">
            <thead><tr><th>"URL"</th><th>"Description"</th><th>"Partner"</th><th>"Events"</th><th>"Registered"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn DeliveryLog(
    deliveries: Vec<DeliveryView>,
    replay: ServerAction<ReplayDelivery>,
) -> impl IntoView {
    if deliveries.is_empty() {
        return view! { <p class="muted">"No deliveries yet."</p> }.into_any();
    }
    let rows = deliveries
        .into_iter()
        .map(|d| {
            let badge = if d.outcome == "delivered" { "badge" } else { "badge flag" };
            let result = match (d.response_status, d.error) {
                (_, Some(error)) => error,
                (Some(status), None) => format!("HTTP {status}"),
                (None, None) => String::new(),
            };
            view! {
                <tr>
                    <td>{instant(d.created_at)}</td>
                    <td><code>{d.event}</code>" "<span class="muted">{d.cause}</span></td>
                    <td>{d.claim_id.map(|id| view! { <a href=format!("/claims/{id}")>"claim"</a> })}</td>
                    <td><code>{d.url}</code></td>
                    <td><span class=badge>{d.outcome}</span>" "{result}</td>
                    <td class="numeric">{format!("{} ms", d.duration_ms)}</td>
                    <td>
                        <ActionForm action=replay>
                            <input type="hidden" name="id" value=d.id />
                            <button type="submit" class="button small">"Replay"</button>
                        </ActionForm>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h3>"Recent deliveries"</h3>
        <table class="data-table" id="webhook-deliveries">
            <thead><tr><th>"When"</th><th>"Event"</th><th>"Claim"</th><th>"Endpoint"</th><th>"Result"</th><th class="numeric">"Time"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
