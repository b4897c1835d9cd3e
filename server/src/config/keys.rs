//! The 32-byte keys configuration carries (master key, JWT secret, audit
//! seed): from the environment, or in development a key file under the
//! data directory, created on first run.

use std::path::{Path, PathBuf};

use base64::{Engine as _, engine::general_purpose::STANDARD as BASE64};

use super::{ConfigError, Environment};

/// A 32-byte secret key, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Key32(pub(super) [u8; 32]);

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

pub(super) fn key_source(
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
