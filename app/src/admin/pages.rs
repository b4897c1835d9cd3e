//! The Admin page.

use leptos::prelude::*;
use leptos_meta::Title;
use shared::{
    FieldErrors,
    auth::{NewPassword, Permission, Role},
    contact::Email,
};

use super::{
    ApiClientSummary, CreateApiClient, CreateUser, ResetUserMfa, RevokeApiClient, UpdateUser,
    UserSummary, list_api_clients, list_users,
};
use crate::{
    auth::CurrentUser,
    error::{AppError, ErrorPanel},
    format::maybe_instant,
    forms::{Field, FormAlert, FormErrors, NotPermitted},
};

/// Each section appears only to a role that may use it, never as a 403
/// panel beside forms that would fail; a role with none of them gets the
/// page's 403.
#[component]
pub fn AdminPage() -> impl IntoView {
    let user = use_context::<Option<CurrentUser>>().flatten();
    let can = |permission| user.as_ref().is_some_and(|u| u.can(permission));
    let sections = [
        Permission::UsersManage,
        Permission::ApiClientsManage,
        Permission::OperationsManage,
    ];
    if !sections.into_iter().any(can) {
        let error = AppError::Forbidden(Permission::UsersManage.describe().into());
        return view! { <ErrorPanel error /> }.into_any();
    }
    let hidden = sections
        .into_iter()
        .filter(|p| !can(*p))
        .map(|permission| view! { <NotPermitted permission /> })
        .collect_view();
    view! {
        <Title text="Admin" />
        <header class="page-header">
            <h1>"Admin"</h1>
            <p class="page-lede">"Staff accounts, roles, partners, API clients and webhooks. Every change here is audited."</p>
        </header>
        // Type-erased: the sections' nested types exceed the compiler's depth.
        {can(Permission::UsersManage).then(|| view! { <StaffSection /> }.into_any())}
        {can(Permission::ApiClientsManage).then(|| view! {
            <super::partner_pages::PartnerSection />
            <ApiClientSection />
        }.into_any())}
        {can(Permission::OperationsManage).then(|| view! { <crate::webhooks::pages::WebhookSection /> }.into_any())}
        {hidden}
    }
    .into_any()
}

#[component]
fn StaffSection() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let update = ServerAction::<UpdateUser>::new();
    let reset_mfa = ServerAction::<ResetUserMfa>::new();
    let users = Resource::new(
        move || {
            (
                create.version().get(),
                update.version().get(),
                reset_mfa.version().get(),
            )
        },
        |_| list_users(),
    );
    let errors = FormErrors::new(create.value());
    let update_error = move || {
        update
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| reset_mfa.value().get().and_then(Result::err))
    };

    let check = move |ev: leptos::ev::SubmitEvent| {
        let Ok(input) = CreateUser::from_event(&ev) else {
            return;
        };
        let mut found = FieldErrors::new();
        found.check(Email::parse("email", &input.email));
        if input.display_name.trim().is_empty() {
            found.push("display_name", "must be 1 to 100 characters");
        }
        found.check(Role::parse_staff("role", &input.role));
        found.check(NewPassword::parse(
            "password",
            &input.password,
            Some(&input.email),
        ));
        if !found.is_empty() {
            ev.prevent_default();
        }
        errors.local.set(found);
    };

    view! {
        <section class="card" aria-labelledby="staff-heading">
            <h2 id="staff-heading">"Staff accounts"</h2>
            {move || update_error().map(|error| view! { <p class="form-alert" role="alert">{error.to_string()}</p> })}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(users) => view! { <UserTable users update reset_mfa /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
            <details class="form-panel" open=move || errors.server.get().is_some()>
                <summary>"Add a member of staff"</summary>
                <ActionForm action=create on:submit:capture=check>
                    <FormAlert errors />
                    <Field label="Email" name="email" kind="email" errors required=true autocomplete="off" />
                    <Field label="Name" name="display_name" errors required=true autocomplete="off" />
                    <RoleSelect id="new-user-role".into() name="role" selected=Role::Adjuster staff_only=true />
                    <Field label="Initial password" name="password" kind="password" errors required=true
                        autocomplete="new-password" hint="At least 12 characters; share it securely and ask them to change it." />
                    <button type="submit" class="button primary" disabled=move || create.pending().get()>"Create account"</button>
                </ActionForm>
            </details>
        </section>
    }
}

