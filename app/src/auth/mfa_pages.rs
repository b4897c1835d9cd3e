//! The pages of two-step sign-in: the second step, enrolment (held there
//! when MFA is required, or from *My account*), recovery codes.
//!
//! Every form is an `ActionForm`, so each works as a plain HTML form post
//! without the WASM (the server redirects on; an error comes back in the
//! URL). Recovery codes reach the page through the session (see
//! `ssr::recovery_codes::stash_fresh`), not the form's answer, for the same
//! reason.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{
    Logout,
    mfa::{
        ConfirmMfa, DisableMfa, EnrolmentKey, MfaSetup, RegenerateRecoveryCodes, VerifySignInCode,
        get_mfa_setup,
    },
    reload_at, safe_next,
};
use crate::{
    error::{AppError, ErrorPanel},
    forms::{Field, FormAlert, FormErrors},
};

/// After an action that answers a destination: a full page load there, so
/// the server renders the new state (and any codes to show once).
fn follow<T>(action: ServerAction<T>)
where
    T: leptos::server_fn::ServerFn<Output = String, Error = AppError>
        + Clone
        + Send
        + Sync
        + 'static,
{
    Effect::new(move |_| {
        if let Some(Ok(destination)) = action.value().get() {
            reload_at(&safe_next(Some(&destination)));
        }
    });
}

/// The second step of signing in.
#[component]
pub fn VerifyPage() -> impl IntoView {
    let action = ServerAction::<VerifySignInCode>::new();
    let logout = ServerAction::<Logout>::new();
    let errors = FormErrors::new(action.value());
    follow(action);
    view! {
        <Title text="Two-step sign-in" />
        <main class="auth-page">
            <section class="auth-card" aria-labelledby="verify-heading">
                <p class="brand auth-brand">"Vanguard"</p>
                <h1 id="verify-heading">"Enter your code"</h1>
                <p class="muted">"Open your authenticator app and enter the 6-digit code for Vanguard. No phone? Enter one of your recovery codes instead."</p>
                <ActionForm action>
                    <FormAlert errors />
                    <Field label="Code" name="code" errors autocomplete="one-time-code" required=true
                        hint="6 digits, or a recovery code like abcd-efgh-ijkl-mnop." />
                    <button type="submit" class="button primary">"Continue"</button>
                </ActionForm>
                <ActionForm action=logout>
                    <button type="submit" class="button link">"Cancel and sign in again"</button>
                </ActionForm>
            </section>
        </main>
    }
}

/// Enrolment for a user held at it (MFA required): nothing else is
/// reachable until it is done.
#[component]
pub fn EnrolPage() -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <Title text="Set up two-step sign-in" />
        <main class="auth-page">
            <section class="auth-card wide" aria-labelledby="enrol-heading">
                <p class="brand auth-brand">"Vanguard"</p>
                <h1 id="enrol-heading">"Set up two-step sign-in"</h1>
                <p class="muted">"Every member of staff signs in with a code from an authenticator app as well as a password. Set it up to continue."</p>
                <MfaSetupCard />
                <ActionForm action=logout>
                    <button type="submit" class="button link">"Sign out"</button>
                </ActionForm>
            </section>
        </main>
    }
}

/// Two-step sign-in under *My account*.
#[component]
pub fn AccountMfaPage() -> impl IntoView {
    view! {
        <Title text="Two-step sign-in" />
        <header class="page-header">
            <h1>"Two-step sign-in"</h1>
            <p class="page-lede">"A code from an authenticator app on your phone, asked for after your password."</p>
        </header>
        <section class="card narrow">
            <MfaSetupCard />
        </section>
    }
}

#[component]
fn MfaSetupCard() -> impl IntoView {
    let setup = Resource::new(|| (), |()| get_mfa_setup());
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match setup.await {
                    Ok(setup) => view! { <SetupState setup /> }.into_any(),
                    Err(error) => view! { <ErrorPanel error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn SetupState(setup: MfaSetup) -> impl IntoView {
    let fresh = (!setup.fresh_recovery_codes.is_empty()).then(|| {
        view! { <FreshCodes codes=setup.fresh_recovery_codes.clone() /> }
    });
    let body = match setup.enrolment {
        Some(key) => view! { <Enrol key /> }.into_any(),
        None => {
            view! { <Enabled left=setup.recovery_codes_left required=setup.required /> }.into_any()
        }
    };
    view! { {fresh} {body} }
}

#[component]
fn FreshCodes(codes: Vec<String>) -> impl IntoView {
    view! {
        <div class="secret-box" role="status" id="recovery-codes">
            <p><strong>"Your recovery codes."</strong>" Each works once, instead of a code from the app. Save them somewhere safe now: they are shown only this once."</p>
            <ol class="recovery-codes">
                {codes.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
            </ol>
            <a class="button primary" href="/">"Continue to Vanguard"</a>
        </div>
    }
}

#[component]
fn Enrol(key: EnrolmentKey) -> impl IntoView {
    let action = ServerAction::<ConfirmMfa>::new();
    let errors = FormErrors::new(action.value());
    follow(action);
    view! {
        <ol class="steps">
            <li>
                <p>"Scan this QR code with an authenticator app (Google Authenticator, Microsoft Authenticator, 1Password, Aegis…)."</p>
                <div class="qr-code" role="img" aria-label="QR code of your sign-in key" inner_html=key.qr_svg></div>
            </li>
            <li>
                <p>"Or type this key into the app (account "<strong>{key.account}</strong>", time-based):"</p>
                <p><code class="secret" id="manual-key">{key.manual_key}</code></p>
            </li>
            <li>
                <p>"Enter the 6-digit code the app now shows, to switch two-step sign-in on."</p>
                <ActionForm action>
                    <FormAlert errors />
                    <Field label="Code from the app" name="code" errors autocomplete="one-time-code" required=true />
                    <button type="submit" class="button primary">"Switch on"</button>
                </ActionForm>
            </li>
        </ol>
    }
}

#[component]
fn Enabled(left: i64, required: bool) -> impl IntoView {
    let regenerate = ServerAction::<RegenerateRecoveryCodes>::new();
    let disable = ServerAction::<DisableMfa>::new();
    let regenerate_errors = FormErrors::new(regenerate.value());
    let disable_errors = FormErrors::new(disable.value());
    follow(regenerate);
    follow(disable);
    view! {
        <p class="form-success" role="status">"Two-step sign-in is on."</p>
        <p>{format!("{left} of 10 recovery codes left.")}</p>
        <ActionForm action=regenerate>
            <FormAlert errors=regenerate_errors />
            <p class="muted">"New codes replace all the old ones."</p>
            <button type="submit" class="button">"New recovery codes"</button>
        </ActionForm>
        {if required {
            view! { <p class="muted">"Two-step sign-in is required for all staff here, so it cannot be switched off. An administrator can reset it if you lose your phone."</p> }.into_any()
        } else {
            view! {
                <ActionForm action=disable>
                    <FormAlert errors=disable_errors />
                    <Field label="Code from the app, to switch it off" name="code" errors=disable_errors autocomplete="one-time-code" required=true />
                    <button type="submit" class="button danger">"Switch off"</button>
                </ActionForm>
            }.into_any()
        }}
    }
}
