//! Tools the tests and the client flows run (not S3 servers): installed, pinned, from their
//! registry into `.cache/tools/<name>/`, once; a changed pin rebuilds the install.

use crate::endpoint::process::lock;
use crate::endpoint::recipe::{Python, Recipe};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The AWS CLI the reproduction scripts are checked with (v1: the one on PyPI).
pub const AWS_CLI: &[&str] = &["awscli==1.46.2"];

const INSTALL_LIMIT: Duration = Duration::from_secs(20 * 60);

/// A venv at `.cache/tools/<name>/venv` holding exactly these requirements (pip specifiers,
/// pinned), made with `python3` from the PATH by the servers' own pip recipe. Returns the
/// venv folder; its programs are in `bin/`. A venv already made with the same requirements
/// is reused.
pub fn python_venv(
    root: &Path,
    name: &str,
    requirements: &'static [&'static str],
) -> Result<PathBuf> {
    let dir = root.join(".cache").join("tools").join(name);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Two test processes may ask at once: one installs, the other waits for it.
    let _lock = lock(&dir.join("install.lock"), INSTALL_LIMIT)?;
    let recipe = Recipe::Pip {
        python: Python::Any,
        packages: requirements,
        bin: "python",
    };
    if !recipe.installed(&dir) {
        eprintln!("installing {} into {}", recipe.describe(), dir.display());
        recipe.install(root, &dir, &dir.join("install.log"))?;
    }
    Ok(dir.join("venv"))
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
