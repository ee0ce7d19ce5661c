//! Runs of the built runner binary against one target: full runs with their reports in the
//! scratch folder, short filtered runs, and `--list`.

use super::measure::{self, group_cpu, Measured};
use super::proxy::CountingProxy;
use crate::endpoint::{process, Running};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const FULL_RUN_LIMIT: Duration = Duration::from_secs(300);
pub const SHORT_RUN_LIMIT: Duration = Duration::from_secs(120);

/// Where the runner sends its requests.
#[derive(Clone)]
pub struct Target {
    /// Name in trial names and under the reports folder.
    pub name: String,
    /// The committed reports/<baseline>/baseline.toml the run is compared with.
    pub baseline: &'static str,
    /// None: the embedded server, inside the runner process.
    pub url: Option<String>,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    /// The `cargo xtask endpoint` server behind the URL.
    pub server: Option<String>,
}

impl Target {
    pub fn embedded() -> Target {
        Target {
            name: "embedded".into(),
            baseline: "embedded",
            url: None,
            access_key: String::new(),
            secret_key: String::new(),
            region: "us-east-1".into(),
            server: None,
        }
    }

    /// A server of `cargo xtask endpoint`, under another name in the trial names.
    pub fn endpoint(name: &str, baseline: &'static str, running: &Running) -> Target {
        Target {
            name: name.into(),
            baseline,
            url: Some(running.url.clone()),
            access_key: running.access_key.clone(),
            secret_key: running.secret_key.clone(),
            region: running.region.clone(),
            server: Some(running.name.clone()),
        }
    }
}

/// The runner's test threads against an external endpoint when none are asked for
/// (`EXTERNAL_TEST_THREADS` in runner/src/run.rs); the embedded target runs one per core.
pub const EXTERNAL_TEST_THREADS: usize = 8;

/// One full run: every case, default test threads.
#[derive(Debug, Clone, Default)]
pub struct FullRun {
    pub m: Measured,
    pub cases: usize,
    pub skipped: usize,
    pub totals: BTreeMap<String, usize>,
    /// The runner's own duration (from its start of work to the end of the trials).
    pub duration_ms: u64,
    /// Requests counted by the proxy, when the run went through it.
    pub requests: Option<u64>,
    pub unparsed_connections: u64,
    /// CPU the (external) server used during the run.
    pub server_cpu: Option<Duration>,
}

/// The built runner, and the scratch folder its reports and logs go to.
pub struct Runner {
    pub root: PathBuf,
    pub exe: PathBuf,
    pub scratch: PathBuf,
}

impl Runner {
    fn command(&self, target: &Target, url: Option<&str>, log: &Path) -> Result<Command> {
        let mut cmd = Command::new(&self.exe);
        let log = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        cmd.current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("AWS_SESSION_TOKEN")
            .args(["--color", "never", "--target", &target.name]);
        if let Some(url) = url.or(target.url.as_deref()) {
            cmd.args(["--endpoint", url, "--region", &target.region])
                .env("AWS_ACCESS_KEY_ID", &target.access_key)
                .env("AWS_SECRET_ACCESS_KEY", &target.secret_key);
        }
        Ok(cmd)
    }

    pub fn log(&self, label: &str) -> PathBuf {
        self.scratch.join(format!("{label}.log"))
    }

