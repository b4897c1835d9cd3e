//! Pieces every form uses: the error summary and the per-field message.
//!
//! Forms are `ActionForm`s, so they post as plain HTML forms before the WASM
//! has loaded (Leptos redirects back with the error in the URL and the
//! action's value carries it into the render) and without a page load after.
//! Client-side checks run in `on:submit:capture`, before the action fires,
//! with the same `shared` rules the server runs again.
//!
//! Irreversible actions take two steps, both plain links and forms:
//! [`ConfirmLink`] opens the page again with `?confirm=<word>`, where
//! [`ConfirmStep`] restates the consequence above a form that sends
//! `confirm=<word>` (the server refuses the action without it).

use leptos::prelude::*;
use shared::{
    FieldErrors,
    auth::Permission,
    confirm::{self, Irreversible},
};

use crate::{auth::CurrentUser, error::AppError};

/// The errors of the last submission plus any found in the browser before
/// submitting, for one form.
#[derive(Clone, Copy)]
pub struct FormErrors {
    pub server: Signal<Option<AppError>>,
    pub local: RwSignal<FieldErrors>,
}

impl FormErrors {
    /// From an action's `value()`.
    pub fn new<T, S>(value: S) -> Self
    where
        T: Clone + Send + Sync + 'static,
        S: Get<Value = Option<Result<T, AppError>>> + Clone + Send + Sync + 'static,
    {
        Self {
            server: Signal::derive(move || value.get().and_then(Result::err)),
            local: RwSignal::new(FieldErrors::new()),
        }
    }

    /// The message to show beside `field`, from the browser's check or the
    /// server's answer.
    pub fn field(&self, field: &'static str) -> Signal<Option<String>> {
        let (server, local) = (self.server, self.local);
        Signal::derive(move || {
            local
                .with(|errors| errors.for_field(field).map(str::to_owned))
                .or_else(|| {
                    server.with(|error| {
                        error
                            .as_ref()
                            .and_then(AppError::field_errors)
                            .and_then(|errors| errors.for_field(field).map(str::to_owned))
                    })
                })
        })
    }
}

/// The summary above a form: what went wrong as a whole.
#[component]
pub fn FormAlert(errors: FormErrors) -> impl IntoView {
    let message = move || {
        if !errors.local.with(FieldErrors::is_empty) {
            return Some("Please correct the highlighted fields.".to_owned());
        }
        errors.server.get().map(|error| error.to_string())
    };
    view! {
        <Show when=move || message().is_some()>
            <p class="form-alert" role="alert">{message}</p>
        </Show>
    }
}

/// A labelled input with its error message (`aria-describedby` links them).
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    errors: FormErrors,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional, into)] value: String,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] required: bool,
    #[prop(optional)] hint: Option<&'static str>,
    /// The rule's field name when it differs from the input's name (the
    /// form posts `claimant_name`; the rule reports `claimant.name`).
    #[prop(optional)]
    error_for: Option<&'static str>,
) -> impl IntoView {
    let message = errors.field(error_for.unwrap_or(name));
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    view! {
        <div class="field" class:has-error=move || message.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input id=id type=kind name=name value=value autocomplete=autocomplete
                required=required
                aria-invalid=move || message.get().is_some().to_string()
                aria-describedby=error_id.clone() />
            {hint.map(|hint| view! { <p class="field-hint">{hint}</p> })}
            <p class="field-error" id=error_id>{move || message.get()}</p>
        </div>
    }
}

/// The `?confirm=` of the current page: which irreversible action, if any,
/// the page was opened to confirm.
pub fn confirming() -> Memo<Option<String>> {
    let query = leptos_router::hooks::use_query_map();
    Memo::new(move |_| query.with(|q| q.get(confirm::FIELD)))
}

/// The first step of an irreversible action: a link (a GET, which changes
/// nothing) to this page with `?confirm=<word>`, where [`ConfirmStep`]
/// restates what will happen. Works without JavaScript.
#[component]
pub fn ConfirmLink(irreversible: Irreversible, label: &'static str) -> impl IntoView {
    view! {
        <a class="button danger" href=format!("?{}={}", confirm::FIELD, irreversible.word())
            id=format!("confirm-{}", irreversible.word()) rel="nofollow">{format!("{label}…")}</a>
    }
}

/// The second step: what will happen, then the form (the caller's
/// `ActionForm`, given as `children`, with its hidden fields) whose explicit
/// submit carries `confirm=<word>`, and a way back that changes nothing.
#[component]
pub fn ConfirmStep(
    irreversible: Irreversible,
    /// What is about to happen to what: "Cancel policy POL-2026-000001".
    title: String,
    /// The page without `?confirm=`.
    back: String,
    children: Children,
) -> impl IntoView {
    view! {
        <section class="card danger-zone" id="confirm-step" aria-labelledby="confirm-heading">
            <h2 id="confirm-heading">{title}</h2>
            <p>{irreversible.consequence()}</p>
            {children()}
            <p><a href=back id="confirm-back">"Go back without changing anything"</a></p>
        </section>
    }
}

/// Inside the `ActionForm` of a [`ConfirmStep`]: the `confirm` field and the
/// button that says exactly what it does.
#[component]
pub fn ConfirmSubmit(irreversible: Irreversible) -> impl IntoView {
    view! {
        <input type="hidden" name=confirm::FIELD value=irreversible.word() />
        <button type="submit" class="button danger">{irreversible.button()}</button>
    }
}

/// Where a form or button of another role would be: one muted line saying
/// what this role may not do, so a missing control is explained rather than
/// mysterious (and never shown only to fail with 403).
#[component]
pub fn NotPermitted(permission: Permission, #[prop(optional)] id: &'static str) -> impl IntoView {
    let role = use_context::<Option<CurrentUser>>()
        .flatten()
        .map_or("none", |user| user.role.label());
    view! {
        <p class="muted role-note" id=(!id.is_empty()).then_some(id)>
            {format!("Not shown: your role ({role}) may not {}.", permission.describe())}
        </p>
    }
}
