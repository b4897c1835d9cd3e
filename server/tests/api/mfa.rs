//! Staff multi-factor authentication: enrolment, the second sign-in step,
//! replay, recovery codes, lockout, required MFA, the half-signed-in
//! session, resets, and the password grant.

use app::{
    auth::{
        mfa::{ConfirmMfa, GetMfaSetup, MfaSetup, RegenerateRecoveryCodes, VerifySignInCode},
        ssr::totp,
    },
    db::now_micros,
};
use leptos::server_fn::ServerFn;
use serde_json::json;
use shared::auth::Role;

use crate::helpers::{TestApp, TestUser, spawn_app, spawn_app_with};

fn path<F: ServerFn>() -> &'static str {
    F::PATH
}

fn now_step() -> u64 {
    totp::step_at(u64::try_from(now_micros() / 1_000_000).unwrap())
}

/// A user's enrolled factor as their phone knows it.
struct Phone {
    secret: Vec<u8>,
    /// The step whose code confirmed the enrolment (already used).
    enrolled_at: u64,
}

impl Phone {
    /// The code of the step after the enrolment's: still inside the ±1
    /// window for the next 30 seconds, and newer than the one used.
    fn next_code(&self) -> String {
        totp::code_at(&self.secret, self.enrolled_at + 1)
    }
}

async fn setup(app: &TestApp, client: &reqwest::Client) -> MfaSetup {
    let response = app.post_server_fn(client, path::<GetMfaSetup>(), &[]).await;
    assert_eq!(response.status(), 200, "the set-up answers");
    response.json().await.unwrap()
}

/// Enrols the user signed in on `client` (or held at enrolment); returns
/// their phone and the recovery codes shown once.
async fn enrol(app: &TestApp, client: &reqwest::Client) -> (Phone, Vec<String>) {
    let key = setup(app, client)
        .await
        .enrolment
        .expect("an enrolment key");
    let secret = data_encoding::BASE32_NOPAD
        .decode(key.manual_key.replace(' ', "").as_bytes())
        .unwrap();
    let step = now_step();
    let response = app
        .post_server_fn(
            client,
            path::<ConfirmMfa>(),
            &[("code", &totp::code_at(&secret, step))],
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let codes = setup(app, client).await.fresh_recovery_codes;
    (
        Phone {
            secret,
            enrolled_at: step,
        },
        codes,
    )
}

/// A member of staff with TOTP on (signed out again).
async fn enrolled_user(app: &TestApp, role: Role) -> (TestUser, Phone, Vec<String>) {
    let (user, client) = app.signed_in(role).await;
    let (phone, codes) = enrol(app, &client).await;
    (user, phone, codes)
}

async fn verify(app: &TestApp, client: &reqwest::Client, code: &str) -> reqwest::Response {
    app.post_server_fn(client, path::<VerifySignInCode>(), &[("code", code)])
        .await
}

/// Signs in with the password only: the client is then half signed in.
async fn password_step(app: &TestApp, user: &TestUser) -> reqwest::Client {
    let client = app.new_client();
    let response = app.post_login(&client, &user.email, &user.password).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<String>().await.unwrap(), "/login/verify");
    client
}

async fn page_status(app: &TestApp, client: &reqwest::Client, page: &str) -> (u16, String) {
    let response = app.get_with(client, page).await;
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status().as_u16(), location)
}

