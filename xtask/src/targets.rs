//! Running the suite against one named target: `embedded` (the runner's in-process s3s-fs
//! server) or one of the real servers of `cargo xtask endpoint`, started for the run and
//! stopped after it whatever happens.

use crate::endpoint;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target that needs no install: the runner starts it itself.
pub const EMBEDDED: &str = "embedded";

/// Every target a run can name: the embedded one, then the servers in matrix order.
pub fn all() -> Vec<&'static str> {
    std::iter::once(EMBEDDED).chain(endpoint::names()).collect()
}

pub fn is_known(name: &str) -> bool {
    name == EMBEDDED || endpoint::names().any(|n| n == name)
}

/// Whether `run` can start this target without installing anything.
pub fn installed(root: &Path, name: &str) -> bool {
    name == EMBEDDED || endpoint::installed(root, name)
}

/// Runs every case against `name`, compared with reports/<name>/baseline.toml, writing
/// the reports under `reports_dir/<name>/`. Returns the runner's exit code: 0 as the
/// baseline says, 1 a regression or unexpected pass, 2 a setup error.
pub fn run(root: &Path, name: &str, reports_dir: &Path) -> Result<i32> {
    let baseline = root.join("reports").join(name).join("baseline.toml");
    let mut runner = Command::new(build_runner(root, None)?);
    runner
        .args(["--target", name])
        .arg("--reports-dir")
        .arg(reports_dir)
        .arg("--baseline")
        .arg(&baseline)
        .current_dir(root);
    if name == EMBEDDED {
        let status = runner.status().context("cannot start the runner")?;
        return Ok(status.code().unwrap_or(2));
    }
    let running = endpoint::start(root, name)?;
    let status = runner
        .args(["--endpoint", &running.url, "--region", &running.region])
        .env("AWS_ACCESS_KEY_ID", &running.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &running.secret_key)
        .env_remove("AWS_SESSION_TOKEN")
        .status();
    let stopped = endpoint::stop(root, name);
    let status = status.with_context(|| format!("cannot run the suite against {name}"))?;
    stopped?;
    Ok(status.code().unwrap_or(2))
}

/// Builds the runner binary (in `profile`, else cargo's default) and returns its path, so
/// that it can run many times without cargo. The one way xtask gets the runner.
pub fn build_runner(root: &Path, profile: Option<&str>) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    if !runner_built(root, profile) {
        eprintln!(
            "building the runner (first build: about 5-8 minutes on 2 cores; later ones take seconds)…"
        );
    }
    let mut build = Command::new(&cargo);
    // Not quiet: a cold build takes minutes, and cargo says what it is compiling.
    build.arg("build");
    if let Some(profile) = profile {
        build.args(["--profile", profile]);
    }
    let output = build
        .args(["--package", "runner", "--bin", "conformance"])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {cargo} build"))?;
    if !output.status.success() {
        bail!("building the runner (package runner, bin conformance) failed");
    }
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact" && message["target"]["name"] == "conformance" {
            if let Some(exe) = message["executable"].as_str() {
                return Ok(PathBuf::from(exe));
            }
        }
    }
    bail!("cargo build did not name the conformance executable")
}

/// Whether a runner binary of this profile is already there (then a build is quick).
fn runner_built(root: &Path, profile: Option<&str>) -> bool {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let dir = match profile {
        None | Some("dev") => "debug",
        Some(other) => other,
    };
    target.join(dir).join("conformance").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_target_comes_first_and_needs_no_install() {
        let all = all();
        assert_eq!(all[0], EMBEDDED);
        assert_eq!(all.len(), endpoint::names().count() + 1);
        assert!(installed(Path::new("/nonexistent"), EMBEDDED));
        assert!(is_known("ceph-rgw") && !is_known("minio"));
    }
}
