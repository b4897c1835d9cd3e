//! Sessions, tokens, rate limits, trusted proxies, MFA and the webhook
//! host exceptions: the settings identity and the edge read.

use std::time::Duration;

use super::{ConfigError, Environment, parse_bool, parse_number};

/// Sessions, tokens, rate limits and the proxies we trust.
#[derive(Debug, Clone)]
pub struct SecuritySettings {
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub access_token_ttl: Duration,
    /// Sign-in and token requests per minute, per client IP and per account.
    pub login_rate_per_minute: u32,
    /// JSON API calls per minute per API client (per replica).
    pub api_rate_per_minute: u32,
    /// How long a process reuses a caller's user or API client row
    /// (`VANGUARD_IDENTITY_CACHE_MS`, 0 = read every time; changes evict it
    /// at once, see `app::auth::ssr::identity`).
    pub identity_cache: Duration,
    /// Peers whose `X-Forwarded-For` is believed (the load balancer's
    /// subnets); empty: the TCP peer is the client.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Every member of staff signs in with a second factor
    /// (`VANGUARD_REQUIRE_MFA`; on by default in production).
    pub require_mfa: bool,
    /// Hosts webhooks may reach despite the address rules, over plain
    /// `http://` too (`VANGUARD_WEBHOOK_ALLOW_HOSTS`): development and
    /// tests only, refused when `VANGUARD_ENV=production`.
    pub webhook_allow_hosts: Vec<String>,
}

impl SecuritySettings {
    pub(super) fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        environment: Environment,
    ) -> Result<Self, ConfigError> {
        let webhook_allow_hosts: Vec<String> = get("VANGUARD_WEBHOOK_ALLOW_HOSTS")
            .unwrap_or_default()
            .split(',')
            .map(shared::webhook::host_key)
            .filter(|host| !host.is_empty())
            .collect();
        if environment == Environment::Production && !webhook_allow_hosts.is_empty() {
            return Err(ConfigError::new(
                "VANGUARD_WEBHOOK_ALLOW_HOSTS",
                "must be empty when VANGUARD_ENV=production (it lets webhooks reach private addresses)",
            ));
        }
        let minutes = |m: u64| Duration::from_secs(m * 60);
        let trusted_proxies = match get("VANGUARD_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .map(|part| {
                    part.parse::<ipnet::IpNet>()
                        .or_else(|_| part.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| {
                            ConfigError::new(
                                "VANGUARD_TRUSTED_PROXIES",
                                "must be a comma-separated list of IP addresses or CIDR ranges, e.g. 10.0.0.0/8",
                            )
                        })
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Self {
            session_idle: minutes(parse_number(
                get,
                "VANGUARD_SESSION_IDLE_MINUTES",
                30,
                1..=24 * 60,
            )?),
            session_absolute: minutes(
                parse_number(get, "VANGUARD_SESSION_ABSOLUTE_HOURS", 12, 1..=7 * 24)? * 60,
            ),
            access_token_ttl: Duration::from_secs(parse_number(
                get,
                "VANGUARD_ACCESS_TOKEN_TTL_SECONDS",
                900,
                60..=3_600,
            )?),
            login_rate_per_minute: parse_number(
                get,
                "VANGUARD_LOGIN_RATE_PER_MINUTE",
                5,
                1..=10_000,
            )?,
            api_rate_per_minute: parse_number(
                get,
                "VANGUARD_API_RATE_PER_MINUTE",
                60,
                1..=1_000_000,
            )?,
            identity_cache: Duration::from_millis(parse_number(
                get,
                "VANGUARD_IDENTITY_CACHE_MS",
                1_000,
                0..=60_000,
            )?),
            trusted_proxies,
            require_mfa: parse_bool(
                get,
                "VANGUARD_REQUIRE_MFA",
                environment == Environment::Production,
            )?,
            webhook_allow_hosts,
        })
    }
}