    /// A full run with its reports in the scratch folder (reports/ is left alone), with the
    /// target's committed baseline beside them so the exit code means what it usually does.
    /// `server` is the process group of an external server, whose CPU time is read around it.
    pub fn full_run(
        &self,
        target: &Target,
        server: Option<i32>,
        label: &str,
        proxy: Option<&CountingProxy>,
    ) -> Result<FullRun> {
        let reports = self.scratch.join(format!("reports-{label}"));
        let dir = reports.join(&target.name);
        std::fs::create_dir_all(&dir)?;
        let baseline = self.root.join("reports").join(target.baseline);
        let baseline = baseline.join("baseline.toml");
        if baseline.exists() {
            std::fs::copy(&baseline, dir.join("baseline.toml"))?;
        }
        let url = proxy.map(CountingProxy::url);
        let log = self.log(label);
        let mut cmd = self.command(target, url.as_deref(), &log)?;
        cmd.arg("--reports-dir").arg(&reports);
        // As the matrix runs the server.
        if let Some(n) = target
            .server
            .as_deref()
            .and_then(crate::endpoint::test_threads)
        {
            cmd.args(["--test-threads", &n.to_string()]);
        }
        let cpu_before = server.and_then(group_cpu);
        let before = proxy.map(|p| p.requests());
        let (m, _) = measure::measure(&mut cmd, FULL_RUN_LIMIT)?;
        let server_cpu = match (cpu_before, server.and_then(group_cpu)) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        if m.timed_out {
            bail!(
                "the {label} run did not finish within {FULL_RUN_LIMIT:?} (log: {})",
                log.display()
            );
        }
        let results = dir.join("results.json");
        let json: Value = std::fs::read_to_string(&results)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .with_context(|| {
                format!(
                    "the {label} run (exit {:?}) wrote no {}\n{}",
                    m.code,
                    results.display(),
                    process::tail(&log, 15)
                )
            })?;
        let mut run = FullRun::from_results(&json);
        run.m = m;
        run.requests = proxy.zip(before).map(|(p, b)| p.requests() - b);
        run.unparsed_connections = proxy.map_or(0, CountingProxy::unparsed);
        run.server_cpu = server_cpu;
        Ok(run)
    }

    /// A short run (a filter, or `--probe`); reports are not written. Returns the requests
    /// the proxy counted when it went through one.
    pub fn short_run(
        &self,
        target: &Target,
        args: &[&str],
        label: &str,
        proxy: Option<&CountingProxy>,
        limit: Duration,
    ) -> Result<(Measured, Option<u64>)> {
        let url = proxy.map(CountingProxy::url);
        let log = self.log(label);
        let mut cmd = self.command(target, url.as_deref(), &log)?;
        cmd.args(args);
        let before = proxy.map(|p| p.requests());
        let (m, _) = measure::measure(&mut cmd, limit)?;
        if m.timed_out || !matches!(m.code, Some(0 | 1)) {
            bail!(
                "the {label} run ended with {:?}{}\n{}",
                m.code,
                if m.timed_out { " (time limit)" } else { "" },
                process::tail(&log, 15)
            );
        }
        Ok((m, proxy.zip(before).map(|(p, b)| p.requests() - b)))
    }

    /// The trial names a filter selects.
    pub fn list(&self, target: &Target, args: &[&str]) -> Result<Vec<String>> {
        let out = Command::new(&self.exe)
            .current_dir(&self.root)
            .args(["--list", "--color", "never", "--target", &target.name])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .context("cannot run the runner with --list")?;
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_suffix(": test"))
            .map(str::to_string)
            .collect())
    }
}

impl FullRun {
    /// Cases, skips, verdict totals and duration from the run's results.json.
    fn from_results(json: &Value) -> FullRun {
        let cases = json["cases"].as_array();
        let totals = json["totals"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0) as usize))
                    .collect()
            })
            .unwrap_or_default();
        FullRun {
            cases: cases.map_or(0, Vec::len),
            skipped: cases.map_or(0, |c| {
                c.iter().filter(|c| c["verdict"] == "skipped").count()
            }),
            totals,
            duration_ms: json["run_info"]["duration_ms"].as_u64().unwrap_or(0),
            ..FullRun::default()
        }
    }
}

/// The run with the median wall time.
pub fn median_run(runs: &[FullRun]) -> Option<&FullRun> {
    let mut v: Vec<&FullRun> = runs.iter().collect();
    v.sort_by_key(|r| r.m.wall);
    v.get(v.len() / 2).copied()
}
