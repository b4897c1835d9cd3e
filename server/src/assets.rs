//! The site's static files: the `/pkg` bundle under a content-hashed name,
//! cached for a year; everything else revalidated.
//!
//! Why not cargo-leptos' `hash-files`: Leptos then reads its hash file from
//! disk on every page render (blocking the runtime) and it must sit next to
//! the binary, so every deploy recipe would need to copy it. Instead the
//! server hashes the built bundle once at start-up and renders pages that
//! ask for `/pkg/vanguard.<version>.js` (and `.wasm`, `.css`); such a URL is
//! answered from the unhashed file with `Cache-Control: immutable`, and a
//! version that is not this build's is a 404, so a cache can never hold the
//! wrong bundle under a name. During a rolling deploy, a page from the other
//! version may meet a 404 for its bundle: it still renders (server-side) and
//! works without scripts until it is reloaded.
//!
//! Files are served with the request's own headers (leptos_axum's file
//! handler drops them), so `If-Modified-Since` answers 304 and the `.br` /
//! `.gz` files cargo-leptos precompresses in release builds are used when
//! the browser accepts them. A path that is not a file renders the app's
//! 404 page.

use std::path::Path;

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse as _, Response},
};
use leptos::prelude::LeptosOptions;
use sha2::{Digest as _, Sha256};
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

use app::{shell, state::AppState};

/// What a year of caching looks like; the name changes with the content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The bundle's files, by the suffix that follows the output name. (Without
/// cargo-leptos, as in `cargo test`, Leptos links `<name>_bg.wasm`.)
const BUNDLE_SUFFIXES: [&str; 4] = [".js", ".wasm", "_bg.wasm", ".css"];

/// The bundle's version: the first 16 hex digits of the SHA-256 of its
/// script, WebAssembly and stylesheet, or `None` when there is no built site
/// (tests, a server started before `cargo leptos build`).
pub fn bundle_version(site_root: &Path, output_name: &str) -> Option<String> {
    let pkg = site_root.join("pkg");
    let mut hasher = Sha256::new();
    let mut found = false;
    for suffix in BUNDLE_SUFFIXES {
        if let Ok(bytes) = std::fs::read(pkg.join(format!("{output_name}{suffix}"))) {
            hasher.update(suffix.as_bytes());
            hasher.update(&bytes);
            found = true;
        }
    }
    found.then(|| {
        hasher.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// The options with the output name that carries the bundle's version (pages
/// then link the hashed names); unchanged when there is no built site.
pub fn versioned(mut options: LeptosOptions) -> LeptosOptions {
    let name = options.output_name.to_string();
    if let Some(version) = bundle_version(Path::new(options.site_root.as_ref()), &name) {
        options.output_name = format!("{name}.{version}").into();
    }
    options
}

/// The bundle file a versioned `/pkg` path stands for, if it is this build's.
fn unversioned(path: &str, versioned_name: &str, name: &str) -> Option<String> {
    let file = path.strip_prefix("/pkg/")?;
    let suffix = file.strip_prefix(versioned_name)?;
    (versioned_name != name && BUNDLE_SUFFIXES.contains(&suffix))
        .then(|| format!("/pkg/{name}{suffix}"))
}

/// The fallback of the browser surface: a file of the site, or the 404 page.
pub async fn static_file(State(state): State<AppState>, request: Request) -> Response {
    let options = &state.leptos_options;
    let versioned_name = options.output_name.to_string();
    let name = versioned_name
        .split_once('.')
        .map_or(versioned_name.as_str(), |(name, _)| name);
    // The 404 page needs the request as it came (its principal, session and
    // nonce are extensions), so the files get a copy.
    let (parts, body) = request.into_parts();
    let mut file_request = Request::from_parts(parts.clone(), axum::body::Body::empty());
    let immutable = match unversioned(parts.uri.path(), &versioned_name, name)
        .and_then(|path| path.parse::<Uri>().ok())
    {
        Some(uri) => {
            *file_request.uri_mut() = uri;
            true
        }
        None => false,
    };

    let files = ServeDir::new(options.site_root.as_ref())
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false);
    let mut response = match files.oneshot(file_request).await {
        Ok(response) => response.map(axum::body::Body::new),
        Err(error) => match error {},
    };
    if response.status() == StatusCode::NOT_FOUND {
        let not_found = leptos_axum::file_and_error_handler::<AppState, _>(shell);
        let uri = parts.uri.clone();
        return not_found(uri, State(state.clone()), Request::from_parts(parts, body))
            .await
            .into_response();
    }
    if immutable && response.status().is_success() {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_versioned_bundle_path_names_the_unhashed_file() {
        let name = "vanguard.0123456789abcdef";
        assert_eq!(
            unversioned("/pkg/vanguard.0123456789abcdef.js", name, "vanguard").as_deref(),
            Some("/pkg/vanguard.js")
        );
        assert_eq!(
            unversioned("/pkg/vanguard.0123456789abcdef.wasm", name, "vanguard").as_deref(),
            Some("/pkg/vanguard.wasm")
        );
        assert_eq!(
            unversioned("/pkg/vanguard.0123456789abcdef.css", name, "vanguard").as_deref(),
            Some("/pkg/vanguard.css")
        );
    }

    #[test]
    fn another_version_or_another_file_is_not_rewritten() {
        let name = "vanguard.0123456789abcdef";
        assert_eq!(
            unversioned("/pkg/vanguard.ffffffffffffffff.js", name, "vanguard"),
            None
        );
        assert_eq!(unversioned("/pkg/vanguard.js", name, "vanguard"), None);
        assert_eq!(
            unversioned("/pkg/vanguard.0123456789abcdef.js.map", name, "vanguard"),
            None
        );
        assert_eq!(unversioned("/favicon.svg", name, "vanguard"), None);
        assert_eq!(
            unversioned("/pkg/vanguard.js", "vanguard", "vanguard"),
            None
        );
    }

    #[test]
    fn the_version_follows_the_content_and_is_absent_without_a_site() {
        let dir = tempfile::tempdir().expect("temporary directory");
        assert_eq!(bundle_version(dir.path(), "vanguard"), None);
        std::fs::create_dir(dir.path().join("pkg")).expect("pkg");
        std::fs::write(dir.path().join("pkg/vanguard.js"), "one").expect("write");
        let first = bundle_version(dir.path(), "vanguard").expect("a version");
        assert_eq!(first.len(), 16);
        std::fs::write(dir.path().join("pkg/vanguard.js"), "two").expect("write");
        let second = bundle_version(dir.path(), "vanguard").expect("a version");
        assert_ne!(first, second);
    }
}
