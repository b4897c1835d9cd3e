//! Typed configuration from the environment.
//!
//! Every setting has a default that works on a laptop with no set-up; the
//! few that must be real in production (keys) refuse to default when
//! `VANGUARD_ENV=production`. A bad value stops start-up with one line that
//! names the variable and the rule, never its (possibly secret) value.
//! Every variable is documented in `.env.example`.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    time::Duration,
};

use app::db::{DatabaseUrl, PoolSettings};
use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};

/// The output name of the cargo-leptos build (`name` in the workspace
/// metadata): the server links `/pkg/vanguard.{js,wasm,css}`.
pub const SITE_OUTPUT_NAME: &str = "vanguard";

/// A configuration value that is missing or malformed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{variable}: {rule}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub rule: String,
}

impl ConfigError {
    fn new(variable: &'static str, rule: impl Into<String>) -> Self {
        Self {
            variable,
            rule: rule.into(),
        }
    }
}

/// Where the process runs; production refuses development conveniences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (default: what log shippers expect).
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

/// A 32-byte secret key, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Key32([u8; 32]);

impl Key32 {
    /// Decodes standard base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|_| "must be standard base64 (e.g. `openssl rand -base64 32`)".to_owned())?;
        let len = bytes.len();
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| format!("must decode to exactly 32 bytes, got {len}"))
    }

    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for Key32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key32(***)")
    }
}

/// A key given in the environment, or a development key kept in a file
/// under the data directory (created on first run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env(Key32),
    DevFile(PathBuf),
}

/// Where claim snapshots and attachments are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageUrl {
    /// A local directory (default `./data/objects`).
    Local(PathBuf),
    /// `s3://bucket/prefix`.
    S3 { bucket: String, prefix: String },
}

impl StorageUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if let Some(rest) = raw.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("an S3 URL needs a bucket: s3://bucket/prefix".into());
            }
            return Ok(Self::S3 {
                bucket: bucket.into(),
                prefix: prefix.trim_matches('/').into(),
            });
        }
        let path = raw.strip_prefix("file://").unwrap_or(raw);
        if path.is_empty() || path.contains("://") {
            return Err("expected a directory path, file://PATH or s3://bucket/prefix".into());
        }
        Ok(Self::Local(PathBuf::from(path)))
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    pub pool: PoolSettings,
    pub site_addr: SocketAddr,
    /// The origin browsers use to reach us (scheme://host[:port]); the CSRF
    /// check compares `Origin` against it. `None`: `http://` plus the address
    /// actually bound (see [`Config::public_origin_for`]).
    pub public_origin: Option<url::Origin>,
    /// Set under `cargo leptos watch`: the live-reload websocket port, which
    /// the CSP must then allow.
    pub live_reload_port: Option<u16>,
    /// Where cargo-leptos put the site (`/pkg`, assets).
    pub site_root: PathBuf,
    pub master_key: KeySource,
    /// Earlier master keys, kept only until `server rotate-keys` has
    /// re-wrapped everything they wrapped.
    pub previous_master_keys: Vec<Key32>,
    pub jwt_secret: KeySource,
    /// The Ed25519 seed that signs audit checkpoints
    /// (`VANGUARD_AUDIT_SIGNING_KEY`); `None`: derived from the master key.
    pub audit_signing_key: Option<Key32>,
    /// How often the process that runs the workers seals the audit log
    /// (`VANGUARD_AUDIT_SEAL_INTERVAL_MS`, default 1000; 0: this process
    /// never seals, another one must).
    pub audit_seal_interval: Option<Duration>,
    pub storage: StorageUrl,
    /// The largest claim attachment accepted (`VANGUARD_ATTACHMENT_MAX_BYTES`).
    pub attachment_max_bytes: u64,
    pub log_format: LogFormat,
    /// How long readiness reports 503 (while still serving) before the
    /// listener closes, so a load balancer stops routing here first (5 s in
    /// production, 0 in development).
    pub drain_delay: Duration,
    /// Upper bound on waiting for in-flight requests (and in-process
    /// workers) after the listener closes. Drain delay plus this must stay
    /// below the platform's SIGKILL (ECS `stopTimeout` 30 s, Railway
    /// `drainingSeconds` 30 in `railway.json`).
    pub shutdown_timeout: Duration,
    /// Header timeout, idle timeout and connection cap of the listener.
    pub connections: crate::serve::ConnectionLimits,
    pub security: SecuritySettings,
    pub workers: app::workflow::ssr::WorkerSettings,
    pub retention: app::retention::RetentionSettings,
    /// A line shown at the foot of every page (`VANGUARD_ENVIRONMENT_BANNER`),
    /// e.g. on a preview: `railway.json` sets it for pull-request environments.
    pub environment_banner: Option<String>,
    /// Pending pipeline steps above which intake answers 503
    /// (`VANGUARD_INTAKE_MAX_BACKLOG`; 0: no limit).
    pub intake_max_backlog: Option<u64>,
}

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
    fn from_lookup(
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

/// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`), or `default`.
fn parse_bool(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(name).as_deref().map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(value) => match value.as_str() {
            "" => Ok(default),
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(ConfigError::new(name, "must be true or false")),
        },
    }
}

