use shared::auth::Role;

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_anonymous_visitor_is_sent_to_sign_in_and_brought_back_after() {
    let app = spawn_app().await;

    let response = app.get("/claims?status=open").await;

    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/login?next=%2Fclaims%3Fstatus%3Dopen"
    );
    let login = app.get("/login?next=%2Fclaims").await;
    assert_eq!(login.status(), 200);
    let html = login.text().await.unwrap();
    assert!(html.contains("Sign in"));
    assert!(html.contains(r#"name="next""#) && html.contains(r#"value="/claims""#));
}

#[tokio::test]
async fn the_dashboard_renders_the_shell_with_every_section_an_admin_may_open() {
    let app = spawn_app().await;
    let (_, admin) = app.signed_in(Role::Admin).await;

    let response = app.get_with(&admin, "/").await;

    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = response.text().await.unwrap();
    for (href, label, _) in app::layout::NAV {
        assert!(
            html.contains(&format!(r#"href="{href}""#)),
            "nav link {href}"
        );
        assert!(html.contains(label), "nav label {label}");
    }
    assert!(html.contains("<h1>Dashboard</h1>"));
    assert!(html.contains("Sign out"));
    assert!(html.contains("/pkg/vanguard.css"), "stylesheet linked");
    assert!(
        html.contains("vanguard.js") || html.contains("/pkg/vanguard"),
        "hydration script linked"
    );
}

#[tokio::test]
async fn the_navigation_shows_only_what_the_role_may_open() {
    let app = spawn_app().await;
    let (_, auditor) = app.signed_in(Role::Auditor).await;

    let html = app.get_with(&auditor, "/").await.text().await.unwrap();

    assert!(html.contains(r#"href="/audit""#));
    assert!(!html.contains(r#"href="/admin""#));
    assert!(!html.contains(r#"href="/reviews""#));
}

#[tokio::test]
async fn every_section_page_renders_for_an_admin() {
    let app = spawn_app().await;
    let (_, admin) = app.signed_in(Role::Admin).await;

    for (href, label, _) in app::layout::NAV {
        let response = app.get_with(&admin, href).await;
        assert_eq!(response.status(), 200, "{href}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&format!("<h1>{label}</h1>")),
            "{href} has its heading"
        );
    }
}

#[tokio::test]
async fn an_unknown_page_is_a_404_inside_the_shell() {
    let app = spawn_app().await;
    let (_, admin) = app.signed_in(Role::Adjuster).await;

    let response = app.get_with(&admin, "/no/such/page").await;

    assert_eq!(response.status(), 404);
    let html = response.text().await.unwrap();
    assert!(html.contains("Not found"));
    assert!(
        html.contains("Review queue"),
        "the navigation is still there"
    );
}

#[tokio::test]
async fn static_asset_paths_are_never_taken_for_pages() {
    let app = spawn_app().await;

    for path in ["/pkg/vanguard.js", "/pkg/vanguard.css", "/favicon.svg"] {
        let response = app.get(path).await;
        assert_ne!(
            response.status(),
            303,
            "{path} must reach the static files, not the sign-in gate"
        );
    }
}

/// The document's `<title>`, trimmed.
fn title_of(html: &str) -> String {
    html.split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map(|(title, _)| title.trim().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_404_page_has_a_title_and_the_404_status_signed_in_or_not() {
    let app = spawn_app().await;
    let (_, admin) = app.signed_in(Role::Admin).await;

    for client in [&admin, &app.new_client()] {
        let response = app.get_with(client, "/no/such/page").await;
        assert_eq!(response.status(), 404);
        let title = title_of(&response.text().await.unwrap());
        assert!(title.starts_with("Not found"), "title {title:?}");
    }
}

#[tokio::test]
async fn every_page_carries_a_title_of_its_own() {
    let app = spawn_app().await;
    let (_, admin) = app.signed_in(Role::Admin).await;
    let (_, auditor) = app.signed_in(Role::Auditor).await;
    let missing = uuid::Uuid::now_v7();

    for (client, path, title) in [
        (&app.new_client(), "/login".to_owned(), "Sign in"),
        (&admin, "/".to_owned(), "Dashboard"),
        (&admin, "/claims".to_owned(), "Claims"),
        (&admin, "/customers".to_owned(), "Customers"),
        (&admin, "/policies".to_owned(), "Policies"),
        (&admin, "/admin".to_owned(), "Admin"),
        (&admin, "/account".to_owned(), "My account"),
        (&auditor, "/admin".to_owned(), "Not allowed"),
        (&admin, format!("/claims/{missing}"), "Not found"),
    ] {
        let html = app.get_with(client, &path).await.text().await.unwrap();
        let found = title_of(&html);
        assert!(found.starts_with(title), "{path}: title {found:?}");
    }
}

/// Signs in with a plain HTML form post (no WASM) asking to go to `next`.
async fn sign_in_then_go_to(app: &crate::helpers::TestApp, next: &str) -> reqwest::Response {
    let user = app.create_user(Role::Adjuster).await;
    app.new_client()
        .post(app.url(<app::auth::Login as leptos::server_fn::ServerFn>::PATH))
        .header("origin", &app.address)
        .header("accept", "text/html")
        .form(&[
            ("email", user.email.as_str()),
            ("password", user.password.as_str()),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn after_sign_in_only_a_same_origin_path_is_followed() {
    // One sign-in per payload: more than the per-address limit allows.
    let app =
        crate::helpers::spawn_app_with(|config| config.security.login_rate_per_minute = 1000).await;

    for (next, expected) in [
        ("/claims?status=open", "/claims?status=open"),
        ("/\t/evil.example/", "/"),
        ("/\n/evil.example/", "/"),
        ("/\r\n/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("java\tscript:alert(1)", "/"),
        ("/claims\nSet-Cookie: x=1", "/claimsSet-Cookie: x=1"),
        ("/cla\u{0}ims", "/"),
    ] {
        let response = sign_in_then_go_to(&app, next).await;
        assert!(
            response.status().is_redirection(),
            "{next:?}: {}",
            response.status()
        );
        assert_eq!(response.headers()["location"], expected, "{next:?}");
    }
}

/// Whether the page holds a form posting to server function `F`.
fn has_form_for<F: leptos::server_fn::ServerFn>(html: &str) -> bool {
    html.contains(&format!(r#"action="{}""#, F::PATH))
}

#[tokio::test]
async fn an_auditor_reads_the_review_queue_without_assign_buttons_and_is_told_why() {
    use crate::claims::{active_policy, claim, ingest, pipeline_done, wait_for};
    let app = spawn_app().await;
    let token = app.api_token(Role::ApiClient).await;
    let policy_number = active_policy(&app, &token, "queue-roles").await;
    let receipt: serde_json::Value = ingest(&app, &token, &claim(&policy_number, 30_000), None)
        .await
        .json()
        .await
        .unwrap();
    wait_for(&app, &token, receipt["id"].as_str().unwrap(), pipeline_done).await;
    let number = receipt["claim_number"].as_str().unwrap();
    let (_, auditor) = app.signed_in(Role::Auditor).await;
    let (_, adjuster) = app.signed_in(Role::Adjuster).await;

    let seen_by_auditor = app
        .get_with(&auditor, "/reviews")
        .await
        .text()
        .await
        .unwrap();
    let seen_by_adjuster = app
        .get_with(&adjuster, "/reviews")
        .await
        .text()
        .await
        .unwrap();

    assert!(
        seen_by_auditor.contains(number),
        "the auditor reads the queue"
    );
    assert!(!seen_by_auditor.contains("Assign to me"));
    assert!(!has_form_for::<app::claims::AssignClaimToMe>(
        &seen_by_auditor
    ));
    assert!(
        seen_by_auditor.contains("Not shown: your role (Auditor) may not decide claims."),
        "and is told why"
    );
    assert!(seen_by_adjuster.contains(number) && seen_by_adjuster.contains("Assign to me"));
    assert!(has_form_for::<app::claims::AssignClaimToMe>(
        &seen_by_adjuster
    ));
    assert!(!seen_by_adjuster.contains("Not shown:"));
}

#[tokio::test]
async fn the_admin_page_gives_other_roles_its_403_and_no_forms_beside_it() {
    let app = spawn_app().await;
    let (_, admin) = app.signed_in(Role::Admin).await;

    for role in [Role::Auditor, Role::Adjuster, Role::Underwriter] {
        let (_, staff) = app.signed_in(role).await;
        let response = app.get_with(&staff, "/admin").await;
        assert_eq!(response.status(), 403, "{role:?}");
        let html = response.text().await.unwrap();
        assert!(html.contains("You do not have permission to manage staff accounts"));
        assert!(!has_form_for::<app::admin::CreateUser>(&html), "{role:?}");
        assert!(!has_form_for::<app::admin::UpdateUser>(&html), "{role:?}");
        assert!(
            !has_form_for::<app::admin::CreateApiClient>(&html),
            "{role:?}"
        );
        assert!(
            !has_form_for::<app::admin::CreatePartner>(&html),
            "{role:?}"
        );
        assert!(
            !has_form_for::<app::webhooks::CreateWebhook>(&html),
            "{role:?}"
        );
        for label in [
            "Add a member of staff",
            "Issue an API client",
            "Add a partner",
            "Register an endpoint",
        ] {
            assert!(!html.contains(label), "{role:?}: {label}");
        }
    }
    let html = app.get_with(&admin, "/admin").await.text().await.unwrap();
    assert!(has_form_for::<app::admin::CreateUser>(&html));
    assert!(has_form_for::<app::webhooks::CreateWebhook>(&html));
    assert!(!html.contains("Not shown:"), "an admin misses nothing");
}

#[tokio::test]
async fn a_deployment_with_an_environment_banner_shows_it_on_every_page_and_others_show_none() {
    let preview = crate::helpers::spawn_app_with(|config| {
        config.environment_banner = Some("Preview pr-42: demo data, not production".into());
    })
    .await;
    let (_, adjuster) = preview.signed_in(Role::Adjuster).await;
    let banner = r#"<aside aria-label="Environment" class="environment-banner">Preview pr-42: demo data, not production</aside>"#;

    for (client, path) in [
        (&preview.client, "/login"),
        (&adjuster, "/claims"),
        (&adjuster, "/no/such/page"),
    ] {
        let html = preview.get_with(client, path).await.text().await.unwrap();
        assert!(html.contains(banner), "{path} shows the banner:\n{html}");
        assert!(
            html.contains(r#"<body class="has-environment-banner">"#),
            "{path} pads the page for it"
        );
    }

    let production = spawn_app().await;
    let html = production.get("/login").await.text().await.unwrap();
    assert!(!html.contains("environment-banner"), "no banner unless set");
}
