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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn server_command(data_dir: &std::path::Path) -> Command {
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

#[test]
fn the_binary_exits_0_after_sigterm() {
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = server_command(data_dir.path())
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .spawn()
        .unwrap();

    // Wait for readiness through the binary's own health check.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let probe = server_command(data_dir.path())
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
    assert!(
        data_dir.path().join("vanguard.db").exists(),
        "SQLite file created on first run"
    );
    assert!(
        data_dir.path().join("master.key").exists(),
        "development key created on first run"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "server exited after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
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
