//! One target's run split into nextest shards, as CI jobs run it: each shard is
//! `cargo nextest run --test conformance --partition hash:k/n` against the embedded target,
//! and `conformance merge` makes one report of them. The test binary is built first (not
//! counted); the shards run one after another here, so each one's wall time is what a CI
//! job of its own would take.

use super::measure;
use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const SHARDS: usize = 4;
const SHARD_LIMIT: Duration = Duration::from_secs(900);

#[derive(Debug, Clone, Default)]
pub enum Sharded {
    #[default]
    Unknown,
    NotMeasured(String),
    Measured {
        /// Wall time of each shard, in order.
        shards: Vec<Duration>,
        cases: usize,
        /// Whether the merged verdicts are those of the unsharded full run.
        same_verdicts: Option<bool>,
    },
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn nextest(args: &[&str]) -> Command {
    let mut cmd = cargo();
    cmd.args(["nextest"])
        .args(args)
        // As `cargo xtask test` builds it, so its test binaries are reused.
        .args(["--workspace", "--test", "conformance"])
        .stdin(Stdio::null())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY");
    cmd
}

/// `unsharded`: the results.json of a full embedded run, whose verdicts the merged ones
/// are compared with.
pub fn measure_shards(root: &Path, exe: &Path, scratch: &Path, unsharded: &Path) -> Sharded {
    match shards(root, exe, scratch, unsharded) {
        Ok(s) => s,
        Err(e) => Sharded::NotMeasured(format!("not measured: {e:#}")),
    }
}

fn shards(root: &Path, exe: &Path, scratch: &Path, unsharded: &Path) -> Result<Sharded> {
    let version = cargo().args(["nextest", "--version"]).output();
    if !version.is_ok_and(|o| o.status.success()) {
        return Ok(Sharded::NotMeasured(
            "not measured: cargo-nextest is not installed (`cargo xtask test` installs it)".into(),
        ));
    }
    eprintln!("    building the conformance test binary (not counted)");
    let log = scratch.join("shards-build.log");
    let mut build = nextest(&["list"]);
    build.current_dir(root);
    let (m, _) = logged(&mut build, &log)?;
    anyhow::ensure!(
        m.code == Some(0),
        "cargo nextest list failed (exit {:?}; log: {})",
        m.code,
        log.display()
    );
    let reports = scratch.join("reports-shards");
    let dir = reports.join("embedded");
    std::fs::create_dir_all(&dir)?;
    std::fs::copy(
        root.join("reports/embedded/baseline.toml"),
        dir.join("baseline.toml"),
    )?;
    let mut walls = Vec::new();
    for k in 1..=SHARDS {
        eprintln!("    shard {k} of {SHARDS}");
        let partition = format!("hash:{k}/{SHARDS}");
        let mut cmd = nextest(&["run", "--partition", &partition, "--no-fail-fast"]);
        cmd.args(["--no-tests", "fail"])
            .env("CONFORMANCE_ENDPOINT", "embedded")
            .env("CONFORMANCE_RESULTS_DIR", &reports)
            .env("CONFORMANCE_SHARD", format!("shard-{k}"))
            .current_dir(root);
        let log = scratch.join(format!("shard-{k}.log"));
        let started = Instant::now();
        let (m, _) = logged(&mut cmd, &log)?;
        // 100: a case deviated from the baseline (the verdicts are compared below).
        anyhow::ensure!(
            matches!(m.code, Some(0 | 100)),
            "shard {k} failed (exit {:?}; log: {})",
            m.code,
            log.display()
        );
        walls.push(started.elapsed());
    }
    let merge = Command::new(exe)
        .args(["merge", "embedded", "--reports-dir"])
        .arg(&reports)
        .stdin(Stdio::null())
        .output()
        .context("cannot run conformance merge")?;
    anyhow::ensure!(
        merge.status.success(),
        "conformance merge failed: {}",
        String::from_utf8_lossy(&merge.stderr)
    );
    let merged = verdicts(&dir.join("results.json"))?;
    let same_verdicts = verdicts(unsharded).ok().map(|whole| whole == merged);
    Ok(Sharded::Measured {
        shards: walls,
        cases: merged.len(),
        same_verdicts,
    })
}

/// Runs `cmd` with its output in `log`, bounded by SHARD_LIMIT.
fn logged(cmd: &mut Command, log: &Path) -> Result<(measure::Measured, std::process::Child)> {
    let file =
        std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    cmd.stdout(file.try_clone()?).stderr(file);
    let (m, child) = measure::measure(cmd, SHARD_LIMIT)?;
    anyhow::ensure!(
        !m.timed_out,
        "did not finish within {SHARD_LIMIT:?} (log: {})",
        log.display()
    );
    Ok((m, child))
}

fn verdicts(results: &Path) -> Result<BTreeSet<(String, String)>> {
    let text = std::fs::read_to_string(results)
        .with_context(|| format!("cannot read {}", results.display()))?;
    let json: Value = serde_json::from_str(&text)?;
    Ok(json["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| (c["id"].to_string(), c["verdict"].to_string()))
        .collect())
}
