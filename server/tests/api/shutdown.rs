//! SIGTERM against the real binary: what already reached it is answered, and
//! what it has to abandon makes it exit non-zero.

use std::{
    io::{Read as _, Write as _},
    net::TcpStream,
    process::Stdio,
    time::Duration,
};

use app::db::DatabaseUrl;

use crate::{
    helpers::{TestDatabase, spawn_app_with},
    lifecycle::ServerProcess,
};

/// The binary on the test's database (PostgreSQL with `TEST_DATABASE_URL`,
/// otherwise its default SQLite file) with `envs`.
async fn start_server(
    data_dir: &tempfile::TempDir,
    envs: &[(&str, &str)],
) -> (ServerProcess, TestDatabase) {
    let database = TestDatabase::create(data_dir).await;
    let mut envs = envs.to_vec();
    let url = match &database.url {
        DatabaseUrl::Postgres(url) => Some(url.to_string()),
        DatabaseUrl::Sqlite(_) => None,
    };
    if let Some(url) = &url {
        envs.push(("DATABASE_URL", url));
    }
    let server = ServerProcess::start_with(data_dir.path(), Stdio::null(), &envs);
    (server, database)
}

#[tokio::test]
async fn new_connections_are_served_during_the_drain_delay_and_idle_ones_close_at_its_end() {
    let mut app = spawn_app_with(|config| config.drain_delay = Duration::from_millis(500)).await;
    // Leaves a kept-alive connection in the client's pool.
    assert_eq!(app.get("/health/live").await.status(), 200);

    app.signal_shutdown();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let ready = fresh.get(app.url("/health/ready")).send().await.unwrap();
    let live = fresh.get(app.url("/health/live")).send().await.unwrap();
    let started = std::time::Instant::now();
    let stopped = tokio::time::timeout(Duration::from_secs(5), app.wait_stopped()).await;

    assert_eq!(ready.status(), 503);
    assert_eq!(live.status(), 200, "a new connection during the delay");
    assert!(matches!(stopped, Ok(Ok(()))), "{stopped:?}");
    // Not after the 75 s idle timeout: the idle connection closed at once.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn requests_in_flight_at_sigterm_are_all_answered_with_the_default_drain_delay() {
    let data_dir = tempfile::tempdir().unwrap();
    // The development default: no drain delay at all.
    let (server, _database) = start_server(&data_dir, &[]).await;

    // Each connect returns once the kernel has completed the handshake, so
    // every one of these requests has reached the server before the signal:
    // half on connections it accepted a moment ago (their bytes unread when
    // the signal comes), half still in its accept queue.
    let request = b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let connect = || TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let mut streams: Vec<TcpStream> = (0..100).map(|_| connect()).collect();
    std::thread::sleep(Duration::from_millis(200));
    for stream in &mut streams {
        stream.write_all(request).unwrap();
    }
    for _ in 0..100 {
        let mut stream = connect();
        stream.write_all(request).unwrap();
        streams.push(stream);
    }
    assert_eq!(server.terminate(), Some(0));

    let mut answered = 0;
    let mut failures = Vec::new();
    for stream in &mut streams {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut response = String::new();
        match stream.read_to_string(&mut response) {
            Ok(_) if response.starts_with("HTTP/1.1 200") => answered += 1,
            other => failures.push(format!("{other:?} {response:?}")),
        }
    }
    assert_eq!(answered, 200, "unanswered: {failures:?}");
}

#[tokio::test]
async fn the_binary_exits_non_zero_when_requests_are_abandoned_at_the_shutdown_timeout() {
    let data_dir = tempfile::tempdir().unwrap();
    let (mut server, _database) =
        start_server(&data_dir, &[("VANGUARD_SHUTDOWN_TIMEOUT_MS", "300")]).await;
    let mut stderr = server.child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });

    // An upload that never finishes: the handler waits for the rest of the body.
    let mut upload = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    upload
        .write_all(
            b"POST /api/v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              content-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"grant_type\":",
        )
        .unwrap();
    // A complete request on another connection is answered, and a moment
    // later the upload's head (sent first) has surely been read too.
    let mut other = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    other
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    other.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    std::thread::sleep(Duration::from_millis(100));

    assert_eq!(server.terminate(), Some(1));
    let stderr = logs.join().unwrap();
    assert!(
        stderr.contains(
            "1 request(s) still in flight at the shutdown timeout (300 ms) were abandoned"
        ),
        "{stderr}"
    );
    drop(upload);
}
