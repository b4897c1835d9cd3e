//! Which network addresses Vanguard may send requests to on someone else's
//! say-so (webhook targets): only public unicast ones. Everything that
//! reaches into the operator's own network, the machine itself or a cloud
//! provider's metadata service is refused, in every spelling the address
//! has (IPv4, IPv6, IPv4 embedded in IPv6).
//!
//! Pure, so the admin form, registration and delivery (after DNS
//! resolution, on the server) apply one rule.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of address an IP is, as far as outgoing requests care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// Routable on the internet: the only class requests may go to.
    Public,
    /// A cloud provider's instance or task metadata service (credentials).
    Metadata,
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16) and IPv6 site-local.
    Private,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// fc00::/7.
    UniqueLocal,
    /// 100.64/10, carrier-grade NAT shared space (RFC 6598).
    SharedCgnat,
    Multicast,
    /// 0.0.0.0/8 and `::` (connects to this machine on most systems).
    Unspecified,
    /// Broadcast, documentation, benchmarking, IETF-reserved and other
    /// special-purpose ranges no partner receives webhooks on.
    Reserved,
}

impl AddressClass {
    /// Words for the rule a refused address broke.
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "a public address",
            AddressClass::Metadata => "a cloud metadata address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::UniqueLocal => "a unique-local address",
            AddressClass::SharedCgnat => "a carrier-grade NAT address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Unspecified => "an unspecified address",
            AddressClass::Reserved => "a reserved address",
        }
    }

    pub fn is_public(self) -> bool {
        self == AddressClass::Public
    }
}

/// Metadata services, named before the ranges they sit in: AWS/GCP/Azure
/// IMDS, the ECS task metadata endpoint, Alibaba Cloud, Azure's wire server
/// (a public-looking address), Oracle Cloud.
const METADATA_V4: [Ipv4Addr; 5] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(100, 100, 100, 200),
    Ipv4Addr::new(168, 63, 129, 16),
    Ipv4Addr::new(192, 0, 0, 192),
];
/// AWS IMDS over IPv6.
const METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, network: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(network)) & mask
}

pub fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    if METADATA_V4.contains(&ip) {
        return Metadata;
    }
    let ranges: [([u8; 4], u32, AddressClass); 16] = [
        ([0, 0, 0, 0], 8, Unspecified),
        ([10, 0, 0, 0], 8, Private),
        ([100, 64, 0, 0], 10, SharedCgnat),
        ([127, 0, 0, 0], 8, Loopback),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([172, 16, 0, 0], 12, Private),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 0, 2, 0], 24, Reserved),
        ([192, 88, 99, 0], 24, Reserved),
        ([192, 168, 0, 0], 16, Private),
        ([198, 18, 0, 0], 15, Reserved),
        ([198, 51, 100, 0], 24, Reserved),
        ([203, 0, 113, 0], 24, Reserved),
        ([224, 0, 0, 0], 4, Multicast),
        // 240/4 (future use) includes the broadcast address.
        ([240, 0, 0, 0], 4, Reserved),
        ([255, 255, 255, 255], 32, Reserved),
    ];
    ranges
        .iter()
        .find(|(network, prefix, _)| in_v4(ip, *network, *prefix))
        .map_or(Public, |(_, _, class)| *class)
}

