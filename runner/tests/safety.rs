//! The harness keeps its hands off what it did not create, cleans up what it did even when
//! interrupted, and never writes a secret anywhere.

mod common;

use common::{leftover_buckets, leftover_uploads, start_s3s_fs, ACCESS_KEY, SECRET_KEY};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A bucket and an object that exist before the run, written the way s3s-fs stores them.
fn plant_foreign_data(root: &Path) -> Vec<u8> {
    let bucket = root.join("foreign-bucket");
    std::fs::create_dir_all(&bucket).unwrap();
    let data = b"not the harness's to touch".to_vec();
    std::fs::write(bucket.join("keep.txt"), &data).unwrap();
    data
}

fn runner(endpoint: &str, reports: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_conformance"));
    command
        .args([
            "--endpoint",
            endpoint,
            "--target",
            "safety",
            "--request-timeout",
            "10",
        ])
        .arg("--reports-dir")
        .arg(reports)
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY");
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_run_leaves_no_secret_and_no_trace_and_touches_nothing_foreign() {
    let fs = start_s3s_fs().await;
    let planted = plant_foreign_data(fs.data_dir());
    let reports = tempfile::tempdir().unwrap();
    let endpoint = format!("http://{}", fs.addr);
    let mut command = runner(&endpoint, reports.path(), &["--test-threads", "4"]);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    // Deviations make it exit 1; anything else (2, a signal) is a harness failure.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut outputs = vec![
        ("stdout", out.stdout.clone()),
        ("stderr", out.stderr.clone()),
    ];
    for file in ["results.json", "summary.md", "junit.xml"] {
        let path = reports.path().join("safety").join(file);
        outputs.push((
            file,
            std::fs::read(&path).unwrap_or_else(|e| panic!("{file}: {e}")),
        ));
    }
    for (name, bytes) in &outputs {
        let text = String::from_utf8_lossy(bytes);
        for secret in [
            SECRET_KEY,
            ACCESS_KEY,
            "AWS4-HMAC-SHA256",
            "Signature=",
            "Credential=",
        ] {
            assert!(!text.contains(secret), "{name} contains {secret:?}");
        }
        assert!(
            !text.contains("server-side-encryption-customer-key:"),
            "{name} shows a customer key header"
        );
    }

    // Everything the run made is gone; what was there before is as it was.
    assert_eq!(leftover_buckets(fs.data_dir()), Vec::<String>::new());
    assert_eq!(leftover_uploads(fs.data_dir()), Vec::<String>::new());
    assert_eq!(
        std::fs::read(fs.data_dir().join("foreign-bucket/keep.txt")).unwrap(),
        planted
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_new_cases_cleans_up_and_writes_a_partial_report() {
    let fs = start_s3s_fs().await;
    let planted = plant_foreign_data(fs.data_dir());
    let reports = tempfile::tempdir().unwrap();
    let endpoint = format!("http://{}", fs.addr);
    let mut command = runner(&endpoint, reports.path(), &["--test-threads", "2"]);
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Let some cases start, then interrupt as a terminal's Ctrl-C does.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the run took too long to stop"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");

    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(reports.path().join("safety/results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(results["run_info"]["interrupted"], true);
    let cases = results["cases"].as_array().unwrap();
    let not_started = cases
        .iter()
        .filter(|c| {
            c["details"]
                .to_string()
                .contains("interrupted before this case started")
        })
        .count();
    assert!(
        not_started > 0,
        "the interruption came too late to test anything"
    );
    assert!(
        not_started < cases.len(),
        "no case ran before the interruption"
    );

    assert_eq!(leftover_buckets(fs.data_dir()), Vec::<String>::new());
    assert_eq!(leftover_uploads(fs.data_dir()), Vec::<String>::new());
    assert_eq!(
        std::fs::read(fs.data_dir().join("foreign-bucket/keep.txt")).unwrap(),
        planted
    );
}
