//! Staff sign-in, sessions, lockout and throttling, roles, API tokens.

use std::time::Duration;

use leptos::server_fn::ServerFn;
use serde_json::json;
use shared::auth::Role;

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

fn path<F: ServerFn>() -> &'static str {
    F::PATH
}

/// The session cookie's `name=value` from a sign-in response.
fn session_cookie(response: &reqwest::Response) -> String {
    let header = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-vanguard="))
        .expect("a session cookie is set");
    header.split(';').next().unwrap().to_owned()
}

async fn is_signed_in(app: &TestApp, cookie: &str) -> bool {
    let response = app
        .new_client()
        .get(app.url("/"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    response.status() == 200
}

async fn with_generous_login_limit() -> TestApp {
    spawn_app_with(|config| config.security.login_rate_per_minute = 1_000).await
}

#[tokio::test]
async fn signing_in_sets_a_host_prefixed_secure_strict_http_only_cookie() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Adjuster).await;

    let response = app
        .post_login(&app.new_client(), &user.email, &user.password)
        .await;

    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.starts_with("__Host-vanguard="), "{set_cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(
            set_cookie.contains(attribute),
            "{attribute} in {set_cookie}"
        );
    }
    assert!(
        !set_cookie.contains("Domain"),
        "__Host- cookies carry no Domain"
    );
}

#[tokio::test]
async fn signing_in_again_issues_a_new_session_id_and_the_old_one_stops_working() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Adjuster).await;
    let client = app.new_client();

    let first = session_cookie(&app.post_login(&client, &user.email, &user.password).await);
    let second = session_cookie(&app.post_login(&client, &user.email, &user.password).await);

    assert_ne!(first, second, "the session id is cycled at sign-in");
    assert!(!is_signed_in(&app, &first).await);
    assert!(is_signed_in(&app, &second).await);
}

#[tokio::test]
async fn the_session_table_never_holds_a_usable_session_id() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Adjuster).await;
    let cookie = session_cookie(
        &app.post_login(&app.new_client(), &user.email, &user.password)
            .await,
    );
    let id = cookie.split_once('=').unwrap().1;

    let keys: Vec<String> = sqlx::query_scalar("SELECT id FROM sessions")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();

    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0], id);
    assert_eq!(keys[0].len(), 64, "a SHA-256 digest");
}

#[tokio::test]
async fn signing_out_really_ends_the_session() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Underwriter).await;
    let client = app.new_client();
    let cookie = session_cookie(&app.post_login(&client, &user.email, &user.password).await);
    assert!(is_signed_in(&app, &cookie).await);

    let response = app
        .post_server_fn(&client, path::<app::auth::Logout>(), &[])
        .await;

    assert_eq!(response.status(), 200);
    assert!(
        !is_signed_in(&app, &cookie).await,
        "the old cookie is dead on the server"
    );
    assert!(
        app.audit_actions()
            .await
            .contains(&"auth.logout".to_owned())
    );
}

#[tokio::test]
async fn sign_in_and_out_work_as_plain_html_forms_without_javascript() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Adjuster).await;
    let client = app.new_client();

    let response = client
        .post(app.url(path::<app::auth::Login>()))
        .header("origin", &app.address)
        .header("accept", "text/html")
        .header("referer", app.url("/login?next=%2Fclaims"))
        .form(&[
            ("email", user.email.as_str()),
            ("password", user.password.as_str()),
            ("next", "/claims"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "/claims");
    let cookie = session_cookie(&response);
    assert!(is_signed_in(&app, &cookie).await);

    let failed = app
        .new_client()
        .post(app.url(path::<app::auth::Login>()))
        .header("origin", &app.address)
        .header("accept", "text/html")
        .header("referer", app.url("/login"))
        .form(&[
            ("email", user.email.as_str()),
            ("password", "wrong password here"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 302, "back to the form");
    let location = failed.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("/login") && location.contains("__err="),
        "{location}"
    );
    let page = app
        .get(location.trim_start_matches(&app.address))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("The email or password is incorrect"),
        "the form shows why"
    );
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_look_the_same() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Adjuster).await;

    let wrong_password = app
        .post_login(&app.new_client(), &user.email, "not the password at all")
        .await;
    let unknown_user = app
        .post_login(
            &app.new_client(),
            "nobody@example.com",
            "not the password at all",
        )
        .await;

    assert_eq!(wrong_password.status(), 401);
    assert_eq!(unknown_user.status(), 401);
    assert!(wrong_password.headers().get("set-cookie").is_none());
    assert_eq!(
        wrong_password.text().await.unwrap(),
        unknown_user.text().await.unwrap()
    );
}

