//! Where webhook deliveries may go, enforced when they are sent.
//!
//! Registration already refuses non-public literal addresses and local
//! names ([`shared::webhook::NewWebhook::parse`]), but a name can be
//! re-pointed after it was checked, and a row can be edited. So every
//! delivery checks again: a literal address before connecting, a name in
//! the client's DNS resolver, where *every* address it resolves to must be
//! public and the connection then goes to exactly those addresses (the
//! answer is not looked up a second time, so there is no window between
//! check and use). Proxies are off, so the resolver sees the target and not
//! a proxy's name. Hosts on the development allow-list
//! (`VANGUARD_WEBHOOK_ALLOW_HOSTS`, refused in production) skip the checks.

use std::{
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    time::Duration,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use shared::{
    net::{classify, local_name},
    webhook::{address_rule, is_allowed},
};

/// Why a delivery was not attempted; its text is what the delivery log
/// shows (an address and a rule, never a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused: the target {0}")]
pub struct TargetRefused(pub String);

/// Looks a host name up; the system resolver outside unit tests.
pub type Lookup = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>
        + Send
        + Sync,
>;

fn system_lookup() -> Lookup {
    Arc::new(|host| {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|addr| addr.ip())
                .collect())
        })
    })
}

/// The allow-list and the resolver behind it.
#[derive(Clone)]
pub struct TargetPolicy {
    allowed: Arc<Vec<String>>,
    lookup: Lookup,
}

impl std::fmt::Debug for TargetPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetPolicy")
            .field("allowed", &self.allowed)
            .finish_non_exhaustive()
    }
}

/// How long registration waits for DNS before accepting a name unchecked
/// (delivery checks it again in any case).
const REGISTRATION_LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

impl TargetPolicy {
    pub fn new(allowed: Vec<String>) -> Self {
        Self::with_lookup(allowed, system_lookup())
    }

    pub fn with_lookup(allowed: Vec<String>, lookup: Lookup) -> Self {
        Self {
            allowed: Arc::new(allowed),
            lookup,
        }
    }

    /// The development allow-list (empty in production).
    pub fn allowed(&self) -> &[String] {
        &self.allowed
    }

    /// The checks that need no DNS: an allow-listed host passes, a literal
    /// address must be public, a name must not be a local one. Names are
    /// resolved and checked by [`Resolve::resolve`] when connecting.
    pub fn check_url(&self, raw: &str) -> Result<(), TargetRefused> {
        let url =
            url::Url::parse(raw).map_err(|_| TargetRefused("address is not a valid URL".into()))?;
        let host = url
            .host()
            .ok_or_else(|| TargetRefused("address has no host".into()))?;
        let shown = host.to_string();
        if is_allowed(&shown, &self.allowed) {
            return Ok(());
        }
        let ip = match host {
            url::Host::Ipv4(ip) => IpAddr::V4(ip),
            url::Host::Ipv6(ip) => IpAddr::V6(ip),
            url::Host::Domain(name) => return self.check_name(name),
        };
        let class = classify(ip);
        if class.is_public() {
            Ok(())
        } else {
            Err(TargetRefused(address_rule(&shown, class)))
        }
    }

    fn check_name(&self, name: &str) -> Result<(), TargetRefused> {
        match local_name(name) {
            Some(kind) => Err(TargetRefused(format!(
                "must be a public address ({name} is {kind})"
            ))),
            None => Ok(()),
        }
    }

    /// Every address `name` resolves to, if all are public (or the name is
    /// allow-listed): the addresses the connection will use.
    async fn resolve_checked(&self, name: &str) -> Result<Vec<IpAddr>, BoxError> {
        let allowed = is_allowed(name, &self.allowed);
        if !allowed {
            self.check_name(name)?;
        }
        let addresses = (self.lookup)(name.to_owned()).await?;
        if addresses.is_empty() {
            return Err(format!("{name} resolves to no address").into());
        }
        if !allowed
            && let Some((ip, class)) = addresses
                .iter()
                .map(|ip| (ip, classify(*ip)))
                .find(|(_, class)| !class.is_public())
        {
            return Err(Box::new(TargetRefused(format!(
                "must resolve to public addresses only ({name} resolves to {ip}, {})",
                class.describe()
            ))));
        }
        Ok(addresses)
    }