async fn count(app: &TestApp, sql: &str, user: &TestUser) -> i64 {
    sqlx::query_scalar(sql)
        .bind(&user.id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn enrolment_shows_a_qr_code_and_a_grouped_key_and_switches_on_only_with_a_current_code() {
    let app = spawn_app().await;
    let (user, client) = app.signed_in(Role::Adjuster).await;

    let page = app.get_with(&client, "/account/mfa").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<svg"), "the QR code is inline SVG");
    let key = setup(&app, &client).await.enrolment.unwrap();
    assert!(html.contains(&key.manual_key), "the same key is shown");
    assert_eq!(key.manual_key.len(), 39, "32 base32 characters in 8 groups");
    assert_eq!(
        setup(&app, &client).await.enrolment.unwrap().manual_key,
        key.manual_key,
        "a reload shows the key waiting, not a new one"
    );

    let wrong = app
        .post_server_fn(&client, path::<ConfirmMfa>(), &[("code", "000000")])
        .await;
    assert_eq!(wrong.status(), 422);
    assert!(
        wrong.text().await.unwrap().contains("code"),
        "names the field"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM user_mfa WHERE user_id = $1 AND confirmed_at IS NOT NULL",
            &user
        )
        .await,
        0,
        "not on before a right code"
    );

    let (phone, codes) = enrol(&app, &client).await;
    assert_eq!(codes.len(), 10, "ten recovery codes, shown once");
    assert!(
        setup(&app, &client).await.fresh_recovery_codes.is_empty(),
        "and only once"
    );
    let state = setup(&app, &client).await;
    assert!(state.enabled);
    assert_eq!(state.recovery_codes_left, 10);

    // Nothing readable at rest: neither the secret nor a recovery code.
    let wrapped: Vec<u8> =
        sqlx::query_scalar("SELECT wrapped_secret FROM user_mfa WHERE user_id = $1")
            .bind(&user.id)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert!(
        !wrapped
            .windows(phone.secret.len())
            .any(|w| w == phone.secret.as_slice())
    );
    let hashes: Vec<String> =
        sqlx::query_scalar("SELECT code_hash FROM mfa_recovery_codes WHERE user_id = $1")
            .bind(&user.id)
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(hashes.len(), 10);
    for code in &codes {
        let bare = code.replace('-', "").to_uppercase();
        assert!(
            hashes
                .iter()
                .all(|h| !h.contains(&bare) && !h.contains(code))
        );
    }
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"auth.mfa_enrolment_failed".to_owned()));
    assert!(actions.contains(&"auth.mfa_enrolled".to_owned()));
    let details: Vec<String> = sqlx::query_scalar("SELECT details FROM audit_log")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    let encoded = totp::encode_secret(&phone.secret);
    assert!(
        details
            .iter()
            .all(|d| !d.contains(&encoded) && codes.iter().all(|c| !d.contains(c.as_str()))),
        "no secret in the audit trail"
    );

    // New codes replace the old ones.
    let regenerated = app
        .post_server_fn(&client, path::<RegenerateRecoveryCodes>(), &[])
        .await;
    assert_eq!(regenerated.status(), 200);
    let fresh = setup(&app, &client).await.fresh_recovery_codes;
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|code| !codes.contains(code)));
    let client = password_step(&app, &user).await;
    assert_eq!(
        verify(&app, &client, &codes[0]).await.status(),
        422,
        "old codes are gone"
    );
}

#[tokio::test]
async fn signing_in_with_mfa_takes_a_code_after_the_password_and_a_replayed_code_is_refused() {
    let app = spawn_app().await;
    let (user, phone, _) = enrolled_user(&app, Role::Underwriter).await;

    let client = password_step(&app, &user).await;
    assert_eq!(
        page_status(&app, &client, "/").await,
        (303, "/login/verify".into()),
        "not signed in after the password alone"
    );
    let page = app.get_with(&client, "/login/verify").await;
    assert_eq!(page.status(), 200);

    // Without JavaScript: a plain form post, answered with a redirect.
    let response = client
        .post(app.url(path::<VerifySignInCode>()))
        .header("origin", &app.address)
        .header("accept", "text/html")
        .form(&[("code", phone.next_code())])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    assert_eq!(response.headers()["location"], "/");
    assert_eq!(page_status(&app, &client, "/").await.0, 200, "signed in");

    // The same code again, from another browser within its window.
    let other = password_step(&app, &user).await;
    let replay = verify(&app, &other, &phone.next_code()).await;
    assert_eq!(replay.status(), 422, "a code is accepted once");
    assert_eq!(page_status(&app, &other, "/").await.0, 303);
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"auth.password_accepted".to_owned()));
    assert!(actions.contains(&"auth.mfa_failed".to_owned()));
}

#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let app = spawn_app().await;
    let (user, _, codes) = enrolled_user(&app, Role::Adjuster).await;

    let client = password_step(&app, &user).await;
    // Typed in capitals with spaces: still the code.
    let typed = codes[3].to_uppercase().replace('-', " ");
    assert_eq!(verify(&app, &client, &typed).await.status(), 200);
    assert_eq!(page_status(&app, &client, "/").await.0, 200);

    let again = password_step(&app, &user).await;
    assert_eq!(verify(&app, &again, &codes[3]).await.status(), 422, "spent");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL",
            &user
        )
        .await,
        9
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"auth.recovery_code_used".to_owned())
    );
}

