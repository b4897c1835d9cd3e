//! The release `server` binary as a child process: its environment (rate
//! limits lifted), its operator commands, start-up timed to the first 200
//! from `/health/ready`, SIGTERM, and the tails of its output when
//! something goes wrong.

use std::{
    fmt::Write as _,
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

/// Which database a server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Settings that every server and command of the run shares.
#[derive(Debug, Clone)]
pub struct Launch {
    pub binary: PathBuf,
    pub site_root: PathBuf,
    /// `VANGUARD_WORKERS`: 0 (a web-only replica, as `deploy/` runs them)
    /// unless `--workers` says otherwise; `None` leaves it unset, so the
    /// server's own default applies (the pipeline phase).
    pub workers: Option<u32>,
    /// `VANGUARD_DB_MAX_CONNECTIONS`.
    pub pool_size: u32,
}

/// The environment variables the bench sets on every server and command,
/// beyond the database and data directory: rate limits lifted (and the
/// intake limit, on a replica without workers), a pool as large as the
/// client count, tokens that outlive the run.
pub fn lifted_limits(launch: &Launch) -> Vec<(&'static str, String)> {
    let mut envs = vec![
        ("VANGUARD_LOGIN_RATE_PER_MINUTE", "10000".into()),
        ("VANGUARD_API_RATE_PER_MINUTE", "1000000".into()),
        ("VANGUARD_ACCESS_TOKEN_TTL_SECONDS", "3600".into()),
        ("VANGUARD_DB_MAX_CONNECTIONS", launch.pool_size.to_string()),
        ("VANGUARD_DRAIN_DELAY_MS", "0".into()),
        ("VANGUARD_LOG_FORMAT", "json".into()),
    ];
    if let Some(workers) = launch.workers {
        envs.push(("VANGUARD_WORKERS", workers.to_string()));
        if workers == 0 {
            // Nothing drains a web-only replica's outbox in the bench (in
            // production a worker service does): its jobs only pile up, and
            // intake's back-pressure would refuse the load being measured.
            envs.push(("VANGUARD_INTAKE_MAX_BACKLOG", "0".into()));
        }
    }
    envs
}

/// One database for the server: a data directory (keys, objects, and the
/// SQLite file) plus, on PostgreSQL, a connection URL.
#[derive(Debug, Clone)]
pub struct Target {
    pub engine: Engine,
    pub data_dir: PathBuf,
    /// `None` on SQLite (`DATABASE_URL` is then empty: the file in the data
    /// directory).
    pub database_url: Option<String>,
}

impl Target {
    /// A `server` command on this target, its environment cleared to what
    /// the bench sets.
    pub fn command(&self, launch: &Launch) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&launch.binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("VANGUARD_ENV", "development")
            .env("VANGUARD_DATA_DIR", &self.data_dir)
            .env("DATABASE_URL", self.database_url.as_deref().unwrap_or(""))
            .env("LEPTOS_SITE_ROOT", &launch.site_root)
            .envs(lifted_limits(launch))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Runs an operator command (`migrate`, `create-api-client`, ...) and
    /// returns what it printed; a failure names the command and its stderr.
    pub async fn run(
        &self,
        launch: &Launch,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> anyhow::Result<String> {
        let output = self
            .command(launch)
            .args(args)
            .envs(envs.iter().copied())
            .output()
            .await
            .with_context(|| {
                format!("cannot run {} {}", launch.binary.display(), args.join(" "))
            })?;
        if !output.status.success() {
            bail!(
                "`server {}` failed ({}):\n{}{}",
                args.join(" "),
                output.status,
                tail(&String::from_utf8_lossy(&output.stderr), 20),
                tail(&String::from_utf8_lossy(&output.stdout), 20),
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// The value of a `key=value` line a command printed.
pub fn printed_value(printed: &str, key: &str) -> anyhow::Result<String> {
    printed
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key}=")))
        .map(|value| value.trim().to_owned())
        .with_context(|| format!("the command printed no `{key}=` line"))
}

/// A port nobody listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")
        .context("cannot bind a local port")?
        .local_addr()?
        .port())
}

/// A running `server serve`.
pub struct Server {
    child: tokio::process::Child,
    pub port: u16,
    pub pid: u32,
    log: PathBuf,
    stderr: PathBuf,
}

impl Server {
    /// Starts the server on a free port and waits for the first 200 from
    /// `/health/ready`; returns it and the time from spawn to that answer.
    pub async fn start(
        target: &Target,
        launch: &Launch,
        probe: &reqwest::Client,
        label: &str,
    ) -> anyhow::Result<(Self, Duration)> {
        Self::start_with(target, launch, probe, label, &[]).await
    }

    /// [`Server::start`] with more environment variables (e.g. `RUST_LOG`).
    pub async fn start_with(
        target: &Target,
        launch: &Launch,
        probe: &reqwest::Client,
        label: &str,
        envs: &[(&str, &str)],
    ) -> anyhow::Result<(Self, Duration)> {
        let port = free_port()?;
        let log = target.data_dir.join(format!("server-{label}.log"));
        let stderr = target.data_dir.join(format!("server-{label}.stderr"));
        let log_file = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let stderr_file = std::fs::File::create(&stderr)
            .with_context(|| format!("cannot create {}", stderr.display()))?;
        let spawned = Instant::now();
        let child = target
            .command(launch)
            .arg("serve")
            .envs(envs.iter().copied())
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(stderr_file))
            .spawn()
            .with_context(|| format!("cannot start {}", launch.binary.display()))?;
        let pid = child.id().context("the server exited at once")?;
        let mut server = Self {
            child,
            port,
            pid,
            log,
            stderr,
        };
        let ready = server.url("/health/ready");
        let deadline = spawned + Duration::from_secs(60);
        loop {
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "the server exited during start-up ({status}){}",
                    server.tails()
                );
            }
            if let Ok(response) = probe.get(&ready).send().await
                && response.status() == reqwest::StatusCode::OK
            {
                return Ok((server, spawned.elapsed()));
            }
            if Instant::now() > deadline {
                bail!(
                    "the server was not ready 60 s after it started{}",
                    server.tails()
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Whether the process has exited (and how).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM, then waits for the exit; anything but exit code 0 is an error.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let signalled = tokio::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await
            .context("cannot run kill")?;
        if !signalled.success() {
            bail!("kill -TERM {} failed{}", self.pid, self.tails());
        }
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .map_err(|_| anyhow::anyhow!("the server did not exit within 30 s of SIGTERM"))??;
        if !status.success() {
            bail!(
                "the server exited with {status} after SIGTERM{}",
                self.tails()
            );
        }
        Ok(())
    }

    /// How many lines of the server's log (its stdout) contain `needle`.
    pub fn log_lines_with(&self, needle: &str) -> usize {
        self.log_lines_with_all(&[needle])
    }

    /// How many lines of the server's log contain every one of `needles`.
    pub fn log_lines_with_all(&self, needles: &[&str]) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|line| needles.iter().all(|needle| line.contains(needle)))
            .count()
    }

    /// The last lines of the server's stderr and log, for error messages.
    pub fn tails(&self) -> String {
        let mut out = String::new();
        for (name, path) in [("stderr", &self.stderr), ("log (stdout)", &self.log)] {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let text = tail(&text, 15);
            if !text.trim().is_empty() {
                let _ = write!(
                    out,
                    "\n--- server {name}, last lines ({}) ---\n{text}",
                    path.display()
                );
            }
        }
        out
    }

    /// Peak resident set: the kernel's high-water mark (`VmHWM`) and the
    /// current `VmRSS`, in bytes.
    pub fn memory(&self) -> Option<(u64, u64)> {
        memory_of(self.pid)
    }
}

/// `VmHWM` and `VmRSS` of a process, in bytes.
pub fn memory_of(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kib| kib * 1024)
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    all.get(start..)
        .unwrap_or_default()
        .iter()
        .fold(String::new(), |mut out, line| {
            out.push_str(line);
            out.push('\n');
            out
        })
}