/// Pending steps intake lets queue before it refuses claims: at the
/// drain rates measured (2,800 to 3,500 steps/s) about half a minute of
/// work, far more than a burst leaves behind while the workers keep up.
const DEFAULT_INTAKE_MAX_BACKLOG: u64 = 100_000;

/// Workers a process runs unless `VANGUARD_WORKERS` says otherwise. SQLite
/// has one writer, and one worker's batches already keep up with what it
/// ingests. On PostgreSQL a worker spends most of a batch waiting on round
/// trips, so four overlap their waits: in the benchmark (2 cores) one worker
/// did 1,086 steps/s under a burst and drained at 2,403 steps/s, four did
/// 1,796 and 2,827, and only four kept a soak at 80 % of ingestion bounded.
fn default_workers(database: &DatabaseUrl) -> usize {
    match database.engine() {
        app::db::Engine::Sqlite => 1,
        app::db::Engine::Postgres => 4,
    }
}

/// The claims pipeline's workers in this process.
fn worker_settings(
    get: &impl Fn(&str) -> Option<String>,
    database: &DatabaseUrl,
) -> Result<app::workflow::ssr::WorkerSettings, ConfigError> {
    let defaults = app::workflow::ssr::WorkerSettings::default();
    Ok(app::workflow::ssr::WorkerSettings {
        concurrency: parse_number(get, "VANGUARD_WORKERS", default_workers(database), 0..=64)?,
        max_attempts: parse_number(get, "VANGUARD_JOB_MAX_ATTEMPTS", 5, 1..=100)?,
        lease: Duration::from_secs(parse_number(
            get,
            "VANGUARD_JOB_LEASE_SECONDS",
            60,
            1..=3_600,
        )?),
        backoff: Duration::from_millis(parse_number(
            get,
            "VANGUARD_JOB_RETRY_BASE_MS",
            2_000,
            10..=600_000,
        )?),
        batch: parse_number(get, "VANGUARD_JOB_BATCH", defaults.batch, 1..=256)?,
        ..defaults
    })
}

/// How long done jobs and idempotent responses are kept.
fn retention_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<app::retention::RetentionSettings, ConfigError> {
    Ok(app::retention::RetentionSettings {
        jobs: Duration::from_secs(
            parse_number(get, "VANGUARD_JOB_RETENTION_DAYS", 30u64, 1..=3_650)? * 24 * 3600,
        ),
        idempotency_keys: Duration::from_secs(
            parse_number(
                get,
                "VANGUARD_IDEMPOTENCY_RETENTION_HOURS",
                24u64,
                1..=8_760,
            )? * 3600,
        ),
    })
}

