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

use serde_json::{Value, json};

use crate::lifecycle::{ServerProcess, printed_value, server_command};

const CLAIMS: usize = 60;
const STREAMS: usize = 4;
/// The partners here send more than the default 60 calls a minute.
/// A job leased by the killed process is taken over when its lease runs
/// out: a short lease keeps the test short.
const UNLIMITED: &[(&str, &str)] = &[
    ("VANGUARD_API_RATE_PER_MINUTE", "100000"),
    ("VANGUARD_JOB_LEASE_SECONDS", "2"),
];

pub(crate) async fn token(
    client: &reqwest::Client,
    server: &ServerProcess,
    id: &str,
    secret: &str,
) -> String {
    let response: Value = client
        .post(server.url("/api/v1/auth/token"))
        .json(&json!({ "grant_type": "client_credentials", "client_id": id, "client_secret": secret }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["access_token"].as_str().unwrap().to_owned()
}

/// Sends claim `key` once; `Some(id)` when the server acknowledged it.
async fn submit(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    policy: &str,
    key: usize,
) -> Option<String> {
    let yesterday = app::customers::ssr::today().add_days(-1)?;
    let response = client
        .post(url)
        .bearer_auth(token)
        .header("idempotency-key", format!("durability-{key}"))
        .json(&json!({
            "policy_number": policy, "incident_date": yesterday.to_string(),
            "description": format!("Durability claim {key}"),
            "lines": [{ "code": "LOSS", "amount": { "amount": 10_000 + key as i64, "currency": "USD" } }],
        }))
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
    let seeded = server_command(data_dir.path())
        .arg("seed-demo")
        .output()
        .unwrap();
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let issued = server_command(data_dir.path())
        .args(["create-api-client", "--name", "durability-partner"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&issued.stdout).into_owned();
    let (client_id, secret) = (
        printed_value(&printed, "client_id"),
        printed_value(&printed, "client_secret"),
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();

    let mut server = ServerProcess::start_with(data_dir.path(), Stdio::null(), UNLIMITED);
    let bearer = token(&client, &server, &client_id, &secret).await;
    let policies: Value = client
        .get(server.url("/api/v1/policies?status=active&per_page=1"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let policy = policies["items"][0]["policy_number"]
        .as_str()
        .unwrap()
        .to_owned();

    // Four partners stream claims; the server is killed mid-stream.
    let acknowledged = Arc::new(Mutex::new(HashMap::<usize, String>::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let url = server.url("/api/v1/claims");
    let streams: Vec<_> = (0..STREAMS)
        .map(|_| {
            let (client, url, bearer, policy) =
                (client.clone(), url.clone(), bearer.clone(), policy.clone());
            let (acknowledged, next) = (acknowledged.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let key = next.fetch_add(1, Ordering::SeqCst);
                    if key >= CLAIMS {
                        break;
                    }
                    if let Some(id) = submit(&client, &url, &bearer, &policy, key).await {
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
    let bearer = token(&client, &server, &client_id, &secret).await;
    let url = server.url("/api/v1/claims");
    let mut ids = HashMap::new();
    for key in 0..CLAIMS {
        let id = submit(&client, &url, &bearer, &policy, key)
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
    let listed: Value = client
        .get(server.url("/api/v1/claims?per_page=100"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let demo_claims = 6;
    assert_eq!(
        listed["total"],
        CLAIMS + demo_claims,
        "each claim exactly once"
    );

    // Every pipeline, including those cut off by the kill, completes.
    for id in ids.values() {
        let mut state = String::new();
        for _ in 0..400 {
            let status: Value = client
                .get(server.url(&format!("/api/v1/claims/{id}/status")))
                .bearer_auth(&bearer)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            state = status["execution"]["state"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if state == "completed" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(state, "completed", "claim {id}");
    }
}
