//! The standard AWS chain, end to end: the runner binary finds the endpoint, region and
//! keys of a real s3s-fs server (started by the test) through config and credentials files
//! of its own (never the HOME of whoever runs the tests), a profile chosen by --profile or
//! AWS_PROFILE, and AWS_ENDPOINT_URL_S3 before AWS_ENDPOINT_URL. `--probe` signs real
//! requests: wrong keys would be refused. And the old `--profile aws|oss` is refused
//! with a line naming --dialect.

mod common;

use common::{start_s3s_fs, ACCESS_KEY, SECRET_KEY};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

/// Any run here is a probe or a refusal: longer than this is a hang.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Files of the chain under `dir`: one profile `conformance-test` pointing at `url` with
/// `access_key`, and a `default` profile pointing nowhere useful.
fn write_files(dir: &Path, url: &str, access_key: &str) {
    std::fs::write(
        dir.join("config"),
        format!(
            "[default]\nregion = ap-south-1\nendpoint_url = http://127.0.0.1:9\n\n\
             [profile conformance-test]\nregion = eu-west-3\nendpoint_url = {url}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("credentials"),
        format!(
            "[default]\naws_access_key_id = AKDEFAULTNOTUSED\naws_secret_access_key = nope\n\n\
             [conformance-test]\naws_access_key_id = {access_key}\naws_secret_access_key = {SECRET_KEY}\n"
        ),
    )
    .unwrap();
}

async fn conformance(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = common::runner(&dir.join("reports"));
    command
        .env("AWS_CONFIG_FILE", dir.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials"))
        .env("HOME", dir.join("no-home"))
        .args(args);
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

/// A probe that reached the server: exit 0, what the chain gave said, no secret printed.
fn assert_probed(out: &Output, url: &str, said: &[&str]) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains(&format!("{url} accepts writes")),
        "{stdout}"
    );
    for line in said {
        assert!(stderr.contains(line), "{line:?} not in:\n{stderr}");
    }
    assert!(!stderr.contains(SECRET_KEY) && !stdout.contains(SECRET_KEY));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_chosen_by_flag_or_by_aws_profile_gives_endpoint_region_and_keys() {
    let server = start_s3s_fs().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &url, ACCESS_KEY);
    let said = [
        "endpoint from profile conformance-test",
        "region from profile conformance-test",
        "keys from profile conformance-test",
    ];

    let out = conformance(
        dir.path(),
        &["--probe", "--profile", "conformance-test"],
        &[],
    )
    .await;
    assert_probed(&out, &url, &said);

    let out = conformance(
        dir.path(),
        &["--probe"],
        &[("AWS_PROFILE", "conformance-test")],
    )
    .await;
    assert_probed(&out, &url, &said);

    // The keys are used: the same profile with another access key is refused by the server.
    write_files(dir.path(), &url, "AKWRONGKEY0000000000");
    let out = conformance(
        dir.path(),
        &["--probe", "--profile", "conformance-test"],
        &[],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not usable"), "{stderr}");
    assert!(!stderr.contains(SECRET_KEY));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_endpoint_url_s3_wins_over_aws_endpoint_url_and_the_environment_keys_are_used() {
    let server = start_s3s_fs().await;
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    // The default profile (read when none is named) names port 9, where nothing listens.
    write_files(dir.path(), "http://127.0.0.1:9", "AKNOTUSED");
    let env = [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ("AWS_ENDPOINT_URL_S3", url.as_str()),
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        ("AWS_REGION", "us-west-2"),
    ];
    let out = conformance(dir.path(), &["--probe"], &env).await;
    assert_probed(
        &out,
        &url,
        &[
            "endpoint from AWS_ENDPOINT_URL_S3",
            "region from AWS_REGION",
            "keys from the environment (AWS_ACCESS_KEY_ID)",
        ],
    );
    // Without the S3-specific variable the general one is used: nothing listens there.
    let out = conformance(
        dir.path(),
        &["--probe", "--request-timeout", "5"],
        &env[..1],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("endpoint from AWS_ENDPOINT_URL;"),
        "{stderr}"
    );
    assert!(stderr.contains("127.0.0.1:9"), "{stderr}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_old_dialect_use_of_profile_is_one_line_naming_dialect() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), "http://127.0.0.1:9", "AKNOTUSED");
    for dialect in ["aws", "oss"] {
        let out = conformance(dir.path(), &["--profile", dialect], &[]).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(
            stderr.trim(),
            "error: --profile now names an AWS credentials profile; the dialect flag is --dialect aws|oss"
        );
    }
    // The new flag is taken, and a value it does not know is refused by name.
    let out = conformance(dir.path(), &["--dialect", "oss", "--list"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = conformance(dir.path(), &["--dialect", "gcs"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("invalid value 'gcs' for '--dialect"));
    // Another profile that no file holds is named as such.
    let out = conformance(dir.path(), &["--profile", "nowhere"], &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--profile nowhere"), "{stderr}");
}