#[tokio::test]
async fn five_failed_sign_ins_lock_the_account_for_fifteen_minutes_across_replicas() {
    let app = with_generous_login_limit().await;
    let replica = app.spawn_replica().await;
    let user = app.create_user(Role::Adjuster).await;

    // Failures alternate between the two replicas: the count is shared.
    for attempt in 0..5 {
        let target = if attempt % 2 == 0 { &app } else { &replica };
        let response = target
            .post_login(&target.new_client(), &user.email, "wrong password 123")
            .await;
        assert_eq!(response.status(), 401);
    }
    let with_right_password = app
        .post_login(&app.new_client(), &user.email, &user.password)
        .await;

    assert_eq!(
        with_right_password.status(),
        401,
        "locked, even with the right password"
    );
    let locked_until: Option<i64> =
        sqlx::query_scalar("SELECT locked_until FROM users WHERE id = $1")
            .bind(&user.id)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    let minutes = (locked_until.unwrap() - app::db::now_micros()) / 60_000_000;
    assert!((14..=15).contains(&minutes), "{minutes} minutes");
    let actions = app.audit_actions().await;
    assert!(actions.contains(&"auth.account_locked".to_owned()));
    assert_eq!(
        actions.iter().filter(|a| *a == "auth.login_failed").count(),
        6
    );
}

#[tokio::test]
async fn sign_in_is_throttled_per_client_ip_with_retry_after() {
    let app = spawn_app().await;

    let mut statuses = Vec::new();
    for n in 0..6 {
        let response = app
            .post_login(
                &app.new_client(),
                &format!("someone{n}@example.com"),
                "whatever password",
            )
            .await;
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let retry_after: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry_after));
        }
    }

    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
}

