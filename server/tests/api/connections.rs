//! The listener's own limits (server/src/serve.rs): header timeout, idle
//! timeout and connection cap, with small values so the tests stay quick.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

use crate::helpers::{TestApp, spawn_app_with};

const REQUEST: &[u8] = b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Reads one response (head and `content-length` body) off a raw connection.
pub(crate) async fn read_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if received.len() >= end + 4 + length {
                return text;
            }
        }
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "connection closed mid-response: {text:?}");
        received.extend_from_slice(&chunk[..read]);
    }
}

/// How long until the server closes `stream` (it sends nothing more).
async fn time_until_closed(stream: &mut TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut byte = [0_u8; 1];
    let read = tokio::time::timeout(limit, stream.read(&mut byte))
        .await
        .expect("the server closed the connection in time");
    assert!(!matches!(read, Ok(n) if n > 0), "no more bytes expected");
    started.elapsed()
}

/// Requests on fresh connections keep succeeding, until `stop`.
fn keep_requesting(app: &TestApp) -> tokio::task::JoinHandle<usize> {
    let url = app.url("/health/live");
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let mut served = 0;
        let started = Instant::now();
        while started.elapsed() < Duration::from_millis(600) {
            let response = client.get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200);
            served += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        served
    })
}

#[tokio::test]
async fn a_slowloris_client_is_cut_within_the_header_timeout_while_others_are_served() {
    let app = spawn_app_with(|config| {
        config.connections.header_read_timeout = Duration::from_millis(400);
        config.connections.idle_timeout = Duration::from_secs(30);
    })
    .await;
    let mut silent = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let slowloris = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let others = keep_requesting(&app);

    // One header line every 50 ms: the head never completes.
    let (mut reader, mut writer) = slowloris.into_split();
    let trickle = tokio::spawn(async move {
        let _ = writer.write_all(b"GET /health/live HTTP/1.1\r\n").await;
        for i in 0..100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if writer
                .write_all(format!("x-slow-{i}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut byte = [0_u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(3), reader.read(&mut byte))
        .await
        .expect("the slowloris client was cut");
    let cut_after = started.elapsed();
    trickle.abort();

    assert!(
        !matches!(read, Ok(n) if n > 0),
        "no answer to a partial head"
    );
    assert!(
        cut_after >= Duration::from_millis(300) && cut_after < Duration::from_millis(1500),
        "cut after {cut_after:?}"
    );
    let silent_for = time_until_closed(&mut silent, Duration::from_secs(3)).await;
    assert!(silent_for < Duration::from_millis(1500), "{silent_for:?}");
    assert!(
        others.await.unwrap() >= 5,
        "normal requests kept being served"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout_not_the_header_timeout() {
    let app = spawn_app_with(|config| {
        config.connections.header_read_timeout = Duration::from_millis(200);
        config.connections.idle_timeout = Duration::from_millis(800);
    })
    .await;
    let mut stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(REQUEST).await.unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));

    // Idle for longer than the header timeout: still open, still served.
    tokio::time::sleep(Duration::from_millis(400)).await;
    stream.write_all(REQUEST).await.unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));

    let closed_after = time_until_closed(&mut stream, Duration::from_secs(5)).await;
    assert!(
        closed_after >= Duration::from_millis(600) && closed_after < Duration::from_millis(2000),
        "closed after {closed_after:?}"
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot_while_the_others_are_served() {
    let app = spawn_app_with(|config| {
        config.connections.max_connections = 3;
        config.connections.header_read_timeout = Duration::from_millis(600);
        config.connections.idle_timeout = Duration::from_secs(30);
    })
    .await;
    let address = app.address.trim_start_matches("http://").to_owned();
    let mut kept = TcpStream::connect(&address).await.unwrap();
    kept.write_all(REQUEST).await.unwrap();
    assert!(read_response(&mut kept).await.starts_with("HTTP/1.1 200"));
    // Two silent connections take the other two slots.
    let _silent = [
        TcpStream::connect(&address).await.unwrap(),
        TcpStream::connect(&address).await.unwrap(),
    ];
    tokio::time::sleep(Duration::from_millis(50)).await;

    let started = Instant::now();
    let fourth = tokio::spawn({
        let url = app.url("/health/live");
        async move {
            let client = reqwest::Client::new();
            client.get(url).send().await.unwrap().status()
        }
    });
    // Meanwhile the connection that holds a slot is served as usual.
    for _ in 0..3 {
        kept.write_all(REQUEST).await.unwrap();
        assert!(read_response(&mut kept).await.starts_with("HTTP/1.1 200"));
    }
    assert!(!fourth.is_finished(), "the fourth connection waits");

    // It is served once the header timeout frees a silent connection's slot.
    assert_eq!(fourth.await.unwrap(), 200);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
        "waited {waited:?}"
    );
}
