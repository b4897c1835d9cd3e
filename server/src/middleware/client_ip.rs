//! The client's real address, for rate limits and audit records.
//!
//! `X-Forwarded-For` is believed only when the TCP peer is a configured
//! proxy, and then read from the right: each trusted proxy appends the
//! address it saw, so the rightmost address that is not a trusted proxy is
//! the first one an attacker could not have written (the leftmost entries
//! are whatever the client sent).

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;

use app::request::ClientIp;

use super::HttpPolicy;

pub async fn resolve_client_ip(
    State(policy): State<std::sync::Arc<HttpPolicy>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    if let Some(peer) = peer {
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        let ip = client_ip(peer, &forwarded, &policy.trusted_proxies);
        request.extensions_mut().insert(ClientIp(ip));
    }
    next.run(request).await
}

/// The rightmost untrusted hop of `peer` + `X-Forwarded-For`.
pub fn client_ip(peer: IpAddr, forwarded_for: &str, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut hops = forwarded_for
        .split(',')
        .rev()
        .map(str::trim)
        .filter(|hop| !hop.is_empty());
    let mut last_trusted = peer;
    for hop in hops.by_ref() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => last_trusted = ip,
            Ok(ip) => return ip,
            // Garbage cannot be attributed; stop at the last hop we trust.
            Err(_) => return last_trusted,
        }
    }
    last_trusted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(
            client_ip(ip("203.0.113.9"), "1.2.3.4", &nets(&["10.0.0.0/8"])),
            ip("203.0.113.9")
        );
        assert_eq!(client_ip(ip("10.0.0.5"), "1.2.3.4", &[]), ip("10.0.0.5"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_wins() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client spoofed "6.6.6.6"; the ALB appended the real address.
        assert_eq!(
            client_ip(ip("10.0.1.2"), "6.6.6.6, 198.51.100.7", &trusted),
            ip("198.51.100.7")
        );
        // Two trusted proxies in a row.
        assert_eq!(
            client_ip(ip("10.0.1.2"), "6.6.6.6, 198.51.100.7, 10.0.3.4", &trusted),
            ip("198.51.100.7")
        );
        // Nothing forwarded: the proxy itself.
        assert_eq!(client_ip(ip("10.0.1.2"), "", &trusted), ip("10.0.1.2"));
        // Garbage is not attributed to anyone else.
        assert_eq!(
            client_ip(ip("10.0.1.2"), "198.51.100.7, not-an-ip", &trusted),
            ip("10.0.1.2")
        );
    }
}
