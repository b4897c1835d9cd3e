//! Changing one's password guesses the current password as sign-in does:
//! wrong current passwords count against the same per-account and per-IP
//! limits (shared buckets) and the same lockout.

use leptos::server_fn::ServerFn;
use shared::auth::Role;

use crate::helpers::{TestApp, TestUser, spawn_app, spawn_app_with};

async fn change(app: &TestApp, client: &reqwest::Client, current: &str) -> reqwest::Response {
    app.post_server_fn(
        client,
        app::auth::ChangePassword::PATH,
        &[
            ("current_password", current),
            ("new_password", "a much better passphrase"),
            ("confirm_password", "a much better passphrase"),
        ],
    )
    .await
}

async fn wrong_guesses(app: &TestApp, client: &reqwest::Client, count: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for n in 0..count {
        let response = change(app, client, &format!("not my password {n}")).await;
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn wrong_current_passwords_are_throttled_like_sign_in_with_retry_after() {
    let app = spawn_app().await;
    // Signing in was the first attempt of this minute on the account.
    let (_, client): (TestUser, _) = app.signed_in(Role::Adjuster).await;

    let statuses = wrong_guesses(&app, &client, 4).await;
    let throttled = change(&app, &client, "not my password either").await;

    assert_eq!(statuses, [422, 422, 422, 422]);
    assert_eq!(throttled.status(), 429, "the sixth attempt of the minute");
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    assert!(
        app.audit_actions()
            .await
            .contains(&"auth.login_throttled".to_owned())
    );
}

#[tokio::test]
async fn five_wrong_current_passwords_lock_the_account_for_sign_in_and_password_change() {
    let app = spawn_app_with(|config| config.security.login_rate_per_minute = 1_000).await;
    let (user, client) = app.signed_in(Role::Adjuster).await;

    let statuses = wrong_guesses(&app, &client, 5).await;
    let with_right_password = change(&app, &client, &user.password).await;

    assert_eq!(statuses, [422; 5]);
    assert_eq!(
        with_right_password.status(),
        429,
        "locked, even with the right current password"
    );
    assert!(with_right_password.headers().contains_key("retry-after"));
    assert_eq!(
        app.post_login(&app.new_client(), &user.email, &user.password)
            .await
            .status(),
        401,
        "sign-in is locked too"
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
        actions
            .iter()
            .filter(|a| *a == "auth.password_change_failed")
            .count(),
        6,
        "five wrong, one while locked"
    );
}