pub fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    if ip == METADATA_V6 {
        return Metadata;
    }
    let s = ip.segments();
    // IPv4 carried inside IPv6 is judged as the IPv4 address it reaches:
    // mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::/96)
    // and 6to4 (2002:AABB:CCDD::/48).
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match s {
        [0, 0, 0, 0, 0, 0, 0, 0] => return Unspecified,
        [0, 0, 0, 0, 0, 0, 0, 1] => return Loopback,
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => {
            return classify_v4(embedded(hi, lo));
        }
        [0, 0, 0, 0, 0, 0, hi, lo] => {
            return match classify_v4(embedded(hi, lo)) {
                Public => Reserved,
                class => class,
            };
        }
        [0x2002, hi, lo, ..] => return classify_v4(embedded(hi, lo)),
        _ => {}
    }
    let first = s[0];
    if first & 0xfe00 == 0xfc00 {
        UniqueLocal
    } else if first & 0xffc0 == 0xfe80 {
        LinkLocal
    } else if first & 0xffc0 == 0xfec0 {
        Private
    } else if first & 0xff00 == 0xff00 {
        Multicast
    } else if first & 0xe000 != 0x2000
        // Outside 2000::/3 nothing is allocated for unicast on the internet;
        // inside it: documentation (2001:db8::/32, 3fff::/20), Teredo
        // (2001::/32, tunnels to anywhere), benchmarking (2001:2::/48) and
        // ORCHID (2001:10::/28, 2001:20::/28).
        || (first == 0x2001 && matches!(s[1], 0x0db8 | 0 | 2 | 0x10..=0x2f))
        || first & 0xfff0 == 0x3ff0
    {
        Reserved
    } else {
        Public
    }
}

/// Names that mean this machine or a private network whatever DNS says:
/// `localhost` and `*.localhost` (RFC 6761), mDNS `*.local`, `*.internal`
/// (ICANN's private-use name, where GCP's metadata server lives) and
/// `*.home.arpa` (RFC 8375). `None` for any other name.
pub fn local_name(host: &str) -> Option<&'static str> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let is = |suffix: &str| host == suffix || host.ends_with(&format!(".{suffix}"));
    if is("localhost") {
        Some("a name of this machine")
    } else if is("local") || is("internal") || is("home.arpa") {
        Some("a private network name")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(ip: &str) -> AddressClass {
        classify(ip.parse().unwrap())
    }

    #[test]
    fn public_addresses_of_both_families_are_public() {
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(class(ip), AddressClass::Public, "{ip}");
        }
    }

    #[test]
    fn each_refused_class_is_recognised_in_ipv4() {
        use AddressClass::*;
        for (ip, expected) in [
            ("127.0.0.1", Loopback),
            ("127.255.0.9", Loopback),
            ("10.0.0.5", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("169.254.1.1", LinkLocal),
            ("100.64.0.1", SharedCgnat),
            ("100.127.255.254", SharedCgnat),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("255.255.255.255", Reserved),
            ("240.0.0.1", Reserved),
            ("192.0.2.10", Reserved),
            ("198.18.0.1", Reserved),
            ("169.254.169.254", Metadata),
            ("169.254.170.2", Metadata),
            ("100.100.100.200", Metadata),
            ("168.63.129.16", Metadata),
        ] {
            assert_eq!(class(ip), expected, "{ip}");
            assert!(!expected.is_public());
        }
    }

    #[test]
    fn each_refused_class_is_recognised_in_ipv6_including_embedded_ipv4() {
        use AddressClass::*;
        for (ip, expected) in [
            ("::1", Loopback),
            ("::", Unspecified),
            ("fe80::1", LinkLocal),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fec0::1", Private),
            ("ff02::1", Multicast),
            ("2001:db8::1", Reserved),
            ("2001:0::1", Reserved),
            ("100::1", Reserved),
            ("fd00:ec2::254", Metadata),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.0.0.5", Private),
            ("::ffff:169.254.169.254", Metadata),
            ("::127.0.0.1", Loopback),
            ("::8.8.8.8", Reserved),
            ("64:ff9b::a00:5", Private),
            ("2002:7f00:1::", Loopback),
            ("2002:a9fe:a9fe::1", Metadata),
        ] {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn local_names_are_recognised_with_or_without_the_final_dot() {
        for name in [
            "localhost",
            "LOCALHOST.",
            "api.localhost",
            "printer.local",
            "metadata.google.internal",
            "router.home.arpa",
        ] {
            assert!(local_name(name).is_some(), "{name}");
        }
        for name in ["example.com", "localhost.example.com", "internal.example"] {
            assert_eq!(local_name(name), None, "{name}");
        }
    }
}