/// The listener's limits. The idle timeout outlasts an ALB's (60 s by
/// default): a target that closes a kept-alive connection first makes the
/// ALB answer 502 to the request it was just sending on it.
fn connection_limits(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<crate::serve::ConnectionLimits, ConfigError> {
    Ok(crate::serve::ConnectionLimits {
        header_read_timeout: Duration::from_millis(parse_number(
            get,
            "VANGUARD_HEADER_READ_TIMEOUT_MS",
            10_000,
            10..=300_000,
        )?),
        idle_timeout: Duration::from_millis(parse_number(
            get,
            "VANGUARD_IDLE_TIMEOUT_MS",
            75_000,
            10..=3_600_000,
        )?),
        max_connections: parse_number(get, "VANGUARD_MAX_CONNECTIONS", 1_000, 1..=1_000_000)?,
    })
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let environment = match get("VANGUARD_ENV").as_deref().map(str::trim) {
            None | Some("development" | "dev") => Environment::Development,
            Some("production" | "prod") => Environment::Production,
            Some(_) => {
                return Err(ConfigError::new(
                    "VANGUARD_ENV",
                    "must be `development` or `production`",
                ));
            }
        };
        let data_dir = PathBuf::from(get("VANGUARD_DATA_DIR").unwrap_or_else(|| "data".into()));

        let database_url = match get("DATABASE_URL") {
            Some(raw) => {
                DatabaseUrl::parse(&raw).map_err(|e| ConfigError::new("DATABASE_URL", e))?
            }
            None => DatabaseUrl::default_sqlite(&data_dir),
        };
        let workers = worker_settings(&get, &database_url)?;
        let pool = PoolSettings {
            max_connections: parse_number(&get, "VANGUARD_DB_MAX_CONNECTIONS", 10, 1..=1_000)?,
            acquire_timeout: Duration::from_millis(parse_number(
                &get,
                "VANGUARD_DB_ACQUIRE_TIMEOUT_MS",
                5_000,
                100..=60_000,
            )?),
        };

        let site_addr = site_addr(&get)?;
        let public_origin = get("VANGUARD_PUBLIC_ORIGIN")
            .map(|raw| parse_origin(&raw))
            .transpose()?;
        let live_reload_port = match get("LEPTOS_WATCH") {
            Some(_) => Some(parse_number(&get, "LEPTOS_RELOAD_PORT", 3001, 1..=65_535)?),
            None => None,
        };

        let master_key = key_source(
            &get,
            "VANGUARD_MASTER_KEY",
            environment,
            &data_dir,
            "master.key",
        )?;
        let previous_master_keys = match get("VANGUARD_MASTER_KEY_PREVIOUS") {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .map(Key32::from_base64)
                .collect::<Result<_, _>>()
                .map_err(|rule| {
                    ConfigError::new(
                        "VANGUARD_MASTER_KEY_PREVIOUS",
                        format!("must be a comma-separated list of keys, each {rule}"),
                    )
                })?,
        };
        let jwt_secret = key_source(
            &get,
            "VANGUARD_JWT_SECRET",
            environment,
            &data_dir,
            "jwt.key",
        )?;

        let audit_signing_key = get("VANGUARD_AUDIT_SIGNING_KEY")
            .map(|raw| Key32::from_base64(&raw))
            .transpose()
            .map_err(|rule| ConfigError::new("VANGUARD_AUDIT_SIGNING_KEY", rule))?;
        let audit_seal_interval = match parse_number(
            &get,
            "VANGUARD_AUDIT_SEAL_INTERVAL_MS",
            1_000_u64,
            0..=60_000,
        )? {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        };

        let storage = match get("VANGUARD_STORAGE_URL") {
            Some(raw) => {
                StorageUrl::parse(&raw).map_err(|e| ConfigError::new("VANGUARD_STORAGE_URL", e))?
            }
            None => StorageUrl::Local(data_dir.join("objects")),
        };

        let log_format = match get("VANGUARD_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(_) => {
                return Err(ConfigError::new(
                    "VANGUARD_LOG_FORMAT",
                    "must be `json` or `pretty`",
                ));
            }
        };

        Ok(Self {
            environment,
            site_root: PathBuf::from(
                get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()),
            ),
            drain_delay: Duration::from_millis(parse_number(
                &get,
                "VANGUARD_DRAIN_DELAY_MS",
                match environment {
                    Environment::Production => 5_000,
                    Environment::Development => 0,
                },
                0..=60_000,
            )?),
            shutdown_timeout: Duration::from_millis(parse_number(
                &get,
                "VANGUARD_SHUTDOWN_TIMEOUT_MS",
                20_000,
                0..=300_000,
            )?),
            connections: connection_limits(&get)?,
            data_dir,
            database_url,
            pool,
            site_addr,
            public_origin,
            live_reload_port,
            master_key,
            previous_master_keys,
            jwt_secret,
            audit_signing_key,
            audit_seal_interval,
            storage,
            attachment_max_bytes: parse_number(
                &get,
                "VANGUARD_ATTACHMENT_MAX_BYTES",
                shared::attachment::DEFAULT_MAX_BYTES,
                1..=100 * 1024 * 1024,
            )?,
            log_format,
            security: SecuritySettings::from_lookup(&get, environment)?,
            workers,
            retention: retention_settings(&get)?,
            intake_max_backlog: match parse_number(
                &get,
                "VANGUARD_INTAKE_MAX_BACKLOG",
                DEFAULT_INTAKE_MAX_BACKLOG,
                0..=100_000_000,
            )? {
                0 => None,
                limit => Some(limit),
            },
            environment_banner: get("VANGUARD_ENVIRONMENT_BANNER")
                .map(|raw| environment_banner(&raw))
                .transpose()?,
        })
    }

    /// The configured public origin, or the one of the address actually
    /// bound (which differs from `site_addr` when that asks for port 0).
    pub fn public_origin_for(&self, bound: SocketAddr) -> String {
        self.public_origin
            .clone()
            .unwrap_or_else(|| default_origin(bound))
            .ascii_serialization()
    }

    /// The options Leptos needs to render pages and serve `/pkg`.
    pub fn leptos_options(&self) -> leptos::prelude::LeptosOptions {
        leptos::prelude::LeptosOptions::builder()
            .output_name(SITE_OUTPUT_NAME)
            .site_root(self.site_root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(self.site_addr)
            .env(match self.environment {
                Environment::Development => leptos::config::Env::DEV,
                Environment::Production => leptos::config::Env::PROD,
            })
            .build()
    }
}

