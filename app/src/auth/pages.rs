//! The sign-in page and the "My account" page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use shared::{FieldErrors, auth::NewPassword, contact::Email};

use super::{ChangePassword, Login, reload_at, safe_next};
use crate::forms::{Field, FormAlert, FormErrors};

/// Signing in works as a plain HTML form (before or without the WASM) and
/// as an in-page action after hydration.
#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    let errors = FormErrors::new(action.value());
    let next = use_query_map()
        .with_untracked(|query| query.get("next"))
        .unwrap_or_default();
    // After a sign-in through the WASM: a full page load, so the server
    // renders the signed-in frame.
    // The server answers where to go: `next`, or the second step.
    Effect::new(move |_| {
        if let Some(Ok(destination)) = action.value().get() {
            reload_at(&safe_next(Some(&destination)));
        }
    });

    let check = move |ev: leptos::ev::SubmitEvent| {
        let Ok(input) = Login::from_event(&ev) else {
            return;
        };
        let mut found = FieldErrors::new();
        found.check(Email::parse("email", &input.email));
        if input.password.is_empty() {
            found.push("password", "is required");
        }
        if !found.is_empty() {
            ev.prevent_default();
        }
        errors.local.set(found);
    };

    // Set once the WASM runs (end-to-end tests wait for it).
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    view! {
        <Title text="Sign in" />
        <main class="auth-page" data-hydrated=move || hydrated.get().to_string()>
            <section class="auth-card" aria-labelledby="login-heading">
                <p class="brand auth-brand">"Vanguard"</p>
                <h1 id="login-heading">"Sign in"</h1>
                <p class="muted">"Staff access to customers, policies and claims."</p>
                <ActionForm action on:submit:capture=check>
                    <FormAlert errors />
                    <input type="hidden" name="next" value=next />
                    <Field label="Email" name="email" kind="email" errors autocomplete="username" required=true />
                    <Field label="Password" name="password" kind="password" errors autocomplete="current-password" required=true />
                    <button type="submit" class="button primary" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
            </section>
        </main>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let action = ServerAction::<ChangePassword>::new();
    let errors = FormErrors::new(action.value());
    let done = move || matches!(action.value().get(), Some(Ok(())));

    let check = move |ev: leptos::ev::SubmitEvent| {
        let Ok(input) = ChangePassword::from_event(&ev) else {
            return;
        };
        let mut found = FieldErrors::new();
        if input.current_password.is_empty() {
            found.push("current_password", "is required");
        }
        found.check(NewPassword::parse(
            "new_password",
            &input.new_password,
            None,
        ));
        if input.new_password != input.confirm_password {
            found.push("confirm_password", "must match the new password");
        }
        if !found.is_empty() {
            ev.prevent_default();
        }
        errors.local.set(found);
    };

    view! {
        <Title text="My account" />
        <header class="page-header">
            <h1>"My account"</h1>
            <p class="page-lede">"Change your password. Your other signed-in sessions end when you do."</p>
        </header>
        <section class="card narrow">
            <h2>"Two-step sign-in"</h2>
            <p>"A code from an authenticator app on your phone, asked for after your password."</p>
            <a class="button" href=super::mfa::ACCOUNT_PATH>"Set up or manage two-step sign-in"</a>
        </section>
        <section class="card narrow">
            <h2>"Change password"</h2>
            <Show when=done>
                <p class="form-success" role="status">"Your password was changed; other sessions were signed out."</p>
            </Show>
            <ActionForm action on:submit:capture=check>
                <FormAlert errors />
                <Field label="Current password" name="current_password" kind="password" errors autocomplete="current-password" required=true />
                <Field label="New password" name="new_password" kind="password" errors autocomplete="new-password" required=true
                    hint="At least 12 characters; a passphrase of a few words works well." />
                <Field label="Repeat the new password" name="confirm_password" kind="password" errors autocomplete="new-password" required=true />
                <button type="submit" class="button primary" disabled=move || action.pending().get()>"Change password"</button>
            </ActionForm>
        </section>
    }
}
