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
