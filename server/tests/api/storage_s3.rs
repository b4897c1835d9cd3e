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
use serde_json::Value;

use crate::lifecycle::{Partner, ServerProcess, free_port};

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
    let s3_client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut created = false;
    for _ in 0..100 {
        // moto accepts unsigned requests: create the bucket directly.
        if let Ok(response) = s3_client.put(format!("{s3}/{BUCKET}")).send().await
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
    let mut partner = Partner::seed(data_dir.path(), s3_env);
    let server = ServerProcess::start_with(data_dir.path(), Stdio::null(), s3_env);
    partner.connect(&server).await;
    let (client, bearer) = (&partner.client, &partner.bearer);
    let receipt: Value = client
        .post(server.url("/api/v1/claims"))
        .bearer_auth(bearer)
        .json(&partner.claim("Storm damage to the roof", 250_000))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = receipt["id"].as_str().unwrap();
    assert_eq!(
        partner.pipeline_state(&server, id).await,
        "completed",
        "the pipeline, snapshot included, completed on S3"
    );
    let photo = b"\xFF\xD8\xFF\xE0 roof photo".to_vec();
    let uploaded: Value = client
        .post(server.url(&format!("/api/v1/claims/{id}/attachments")))
        .bearer_auth(bearer)
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
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap().to_vec(), photo);

    let listing = s3_client
        .get(format!("{s3}/{BUCKET}?list-type=2&prefix=env/objects/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let today = app::clock::today();
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
