//! Partner organisations and what a caller may see of them.
//!
//! Every API client belongs to one partner organisation (a broker, a TPA, a
//! fleet operator, an embedded-insurance platform), or is explicitly
//! *internal*. A partner's records are the customers its clients created,
//! the policies on those customers and the claims on those policies; a
//! caller's [`Scope`] says whose records it sees. Staff and internal clients
//! see everything; a partner client sees its organisation's records only,
//! and everything else answers as if it did not exist.

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// Whose records a caller sees.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "partner_id")]
pub enum Scope {
    /// Staff, and API clients an administrator marked internal.
    All,
    /// A partner's API client: that partner's records only.
    Partner(String),
}

impl Scope {
    /// The partner a scoped caller belongs to; `None` for [`Scope::All`].
    pub fn partner(&self) -> Option<&str> {
        match self {
            Scope::All => None,
            Scope::Partner(id) => Some(id),
        }
    }

    /// Whether a record owned by `owner` (a partner id, or `None` for the
    /// insurer's own book) is visible under this scope.
    pub fn sees(&self, owner: Option<&str>) -> bool {
        match self {
            Scope::All => true,
            Scope::Partner(id) => owner == Some(id.as_str()),
        }
    }
}

/// What kind of organisation a partner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartnerKind {
    Broker,
    Tpa,
    FleetOperator,
    EmbeddedPlatform,
}

impl PartnerKind {
    pub const ALL: [PartnerKind; 4] = [
        PartnerKind::Broker,
        PartnerKind::Tpa,
        PartnerKind::FleetOperator,
        PartnerKind::EmbeddedPlatform,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PartnerKind::Broker => "broker",
            PartnerKind::Tpa => "tpa",
            PartnerKind::FleetOperator => "fleet_operator",
            PartnerKind::EmbeddedPlatform => "embedded_platform",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PartnerKind::Broker => "Broker",
            PartnerKind::Tpa => "Third-party administrator",
            PartnerKind::FleetOperator => "Fleet operator",
            PartnerKind::EmbeddedPlatform => "Embedded-insurance platform",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == raw.trim())
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "must be one of broker, tpa, fleet_operator, embedded_platform",
                )
            })
    }
}

/// A partner's slug: how the CLI and the API name it. 2 to 40 lowercase
/// letters, digits and dashes, starting with a letter.
pub fn parse_slug(field: &str, raw: &str) -> Result<String, FieldError> {
    let slug = raw.trim();
    let valid = (2..=40).contains(&slug.len())
        && slug.starts_with(|c: char| c.is_ascii_lowercase())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(slug.to_owned())
    } else {
        Err(FieldError::new(
            field,
            "must be 2 to 40 lowercase letters, digits or dashes, starting with a letter",
        ))
    }
}

/// A partner as the Admin page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerView {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub kind: PartnerKind,
    pub created_at: i64,
    /// Active (not revoked) API clients of the partner.
    pub active_clients: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partner_scope_sees_only_its_own_records_and_all_sees_everything() {
        let a = Scope::Partner("a".into());
        assert!(a.sees(Some("a")));
        assert!(!a.sees(Some("b")));
        assert!(!a.sees(None));
        assert!(Scope::All.sees(None) && Scope::All.sees(Some("b")));
        assert_eq!(a.partner(), Some("a"));
        assert_eq!(Scope::All.partner(), None);
    }

    #[test]
    fn partner_kinds_and_slugs_are_checked_with_the_field_named() {
        for kind in PartnerKind::ALL {
            assert_eq!(PartnerKind::parse("kind", kind.as_str()), Ok(kind));
        }
        assert_eq!(
            PartnerKind::parse("kind", "bank").unwrap_err().field,
            "kind"
        );
        assert_eq!(
            parse_slug("slug", " acme-brokers ").unwrap(),
            "acme-brokers"
        );
        for bad in ["A", "1abc", "acme_brokers", "x", &"a".repeat(41)] {
            assert_eq!(parse_slug("slug", bad).unwrap_err().field, "slug", "{bad}");
        }
    }
}
