//! S3 storage against a real S3 API: moto's server on a loopback port
//! stands in for AWS. The pipeline's snapshot and an attachment land in the
//! bucket under the configured prefix, and the attachment reads back.
//!
//! Needs `moto_server` on PATH (`pip install 'moto[server]'`; `.ci/run`
//! installs it). Without it the test says so and passes locally, but fails
//! under CI, so the gate always exercises S3.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::{
    durability::token,
    lifecycle::{ServerProcess, free_port, printed_value, server_command},
};

const BUCKET: &str = "vanguard-claims";

fn on_path(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// moto's S3, killed when dropped.
struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_s3_storage_snapshots_and_attachments_land_in_the_bucket_under_the_prefix() {
    let Some(moto_server) = on_path("moto_server") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must exercise S3: install moto (pip install 'moto[server]')"
        );
        eprintln!("moto_server is not on PATH: S3 storage not exercised");
        return;
    };
    let port = free_port();
    let _moto = Moto(
        Command::new(moto_server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let s3 = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut created = false;
    for _ in 0..100 {
        // moto accepts unsigned requests: create the bucket directly.
        if let Ok(response) = client.put(format!("{s3}/{BUCKET}")).send().await
            && response.status().is_success()
        {
            created = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(created, "moto answered and created the bucket");

    let data_dir = tempfile::tempdir().unwrap();
    let s3_env: &[(&str, &str)] = &[
        ("VANGUARD_STORAGE_URL", "s3://vanguard-claims/env/objects"),
        ("AWS_ENDPOINT", &s3),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ];
    let seeded = server_command(data_dir.path())
        .envs(s3_env.iter().copied())
        .arg("seed-demo")
        .output()
        .unwrap();
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    let issued = server_command(data_dir.path())
        .args(["create-api-client", "--name", "s3-partner"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&issued.stdout).into_owned();
    let server = ServerProcess::start_with(data_dir.path(), Stdio::null(), s3_env);
    let bearer = token(
        &client,
        &server,
        &printed_value(&printed, "client_id"),
        &printed_value(&printed, "client_secret"),
    )
    .await;
    let policies: Value = client
        .get(server.url("/api/v1/policies?status=active&per_page=1"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let yesterday = app::customers::ssr::today().add_days(-1).unwrap();
    let receipt: Value = client
        .post(server.url("/api/v1/claims"))
        .bearer_auth(&bearer)
        .json(&json!({
            "policy_number": policies["items"][0]["policy_number"], "incident_date": yesterday.to_string(),
            "description": "Storm damage to the roof",
            "lines": [{ "code": "ROOF", "amount": { "amount": 250_000, "currency": "USD" } }],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = receipt["id"].as_str().unwrap();
    let mut completed = false;
    for _ in 0..200 {
        let status: Value = client
            .get(server.url(&format!("/api/v1/claims/{id}/status")))
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if status["execution"]["state"] == "completed" {
            completed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        completed,
        "the pipeline, snapshot included, completed on S3"
    );
    let photo = b"\xFF\xD8\xFF\xE0 roof photo".to_vec();
    let uploaded: Value = client
        .post(server.url(&format!("/api/v1/claims/{id}/attachments")))
        .bearer_auth(&bearer)
        .multipart(Form::new().part("file", Part::bytes(photo.clone()).file_name("roof.jpg")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let download = client
        .get(server.url(&format!(
            "/api/v1/claims/{id}/attachments/{}",
            uploaded["id"].as_str().unwrap()
        )))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().to_vec(), photo);

    let listing = client
        .get(format!("{s3}/{BUCKET}?list-type=2&prefix=env/objects/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let today = app::customers::ssr::today();
    let snapshot = format!(
        "env/objects/claims/{:04}/{:02}/{:02}/{}.json",
        today.year(),
        today.month(),
        today.day(),
        receipt["claim_number"].as_str().unwrap()
    );
    assert!(listing.contains(&snapshot), "{snapshot} in {listing}");
    let attachment = format!(
        "env/objects/attachments/{}",
        uploaded["sha256"].as_str().unwrap()
    );
    assert!(listing.contains(&attachment), "{attachment} in {listing}");
    assert!(
        !std::fs::exists(data_dir.path().join("objects")).unwrap_or(false),
        "nothing written to the local directory"
    );
}