#[tokio::test]
async fn spoofed_forwarded_for_values_do_not_escape_the_limit_behind_a_trusted_proxy() {
    let app = spawn_app_with(|config| {
        config.security.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;

    let mut last = 0;
    for n in 0..6 {
        let response = app
            .new_client()
            .post(app.url(path::<app::auth::Login>()))
            .header("origin", &app.address)
            // The client rotates the leftmost value; the proxy appends the real one.
            .header("x-forwarded-for", format!("6.6.6.{n}, 198.51.100.7"))
            .form(&[
                ("email", format!("someone{n}@example.com")),
                ("password", "whatever password".into()),
            ])
            .send()
            .await
            .unwrap();
        last = response.status().as_u16();
    }

    assert_eq!(last, 429);
    let ips: Vec<Option<String>> =
        sqlx::query_scalar("SELECT client_ip FROM audit_log WHERE action = 'auth.login_failed'")
            .fetch_all(app.state.db.pool())
            .await
            .unwrap();
    assert!(
        ips.iter().all(|ip| ip.as_deref() == Some("198.51.100.7")),
        "{ips:?}"
    );
}

#[tokio::test]
async fn every_authentication_event_is_audited_with_the_correlation_id_and_without_the_password() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Auditor).await;
    let client = app.new_client();

    app.post_login(&client, &user.email, "Wrong-Password-Canary-42")
        .await;
    client
        .post(app.url(path::<app::auth::Login>()))
        .header("origin", &app.address)
        .header("x-correlation-id", "corr-login-1")
        .form(&[
            ("email", user.email.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await
        .unwrap();

    let rows: Vec<(String, Option<String>, String, Option<String>)> = sqlx::query_as(
        "SELECT action, actor_id, details, correlation_id FROM audit_log WHERE action LIKE 'auth.%' ORDER BY seq",
    )
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(rows[0].0, "auth.login_failed");
    assert_eq!(rows[0].1.as_deref(), Some(user.id.as_str()));
    assert!(rows[0].2.contains("wrong_password"));
    let success = rows.iter().find(|r| r.0 == "auth.login_succeeded").unwrap();
    assert_eq!(success.3.as_deref(), Some("corr-login-1"));
    let everything: Vec<String> = sqlx::query_scalar("SELECT details FROM audit_log")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert!(
        everything
            .iter()
            .all(|d| !d.contains("Canary") && !d.contains(&user.password))
    );
    assert!(
        app::audit::verify::verify(&app.state.db, &app.state.audit.verifying_key())
            .await
            .unwrap()
            .is_intact()
    );
}

#[tokio::test]
async fn changing_the_password_ends_the_users_other_sessions_but_not_this_one() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Adjuster).await;
    let (phone, laptop) = (app.new_client(), app.new_client());
    let phone_cookie = session_cookie(&app.post_login(&phone, &user.email, &user.password).await);
    app.post_login(&laptop, &user.email, &user.password).await;

    let response = app
        .post_server_fn(
            &laptop,
            path::<app::auth::ChangePassword>(),
            &[
                ("current_password", user.password.as_str()),
                ("new_password", "a much better passphrase"),
                ("confirm_password", "a much better passphrase"),
            ],
        )
        .await;

    assert_eq!(response.status(), 200);
    assert!(
        !is_signed_in(&app, &phone_cookie).await,
        "the other session ended"
    );
    assert_eq!(
        app.get_with(&laptop, "/").await.status(),
        200,
        "this session continues"
    );
    assert_eq!(
        app.post_login(&app.new_client(), &user.email, &user.password)
            .await
            .status(),
        401
    );
    assert_eq!(
        app.post_login(&app.new_client(), &user.email, "a much better passphrase")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_weak_new_password_is_refused_naming_the_field_and_the_rule() {
    let app = spawn_app().await;
    let (user, client) = app.signed_in(Role::Adjuster).await;

    let response = app
        .post_server_fn(
            &client,
            path::<app::auth::ChangePassword>(),
            &[
                ("current_password", user.password.as_str()),
                ("new_password", "password1234"),
                ("confirm_password", "password1234"),
            ],
        )
        .await;

    assert_eq!(response.status(), 422);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("new_password") && body.contains("too common"),
        "{body}"
    );
}

#[tokio::test]
async fn a_disabled_user_is_signed_out_at_once() {
    let app = spawn_app().await;
    let (_, admin) = app.signed_in(Role::Admin).await;
    let (user, user_client) = app.signed_in(Role::Adjuster).await;
    assert_eq!(app.get_with(&user_client, "/").await.status(), 200);

    let response = app
        .post_server_fn(
            &admin,
            path::<app::admin::UpdateUser>(),
            &[("user_id", user.id.as_str()), ("role", "adjuster")],
        )
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(app.get_with(&user_client, "/").await.status(), 303);
    assert_eq!(
        app.post_login(&app.new_client(), &user.email, &user.password)
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn the_last_administrator_cannot_be_demoted() {
    let app = spawn_app().await;
    let (admin, client) = app.signed_in(Role::Admin).await;

    let response = app
        .post_server_fn(
            &client,
            path::<app::admin::UpdateUser>(),
            &[
                ("user_id", admin.id.as_str()),
                ("role", "auditor"),
                ("active", "on"),
            ],
        )
        .await;

    assert_eq!(response.status(), 409);
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app =
        spawn_app_with(|config| config.security.session_idle = Duration::from_millis(1_500)).await;
    let (_, client) = app.signed_in(Role::Adjuster).await;
    assert_eq!(app.get_with(&client, "/").await.status(), 200);

    tokio::time::sleep(Duration::from_millis(2_000)).await;

    assert_eq!(app.get_with(&client, "/").await.status(), 303);
}

#[tokio::test]
async fn a_session_expires_at_its_absolute_timeout_even_when_busy() {
    let app =
        spawn_app_with(|config| config.security.session_absolute = Duration::from_millis(2_000))
            .await;
    let (_, client) = app.signed_in(Role::Adjuster).await;

    for _ in 0..3 {
        assert_eq!(app.get_with(&client, "/").await.status(), 200);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;

    assert_eq!(app.get_with(&client, "/").await.status(), 303);
}

#[tokio::test]
async fn a_cross_origin_post_with_a_valid_session_cookie_is_refused() {
    let app = spawn_app().await;
    let (_, admin) = app.signed_in(Role::Admin).await;

    let response = admin
        .post(app.url(path::<app::admin::CreateApiClient>()))
        .header("origin", "https://evil.example")
        .form(&[("name", "evil"), ("role", "admin")])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 403);
    let clients: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_clients")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(clients, 0, "the handler never ran");
}

/// Each role against each guarded server function: exactly the permission
/// table, and every refusal audited.
#[tokio::test]
async fn each_role_can_call_exactly_the_server_functions_its_permissions_allow() {
    let app = spawn_app().await;
    let cases: [(&str, [u16; 4]); 6] = [
        // admin, adjuster, underwriter, auditor
        (path::<app::admin::ListUsers>(), [200, 403, 403, 403]),
        (path::<app::admin::ListApiClients>(), [200, 403, 403, 403]),
        (path::<app::dashboard::SystemStatus>(), [200, 200, 200, 200]),
        (path::<app::audit::ListAuditRecords>(), [200, 403, 403, 200]),
        (path::<app::audit::VerifyAuditChain>(), [200, 403, 403, 200]),
        (
            path::<app::customers::ListCustomers>(),
            [200, 200, 200, 200],
        ),
    ];
    let mut clients = Vec::new();
    for role in Role::STAFF {
        clients.push(app.signed_in(role).await.1);
    }

    for (path, expected) in cases {
        for (client, want) in clients.iter().zip(expected) {
            let status = app.post_server_fn(client, path, &[]).await.status();
            assert_eq!(status, want, "{path}");
        }
        let anonymous = app
            .post_server_fn(&app.new_client(), path, &[])
            .await
            .status();
        assert_eq!(anonymous, 401, "{path} without a session");
    }
    let denied = app
        .audit_actions()
        .await
        .iter()
        .filter(|a| *a == "access.denied")
        .count();
    assert_eq!(denied, 10);
}

#[tokio::test]
async fn the_admin_page_tells_a_non_admin_they_lack_the_permission() {
    let app = spawn_app().await;
    let (_, adjuster) = app.signed_in(Role::Adjuster).await;

    let html = app
        .get_with(&adjuster, "/admin")
        .await
        .text()
        .await
        .unwrap();

    assert!(
        html.contains("You do not have permission to manage staff accounts"),
        "{html}"
    );
}

#[tokio::test]
async fn admins_create_staff_accounts_and_duplicates_are_refused_with_409() {
    let app = spawn_app().await;
    let (_, admin) = app.signed_in(Role::Admin).await;
    let form = [
        ("email", "New.Adjuster@Example.com"),
        ("display_name", "New Adjuster"),
        ("role", "adjuster"),
        ("password", "a long enough passphrase"),
    ];

    let created = app
        .post_server_fn(&admin, path::<app::admin::CreateUser>(), &form)
        .await;
    let duplicate = app
        .post_server_fn(&admin, path::<app::admin::CreateUser>(), &form)
        .await;
    let invalid = app
        .post_server_fn(
            &admin,
            path::<app::admin::CreateUser>(),
            &[
                ("email", "nope"),
                ("display_name", ""),
                ("role", "root"),
                ("password", "short"),
            ],
        )
        .await;

    assert_eq!(created.status(), 200);
    assert_eq!(duplicate.status(), 409);
    assert_eq!(invalid.status(), 422);
    let body = invalid.text().await.unwrap();
    for field in ["email", "display_name", "role", "password"] {
        assert!(
            body.contains(&format!(r#""field":"{field}""#)),
            "{field} named in {body}"
        );
    }
    let signed_in = app
        .post_login(
            &app.new_client(),
            "new.adjuster@example.com",
            "a long enough passphrase",
        )
        .await;
    assert_eq!(signed_in.status(), 200);
}

#[tokio::test]
async fn look_alike_staff_emails_are_one_account_or_refused_naming_the_field() {
    let app = spawn_app().await;
    let (_, admin) = app.signed_in(Role::Admin).await;
    let create = |email: &'static str| {
        let form = [
            ("email", email),
            ("display_name", "Paul"),
            ("role", "adjuster"),
            ("password", "a long enough passphrase"),
        ];
        let (app, admin) = (&app, &admin);
        async move {
            app.post_server_fn(admin, path::<app::admin::CreateUser>(), &form)
                .await
        }
    };

    assert_eq!(create("paul@example.com").await.status(), 200);
    let fullwidth = create("\u{FF30}\u{FF21}\u{FF35}\u{FF2C}@example.com").await;
    assert_eq!(fullwidth.status(), 409, "ＰＡＵＬ is paul");
    for look_alike in [
        "p\u{0430}ul@example.com",
        "pa\u{200D}ul@example.com",
        "\u{202E}paul@example.com",
    ] {
        let refused = create(look_alike).await;
        assert_eq!(refused.status(), 422, "{look_alike:?}");
        let body = refused.text().await.unwrap();
        assert!(
            body.contains(r#""field":"email""#),
            "{look_alike:?}: {body}"
        );
    }
    let users: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE email LIKE '%@example.com' AND display_name = 'Paul'",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(users, 1);
    let signed_in = app
        .post_login(
            &app.new_client(),
            "ｐａｕｌ@example.com",
            "a long enough passphrase",
        )
        .await;
    assert_eq!(
        signed_in.status(),
        200,
        "the fullwidth spelling signs in as paul"
    );
}

// --- API tokens -------------------------------------------------------------

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    app.new_client()
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_client_exchanges_its_credentials_for_an_access_and_a_refresh_token() {
    let app = spawn_app().await;
    let (id, secret) = app.create_api_client(Role::ApiClient).await;

    let response = app
        .token(
            json!({ "grant_type": "client_credentials", "client_id": id, "client_secret": secret }),
        )
        .await;

    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"].as_str().unwrap().starts_with("vrt_"));
    let me = me(&app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await.unwrap();
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["role"], "api_client");
}

#[tokio::test]
async fn the_token_endpoint_accepts_form_encoded_bodies_and_the_password_grant() {
    let app = spawn_app().await;
    let user = app.create_user(Role::Adjuster).await;

    let response = app
        .new_client()
        .post(app.url("/api/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", &user.email),
            ("password", &user.password),
        ])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let me: serde_json::Value = me(&app, body["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "adjuster");
}

#[tokio::test]
async fn bad_token_requests_name_the_field_and_bad_credentials_get_401() {
    let app = spawn_app().await;
    let (id, _) = app.create_api_client(Role::ApiClient).await;

    let unknown_grant = app.token(json!({ "grant_type": "implicit" })).await;
    let missing_secret = app
        .token(json!({ "grant_type": "client_credentials", "client_id": id }))
        .await;
    let wrong_secret = app
        .token(json!({ "grant_type": "client_credentials", "client_id": id, "client_secret": "vcs_nope" }))
        .await;

    assert_eq!(unknown_grant.status(), 422);
    let body: serde_json::Value = unknown_grant.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "grant_type");
    assert_eq!(missing_secret.status(), 422);
    let body: serde_json::Value = missing_secret.json().await.unwrap();
    assert_eq!(body["errors"][0]["field"], "client_secret");
    assert_eq!(wrong_secret.status(), 401);
    assert_eq!(
        wrong_secret.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reusing_a_spent_one_revokes_its_family() {
    let app = spawn_app().await;
    let (id, secret) = app.create_api_client(Role::ApiClient).await;
    let first: serde_json::Value = app
        .token(
            json!({ "grant_type": "client_credentials", "client_id": id, "client_secret": secret }),
        )
        .await
        .json()
        .await
        .unwrap();
    let first_refresh = first["refresh_token"].as_str().unwrap();

    let rotated = app
        .token(json!({ "grant_type": "refresh_token", "refresh_token": first_refresh }))
        .await;
    assert_eq!(rotated.status(), 200);
    let rotated: serde_json::Value = rotated.json().await.unwrap();
    let second_refresh = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(first_refresh, second_refresh);
    assert_eq!(
        me(&app, rotated["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );

    let replayed = app
        .token(json!({ "grant_type": "refresh_token", "refresh_token": first_refresh }))
        .await;
    let successor = app
        .token(json!({ "grant_type": "refresh_token", "refresh_token": second_refresh }))
        .await;

    assert_eq!(replayed.status(), 401);
    assert_eq!(successor.status(), 401, "the whole family is revoked");
    assert!(
        app.audit_actions()
            .await
            .contains(&"auth.refresh_token_reused".to_owned())
    );
}

fn forge(
    header: serde_json::Value,
    claims: serde_json::Value,
    sign: impl FnOnce(&str) -> String,
) -> String {
    use base64::Engine as _;
    let b64 = |v: &serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let signing_input = format!("{}.{}", b64(&header), b64(&claims));
    let signature = sign(&signing_input);
    format!("{signing_input}.{signature}")
}

fn claims_for(subject: &str, exp_offset: i64) -> serde_json::Value {
    let now = jsonwebtoken::get_current_timestamp() as i64;
    json!({
        "iss": "vanguard", "aud": "vanguard-api", "sub": subject,
        "exp": now + exp_offset, "nbf": now - 10, "iat": now - 10,
        "jti": "forged", "typ": "access", "kind": "api_client", "role": "admin",
    })
}

#[tokio::test]
async fn forged_expired_and_misused_tokens_are_all_rejected() {
    let app = spawn_app().await;
    let (id, secret) = app.create_api_client(Role::ApiClient).await;
    let issued: serde_json::Value = app
        .token(
            json!({ "grant_type": "client_credentials", "client_id": id, "client_secret": secret }),
        )
        .await
        .json()
        .await
        .unwrap();
    let key = app.jwt_secret();
    let sign_with = |alg: jsonwebtoken::Algorithm, claims: serde_json::Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(alg),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&key),
        )
        .unwrap()
    };

    let alg_none = forge(
        json!({ "alg": "none", "typ": "JWT" }),
        claims_for(&id, 300),
        |_| String::new(),
    );
    let swapped_algorithm = sign_with(jsonwebtoken::Algorithm::HS512, claims_for(&id, 300));
    let expired = sign_with(jsonwebtoken::Algorithm::HS256, claims_for(&id, -120));
    let mut refresh_typed = claims_for(&id, 300);
    refresh_typed["typ"] = json!("refresh");
    let wrong_type = sign_with(jsonwebtoken::Algorithm::HS256, refresh_typed);
    let refresh_as_access = issued["refresh_token"].as_str().unwrap().to_owned();
    let genuine = sign_with(jsonwebtoken::Algorithm::HS256, claims_for(&id, 300));

    for (name, token) in [
        ("alg none", alg_none),
        ("swapped algorithm", swapped_algorithm),
        ("expired", expired),
        ("wrong token type", wrong_type),
        ("refresh token as access token", refresh_as_access),
    ] {
        let response = me(&app, &token).await;
        assert_eq!(response.status(), 401, "{name}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{name}");
    }
    assert_eq!(
        me(&app, &genuine).await.status(),
        200,
        "the control case passes"
    );
}

#[tokio::test]
async fn the_json_api_ignores_the_session_cookie() {
    let app = spawn_app().await;
    let (_, admin) = app.signed_in(Role::Admin).await;

    let response = admin.get(app.url("/api/v1/me")).send().await.unwrap();

    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn a_revoked_client_loses_access_at_once() {
    let app = spawn_app().await;
    let (id, secret) = app.create_api_client(Role::ApiClient).await;
    let issued: serde_json::Value = app
        .token(
            json!({ "grant_type": "client_credentials", "client_id": id, "client_secret": secret }),
        )
        .await
        .json()
        .await
        .unwrap();
    let (_, admin) = app.signed_in(Role::Admin).await;

    let revoked = app
        .post_server_fn(
            &admin,
            path::<app::admin::RevokeApiClient>(),
            &[("client_id", id.as_str())],
        )
        .await;

    assert_eq!(revoked.status(), 200);
    assert_eq!(
        me(&app, issued["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    let refresh = app
        .token(json!({ "grant_type": "refresh_token", "refresh_token": issued["refresh_token"] }))
        .await;
    assert_eq!(refresh.status(), 401);
    let again = app
        .token(
            json!({ "grant_type": "client_credentials", "client_id": id, "client_secret": secret }),
        )
        .await;
    assert_eq!(again.status(), 401);
}

#[tokio::test]
async fn api_calls_are_rate_limited_per_client_with_retry_after() {
    let app = spawn_app_with(|config| config.security.api_rate_per_minute = 3).await;
    let token = app.api_token(Role::ApiClient).await;

    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(me(&app, &token).await.status().as_u16());
        }
        statuses
    };

    assert_eq!(statuses, [200, 200, 200, 429]);
    let limited = me(&app, &token).await;
    assert!(limited.headers().contains_key("retry-after"));
}
