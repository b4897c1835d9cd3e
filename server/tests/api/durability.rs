//! Nothing acknowledged is lost: the real binary is killed (SIGKILL, no
//! shutdown at all) while partners stream claims, then restarted; every
//! claim it acknowledged exists exactly once and every pipeline finishes.

use std::{
    collections::HashMap,
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use serde_json::Value;

use crate::lifecycle::{Partner, ServerProcess};

const CLAIMS: usize = 60;
const STREAMS: usize = 4;
/// The partners here send more than the default 60 calls a minute.
/// A job leased by the killed process is taken over when its lease runs
/// out: a short lease keeps the test short.
const UNLIMITED: &[(&str, &str)] = &[
    ("VANGUARD_API_RATE_PER_MINUTE", "100000"),
    ("VANGUARD_JOB_LEASE_SECONDS", "2"),
];

/// Sends claim `key` once; `Some(id)` when the server acknowledged it.
async fn submit(partner: &Partner, url: &str, key: usize) -> Option<String> {
    let response = partner
        .client
        .post(url)
        .bearer_auth(&partner.bearer)
        .header("idempotency-key", format!("durability-{key}"))
        .json(&partner.claim(&format!("Durability claim {key}"), 10_000 + key as i64))
        .send()
        .await
        .ok()?;
    if response.status() != 202 {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    body["id"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_loses_no_acknowledged_claim_and_finishes_every_pipeline() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut partner = Partner::seed(data_dir.path(), &[]);
    let mut server = ServerProcess::start_with(data_dir.path(), Stdio::null(), UNLIMITED);
    partner.connect(&server).await;
    let partner = Arc::new(partner);

    // Four partners stream claims; the server is killed mid-stream.
    let acknowledged = Arc::new(Mutex::new(HashMap::<usize, String>::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let url = server.url("/api/v1/claims");
    let streams: Vec<_> = (0..STREAMS)
        .map(|_| {
            let (partner, url) = (partner.clone(), url.clone());
            let (acknowledged, next) = (acknowledged.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let key = next.fetch_add(1, Ordering::SeqCst);
                    if key >= CLAIMS {
                        break;
                    }
                    if let Some(id) = submit(&partner, &url, key).await {
                        acknowledged.lock().unwrap().insert(key, id);
                    }
                }
            })
        })
        .collect();
    while acknowledged.lock().unwrap().len() < CLAIMS / 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for stream in streams {
        stream.await.unwrap();
    }
    let before_crash = acknowledged.lock().unwrap().clone();
    assert!(before_crash.len() < CLAIMS, "the kill landed mid-stream");

    // Restarted, the partners resend everything they are unsure of (and
    // more): acknowledged keys replay the same claim, the rest are filed.
    let server = ServerProcess::start_with(data_dir.path(), Stdio::null(), UNLIMITED);
    let mut partner = Arc::try_unwrap(partner).ok().unwrap();
    partner.connect(&server).await;
    let url = server.url("/api/v1/claims");
    let mut ids = HashMap::new();
    for key in 0..CLAIMS {
        let id = submit(&partner, &url, key)
            .await
            .expect("accepted after restart");
        if let Some(first) = before_crash.get(&key) {
            assert_eq!(
                &id, first,
                "claim {key} was acknowledged before the crash and replays"
            );
        }
        ids.insert(key, id);
    }
    let listed = partner.get(&server, "/api/v1/claims?per_page=100").await;
    let demo_claims = 6;
    assert_eq!(
        listed["total"],
        CLAIMS + demo_claims,
        "each claim exactly once"
    );

    // Every pipeline, including those cut off by the kill, completes.
    for id in ids.values() {
        let state = partner.pipeline_state(&server, id).await;
        assert_eq!(state, "completed", "claim {id}");
    }
}