/// `LEPTOS_SITE_ADDR` wins; otherwise a platform-provided `PORT` (Railway,
/// Heroku-style) binds all interfaces; otherwise 127.0.0.1:3000.
fn site_addr(get: &impl Fn(&str) -> Option<String>) -> Result<SocketAddr, ConfigError> {
    if let Some(raw) = get("LEPTOS_SITE_ADDR") {
        return raw.trim().parse().map_err(|_| {
            ConfigError::new(
                "LEPTOS_SITE_ADDR",
                "must be IP:PORT, e.g. 127.0.0.1:3000 or 0.0.0.0:8080",
            )
        });
    }
    if let Some(raw) = get("PORT") {
        let port: u16 = raw
            .trim()
            .parse()
            .map_err(|_| ConfigError::new("PORT", "must be a port number (1-65535)"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    Ok(SocketAddr::from(([127, 0, 0, 1], 3000)))
}

fn default_origin(addr: SocketAddr) -> url::Origin {
    let host = if addr.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        addr.ip()
    };
    url::Url::parse(&format!("http://{}", SocketAddr::new(host, addr.port())))
        .map(|u| u.origin())
        // An IP and a port always make a valid URL; an opaque origin (which
        // matches no request) is the safe answer if that ever changed.
        .unwrap_or_else(|_| url::Origin::new_opaque())
}

/// The longest environment banner, in characters: one line on a phone.
const BANNER_MAX_CHARS: usize = 120;

fn environment_banner(raw: &str) -> Result<String, ConfigError> {
    let text = raw.trim();
    if text.chars().count() > BANNER_MAX_CHARS || text.chars().any(char::is_control) {
        return Err(ConfigError::new(
            "VANGUARD_ENVIRONMENT_BANNER",
            format!("must be one line of at most {BANNER_MAX_CHARS} characters"),
        ));
    }
    Ok(text.to_owned())
}

fn parse_origin(raw: &str) -> Result<url::Origin, ConfigError> {
    let rule = "must be an origin such as https://vanguard.example.com (scheme, host, optional port; no path)";
    let url = url::Url::parse(raw.trim())
        .map_err(|_| ConfigError::new("VANGUARD_PUBLIC_ORIGIN", rule))?;
    let has_path = !matches!(url.path(), "" | "/");
    if !matches!(url.scheme(), "http" | "https")
        || url.host().is_none()
        || has_path
        || url.query().is_some()
    {
        return Err(ConfigError::new("VANGUARD_PUBLIC_ORIGIN", rule));
    }
    Ok(url.origin())
}

fn key_source(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    environment: Environment,
    data_dir: &Path,
    dev_file: &str,
) -> Result<KeySource, ConfigError> {
    match get(variable) {
        Some(raw) => Key32::from_base64(&raw)
            .map(KeySource::Env)
            .map_err(|rule| ConfigError::new(variable, rule)),
        None if environment == Environment::Production => Err(ConfigError::new(
            variable,
            "is required when VANGUARD_ENV=production (base64 of 32 random bytes)",
        )),
        None => Ok(KeySource::DevFile(data_dir.join(dev_file))),
    }
}

fn parse_number<T>(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(raw) = get(variable) else {
        return Ok(default);
    };
    let rule = || {
        format!(
            "must be a whole number from {} to {}",
            range.start(),
            range.end()
        )
    };
    let value: T = raw
        .trim()
        .parse()
        .map_err(|_| ConfigError::new(variable, rule()))?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::new(variable, rule()))
    }
}