#[component]
fn UserTable(
    users: Vec<UserSummary>,
    update: ServerAction<UpdateUser>,
    reset_mfa: ServerAction<ResetUserMfa>,
) -> impl IntoView {
    view! {
        <table class="data-table" id="staff-table">
            <thead>
                <tr><th>"Name"</th><th>"Email"</th><th>"Last sign-in"</th><th>"Status"</th><th>"Two-step sign-in"</th><th>"Role and access"</th></tr>
            </thead>
            <tbody>
                {users
                    .into_iter()
                    .map(|user| {
                        let status = if !user.active { "Disabled" } else if user.locked { "Locked" } else { "Active" };
                        let reset_id = user.id.clone();
                        view! {
                            <tr data-email=user.email.clone()>
                                <td>{user.display_name.clone()}</td>
                                <td>{user.email.clone()}</td>
                                <td>{maybe_instant(user.last_login_at)}</td>
                                <td><span class="badge" class:badge-muted=!user.active>{status}</span></td>
                                <td>
                                    {if user.mfa_enabled {
                                        view! {
                                            <ActionForm action=reset_mfa>
                                                <input type="hidden" name="user_id" value=reset_id />
                                                <span class="badge">"On"</span>" "
                                                <button type="submit" class="button small" title="For a lost phone: removes the factor and its recovery codes and signs the user out; they set it up again at their next sign-in">"Reset"</button>
                                            </ActionForm>
                                        }.into_any()
                                    } else {
                                        view! { <span class="badge badge-muted">"Off"</span> }.into_any()
                                    }}
                                </td>
                                <td>
                                    <ActionForm action=update>
                                        <input type="hidden" name="user_id" value=user.id.clone() />
                                        <RoleSelect id=format!("role-{}", user.id) name="role" selected=user.role staff_only=true />
                                        <label class="inline-check">
                                            <input type="checkbox" name="active" value="on" checked=user.active />
                                            "Active"
                                        </label>
                                        <button type="submit" class="button small">"Save"</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn RoleSelect(
    /// Unique on the page (several rows have a role select).
    id: String,
    name: &'static str,
    selected: Role,
    staff_only: bool,
) -> impl IntoView {
    let roles: &[Role] = if staff_only { &Role::STAFF } else { &Role::ALL };
    view! {
        <label class="sr-only" for=id.clone()>"Role"</label>
        <select id=id name=name>
            {roles
                .iter()
                .map(|role| view! {
                    <option value=role.as_str() selected=*role == selected>{role.label()}</option>
                })
                .collect_view()}
        </select>
    }
}

#[component]
fn ApiClientSection() -> impl IntoView {
    let create = ServerAction::<CreateApiClient>::new();
    let revoke = ServerAction::<RevokeApiClient>::new();
    let clients = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_clients(None),
    );
    let errors = FormErrors::new(create.value());
    let issued = move || create.value().get().and_then(Result::ok);

    view! {
        <section class="card" aria-labelledby="clients-heading">
            <h2 id="clients-heading">"API clients"</h2>
            <p class="muted">"Partner systems exchange a client id and secret for short-lived tokens at "<code>"POST /api/v1/auth/token"</code>"."</p>
            {move || issued().map(|issued| view! {
                <div class="secret-box" role="status" id="issued-secret">
                    <p><strong>{format!("Client “{}” issued.", issued.name)}</strong>" Copy the secret now: it is shown only once."</p>
                    <dl>
                        <dt>"client_id"</dt><dd><code>{issued.client_id}</code></dd>
                        <dt>"client_secret"</dt><dd><code class="secret">{issued.client_secret}</code></dd>
                    </dl>
                </div>
            })}
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match clients.await {
                        Ok(clients) => view! { <ClientTable clients revoke /> }.into_any(),
                        Err(error) => view! { <ErrorPanel error /> }.into_any(),
                    }
                })}
            </Suspense>
            <details class="form-panel">
                <summary>"Issue an API client"</summary>
                <ActionForm action=create>
                    <FormAlert errors />
                    <Field label="Name" name="name" errors required=true autocomplete="off" hint="The partner system, e.g. “acme-claims-gateway”." />
                    <RoleSelect id="new-client-role".into() name="role" selected=Role::ApiClient staff_only=false />
                    <Field label="Partner" name="partner" errors autocomplete="off" hint="The partner's slug, e.g. “acme-brokers”: the client sees that organisation's records only." />
                    <label class="checkbox" for="new-client-internal">
                        <input type="checkbox" id="new-client-internal" name="internal" value="on" />
                        " Internal: sees every organisation's records (trusted integrations only; audited)"
                    </label>
                    <button type="submit" class="button primary" disabled=move || create.pending().get()>"Issue client"</button>
                </ActionForm>
            </details>
        </section>
    }
}

#[component]
fn ClientTable(
    clients: Vec<ApiClientSummary>,
    revoke: ServerAction<RevokeApiClient>,
) -> impl IntoView {
    if clients.is_empty() {
        return view! { <p class="muted">"No API clients yet."</p> }.into_any();
    }
    view! {
        <table class="data-table" id="client-table">
            <thead>
                <tr><th>"Name"</th><th>"Client id"</th><th>"Role"</th><th>"Organisation"</th><th>"Last used"</th><th>"Status"</th></tr>
            </thead>
            <tbody>
                {clients
                    .into_iter()
                    .map(|client| view! {
                        <tr>
                            <td>{client.name.clone()}</td>
                            <td><code>{client.id.clone()}</code></td>
                            <td>{client.role.label()}</td>
                            <td>{match (&client.partner_id, client.internal) {
                                (Some(partner), _) => view! { <code>{partner.clone()}</code> }.into_any(),
                                (None, true) => view! { <span class="badge">"Internal"</span> }.into_any(),
                                (None, false) => view! { <span class="badge badge-muted">"None"</span> }.into_any(),
                            }}</td>
                            <td>{maybe_instant(client.last_used_at)}</td>
                            <td>
                                {match client.revoked_at {
                                    Some(at) => view! { <span class="badge badge-muted">{format!("Revoked {}", crate::format::instant(at))}</span> }.into_any(),
                                    None => view! {
                                        <ActionForm action=revoke>
                                            <input type="hidden" name="client_id" value=client.id.clone() />
                                            <button type="submit" class="button small danger">"Revoke"</button>
                                        </ActionForm>
                                    }.into_any(),
                                }}
                            </td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
