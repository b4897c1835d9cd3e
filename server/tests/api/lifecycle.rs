//! Start-up and shutdown of the real process and of the in-process server.

use std::{
    net::TcpListener,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn shutdown_flips_readiness_to_503_before_the_listener_closes() {
    let mut app = spawn_app_with(|config| config.drain_delay = Duration::from_millis(1500)).await;
    assert_eq!(app.get("/health/ready").await.status(), 200);

    app.signal_shutdown();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Still accepting during the drain delay, but no longer ready.
    assert_eq!(app.get("/health/ready").await.status(), 503);
    assert_eq!(app.get("/health/live").await.status(), 200);
    let stopped = tokio::time::timeout(Duration::from_secs(10), app.wait_stopped()).await;
    assert!(
        matches!(stopped, Ok(Ok(()))),
        "server stopped cleanly: {stopped:?}"
    );
    assert!(
        app.client
            .get(app.url("/health/live"))
            .send()
            .await
            .is_err(),
        "listener closed"
    );
}

/// The `key=value` line a CLI command printed (e.g. `client_secret=`).
pub(crate) fn printed_value(printed: &str, key: &str) -> String {
    printed
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key}=")))
        .unwrap()
        .to_owned()
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn server_command(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("VANGUARD_DATA_DIR", data_dir)
        .env("LEPTOS_SITE_ROOT", data_dir.join("site"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// A partner system of a [`ServerProcess`]: demo data and an API client are
/// created before the server starts ([`Partner::seed`]), then it takes a
/// token and an active policy ([`Partner::connect`]).
pub(crate) struct Partner {
    pub(crate) client: reqwest::Client,
    pub(crate) client_id: String,
    pub(crate) secret: String,
    pub(crate) bearer: String,
    pub(crate) policy: String,
}

impl Partner {
    /// `server seed-demo` and `server create-api-client` in `data_dir`.
    pub(crate) fn seed(data_dir: &std::path::Path, envs: &[(&str, &str)]) -> Self {
        let seeded = server_command(data_dir)
            .envs(envs.iter().copied())
            .arg("seed-demo")
            .output()
            .unwrap();
        assert!(
            seeded.status.success(),
            "{}",
            String::from_utf8_lossy(&seeded.stderr)
        );
        let issued = server_command(data_dir)
            .args([
                "create-api-client",
                "--name",
                "process-partner",
                "--internal",
            ])
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&issued.stdout).into_owned();
        Self {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            client_id: printed_value(&printed, "client_id"),
            secret: printed_value(&printed, "client_secret"),
            bearer: String::new(),
            policy: String::new(),
        }
    }

    /// A fresh token from `server`, and the first active demo policy.
    pub(crate) async fn connect(&mut self, server: &ServerProcess) {
        let response: serde_json::Value = self
            .client
            .post(server.url("/api/v1/auth/token"))
            .json(&serde_json::json!({ "grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.secret }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        self.bearer = response["access_token"].as_str().unwrap().to_owned();
        let policies = self
            .get(server, "/api/v1/policies?status=active&per_page=1")
            .await;
        self.policy = policies["items"][0]["policy_number"]
            .as_str()
            .unwrap()
            .to_owned();
    }

    pub(crate) async fn get(&self, server: &ServerProcess, path: &str) -> serde_json::Value {
        self.client
            .get(server.url(path))
            .bearer_auth(&self.bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A one-line claim on the partner's policy, incident yesterday.
    pub(crate) fn claim(&self, description: &str, amount: i64) -> serde_json::Value {
        let yesterday = app::clock::today().add_days(-1).unwrap();
        serde_json::json!({
            "policy_number": self.policy, "incident_date": yesterday.to_string(),
            "description": description,
            "lines": [{ "code": "LOSS", "amount": { "amount": amount, "currency": "USD" } }],
        })
    }

    /// Polls the claim's pipeline for 20 s at most; its last state.
    pub(crate) async fn pipeline_state(&self, server: &ServerProcess, id: &str) -> String {
        let mut state = String::new();
        for _ in 0..400 {
            let status = self
                .get(server, &format!("/api/v1/claims/{id}/status"))
                .await;
            state = status["execution"]["state"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if state == "completed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        state
    }
}

/// The release-like binary, serving on a free port until it is stopped.
pub(crate) struct ServerProcess {
    pub(crate) child: std::process::Child,
    pub(crate) port: u16,
}

/// A test that fails (or simply ends) never leaves a server running.
impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl ServerProcess {
    pub(crate) fn start(data_dir: &std::path::Path, stdout: Stdio) -> Self {
        Self::start_with(data_dir, stdout, &[])
    }

    /// [`ServerProcess::start`] with extra environment variables.
    pub(crate) fn start_with(
        data_dir: &std::path::Path,
        stdout: Stdio,
        envs: &[(&str, &str)],
    ) -> Self {
        let port = free_port();
        let child = server_command(data_dir)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .envs(envs.iter().copied())
            .stdout(stdout)
            .spawn()
            .unwrap();
        // Wait for readiness through the binary's own health check.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let probe = server_command(data_dir)
                .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
                .arg("healthcheck")
                .status()
                .unwrap();
            if probe.success() {
                break;
            }
            assert!(Instant::now() < deadline, "server became ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self { child, port }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Sends SIGTERM and returns the exit code.
    pub(crate) fn terminate(mut self) -> Option<i32> {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "server exited after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn the_binary_exits_0_after_sigterm() {
    let data_dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data_dir.path(), Stdio::null());

    assert!(
        data_dir.path().join("vanguard.db").exists(),
        "SQLite file created on first run"
    );
    assert!(
        data_dir.path().join("master.key").exists(),
        "development key created on first run"
    );
    assert_eq!(server.terminate(), Some(0));
}

#[tokio::test]
async fn log_lines_carry_the_correlation_id_and_never_credentials() {
    let data_dir = tempfile::tempdir().unwrap();
    let log_path = data_dir.path().join("stdout.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let issued = server_command(data_dir.path())
        .args([
            "create-api-client",
            "--name",
            "canary-partner",
            "--internal",
        ])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&issued.stdout).into_owned();
    let (client_id, client_secret) = (
        printed_value(&printed, "client_id"),
        printed_value(&printed, "client_secret"),
    );
    let server = ServerProcess::start(data_dir.path(), Stdio::from(log_file));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    for path in [
        "/",
        "/health",
        "/api/v1/me",
        "/no/such/page?email=canary-pii%40example.com",
    ] {
        let response = client
            .get(server.url(path))
            .header("authorization", "Bearer CANARY-TOKEN-1f3a")
            .header("cookie", "__Host-vanguard=CANARY-COOKIE-9b2c")
            .header("x-correlation-id", "corr-canary-77")
            .send()
            .await
            .unwrap();
        assert!(response.status().as_u16() < 500);
    }
    // Credentials in bodies: the token endpoint and the sign-in form.
    let token = client
        .post(server.url("/api/v1/auth/token"))
        .header("x-correlation-id", "corr-canary-77")
        .json(&serde_json::json!({
            "grant_type": "password",
            "username": "canary-pii@example.com",
            "password": "CANARY-PASSWORD-5e1d",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 401);
    let login = client
        .post(server.url(<app::auth::Login as leptos::server_fn::ServerFn>::PATH))
        .header("origin", server.url(""))
        .header("x-correlation-id", "corr-canary-77")
        .form(&[
            ("email", "canary-pii@example.com"),
            ("password", "CANARY-PASSWORD-5e1d"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401);
    // Personal data through the vault: created, listed, revealed.
    let token: serde_json::Value = client
        .post(server.url("/api/v1/auth/token"))
        .json(&serde_json::json!({ "grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap();
    let created = client
        .post(server.url("/api/v1/customers"))
        .bearer_auth(token)
        .header("x-correlation-id", "corr-canary-77")
        .json(&serde_json::json!({
            "first_name": "Canaryfirst", "last_name": "Canarylast",
            "email": "canary-pii@example.com", "national_id": "CANARYID99",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(server.terminate(), Some(0));

    let logs = std::fs::read_to_string(&log_path).unwrap();
    // The readiness probes of `ServerProcess::start` are logged too; count ours.
    let request_lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains(r#""message":"request""#) && l.contains("corr-canary-77"))
        .collect();
    assert_eq!(request_lines.len(), 7, "one line per request:\n{logs}");
    for line in &request_lines {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(entry["span"]["correlation_id"], "corr-canary-77", "{line}");
        assert!(
            entry["status"].is_u64()
                && entry["latency_ms"].is_number()
                && entry["route"].is_string()
        );
    }
    for canary in [
        "CANARY-TOKEN",
        "CANARY-COOKIE",
        "CANARY-PASSWORD",
        "canary-pii",
    ] {
        assert!(
            !logs.contains(canary),
            "{canary} leaked into the logs:\n{logs}"
        );
    }
}

#[test]
fn bad_configuration_stops_start_up_with_one_line_naming_the_variable() {
    let data_dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "DATABASE_URL",
            "mysql://root:hunter2@localhost/db",
            "DATABASE_URL: unsupported scheme",
        ),
        (
            "DATABASE_URL",
            "::not a url::",
            "DATABASE_URL: not a valid URL",
        ),
        (
            "VANGUARD_MASTER_KEY",
            "dG9vIHNob3J0",
            "VANGUARD_MASTER_KEY: must decode to exactly 32 bytes",
        ),
    ];
    for (variable, value, expected) in cases {
        let output = server_command(data_dir.path())
            .env(variable, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);

        assert_eq!(
            output.status.code(),
            Some(2),
            "{variable}={value}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!stderr.contains("hunter2"), "no secrets echoed: {stderr}");
    }
}

#[test]
fn an_unreachable_database_stops_start_up_with_a_clear_error() {
    let data_dir = tempfile::tempdir().unwrap();
    // Nothing listens on a port we just released.
    let url = format!(
        "postgres://vanguard:secret@127.0.0.1:{}/vanguard",
        free_port()
    );

    let output = server_command(data_dir.path())
        .env("DATABASE_URL", &url)
        .env("VANGUARD_DB_ACQUIRE_TIMEOUT_MS", "2000")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("vanguard: cannot connect to postgres://vanguard:***@127.0.0.1"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret"), "password redacted: {stderr}");
}

#[test]
fn migrate_applies_the_schema_and_exits_0() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut command = server_command(data_dir.path());
    command.arg("migrate");

    let output = command.output().unwrap();

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(data_dir.path().join("vanguard.db").exists());
}

#[tokio::test]
async fn operators_create_an_admin_and_an_api_client_from_the_command_line() {
    let data_dir = tempfile::tempdir().unwrap();
    let admin = server_command(data_dir.path())
        .args(["create-admin", "--email", "Ops@Example.com"])
        .env("VANGUARD_ADMIN_PASSWORD", "an operator passphrase")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        admin.status.success(),
        "{}",
        String::from_utf8_lossy(&admin.stderr)
    );
    assert!(
        String::from_utf8_lossy(&admin.stdout).contains("administrator ops@example.com created")
    );

    // From stdin, and a weak password is refused naming the rule.
    let mut weak = server_command(data_dir.path())
        .args(["create-admin", "--email", "second@example.com"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write as _;
        weak.stdin.take().unwrap().write_all(b"short\n").unwrap();
    }
    let weak = weak.wait_with_output().unwrap();
    assert!(!weak.status.success());
    assert!(
        String::from_utf8_lossy(&weak.stderr).contains("password: must be at least 12 characters"),
        "{}",
        String::from_utf8_lossy(&weak.stderr)
    );

    // A client needs a partner that exists (or an explicit internal grant).
    let orphan = server_command(data_dir.path())
        .args([
            "create-api-client",
            "--name",
            "acme-gateway",
            "--partner",
            "acme",
        ])
        .output()
        .unwrap();
    assert!(!orphan.status.success());
    assert!(
        String::from_utf8_lossy(&orphan.stderr).contains("partner: does not match any partner"),
        "{}",
        String::from_utf8_lossy(&orphan.stderr)
    );
    let partner = server_command(data_dir.path())
        .args([
            "create-partner",
            "--slug",
            "acme",
            "--name",
            "Acme Brokers",
            "--kind",
            "broker",
        ])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        partner.status.success(),
        "{}",
        String::from_utf8_lossy(&partner.stderr)
    );
    let client = server_command(data_dir.path())
        .args([
            "create-api-client",
            "--name",
            "acme-gateway",
            "--partner",
            "acme",
        ])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        client.status.success(),
        "{}",
        String::from_utf8_lossy(&client.stderr)
    );
    let printed = String::from_utf8_lossy(&client.stdout).into_owned();
    let (client_id, client_secret) = (
        printed_value(&printed, "client_id"),
        printed_value(&printed, "client_secret"),
    );

    let verify = server_command(data_dir.path())
        .arg("verify-audit")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(verify.status.success());
    assert!(
        String::from_utf8_lossy(&verify.stdout).contains("audit log intact: 0 sealed records in 0 signed checkpoints verified; 3 records not yet sealed"),
        "the admin, the partner and the client were audited: {}",
        String::from_utf8_lossy(&verify.stdout)
    );

    let rotate = server_command(data_dir.path())
        .arg("rotate-keys")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        rotate.status.success(),
        "{}",
        String::from_utf8_lossy(&rotate.stderr)
    );
    assert!(
        String::from_utf8_lossy(&rotate.stdout)
            .contains("VANGUARD_MASTER_KEY_PREVIOUS can be removed")
    );

    let server = ServerProcess::start(data_dir.path(), Stdio::null());
    let http = reqwest::Client::new();
    for body in [
        serde_json::json!({ "grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret }),
        serde_json::json!({ "grant_type": "password", "username": "ops@example.com", "password": "an operator passphrase" }),
    ] {
        let response = http
            .post(server.url("/api/v1/auth/token"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{body}");
    }
    assert_eq!(server.terminate(), Some(0));
}

#[test]
fn seed_demo_files_a_demo_book_once_and_refuses_production() {
    let data_dir = tempfile::tempdir().unwrap();
    let seed = || {
        server_command(data_dir.path())
            .arg("seed-demo")
            .stdout(Stdio::piped())
            .output()
            .unwrap()
    };
    let first = seed();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        String::from_utf8_lossy(&first.stdout).contains("6 claims filed"),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    let again = seed();
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("0 claims filed"),
        "a second run adds nothing: {}",
        String::from_utf8_lossy(&again.stdout)
    );

    let production = server_command(data_dir.path())
        .arg("seed-demo")
        .env("VANGUARD_ENV", "production")
        .env(
            "VANGUARD_MASTER_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        )
        .env(
            "VANGUARD_JWT_SECRET",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        )
        .output()
        .unwrap();
    assert!(!production.status.success());
    assert!(
        String::from_utf8_lossy(&production.stderr)
            .contains("refuses to run with VANGUARD_ENV=production"),
        "{}",
        String::from_utf8_lossy(&production.stderr)
    );
}