/// Resolves a [`KeySource`]: the environment's key, or the development key
/// file (created with a fresh random key on first run, readable by the
/// owner only). Returns the key and whether it is a development key.
pub fn load_key(source: &KeySource, variable: &str) -> anyhow::Result<(Key32, bool)> {
    use anyhow::Context as _;
    match source {
        KeySource::Env(key) => Ok((key.clone(), false)),
        KeySource::DevFile(path) => {
            if path.exists() {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("{variable}: cannot read development key {}", path.display())
                })?;
                let key = Key32::from_base64(&text).map_err(|rule| {
                    anyhow::anyhow!("{variable}: development key {} {rule}", path.display())
                })?;
                return Ok((key, true));
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).with_context(|| {
                    format!("cannot create the data directory {}", dir.display())
                })?;
            }
            let key = Key32::generate()
                .map_err(|e| anyhow::anyhow!("{variable}: no OS randomness: {e}"))?;
            write_private(path, &key.to_base64()).with_context(|| {
                format!(
                    "{variable}: cannot write development key {}",
                    path.display()
                )
            })?;
            Ok((key, true))
        }
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config_from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_need_no_configuration() {
        let config = config_from(&[]).unwrap();
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(
            config.database_url,
            DatabaseUrl::Sqlite("data/vanguard.db".into())
        );
        assert_eq!(config.site_addr, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(
            config.public_origin_for(config.site_addr),
            "http://127.0.0.1:3000"
        );
        assert_eq!(
            config.master_key,
            KeySource::DevFile("data/master.key".into())
        );
        assert_eq!(config.storage, StorageUrl::Local("data/objects".into()));
        assert_eq!(config.log_format, LogFormat::Json);
    }

    #[test]
    fn intake_queues_at_most_100_000_steps_unless_told_and_0_lifts_the_limit() {
        assert_eq!(config_from(&[]).unwrap().intake_max_backlog, Some(100_000));
        let lifted = [("VANGUARD_INTAKE_MAX_BACKLOG", "0")];
        assert_eq!(config_from(&lifted).unwrap().intake_max_backlog, None);
        let error = config_from(&[("VANGUARD_INTAKE_MAX_BACKLOG", "-1")]).unwrap_err();
        assert_eq!(error.variable, "VANGUARD_INTAKE_MAX_BACKLOG");
    }

    #[test]
    fn a_process_runs_one_worker_on_sqlite_and_four_on_postgresql_unless_told() {
        assert_eq!(config_from(&[]).unwrap().workers.concurrency, 1);
        let postgres = [("DATABASE_URL", "postgres://vanguard@db.internal/vanguard")];
        assert_eq!(config_from(&postgres).unwrap().workers.concurrency, 4);
        let told = [postgres[0], ("VANGUARD_WORKERS", "0")];
        assert_eq!(config_from(&told).unwrap().workers.concurrency, 0);
    }

    #[test]
    fn the_environment_banner_is_one_short_line_or_nothing() {
        assert_eq!(config_from(&[]).unwrap().environment_banner, None);
        let config =
            config_from(&[("VANGUARD_ENVIRONMENT_BANNER", "  Preview pr-42: demo data ")]).unwrap();
        assert_eq!(
            config.environment_banner.as_deref(),
            Some("Preview pr-42: demo data")
        );
        for bad in ["two\nlines", &"x".repeat(121)] {
            let error = config_from(&[("VANGUARD_ENVIRONMENT_BANNER", bad)]).unwrap_err();
            assert_eq!(error.variable, "VANGUARD_ENVIRONMENT_BANNER");
            assert!(error.rule.contains("120 characters"), "{}", error.rule);
        }
    }

    #[test]
    fn production_drains_for_5_s_and_every_limit_has_a_default() {
        let config = config_from(&[]).unwrap();
        assert_eq!(config.drain_delay, Duration::ZERO, "development");
        assert_eq!(config.shutdown_timeout, Duration::from_secs(20));
        assert_eq!(
            config.connections,
            crate::serve::ConnectionLimits {
                header_read_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(75),
                max_connections: 1_000,
            }
        );

        let key = Key32([7; 32]).to_base64();
        let production = [
            ("VANGUARD_ENV", "production"),
            ("VANGUARD_MASTER_KEY", key.as_str()),
            ("VANGUARD_JWT_SECRET", key.as_str()),
        ];
        let config = config_from(&production).unwrap();
        assert_eq!(config.drain_delay, Duration::from_secs(5));
        let config =
            config_from(&[production.as_slice(), &[("VANGUARD_DRAIN_DELAY_MS", "0")]].concat())
                .unwrap();
        assert_eq!(config.drain_delay, Duration::ZERO, "explicitly set");
    }

    #[test]
    fn mfa_is_required_by_default_in_production_only() {
        assert!(!config_from(&[]).unwrap().security.require_mfa);
        assert!(
            config_from(&[("VANGUARD_REQUIRE_MFA", "true")])
                .unwrap()
                .security
                .require_mfa
        );
        let key = Key32([7; 32]).to_base64();
        let production = [
            ("VANGUARD_ENV", "production"),
            ("VANGUARD_MASTER_KEY", key.as_str()),
            ("VANGUARD_JWT_SECRET", key.as_str()),
        ];
        assert!(config_from(&production).unwrap().security.require_mfa);
        let off = [production.as_slice(), &[("VANGUARD_REQUIRE_MFA", "false")]].concat();
        assert!(!config_from(&off).unwrap().security.require_mfa);
        let err = config_from(&[("VANGUARD_REQUIRE_MFA", "maybe")]).unwrap_err();
        assert_eq!(err.variable, "VANGUARD_REQUIRE_MFA");
    }

    #[test]
    fn a_platform_port_binds_all_interfaces() {
        let config = config_from(&[("PORT", "8080")]).unwrap();
        assert_eq!(config.site_addr, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(
            config.public_origin_for(config.site_addr),
            "http://127.0.0.1:8080"
        );

        let config =
            config_from(&[("VANGUARD_PUBLIC_ORIGIN", "https://vanguard.example.com/")]).unwrap();
        assert_eq!(
            config.public_origin_for(config.site_addr),
            "https://vanguard.example.com"
        );
    }

    #[test]
    fn errors_name_the_variable_and_the_rule_but_not_the_value() {
        let err = config_from(&[("DATABASE_URL", "mysql://root:hunter2@db/x")]).unwrap_err();
        assert_eq!(err.variable, "DATABASE_URL");
        assert!(!err.to_string().contains("hunter2"));

        let err = config_from(&[("VANGUARD_MASTER_KEY", "c2hvcnQ=")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "VANGUARD_MASTER_KEY: must decode to exactly 32 bytes, got 5"
        );

        let err = config_from(&[("VANGUARD_JWT_SECRET", "not base64!")]).unwrap_err();
        assert_eq!(err.variable, "VANGUARD_JWT_SECRET");

        let err = config_from(&[("LEPTOS_SITE_ADDR", "localhost")]).unwrap_err();
        assert_eq!(err.variable, "LEPTOS_SITE_ADDR");

        let err = config_from(&[("VANGUARD_PUBLIC_ORIGIN", "https://x.example/app")]).unwrap_err();
        assert_eq!(err.variable, "VANGUARD_PUBLIC_ORIGIN");

        let err = config_from(&[("VANGUARD_DB_MAX_CONNECTIONS", "0")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "VANGUARD_DB_MAX_CONNECTIONS: must be a whole number from 1 to 1000"
        );

        for (variable, value, rule) in [
            (
                "VANGUARD_HEADER_READ_TIMEOUT_MS",
                "5",
                "must be a whole number from 10 to 300000",
            ),
            (
                "VANGUARD_IDLE_TIMEOUT_MS",
                "forever",
                "must be a whole number from 10 to 3600000",
            ),
            (
                "VANGUARD_MAX_CONNECTIONS",
                "0",
                "must be a whole number from 1 to 1000000",
            ),
        ] {
            let err = config_from(&[(variable, value)]).unwrap_err();
            assert_eq!(err.to_string(), format!("{variable}: {rule}"));
        }

        let err = config_from(&[("VANGUARD_MASTER_KEY_PREVIOUS", "c2hvcnQ=")]).unwrap_err();
        assert_eq!(err.variable, "VANGUARD_MASTER_KEY_PREVIOUS");

        let err = config_from(&[("VANGUARD_TRUSTED_PROXIES", "10.0.0.0/8, nonsense")]).unwrap_err();
        assert_eq!(err.variable, "VANGUARD_TRUSTED_PROXIES");
    }

    #[test]
    fn security_settings_parse_proxies_and_previous_keys() {
        let key = Key32([3; 32]).to_base64();
        let config = config_from(&[
            ("VANGUARD_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7"),
            ("VANGUARD_MASTER_KEY_PREVIOUS", &format!("{key},{key}")),
            ("VANGUARD_SESSION_IDLE_MINUTES", "5"),
        ])
        .unwrap();
        assert_eq!(config.security.trusted_proxies.len(), 2);
        assert_eq!(config.previous_master_keys.len(), 2);
        assert_eq!(config.security.session_idle, Duration::from_secs(300));
        assert_eq!(config.security.login_rate_per_minute, 5, "the default");
    }

    #[test]
    fn production_refuses_to_run_without_real_keys() {
        let err = config_from(&[("VANGUARD_ENV", "production")]).unwrap_err();
        assert_eq!(err.variable, "VANGUARD_MASTER_KEY");

        let key = Key32([7; 32]).to_base64();
        let config = config_from(&[
            ("VANGUARD_ENV", "production"),
            ("VANGUARD_MASTER_KEY", &key),
            ("VANGUARD_JWT_SECRET", &key),
        ])
        .unwrap();
        assert_eq!(config.master_key, KeySource::Env(Key32([7; 32])));
    }

    #[test]
    fn the_webhook_allow_list_is_for_development_only() {
        let config = config_from(&[(
            "VANGUARD_WEBHOOK_ALLOW_HOSTS",
            " 127.0.0.1, LocalHost ,[::1]",
        )])
        .unwrap();
        assert_eq!(
            config.security.webhook_allow_hosts,
            ["127.0.0.1", "localhost", "::1"]
        );
        let key = Key32([7; 32]).to_base64();
        let err = config_from(&[
            ("VANGUARD_ENV", "production"),
            ("VANGUARD_MASTER_KEY", &key),
            ("VANGUARD_JWT_SECRET", &key),
            ("VANGUARD_WEBHOOK_ALLOW_HOSTS", "127.0.0.1"),
        ])
        .unwrap_err();
        assert_eq!(err.variable, "VANGUARD_WEBHOOK_ALLOW_HOSTS");
    }

    #[test]
    fn storage_urls_are_local_paths_or_s3() {
        assert_eq!(
            StorageUrl::parse("s3://claims-bucket/prod/objects/"),
            Ok(StorageUrl::S3 {
                bucket: "claims-bucket".into(),
                prefix: "prod/objects".into()
            })
        );
        assert_eq!(
            StorageUrl::parse("file:///srv/objects"),
            Ok(StorageUrl::Local("/srv/objects".into()))
        );
        assert!(StorageUrl::parse("gs://bucket").is_err());
    }

    #[test]
    fn a_development_key_is_created_once_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let source = KeySource::DevFile(dir.path().join("keys/master.key"));
        let (first, dev) = load_key(&source, "VANGUARD_MASTER_KEY").unwrap();
        let (second, _) = load_key(&source, "VANGUARD_MASTER_KEY").unwrap();
        assert!(dev);
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("keys/master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn keys_never_print() {
        assert_eq!(format!("{:?}", Key32([1; 32])), "Key32(***)");
    }
}