#[tokio::test]
async fn wrong_codes_count_toward_the_same_lockout_as_wrong_passwords() {
    let app = spawn_app_with(|config| config.security.login_rate_per_minute = 1_000).await;
    let (user, phone, _) = enrolled_user(&app, Role::Adjuster).await;

    // Two wrong passwords, then the right one: the count is not cleared by
    // the password alone, so three wrong codes reach the threshold of 5.
    for _ in 0..2 {
        let response = app
            .post_login(&app.new_client(), &user.email, "not the password at all")
            .await;
        assert_eq!(response.status(), 401);
    }
    let client = password_step(&app, &user).await;
    for _ in 0..3 {
        assert_eq!(verify(&app, &client, "000000").await.status(), 422);
    }
    assert!(
        app.audit_actions()
            .await
            .contains(&"auth.account_locked".to_owned())
    );
    // Locked: even the right code is refused now, and so is the password.
    assert_eq!(
        verify(&app, &client, &phone.next_code()).await.status(),
        401
    );
    let response = app
        .post_login(&app.new_client(), &user.email, &user.password)
        .await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_sign_ins() {
    let app = spawn_app().await;
    let (user, _, _) = enrolled_user(&app, Role::Adjuster).await;
    let client = password_step(&app, &user).await;
    // Signing in to enrol and the password step were the account's first
    // two attempts this minute; the limit is 5, and the lockout (also 5) is
    // not reached by 3 wrong codes.
    for _ in 0..3 {
        assert_eq!(verify(&app, &client, "123456").await.status(), 422);
    }
    let response = verify(&app, &client, "123456").await;
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn when_mfa_is_required_a_member_of_staff_without_it_is_held_at_enrolment() {
    let app = spawn_app_with(|config| config.security.require_mfa = true).await;
    let user = app.create_user(Role::Admin).await;
    let client = app.new_client();

    let response = app.post_login(&client, &user.email, &user.password).await;
    assert_eq!(response.json::<String>().await.unwrap(), "/login/enrol");
    for page in ["/", "/customers", "/admin", "/account", "/login/verify"] {
        assert_eq!(
            page_status(&app, &client, page).await,
            (303, "/login/enrol".into()),
            "{page}"
        );
    }
    let page = app.get_with(&client, "/login/enrol").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<svg"));
    let refused = app
        .post_server_fn(&client, path::<app::admin::ListUsers>(), &[])
        .await;
    assert_eq!(refused.status(), 401, "no server function but enrolment");
    let refused = app
        .post_server_fn(&client, path::<RegenerateRecoveryCodes>(), &[])
        .await;
    assert_eq!(refused.status(), 401);

    enrol(&app, &client).await;
    assert_eq!(
        page_status(&app, &client, "/").await.0,
        200,
        "signed in now"
    );
    assert_eq!(
        page_status(&app, &client, "/login/enrol").await,
        (303, "/".into())
    );
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"auth.mfa_enrolled".to_owned()));
    assert!(actions.contains(&"auth.login_succeeded".to_owned()));
}

#[tokio::test]
async fn a_session_signed_in_before_mfa_was_required_is_sent_to_enrolment() {
    let app = spawn_app().await;
    let (_, client) = app.signed_in(Role::Adjuster).await;
    let strict = app
        .spawn_replica_with(|config| config.security.require_mfa = true)
        .await;
    assert_eq!(
        page_status(&strict, &client, "/claims").await,
        (303, "/login/enrol".into())
    );
}

#[tokio::test]
async fn a_half_signed_in_session_reaches_nothing_but_the_second_step() {
    let app = spawn_app().await;
    let (user, _, _) = enrolled_user(&app, Role::Admin).await;
    let client = password_step(&app, &user).await;

    for page in [
        "/",
        "/customers",
        "/claims",
        "/admin",
        "/audit",
        "/account",
        "/account/mfa",
        "/login/enrol",
        "/login",
    ] {
        assert_eq!(
            page_status(&app, &client, page).await,
            (303, "/login/verify".into()),
            "{page}"
        );
    }
    let who = app
        .post_server_fn(&client, path::<app::auth::GetCurrentUser>(), &[])
        .await;
    assert_eq!(who.status(), 200);
    assert_eq!(who.text().await.unwrap(), "null", "nobody is signed in");
    for server_fn in [
        path::<app::admin::ListUsers>(),
        path::<GetMfaSetup>(),
        path::<ConfirmMfa>(),
        path::<RegenerateRecoveryCodes>(),
        path::<app::admin::ResetUserMfa>(),
    ] {
        let response = app
            .post_server_fn(&client, server_fn, &[("user_id", &user.id), ("code", "1")])
            .await;
        assert_eq!(response.status(), 401, "{server_fn}");
    }
    assert_eq!(
        page_status(&app, &client, "/claims/export.csv").await,
        (303, "/login/verify".into()),
        "no browser route either"
    );
}

