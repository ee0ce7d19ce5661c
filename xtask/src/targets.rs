//! Running the suite against one named target: `embedded` (the runner's in-process s3s-fs
//! server) or one of the real servers of `cargo xtask endpoint`, started for the run and
//! stopped after it whatever happens.

use crate::endpoint;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

/// The target that needs no install: the runner starts it itself.
pub const EMBEDDED: &str = "embedded";

/// Every target a run can name: the embedded one, then the servers in matrix order.
pub fn all() -> Vec<&'static str> {
    std::iter::once(EMBEDDED)
        .chain(endpoint::NAMES.iter().copied())
        .collect()
}

pub fn is_known(name: &str) -> bool {
    name == EMBEDDED || endpoint::NAMES.contains(&name)
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
    let mut runner = Command::new(endpoint::runner_binary(root)?);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_target_comes_first_and_needs_no_install() {
        let all = all();
        assert_eq!(all[0], EMBEDDED);
        assert_eq!(all.len(), endpoint::NAMES.len() + 1);
        assert!(installed(Path::new("/nonexistent"), EMBEDDED));
        assert!(is_known("ceph-rgw") && !is_known("minio"));
    }
}
