//! Nothing of one response lands on another: many users at once (admins,
//! auditors, strangers) loading allowed, forbidden and missing pages and
//! static files, each answer checked against what that request alone must
//! get. And a missing record is a 404 every time, not when the data
//! happened to load before the head was sent.

use futures_util::future::join_all;
use shared::auth::Role;

use crate::helpers::{TestApp, spawn_app_with};

const STYLESHEET: &str = "body { color: #123456 }";
const FAVICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\"/>";

/// The app with a site root that holds real static files.
async fn app_with_static_files() -> (TestApp, tempfile::TempDir) {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/vanguard.css"), STYLESHEET).unwrap();
    std::fs::write(site.path().join("favicon.svg"), FAVICON).unwrap();
    let root = site.path().to_owned();
    let app = spawn_app_with(move |config| config.site_root = root).await;
    (app, site)
}

/// What one request must get: its status and a piece of its body.
struct Expect {
    client: usize,
    path: String,
    status: u16,
    body_has: &'static str,
}

#[tokio::test]
async fn statuses_and_bodies_never_cross_between_concurrent_requests() {
    let (app, _site) = app_with_static_files().await;
    let mut clients = Vec::new();
    for role in [Role::Admin, Role::Admin, Role::Auditor, Role::Auditor] {
        clients.push(app.signed_in(role).await.1);
    }
    clients.push(app.new_client());
    let (admins, auditors, stranger) = ([0, 1], [2, 3], 4);
    let missing = uuid::Uuid::now_v7();

    let mut plan = Vec::new();
    for round in 0..40 {
        let admin = admins[round % 2];
        let auditor = auditors[round % 2];
        let expect = |client, path: &str, status, body_has| Expect {
            client,
            path: path.to_owned(),
            status,
            body_has,
        };
        plan.extend([
            expect(auditor, "/admin", 403, "Not allowed"),
            expect(admin, "/admin", 200, "<h1>Admin</h1>"),
            expect(admin, "/pkg/vanguard.css", 200, STYLESHEET),
            expect(auditor, "/pkg/vanguard.css", 200, STYLESHEET),
            expect(stranger, "/favicon.svg", 200, FAVICON),
            expect(admin, &format!("/claims/{missing}"), 404, "Not found"),
            expect(auditor, &format!("/customers/{missing}"), 404, "Not found"),
            expect(stranger, "/no/such/page", 404, "Not found"),
            expect(auditor, "/audit", 200, "<h1>Audit</h1>"),
            expect(stranger, "/claims", 303, ""),
        ]);
    }

    let answers = join_all(plan.iter().map(|step| async {
        let response = app.get_with(&clients[step.client], &step.path).await;
        let status = response.status().as_u16();
        let location = response.headers().get("location").cloned();
        (status, location, response.text().await.unwrap())
    }))
    .await;

    let mut wrong = Vec::new();
    for (step, (status, location, body)) in plan.iter().zip(&answers) {
        if *status != step.status || !body.contains(step.body_has) {
            wrong.push(format!("{} as client {}: {status}", step.path, step.client));
        }
        if step.status != 303 && location.is_some() {
            wrong.push(format!("{} got another answer's Location", step.path));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} answers were not their own: {wrong:#?}",
        wrong.len(),
        plan.len()
    );
}

#[tokio::test]
async fn a_missing_record_is_404_on_every_load() {
    let (app, _site) = app_with_static_files().await;
    let (_, admin) = app.signed_in(Role::Admin).await;
    let missing = uuid::Uuid::now_v7();

    for kind in ["claims", "customers", "policies"] {
        for _ in 0..15 {
            let response = app.get_with(&admin, &format!("/{kind}/{missing}")).await;
            assert_eq!(response.status(), 404, "/{kind}/{missing}");
            let html = response.text().await.unwrap();
            assert!(html.contains("Not found"), "/{kind}: {html}");
        }
    }
}

/// Listing the page routes raises a process-wide flag under which a
/// resource first polled waits forever (leptos-rs/leptos#4773). Each new
/// application in this process (a replica, the next test's app) used to
/// list them again while the others served: a page loading at that moment
/// never answered.
// Two worker threads: the flag only bites a request polled on another
// thread while this one lists the routes of the starting replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_keep_answering_while_another_application_starts_in_the_process() {
    let (app, _site) = app_with_static_files().await;
    let (_, admin) = app.signed_in(Role::Admin).await;
    let missing = uuid::Uuid::now_v7();
    let stop = std::sync::atomic::AtomicBool::new(false);

    let loads = async {
        let mut answered = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let pages = ["claims", "customers", "policies"].map(|kind| {
                let request = admin
                    .get(app.url(&format!("/{kind}/{missing}")))
                    .timeout(std::time::Duration::from_secs(10));
                async move { request.send().await.map(|r| r.status().as_u16()) }
            });
            for answer in join_all(pages).await {
                assert_eq!(answer.expect("the page answered in time"), 404);
                answered += 1;
            }
        }
        answered
    };
    let starts = async {
        for _ in 0..8 {
            let _replica = app.spawn_replica().await;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    };
    let (answered, ()) = tokio::join!(loads, starts);
    assert!(answered > 0);
}
