// Each test crate uses part of this module.
#![allow(dead_code)]

//! What the integration tests share: the embedded s3s-fs server with known keys, started
//! and stopped by the test, and a look at what it holds on disk.

use runner::embedded::EmbeddedServer;
use std::path::Path;

pub const ACCESS_KEY: &str = "AKTESTSERVER00000001";
pub const SECRET_KEY: &str = "test-server-secret-SENTINEL-7f3a9c";

/// The runner's own embedded target (a real s3s-fs on 127.0.0.1) with known keys; it
/// stops with the test's runtime.
pub async fn start_s3s_fs() -> EmbeddedServer {
    EmbeddedServer::start_with_keys(ACCESS_KEY, SECRET_KEY)
        .await
        .expect("the embedded s3s-fs starts")
}

/// Buckets are directories under the s3s-fs root: the `mpc-*` ones still there.
pub fn leftover_buckets(root: &Path) -> Vec<String> {
    let mut left: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("mpc-"))
        .collect();
    left.sort();
    left
}

/// Open uploads are `.upload-<id>.json` files at the s3s-fs root.
pub fn leftover_uploads(root: &Path) -> Vec<String> {
    let mut left: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".upload-"))
        .collect();
    left.sort();
    left
}

/// The runner binary writing its reports under `reports`, with no credentials, session
/// token or step summary from the environment of whoever runs the tests.
pub fn runner(reports: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_conformance"));
    command
        .arg("--reports-dir")
        .arg(reports)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY");
    clear_aws_chain(&mut command);
    command
}

/// Nothing of the standard AWS chain from whoever runs the tests: no endpoint, region or
/// profile from the environment, and config and credentials files that do not exist
/// (tests that need them point these at their own).
pub fn clear_aws_chain(command: &mut std::process::Command) {
    for name in [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ] {
        command.env_remove(name);
    }
    let none = std::env::temp_dir().join("conformance-tests-no-such-aws-file");
    command
        .env("AWS_CONFIG_FILE", &none)
        .env("AWS_SHARED_CREDENTIALS_FILE", &none)
        .env("AWS_EC2_METADATA_DISABLED", "true");
}
