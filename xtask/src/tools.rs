//! Tools the tests and the client flows run (not S3 servers): installed, pinned, from their
//! registry into `.cache/tools/<name>/`, once; a changed pin rebuilds the install.

use crate::endpoint::process::{lock, run_step};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The AWS CLI the reproduction scripts are checked with (v1: the one on PyPI).
pub const AWS_CLI: &[&str] = &["awscli==1.46.2"];

const INSTALL_LIMIT: Duration = Duration::from_secs(20 * 60);

/// A venv at `.cache/tools/<name>/venv` holding exactly these requirements (pip specifiers,
/// pinned), made with `python3` from the PATH. Returns the venv folder; its programs are in
/// `bin/`. Idempotent: a venv already made with the same requirements is reused.
pub fn python_venv(root: &Path, name: &str, requirements: &[&str]) -> Result<PathBuf> {
    let dir = root.join(".cache").join("tools").join(name);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Two test processes may ask at once: one installs, the other waits for it.
    let _lock = lock(&dir.join("install.lock"), INSTALL_LIMIT)?;
    let venv = dir.join("venv");
    let python = venv.join("bin").join("python");
    let marker = dir.join("installed.txt");
    let wanted = requirements.join("\n");
    let usable = Command::new(&python)
        .args(["-c", ""])
        .output()
        .is_ok_and(|o| o.status.success());
    if usable && std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == wanted) {
        return Ok(venv);
    }
    let log = dir.join("install.log");
    std::fs::write(&log, b"").with_context(|| format!("cannot write {}", log.display()))?;
    eprintln!(
        "installing {} into {}",
        requirements.join(" "),
        venv.display()
    );
    let _ = std::fs::remove_file(&marker);
    let _ = std::fs::remove_dir_all(&venv);
    let mut make = Command::new("python3");
    make.args(["-m", "venv"]).arg(&venv);
    run_step(make, INSTALL_LIMIT, &log, false).context("python3 -m venv failed")?;
    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar",
        "off",
    ])
    .args(requirements);
    run_step(pip, INSTALL_LIMIT, &log, false)
        .with_context(|| format!("pip install {} failed", requirements.join(" ")))?;
    std::fs::write(&marker, &wanted)
        .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(venv)
}

/// The pinned AWS CLI (installed on first use): the path of its `aws` program.
pub fn aws_cli(root: &Path) -> Result<PathBuf> {
    let aws = python_venv(root, "awscli", AWS_CLI)?
        .join("bin")
        .join("aws");
    if !aws.exists() {
        bail!("the awscli venv has no {}", aws.display());
    }
    Ok(aws)
}
