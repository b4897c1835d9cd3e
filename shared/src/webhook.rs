//! Webhook endpoints: the rules an endpoint's address and description
//! follow (checked in the admin form and again on the server), and the
//! events Vanguard sends.

use crate::FieldErrors;
use crate::macros::str_enum;

str_enum! {
    /// What a webhook tells a partner.
    pub enum WebhookEvent {
        /// The pipeline checked coverage, triaged the claim and stored its
        /// snapshot: the claim now waits in the review queue.
        ClaimTriaged => "claim.triaged", "Claim triaged";
    }
}

/// The longest endpoint address accepted.
pub const URL_MAX_CHARS: usize = 2000;

/// A new endpoint as the admin form and `POST /api/v1/webhooks` send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    pub description: String,
}

impl NewWebhook {
    /// `url` must be `https://host/…`; plain `http://` only to this machine
    /// (`localhost`, `127.0.0.1`, `[::1]`), for development and tests. The
    /// description is 1 to 200 characters.
    pub fn parse(url: &str, description: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let url = url.trim();
        if let Err(rule) = check_url(url) {
            errors.push("url", rule);
        }
        let description = description.trim();
        if description.is_empty() || description.chars().count() > 200 {
            errors.push("description", "must be 1 to 200 characters");
        }
        errors.into_result()?;
        Ok(Self {
            url: url.to_owned(),
            description: description.to_owned(),
        })
    }
}

fn check_url(url: &str) -> Result<(), &'static str> {
    const RULE: &str = "must be an https:// address (http:// only to localhost)";
    if url.chars().count() > URL_MAX_CHARS {
        return Err("must be at most 2000 characters");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(RULE);
    }
    let (secure, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(RULE);
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not carry a user name or password");
    }
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(RULE);
    }
    let loopback = matches!(
        host.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "::1"
    );
    if secure || loopback {
        Ok(())
    } else {
        Err(RULE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_error(url: &str) -> Option<String> {
        NewWebhook::parse(url, "Partner gateway")
            .err()
            .and_then(|e| {
                e.0.into_iter()
                    .find(|e| e.field == "url")
                    .map(|e| e.message)
            })
    }

    #[test]
    fn https_addresses_and_plain_http_to_this_machine_are_accepted() {
        for url in [
            "https://hooks.example.com/vanguard",
            "https://hooks.example.com:8443/a?b=c",
            "http://127.0.0.1:9999/hook",
            "http://localhost/hook",
            "http://[::1]:8080/",
        ] {
            assert_eq!(url_error(url), None, "{url}");
        }
    }

    #[test]
    fn other_addresses_are_refused_naming_the_rule() {
        for url in [
            "http://hooks.example.com/vanguard",
            "ftp://example.com",
            "https://",
            "hooks.example.com",
            "https://exa mple.com",
            "http://10.0.0.5/internal",
        ] {
            assert_eq!(
                url_error(url).as_deref(),
                Some("must be an https:// address (http:// only to localhost)"),
                "{url}"
            );
        }
        assert_eq!(
            url_error("https://user:pw@example.com/").as_deref(),
            Some("must not carry a user name or password")
        );
    }

    #[test]
    fn a_description_is_required() {
        let errors = NewWebhook::parse("https://example.com", "  ").unwrap_err();
        assert_eq!(errors.0[0].field, "description");
    }
}
