//! Where a sign-in may send the browser afterwards: same-origin paths only.
//!
//! The `next` parameter is attacker-controlled, so it is judged the way a
//! browser will read it, not as the bytes it arrived as: browsers drop ASCII
//! tab, CR and LF anywhere in a URL, trim leading and trailing C0 controls
//! and spaces, and read `\` as `/` (WHATWG URL). `/\t/evil.example` is
//! `//evil.example` to a browser, which is another site. The browser (after a
//! sign-in through the WASM) and the server (the redirect of a plain form
//! post) both use [`safe_next`], so they cannot disagree.

/// The path to go to after signing in: `next` when, read as a browser reads
/// it, it is a plain path on this site; otherwise the dashboard (`/`).
///
/// The result never contains control characters (it is safe in a
/// `Location` header) and never starts with `//`.
pub fn safe_next(next: Option<&str>) -> String {
    next.and_then(same_origin_path)
        .unwrap_or_else(|| "/".to_owned())
}

/// `raw` as a browser would resolve it, if that stays on this origin and is
/// not the sign-in page itself (which would loop).
pub fn same_origin_path(raw: &str) -> Option<String> {
    let path = browser_normalised(raw)?;
    let route = path.split(['?', '#']).next().unwrap_or_default();
    let elsewhere = !path.starts_with('/')
        // `//host` and `/\host` (already `//host` here) name another site.
        || route.contains("//")
        // Dot segments let `/..//host`-style tricks resolve elsewhere, and
        // no page of ours needs them; `%2e` is a dot to a browser too.
        || route.split('/').any(is_dot_segment);
    let sign_in = route == "/login" || route.starts_with("/login/");
    (!elsewhere && !sign_in).then_some(path)
}

/// WHATWG URL pre-processing: trim C0 controls and spaces at both ends,
/// drop tab/CR/LF anywhere, backslash as slash. Any other control character
/// (NUL, ESC, DEL, C1) is refused outright: no legitimate path has one.
fn browser_normalised(raw: &str) -> Option<String> {
    let trimmed = raw.trim_matches(|c: char| c <= ' ');
    let mut path = String::with_capacity(trimmed.len());
    for c in trimmed.chars() {
        match c {
            '\t' | '\n' | '\r' => {}
            '\\' => path.push('/'),
            c if c.is_control() => return None,
            c => path.push(c),
        }
    }
    Some(path)
}

fn is_dot_segment(segment: &str) -> bool {
    let lowered = segment.to_ascii_lowercase().replace("%2e", ".");
    lowered == "." || lowered == ".."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_local_paths_are_followed_as_given() {
        for path in [
            "/",
            "/claims",
            "/claims?status=open",
            "/claims/abc-123#notes",
            "/customers?q=a%2Fb",
            "/loginhelp",
        ] {
            assert_eq!(safe_next(Some(path)), path, "{path:?}");
        }
    }

    #[test]
    fn what_a_browser_drops_is_dropped_before_judging() {
        assert_eq!(safe_next(Some("/cla\tims")), "/claims");
        assert_eq!(safe_next(Some("  /claims\n")), "/claims");
        assert_eq!(safe_next(Some("/claims\\open")), "/claims/open");
    }

    #[test]
    fn anything_a_browser_would_read_as_another_site_goes_to_the_dashboard() {
        for hostile in [
            "//evil.example",
            "/\t/evil.example/",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "\t//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "\\/evil.example",
            "/\\\t\\evil.example",
            " //evil.example",
            "https://evil.example",
            "HTTPS://evil.example",
            "javascript:alert(1)",
            "java\tscript:alert(1)",
            "data:text/html,hi",
            "evil.example",
            "claims",
            "/..//evil.example",
            "/claims/../..//evil.example",
            "/./claims",
            "/%2e%2e//evil.example",
            "/claims//evil.example",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
    }

    #[test]
    fn control_characters_never_reach_a_location_header() {
        for hostile in [
            "/cla\u{0}ims",
            "/claims\u{1b}[31m",
            "/claims\u{7f}",
            "/claims\u{85}",
            "/claims\u{0b}x",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/", "{hostile:?}");
        }
        for raw in ["/a\nSet-Cookie: x=1", "/\r\nLocation: //evil.example"] {
            let next = safe_next(Some(raw));
            assert!(!next.chars().any(char::is_control), "{raw:?} -> {next:?}");
        }
    }

    #[test]
    fn the_sign_in_page_itself_is_never_the_destination() {
        for path in ["/login", "/login?next=/claims", "/login/", "/\tlogin"] {
            assert_eq!(safe_next(Some(path)), "/", "{path:?}");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("")), "/");
    }
}
