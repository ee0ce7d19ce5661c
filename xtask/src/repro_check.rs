//! The reproduction scripts checked against a real server: a few deviating cases of
//! different kinds (a range, preconditions, error codes) are run against moto, their
//! scripts run with the pinned AWS CLI against the same server, and each script must print
//! the status and code results.json recorded.

use crate::{endpoint, targets};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

const TARGET: &str = "moto";

/// Cases that deviate on moto, one of each kind (checked to deviate below).
const SAMPLE: &[&str] = &[
    "copy_object/result/range-header",
    "conditional/complete/both-headers-if-match-etag-if-none-match-star",
    "copy_object/versioning/delete-marker-by-id",
    "copy_object/copy-source/malformed-bad-escape",
];

pub fn check(root: &Path, aws: &Path) -> Result<()> {
    let out = std::env::temp_dir().join("conformance-repro-check");
    let _ = std::fs::remove_dir_all(&out);
    let runner = targets::build_runner(root, None)?;
    let running = endpoint::start(root, TARGET)?;
    let result = run_sample(root, &runner, aws, &running, &out);
    let stopped = endpoint::stop(root, TARGET);
    result?;
    stopped
}

fn run_sample(
    root: &Path,
    runner: &Path,
    aws: &Path,
    running: &endpoint::Running,
    out: &Path,
) -> Result<()> {
    let env = |c: &mut Command| {
        c.env("AWS_ACCESS_KEY_ID", &running.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &running.secret_key)
            .env_remove("AWS_SESSION_TOKEN");
    };
    for id in SAMPLE {
        let mut run = Command::new(runner);
        run.args([
            "--target",
            TARGET,
            "--endpoint",
            &running.url,
            "--region",
            &running.region,
        ])
        .arg("--reports-dir")
        .arg(out)
        .arg("--baseline")
        .arg(root.join("reports").join(TARGET).join("baseline.toml"))
        .args(["--exact", &format!("{TARGET}::{id}")])
        .current_dir(root);
        env(&mut run);
        // Exit 1 is a verdict unlike the baseline's: the script must still reproduce it.
        let status = run.status().context("cannot start the runner")?;
        if !matches!(status.code(), Some(0 | 1)) {
            bail!("the run of {id} failed ({status})");
        }
        let results = std::fs::read_to_string(out.join(TARGET).join("results.json"))?;
        let results: serde_json::Value = serde_json::from_str(&results)?;
        let case = &results["cases"][0];
        let observed = &case["observed"];
        let want = format!(
            "status={} code={}",
            observed["status"],
            observed["code"].as_str().unwrap_or("-")
        );
        let script = out
            .join(TARGET)
            .join("repro")
            .join(format!("{}.sh", id.replace('/', "--")));
        if !script.exists() {
            bail!(
                "{id} ({}) got no script at {}",
                case["verdict"],
                script.display()
            );
        }
        let path = format!(
            "{}:{}",
            aws.parent().unwrap_or(aws).display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut sh = Command::new("timeout");
        sh.arg("120")
            .arg("bash")
            .arg(&script)
            .env("PATH", path)
            .env("AWS_ENDPOINT_URL", &running.url)
            .env("AWS_DEFAULT_REGION", &running.region);
        env(&mut sh);
        let output = sh.output().context("cannot run bash")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let printed = stdout.lines().last().unwrap_or_default();
        if printed != want {
            bail!(
                "{} printed {printed:?}, results.json says {want:?}\n{}",
                script.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        eprintln!("reproduced {id}: {want}");
    }
    Ok(())
}
