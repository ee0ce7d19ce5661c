//! Differential runs and the oracle check, end to end with the runner binary.
//!
//! - embedded against embedded: the runner's own s3s-fs target, and a second s3s-fs started
//!   by the test as the reference. The same server twice: no differences.
//! - embedded against LocalStack (started and stopped by `cargo xtask endpoint`, the way
//!   `cargo xtask test` runs it): LocalStack checks no signatures, s3s-fs does, so the
//!   auth cases differ.
//! - the oracle: the suite against s3s-fs as if it were the reference; every case it does
//!   not pass is listed in oracle.md.
//!
//! Each run is narrowed to the UploadPartCopy auth cases (6 cases).

mod common;

use common::{start_s3s_fs, ACCESS_KEY, SECRET_KEY};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const FILTER: &str = "upload_part_copy/auth/";
/// A run of the six cases on two servers: longer than this is a hang.
const RUN_LIMIT: Duration = Duration::from_secs(240);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

async fn conformance(reports: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = common::runner(reports);
    command.args(args).args(["--test-threads", "2", FILTER]);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut command = tokio::process::Command::from(command);
    command.kill_on_drop(true);
    tokio::time::timeout(RUN_LIMIT, command.output())
        .await
        .expect("the runner ends")
        .expect("the runner starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The committed baseline of the embedded target, so that only differences decide.
fn with_embedded_baseline(reports: &Path) {
    let dir = reports.join("embedded");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        workspace().join("reports/embedded/baseline.toml"),
        dir.join("baseline.toml"),
    )
    .unwrap();
}

fn case_ids(results: &Value) -> Vec<String> {
    results["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_server_twice_differs_nowhere() {
    let reference = start_s3s_fs().await;
    let reports = tempfile::tempdir().unwrap();
    with_embedded_baseline(reports.path());
    let url = reference.url();
    let out = conformance(
        reports.path(),
        &["--reference", &url],
        &[
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ],
    )
    .await;
    reference.stop().await;
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{stderr}",
        text(&out.stdout)
    );
    assert!(stderr.contains(&format!("reference at {url}")), "{stderr}");
    let results = read_json(&reports.path().join("embedded/results.json"));
    let ran = case_ids(&results);
    assert_eq!(ran.len(), 6, "{ran:?}");
    let differences = &results["differences"];
    assert_eq!(differences["reference"], url.as_str());
    assert_eq!(differences["compared"], 6, "{differences}");
    assert_eq!(differences["cases"], serde_json::json!([]), "{differences}");
    let summary = std::fs::read_to_string(reports.path().join("embedded/summary.md")).unwrap();
    assert!(
        summary.contains("## Differences from the reference")
            && summary.contains("6 cases compared, 0 differ, 0 not compared."),
        "{summary}"
    );
    assert!(!summary.contains(SECRET_KEY) && !stderr.contains(SECRET_KEY));
}

/// LocalStack, started by the project's own script; stopped when dropped, unless it was
/// running before the test.
struct LocalStack {
    url: String,
    access_key: String,
    secret_key: String,
    started_here: bool,
}

fn xtask(args: &[&str]) -> Output {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .arg("xtask")
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("cargo xtask starts")
}

impl LocalStack {
    fn start() -> LocalStack {
        let out = xtask(&["endpoint", "start", "localstack"]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "LocalStack did not start:\n{stderr}");
        let word = |name: &str| {
            stdout
                .split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .unwrap_or_else(|| panic!("no {name} in {stdout:?}"))
                .trim_matches('\'')
                .to_string()
        };
        LocalStack {
            url: word("S3_ENDPOINT"),
            access_key: word("AWS_ACCESS_KEY_ID"),
            secret_key: word("AWS_SECRET_ACCESS_KEY"),
            started_here: !stderr.contains("already running"),
        }
    }
}

impl Drop for LocalStack {
    fn drop(&mut self) {
        if self.started_here {
            let out = xtask(&["endpoint", "stop", "localstack"]);
            if !out.status.success() {
                eprintln!("LocalStack did not stop: {}", text(&out.stderr));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn embedded_against_localstack_lists_where_they_differ() {
    let localstack = tokio::task::spawn_blocking(LocalStack::start)
        .await
        .unwrap();
    let reports = tempfile::tempdir().unwrap();
    with_embedded_baseline(reports.path());
    let out = conformance(
        reports.path(),
        &["--reference", &localstack.url],
        &[
            ("AWS_ACCESS_KEY_ID", &localstack.access_key),
            ("AWS_SECRET_ACCESS_KEY", &localstack.secret_key),
        ],
    )
    .await;
    drop(localstack);
    let stderr = text(&out.stderr);
    // Differences fail the run.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{stderr}",
        text(&out.stdout)
    );
    let results = read_json(&reports.path().join("embedded/results.json"));
    let differences = &results["differences"];
    assert_eq!(differences["compared"], 6, "{differences}");
    let cases = differences["cases"].as_array().unwrap();
    assert!(!cases.is_empty() && cases.len() < 6, "{differences}");
    // Each difference is real: the two sides' recorded outcomes are not the same.
    for d in cases {
        let (t, r) = (&d["target"], &d["reference"]);
        assert_ne!(
            (&t["observed"], &t["verdict"]),
            (&r["observed"], &r["verdict"]),
            "{d}"
        );
        let id = d["id"].as_str().unwrap();
        let target_case = results["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        assert_eq!(target_case["verdict"], t["verdict"], "{d}");
        let differs: Vec<&str> = d["differs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        if differs.contains(&"status") {
            assert_ne!(
                t["observed"].as_str().unwrap().split(' ').next(),
                r["observed"].as_str().unwrap().split(' ').next(),
                "{d}"
            );
        }
    }
    let summary = std::fs::read_to_string(reports.path().join("embedded/summary.md")).unwrap();
    let first = cases[0]["id"].as_str().unwrap();
    assert!(summary.contains(&format!("| `{first}` |")), "{summary}");
    assert!(
        summary.contains(&format!("6 cases compared, {} differ", cases.len())),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_oracle_lists_the_expectations_the_reference_contradicts() {
    let server = start_s3s_fs().await;
    let reports = tempfile::tempdir().unwrap();
    let out = conformance(
        reports.path(),
        &[
            "--oracle",
            "--endpoint",
            &server.url(),
            "--target",
            "s3s-oracle",
        ],
        &[
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ],
    )
    .await;
    server.stop().await;
    let stderr = text(&out.stderr);
    let oracle = std::fs::read_to_string(reports.path().join("s3s-oracle/oracle.md"))
        .unwrap_or_else(|e| panic!("{e}\n{stderr}"));
    // What s3s-fs is known to do otherwise in these cases: the committed baseline's lines.
    let baseline =
        std::fs::read_to_string(workspace().join("reports/embedded/baseline.toml")).unwrap();
    let known: Vec<&str> = baseline
        .lines()
        .filter_map(|l| l.strip_prefix("case = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .filter(|id| id.starts_with(FILTER))
        .collect();
    assert!(
        !known.is_empty(),
        "the embedded baseline lists no {FILTER} deviation"
    );
    for id in &known {
        assert!(
            oracle.contains(&format!("| `{id}` |")),
            "{id} missing:\n{oracle}"
        );
    }
    let listed = oracle.lines().filter(|l| l.starts_with("| `")).count();
    assert_eq!(listed, known.len(), "{oracle}");
    assert!(
        oracle.contains(&format!("{} contradicted", known.len())),
        "{oracle}"
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // The oracle writes only its own file.
    assert!(!reports.path().join("s3s-oracle/results.json").exists());
}
