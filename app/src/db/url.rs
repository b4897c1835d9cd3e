//! `DATABASE_URL`: which engine, and where.

use std::{
    path::{Path, PathBuf},
    str::FromStr,
};

use super::Engine;

/// A validated `DATABASE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite database file, created on first use.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (kept whole: it may carry TLS options).
    Postgres(url::Url),
}

// The URL may carry a password: never print it.
impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl DatabaseUrl {
    /// The default database: `vanguard.db` in the data directory.
    pub fn default_sqlite(data_dir: &Path) -> Self {
        Self::Sqlite(data_dir.join("vanguard.db"))
    }

    /// Parses `sqlite:PATH`, `sqlite://PATH`, `postgres://...` or
    /// `postgresql://...`. The error says what was wrong, without echoing
    /// the value (it may contain a password).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if let Some(rest) = raw.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            // Query parameters are ours to set (mode=rwc); drop any given.
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err("an SQLite URL needs a file path, e.g. sqlite://data/vanguard.db (in-memory databases lose acknowledged writes)".into());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        let url = url::Url::parse(raw).map_err(|e| format!("not a valid URL ({e})"))?;
        match url.scheme() {
            "postgres" | "postgresql" => {
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(
                        "a PostgreSQL URL needs a host, e.g. postgres://user@localhost/vanguard"
                            .into(),
                    );
                }
                Ok(Self::Postgres(url))
            }
            other => Err(format!(
                "unsupported scheme `{other}` (expected postgres://, postgresql:// or sqlite://)"
            )),
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Self::Sqlite(_) => Engine::Sqlite,
            Self::Postgres(_) => Engine::Postgres,
        }
    }

    /// The URL with any password replaced, for logs and error messages.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => {
                let mut url = url.clone();
                if url.password().is_some() {
                    // Setting a password on a URL that already has one cannot fail.
                    let _ = url.set_password(Some("***"));
                }
                url.to_string()
            }
        }
    }

    pub(super) fn connect_string(&self) -> String {
        match self {
            // `mode=rwc` creates the file on first run; `%`-encode the
            // characters the SQLite URL parser treats specially.
            Self::Sqlite(path) => {
                let encoded = path
                    .to_string_lossy()
                    .replace('%', "%25")
                    .replace('?', "%3F")
                    .replace('#', "%23");
                format!("sqlite://{encoded}?mode=rwc")
            }
            Self::Postgres(url) => url.to_string(),
        }
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}
