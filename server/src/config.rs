//! Typed configuration from the environment.
//!
//! Every setting has a default that works on a laptop with no set-up; the
//! few that must be real in production (keys) refuse to default when
//! `VANGUARD_ENV=production`. A bad value stops start-up with one line that
//! names the variable and the rule, never its (possibly secret) value.
//! Every variable is documented in `.env.example`.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use app::db::{DatabaseUrl, PoolSettings};

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

mod keys;
mod security;

use self::keys::key_source;
pub use self::{
    keys::{Key32, KeySource, load_key},
    security::SecuritySettings,
};

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

#[cfg(test)]
mod tests;