/// Where the release server binary is: `--server-bin`, else beside this
/// bench binary (both are in `$CARGO_TARGET_DIR/release`), else
/// `$CARGO_TARGET_DIR/release/server`, else the shared default target
/// directory.
pub fn find_server_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let hint = "build it first: `bash scripts/test.sh` (or `cargo leptos build --release`; \
                a plain `cargo build --release -p server` serves pages too, without the WASM)";
    if let Some(path) = explicit {
        if path.is_file() {
            return Ok(path.to_path_buf());
        }
        bail!("--server-bin {} does not exist; {hint}", path.display());
    }
    let candidates = target_dirs()
        .into_iter()
        .map(|dir| dir.join("release").join("server"))
        .collect::<Vec<_>>();
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .with_context(|| {
            format!(
                "no release server binary at {}; {hint}",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
        })
}

/// Candidate target directories: this binary's, `$CARGO_TARGET_DIR`, the
/// shared default `~/.cache/vanguard-target`, the repository's `target`.
pub fn target_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(profile_dir) = exe.parent()
        && let Some(target) = profile_dir.parent()
    {
        dirs.push(target.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cache/vanguard-target"));
    }
    dirs.push(repo_root().join("target"));
    dirs.dedup();
    dirs
}

/// The workspace root (this crate's parent directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
