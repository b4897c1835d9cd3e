//! Webhook endpoints: the rules an endpoint's address and description
//! follow (checked in the admin form and again on the server), and the
//! events Vanguard sends.

use std::net::IpAddr;

use crate::FieldErrors;
use crate::macros::str_enum;
use crate::net::{AddressClass, classify, local_name};

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

/// The rule an address outside the allow-list breaks by its scheme.
pub const SCHEME_RULE: &str =
    "must be an https:// address (http:// only to hosts in VANGUARD_WEBHOOK_ALLOW_HOSTS)";

impl NewWebhook {
    /// `url` must be `https://` to a public host: no literal address or
    /// well-known name of this machine, a private network or a metadata
    /// service ([`crate::net`]). Hosts in `allowed` (the development-only
    /// `VANGUARD_WEBHOOK_ALLOW_HOSTS`, empty in production) skip those
    /// rules and may use plain `http://`. The description is 1 to 200
    /// characters.
    pub fn parse(url: &str, description: &str, allowed: &[String]) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let url = url.trim();
        if let Err(rule) = check_url(url, allowed) {
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

/// How an allow-list entry and a URL's host are compared: lower case,
/// without IPv6 brackets or a final dot.
pub fn host_key(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Whether `host` (as the URL spells it) is on the development allow-list.
pub fn is_allowed(host: &str, allowed: &[String]) -> bool {
    let key = host_key(host);
    allowed.iter().any(|entry| host_key(entry) == key)
}

/// The refusal for an address a webhook may not reach, naming its class.
pub fn address_rule(shown: &str, class: AddressClass) -> String {
    format!("must be a public address ({shown} is {})", class.describe())
}

fn check_url(raw: &str, allowed: &[String]) -> Result<(), String> {
    if raw.chars().count() > URL_MAX_CHARS {
        return Err("must be at most 2000 characters".into());
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(SCHEME_RULE.into());
    }
    // Parsed as the HTTP client will parse it (WHATWG), so `0x7f.1` or
    // `2130706433` are the IPv4 address they will connect to.
    let url = url::Url::parse(raw).map_err(|_| SCHEME_RULE.to_owned())?;
    let secure = match url.scheme() {
        "https" => true,
        "http" => false,
        _ => return Err(SCHEME_RULE.into()),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    let Some(host) = url.host() else {
        return Err(SCHEME_RULE.into());
    };
    let shown = host.to_string();
    if is_allowed(&shown, allowed) {
        return Ok(());
    }
    if !secure {
        return Err(SCHEME_RULE.into());
    }
    let class = match host {
        url::Host::Ipv4(ip) => classify(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => classify(IpAddr::V6(ip)),
        url::Host::Domain(name) => {
            return match local_name(name) {
                Some(kind) => Err(format!("must be a public address ({shown} is {kind})")),
                None => Ok(()),
            };
        }
    };
    if class.is_public() {
        Ok(())
    } else {
        Err(address_rule(&shown, class))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_error_with(url: &str, allowed: &[&str]) -> Option<String> {
        let allowed: Vec<String> = allowed.iter().map(|h| (*h).to_owned()).collect();
        NewWebhook::parse(url, "Partner gateway", &allowed)
            .err()
            .and_then(|e| {
                e.0.into_iter()
                    .find(|e| e.field == "url")
                    .map(|e| e.message)
            })
    }

    fn url_error(url: &str) -> Option<String> {
        url_error_with(url, &[])
    }

    #[test]
    fn https_addresses_of_public_hosts_are_accepted() {
        for url in [
            "https://hooks.example.com/vanguard",
            "https://hooks.example.com:8443/a?b=c",
            "https://93.184.216.34/hook",
            "https://[2606:4700::1111]/hook",
        ] {
            assert_eq!(url_error(url), None, "{url}");
        }
    }

    #[test]
    fn other_schemes_and_malformed_addresses_are_refused_naming_the_rule() {
        for url in [
            "http://hooks.example.com/vanguard",
            "ftp://example.com",
            "https://",
            "hooks.example.com",
            "https://exa mple.com",
            "http://127.0.0.1:9999/hook",
        ] {
            assert_eq!(url_error(url).as_deref(), Some(SCHEME_RULE), "{url}");
        }
        assert_eq!(
            url_error("https://user:pw@example.com/").as_deref(),
            Some("must not carry a user name or password")
        );
    }

    #[test]
    fn private_loopback_metadata_and_local_names_are_refused_in_every_spelling() {
        for (url, rule) in [
            (
                "https://10.0.0.5/internal",
                "(10.0.0.5 is a private address)",
            ),
            (
                "https://169.254.169.254/latest/meta-data",
                "is a cloud metadata address",
            ),
            ("https://127.0.0.1/", "is a loopback address"),
            ("https://2130706433/", "(127.0.0.1 is a loopback address)"),
            ("https://0x7f.1/", "(127.0.0.1 is a loopback address)"),
            ("https://[::ffff:127.0.0.1]/", "is a loopback address"),
            ("https://[::1]:8080/", "is a loopback address"),
            ("https://[fd00::5]/", "is a unique-local address"),
            ("https://[fe80::1]/", "is a link-local address"),
            ("https://100.64.0.1/", "is a carrier-grade NAT address"),
            ("https://224.0.0.1/", "is a multicast address"),
            ("https://0.0.0.0/", "is an unspecified address"),
            (
                "https://localhost:5432/",
                "(localhost is a name of this machine)",
            ),
            ("https://LocalHost./", "is a name of this machine"),
            (
                "https://metadata.google.internal/",
                "is a private network name",
            ),
        ] {
            let error = url_error(url).unwrap_or_default();
            assert!(
                error.starts_with("must be a public address"),
                "{url}: {error}"
            );
            assert!(error.contains(rule), "{url}: {error}");
        }
    }

    #[test]
    fn the_development_allow_list_admits_its_hosts_only_over_any_scheme() {
        let allowed = ["127.0.0.1", "localhost", "[::1]"];
        for url in [
            "http://127.0.0.1:9999/hook",
            "http://localhost/hook",
            "https://LOCALHOST./hook",
            "http://[::1]:8080/",
        ] {
            assert_eq!(url_error_with(url, &allowed), None, "{url}");
        }
        assert!(url_error_with("http://10.0.0.5/", &allowed).is_some());
        assert!(url_error_with("http://[::ffff:127.0.0.1]/", &allowed).is_some());
    }

    #[test]
    fn a_description_is_required() {
        let errors = NewWebhook::parse("https://example.com", "  ", &[]).unwrap_err();
        assert_eq!(errors.0[0].field, "description");
    }
}
