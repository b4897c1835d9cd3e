use crate::helpers::spawn_app;

#[tokio::test]
async fn the_dashboard_renders_the_shell_with_every_section_in_the_navigation() {
    let app = spawn_app().await;

    let response = app.get("/").await;

    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    for (href, label) in app::layout::NAV {
        assert!(
            html.contains(&format!(r#"href="{href}""#)),
            "nav link {href}"
        );
        assert!(html.contains(label), "nav label {label}");
    }
    assert!(html.contains("<h1>Dashboard</h1>"));
    assert!(html.contains("/pkg/vanguard.css"), "stylesheet linked");
    assert!(
        html.contains("vanguard.js") || html.contains("/pkg/vanguard"),
        "hydration script linked"
    );
}

#[tokio::test]
async fn every_section_page_renders() {
    let app = spawn_app().await;

    for (href, label) in app::layout::NAV {
        let response = app.get(href).await;
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

    let response = app.get("/no/such/page").await;

    assert_eq!(response.status(), 404);
    let html = response.text().await.unwrap();
    assert!(html.contains("Not found"));
    assert!(
        html.contains("Review queue"),
        "the navigation is still there"
    );
}
