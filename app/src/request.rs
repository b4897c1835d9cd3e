//! Request-scoped values the server's middleware attaches to each request
//! (as extensions) and pages and server functions read back through
//! Leptos' `http::request::Parts` context.

use std::sync::Arc;

use leptos::prelude::*;

/// The id that ties together every log line and audit record of one request.
/// Taken from a well-formed inbound `X-Correlation-ID` / `X-Request-ID`, or
/// minted; echoed on the response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelationId(pub Arc<str>);

impl CorrelationId {
    /// The longest inbound id we accept.
    pub const MAX_LEN: usize = 128;

    /// Accepts an inbound id only if it is 1..=128 characters of
    /// `[A-Za-z0-9._:-]`: anything else (CR/LF, quotes, spaces) could forge
    /// log lines or headers, so it is replaced rather than cleaned.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = (1..=Self::MAX_LEN).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        ok.then(|| Self(raw.into()))
    }

    /// A fresh, time-ordered id.
    pub fn mint() -> Self {
        Self(uuid::Uuid::now_v7().simple().to_string().into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the request being handled, from the Leptos context.
    pub fn current() -> Option<Self> {
        use_context::<http::request::Parts>()?
            .extensions
            .get::<Self>()
            .cloned()
    }
}

/// The per-request CSP nonce: 128 random bits, base64url.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspNonce(pub Arc<str>);

impl CspNonce {
    pub fn mint() -> Self {
        use base64::Engine as _;
        Self(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(uuid::Uuid::new_v4().as_bytes())
                .into(),
        )
    }

    /// Hands the request's nonce to Leptos so the hydration scripts carry it
    /// (call before `HydrationScripts` renders).
    pub fn provide_to_leptos() {
        let nonce = use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Self>().cloned());
        if let Some(nonce) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce.0));
        }
    }
}

/// Whether the request being handled is a plain HTML form post (the WASM
/// not loaded): Leptos answers those with a redirect rather than data.
pub fn is_plain_form_post() -> bool {
    use_context::<http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
    })
}

/// The client's address as the middleware resolved it: the peer, or, when
/// the peer is a trusted proxy, the rightmost untrusted `X-Forwarded-For` hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub std::net::IpAddr);

/// Filled in by whichever layer authenticates the request (`user:<id>` or
/// `api_client:<id>`), so the request's log line can name the caller.
#[derive(Debug, Clone, Default)]
pub struct CallerSlot(pub Arc<std::sync::OnceLock<String>>);

impl CallerSlot {
    /// Records the caller on the request's slot, if the request has one.
    pub fn record(extensions: &http::Extensions, kind: &str, id: &str) {
        if let Some(slot) = extensions.get::<Self>() {
            let _ = slot.0.set(format!("{kind}:{id}"));
        }
    }
}

/// Where a request came from, for audit records and throttling.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub correlation_id: Option<String>,
    pub client_ip: Option<std::net::IpAddr>,
}

impl RequestMeta {
    pub fn from_extensions(extensions: &http::Extensions) -> Self {
        Self {
            correlation_id: extensions
                .get::<CorrelationId>()
                .map(|id| id.as_str().to_owned()),
            client_ip: extensions.get::<ClientIp>().map(|ip| ip.0),
        }
    }

    /// The request being handled, from the Leptos context.
    pub fn current() -> Self {
        use_context::<http::request::Parts>()
            .map(|parts| Self::from_extensions(&parts.extensions))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_correlation_ids_are_kept() {
        for id in ["abc-123", "0190c1f2e3d4", "req_1.2:3", &"a".repeat(128)] {
            assert_eq!(CorrelationId::parse(id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn correlation_ids_that_could_forge_log_lines_are_rejected() {
        for id in [
            "",
            "a\r\nforged: yes",
            "has space",
            "quote\"",
            &"a".repeat(129),
            "ünïcode",
        ] {
            assert!(CorrelationId::parse(id).is_none(), "{id:?}");
        }
    }

    #[test]
    fn minted_ids_and_nonces_are_unique_and_well_formed() {
        let (a, b) = (CorrelationId::mint(), CorrelationId::mint());
        assert_ne!(a, b);
        assert!(CorrelationId::parse(a.as_str()).is_some());

        let nonce = CspNonce::mint();
        assert_eq!(nonce.0.len(), 22, "16 bytes in unpadded base64url");
        assert_ne!(nonce, CspNonce::mint());
    }
}