#[tokio::test]
async fn an_administrator_resets_a_users_factors_and_it_is_audited() {
    // Five sign-ins from one address: above the default limit per IP.
    let app = spawn_app_with(|config| config.security.login_rate_per_minute = 1_000).await;
    let (user, phone, _) = enrolled_user(&app, Role::Adjuster).await;
    let client = password_step(&app, &user).await;
    assert_eq!(
        verify(&app, &client, &phone.next_code()).await.status(),
        200
    );
    let (_, adjuster) = app.signed_in(Role::Adjuster).await;
    let (admin, admin_client) = app.signed_in(Role::Admin).await;

    let admin_page = app.get_with(&admin_client, "/admin").await;
    assert_eq!(admin_page.status(), 200);
    assert!(
        admin_page.text().await.unwrap().contains(">Reset</button>"),
        "the Admin page offers the reset"
    );
    let refused = app
        .post_server_fn(
            &adjuster,
            path::<app::admin::ResetUserMfa>(),
            &[("user_id", &user.id)],
        )
        .await;
    assert_eq!(refused.status(), 403);
    let reset = app
        .post_server_fn(
            &admin_client,
            path::<app::admin::ResetUserMfa>(),
            &[("user_id", &user.id)],
        )
        .await;
    assert_eq!(reset.status(), 200);

    assert_eq!(
        page_status(&app, &client, "/").await.0,
        303,
        "their sessions ended"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM user_mfa WHERE user_id = $1",
            &user
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1",
            &user
        )
        .await,
        0
    );
    let (actor, entity): (String, String) =
        sqlx::query_as("SELECT actor_id, entity_id FROM audit_log WHERE action = 'auth.mfa_reset'")
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!((actor, entity), (admin.id, user.id.clone()));
    let response = app
        .post_login(&app.new_client(), &user.email, &user.password)
        .await;
    assert_eq!(
        response.json::<String>().await.unwrap(),
        "/",
        "the password alone now"
    );
}

#[tokio::test]
async fn the_reset_mfa_command_removes_the_factors_as_the_system() {
    let app = spawn_app().await;
    let (user, _, _) = enrolled_user(&app, Role::Auditor).await;

    server::cli::run(
        server::cli::Cli {
            command: Some(server::cli::Command::ResetMfa {
                email: user.email.to_uppercase(),
            }),
        },
        app.config.clone(),
    )
    .await
    .unwrap();

    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM user_mfa WHERE user_id = $1",
            &user
        )
        .await,
        0
    );
    let (kind, label): (String, String) = sqlx::query_as(
        "SELECT actor_kind, actor_label FROM audit_log WHERE action = 'auth.mfa_reset'",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(
        (kind.as_str(), label.as_str()),
        ("system", "server reset-mfa")
    );
}

#[tokio::test]
async fn the_password_grant_does_not_bypass_mfa() {
    let app = spawn_app().await;
    let (user, client) = app.signed_in(Role::Adjuster).await;
    let before: serde_json::Value = app
        .token(
            json!({ "grant_type": "password", "username": user.email, "password": user.password }),
        )
        .await
        .json()
        .await
        .unwrap();
    enrol(&app, &client).await;

    let refused = app
        .token(
            json!({ "grant_type": "password", "username": user.email, "password": user.password }),
        )
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("multi-factor"),
        "{body}"
    );
    let wrong = app
        .token(json!({ "grant_type": "password", "username": user.email, "password": "wrong password here" }))
        .await;
    assert_eq!(
        wrong.status(),
        401,
        "the rule shows only after the password"
    );
    let refresh = app
        .token(json!({ "grant_type": "refresh_token", "refresh_token": before["refresh_token"] }))
        .await;
    assert_eq!(
        refresh.status(),
        401,
        "tokens from before the enrolment end"
    );

    // Required for all: a member of staff without MFA gets no token either.
    let strict = app
        .spawn_replica_with(|config| config.security.require_mfa = true)
        .await;
    let other = app.create_user(Role::Underwriter).await;
    let refused = strict
        .token(json!({ "grant_type": "password", "username": other.email, "password": other.password }))
        .await;
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn rotating_the_master_key_rewraps_totp_secrets_and_codes_still_work() {
    use server::config::{Key32, KeySource};
    let (key_a, key_b) = (Key32::generate().unwrap(), Key32::generate().unwrap());
    let app = spawn_app_with(|c| c.master_key = KeySource::Env(key_a.clone())).await;
    let (user, phone, _) = enrolled_user(&app, Role::Adjuster).await;

    let rotating = app
        .spawn_replica_with(|c| {
            c.master_key = KeySource::Env(key_b.clone());
            c.previous_master_keys = vec![key_a.clone()];
        })
        .await;
    app::vault::rotation::rotate(&rotating.state.vault, &rotating.state.db)
        .await
        .unwrap();
    let kek: String = sqlx::query_scalar("SELECT kek_id FROM user_mfa WHERE user_id = $1")
        .bind(&user.id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(kek, rotating.state.vault.primary_key_id());

    let retired = app
        .spawn_replica_with(|c| {
            c.master_key = KeySource::Env(key_b.clone());
            c.previous_master_keys = Vec::new();
        })
        .await;
    let client = password_step(&retired, &user).await;
    assert_eq!(
        verify(&retired, &client, &phone.next_code()).await.status(),
        200,
        "the new key alone opens the secret"
    );
}