    /// At registration: the name's current addresses, when DNS answers in
    /// time. `Err` carries the rule for the `url` field.
    pub async fn check_registration(&self, raw: &str) -> Result<(), String> {
        self.check_url(raw).map_err(|refused| refused.0)?;
        let url = url::Url::parse(raw).map_err(|_| "is not a valid URL".to_owned())?;
        let Some(url::Host::Domain(name)) = url.host() else {
            return Ok(());
        };
        if is_allowed(name, &self.allowed) {
            return Ok(());
        }
        match tokio::time::timeout(REGISTRATION_LOOKUP_TIMEOUT, self.resolve_checked(name)).await {
            Ok(Err(error)) => match error.downcast::<TargetRefused>() {
                Ok(refused) => Err(refused.0),
                // Unknown to DNS today: delivery checks again.
                Err(_) => Ok(()),
            },
            Ok(Ok(_)) | Err(_) => Ok(()),
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Resolve for TargetPolicy {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.clone();
        Box::pin(async move {
            let addresses = policy.resolve_checked(name.as_str()).await?;
            // Port 0: reqwest puts in the URL's (or the scheme's) port.
            let addrs: Addrs = Box::new(
                addresses
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, 0))
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
            Ok(addrs)
        })
    }
}

/// The refusal somewhere in a failed request's chain of causes, if any.
pub fn refusal<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a TargetRefused> {
    let mut current = Some(error);
    while let Some(cause) = current {
        if let Some(refused) = cause.downcast_ref::<TargetRefused>() {
            return Some(refused);
        }
        current = cause.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allowed: &[&str], answer: &'static [&'static str]) -> TargetPolicy {
        TargetPolicy::with_lookup(
            allowed.iter().map(|h| (*h).to_owned()).collect(),
            Arc::new(move |_| {
                Box::pin(async move { Ok(answer.iter().map(|ip| ip.parse().unwrap()).collect()) })
            }),
        )
    }

    async fn resolve(policy: &TargetPolicy, name: &str) -> Result<Vec<SocketAddr>, String> {
        match Resolve::resolve(policy, name.parse().unwrap()).await {
            Ok(addrs) => Ok(addrs.collect()),
            Err(error) => Err(refusal(error.as_ref())
                .map(|r| r.0.clone())
                .unwrap_or_else(|| error.to_string())),
        }
    }

    #[tokio::test]
    async fn a_name_resolving_to_public_addresses_connects_to_exactly_those() {
        let policy = policy(&[], &["93.184.216.34", "2606:4700::1111"]);
        let addrs = resolve(&policy, "hooks.example.com").await.unwrap();
        assert_eq!(
            addrs,
            vec![
                "93.184.216.34:0".parse().unwrap(),
                "[2606:4700::1111]:0".parse().unwrap()
            ]
        );
    }

    #[tokio::test]
    async fn a_name_with_any_non_public_address_is_refused_after_resolution() {
        let policy = policy(&[], &["93.184.216.34", "10.0.0.5"]);
        let error = resolve(&policy, "hooks.example.com").await.unwrap_err();
        assert!(
            error.contains("resolves to 10.0.0.5, a private address"),
            "{error}"
        );
        let policy = super::tests::policy(&[], &["::ffff:169.254.169.254"]);
        let error = resolve(&policy, "repointed.example.com").await.unwrap_err();
        assert!(error.contains("a cloud metadata address"), "{error}");
    }

    #[tokio::test]
    async fn local_names_are_refused_before_any_lookup_unless_allow_listed() {
        let error = resolve(&policy(&[], &["127.0.0.1"]), "localhost")
            .await
            .unwrap_err();
        assert!(
            error.contains("localhost is a name of this machine"),
            "{error}"
        );
        let allowed = resolve(&policy(&["localhost"], &["127.0.0.1"]), "localhost").await;
        assert_eq!(allowed.unwrap(), vec!["127.0.0.1:0".parse().unwrap()]);
    }

    #[test]
    fn literal_addresses_are_checked_without_dns() {
        let policy = policy(&["127.0.0.1"], &[]);
        assert_eq!(policy.check_url("http://127.0.0.1:9/hook"), Ok(()));
        assert!(policy.check_url("http://[::ffff:127.0.0.1]:9/").is_err());
        assert!(policy.check_url("https://169.254.169.254/").is_err());
        assert_eq!(policy.check_url("https://93.184.216.34/"), Ok(()));
    }

    #[tokio::test]
    async fn registration_refuses_a_name_that_resolves_to_a_private_address() {
        let error = policy(&[], &["192.168.1.10"])
            .check_registration("https://intranet.example.com/hook")
            .await
            .unwrap_err();
        assert!(error.contains("192.168.1.10, a private address"), "{error}");
        assert_eq!(
            policy(&[], &["93.184.216.34"])
                .check_registration("https://hooks.example.com/hook")
                .await,
            Ok(())
        );
    }
}
