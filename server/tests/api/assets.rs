//! Static files and compression: the bundle under its versioned name is
//! cached for a year, other files are revalidated (304), precompressed
//! bundle files are served as they are, and pages are gzipped on the fly.

use shared::auth::Role;

use crate::helpers::{TestApp, spawn_app_with};

const SCRIPT: &str = "export default function init() {}";
const STYLESHEET: &str = "body { color: #123456 }";
const WASM: &[u8] = b"\0asm\x01\0\0\0";
const WASM_BROTLI: &[u8] = b"pretend-brotli-bytes";

/// The app with a built site: script, WebAssembly (and its brotli file),
/// stylesheet.
async fn app_with_bundle() -> (TestApp, tempfile::TempDir) {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("vanguard.js"), SCRIPT).unwrap();
    std::fs::write(pkg.join("vanguard.css"), STYLESHEET).unwrap();
    // Without cargo-leptos (as here) Leptos links `<name>_bg.wasm`.
    std::fs::write(pkg.join("vanguard_bg.wasm"), WASM).unwrap();
    std::fs::write(pkg.join("vanguard_bg.wasm.br"), WASM_BROTLI).unwrap();
    let root = site.path().to_owned();
    let app = spawn_app_with(move |config| config.site_root = root).await;
    (app, site)
}

/// The version the page links, read from its stylesheet link.
fn linked_version(html: &str) -> String {
    let (_, rest) = html
        .split_once("/pkg/vanguard.")
        .expect("the page links the bundle");
    let version: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
    assert_eq!(version.len(), 16, "a 16-digit version in {rest:.40}");
    version
}

#[tokio::test]
async fn pages_link_the_bundle_by_version_and_it_is_cached_for_a_year() {
    let (app, _site) = app_with_bundle().await;
    let (_, admin) = app.signed_in(Role::Admin).await;

    let html = app.get_with(&admin, "/").await.text().await.unwrap();
    let version = linked_version(&html);
    for file in ["css", "js"] {
        assert!(
            html.contains(&format!("/pkg/vanguard.{version}.{file}")),
            "the page links vanguard.{version}.{file}"
        );
    }

    for (file, body) in [("js", SCRIPT.as_bytes()), ("css", STYLESHEET.as_bytes())] {
        let response = app.get(&format!("/pkg/vanguard.{version}.{file}")).await;
        assert_eq!(response.status(), 200, "{file}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable",
            "{file}"
        );
        assert_eq!(&response.bytes().await.unwrap()[..], body, "{file}");
    }
}

#[tokio::test]
async fn another_builds_version_is_not_found_rather_than_served_the_wrong_bundle() {
    let (app, _site) = app_with_bundle().await;

    let response = app.get("/pkg/vanguard.ffffffffffffffff.js").await;

    assert_eq!(response.status(), 404);
    assert_ne!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
}

#[tokio::test]
async fn an_unversioned_file_is_revalidated_and_answers_304_when_unchanged() {
    let (app, _site) = app_with_bundle().await;

    let first = app.get("/pkg/vanguard.css").await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "no-cache");
    let modified = first.headers()["last-modified"].clone();

    let again = app
        .client
        .get(app.url("/pkg/vanguard.css"))
        .header("if-modified-since", modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_precompressed_bundle_file_is_served_as_it_is_to_a_browser_that_accepts_it() {
    let (app, _site) = app_with_bundle().await;
    let (_, admin) = app.signed_in(Role::Admin).await;
    let version = linked_version(&app.get_with(&admin, "/").await.text().await.unwrap());
    let path = format!("/pkg/vanguard.{version}_bg.wasm");

    let brotli = app
        .client
        .get(app.url(&path))
        .header("accept-encoding", "br, gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(brotli.status(), 200);
    assert_eq!(brotli.headers()["content-encoding"], "br");
    assert_eq!(
        brotli.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(&brotli.bytes().await.unwrap()[..], WASM_BROTLI);

    let plain = app.get(&path).await;
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(&plain.bytes().await.unwrap()[..], WASM);
}

#[tokio::test]
async fn pages_are_compressed_for_clients_that_accept_it_and_plain_for_others() {
    let (app, _site) = app_with_bundle().await;
    let (_, admin) = app.signed_in(Role::Admin).await;

    let plain = app.get_with(&admin, "/customers").await;
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_len = plain.bytes().await.unwrap().len();

    let response = admin
        .get(app.url("/customers"))
        .header("accept-encoding", "br, gzip, deflate")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let compressed_len = response.bytes().await.unwrap().len();
    assert!(
        compressed_len * 2 < plain_len,
        "{compressed_len} bytes for a {plain_len}-byte page"
    );
}
