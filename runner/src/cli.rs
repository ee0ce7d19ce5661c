//! The runner's command line, and what it means once checked.

use crate::client::{Addressing, Endpoint};
use anyhow::{bail, Context, Result};
use clap::Parser;
use contract::Dialect;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "cargo xtask run",
    about = "Run the multipart-copy conformance cases against an S3 endpoint",
    after_help = "Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN \
                  (or the flags). Without --endpoint an embedded s3s-fs server is started on 127.0.0.1."
)]
pub struct Cli {
    /// The S3 endpoint, e.g. http://127.0.0.1:9000. Without it: the embedded s3s-fs server.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Name of the target in trial names and under reports/ (default: `embedded`, or host-port).
    #[arg(long)]
    pub target: Option<String>,
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    pub access_key: Option<String>,
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    #[arg(long, env = "AWS_SESSION_TOKEN", hide_env_values = true)]
    pub session_token: Option<String>,
    /// Bucket in the path (the default), or in the host name.
    #[arg(long, value_enum, default_value = "path")]
    pub addressing: Addressing,
    /// Same as `--addressing path`.
    #[arg(long, conflicts_with = "addressing")]
    pub path_style: bool,
    /// Accept any TLS certificate (self-signed test servers). Certificates are verified
    /// otherwise; the report says when they were not.
    #[arg(long)]
    pub insecure: bool,
    /// The expectations to judge by: aws or oss.
    #[arg(long, default_value = "aws")]
    pub profile: Dialect,
    /// Where reports go (default: reports/ of the workspace). Runs narrowed by a filter
    /// or --skip write reports only when this is given.
    #[arg(long)]
    pub reports_dir: Option<PathBuf>,
    /// The baseline to compare with (default: baseline.toml beside the reports).
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Seconds one request may take.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout: u64,
    /// Seconds one case (setup, step, checks) may take; cleanup gets as long again.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=7200))]
    pub case_timeout: u64,
    /// Only check that the endpoint accepts writes (create a bucket, put an object, remove
    /// both), print what it supports, and exit: 0 usable, 2 not.
    #[arg(long)]
    pub probe: bool,
    /// Write each case's HTTP exchanges, secrets redacted, to reports/<target>/trace/.
    #[arg(long)]
    pub trace: bool,
    #[command(flatten)]
    pub test: libtest_mimic::Arguments,
}

/// Where a run's files go and how they are named.
pub struct Paths {
    pub target: String,
    /// `reports/<target>/`.
    pub report_dir: PathBuf,
    pub baseline: PathBuf,
    /// How messages name the baseline (the line to add or delete is in it).
    pub baseline_label: String,
}

fn workspace_reports() -> PathBuf {
    let runner = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    runner.parent().unwrap_or(runner).join("reports")
}

impl Cli {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout)
    }

    pub fn case_timeout(&self) -> Duration {
        Duration::from_secs(self.case_timeout)
    }

    /// A filter or --skip narrows the run: its reports are not the target's record.
    pub fn narrowed(&self) -> bool {
        self.test.filter.is_some() || !self.test.skip.is_empty()
    }

    /// Checks what clap cannot (empty keys, a log file that cannot be made).
    pub fn check(&self) -> Result<()> {
        for (name, value) in [
            ("--region", Some(&self.region)),
            ("AWS_ACCESS_KEY_ID (--access-key)", self.access_key.as_ref()),
            (
                "AWS_SECRET_ACCESS_KEY (--secret-key)",
                self.secret_key.as_ref(),
            ),
        ] {
            if value.is_some_and(|v| v.trim().is_empty()) {
                bail!("{name} is empty");
            }
        }
        // libtest-mimic panics on a log file it cannot create: find out first.
        if let Some(path) = &self.test.logfile {
            std::fs::File::create(path)
                .with_context(|| format!("--logfile {path}: cannot create it"))?;
        }
        Ok(())
    }

    pub fn paths(&self) -> Result<Paths> {
        let target = match (&self.target, &self.endpoint) {
            (Some(t), _) => t.clone(),
            (None, None) => "embedded".into(),
            (None, Some(url)) => {
                let url = parse_url(url)?;
                format!(
                    "{}-{}",
                    url.host_str().unwrap_or("endpoint"),
                    url.port_or_known_default().unwrap_or(0)
                )
            }
        };
        contract::names::check_target_name(&target).map_err(|e| anyhow::anyhow!("--target {e}"))?;
        let report_dir = self
            .reports_dir
            .clone()
            .unwrap_or_else(workspace_reports)
            .join(&target);
        let (baseline, baseline_label) = match &self.baseline {
            Some(path) => (path.clone(), path.display().to_string()),
            None => (
                report_dir.join("baseline.toml"),
                format!("reports/{target}/baseline.toml"),
            ),
        };
        Ok(Paths {
            target,
            report_dir,
            baseline,
            baseline_label,
        })
    }

    /// The endpoint given with --endpoint and its credentials (None: the embedded target).
    pub fn external_endpoint(&self) -> Result<Option<Endpoint>> {
        let Some(url) = &self.endpoint else {
            return Ok(None);
        };
        let parsed = parse_url(url)?;
        if !matches!(parsed.scheme(), "http" | "https") {
            bail!("--endpoint {url:?} must be http:// or https://");
        }
        let access_key = self
            .access_key
            .clone()
            .context("no access key: set AWS_ACCESS_KEY_ID (or --access-key) for --endpoint")?;
        let secret_key = self
            .secret_key
            .clone()
            .context("no secret key: set AWS_SECRET_ACCESS_KEY (or --secret-key) for --endpoint")?;
        Ok(Some(Endpoint {
            url: url.trim_end_matches('/').to_string(),
            region: self.region.clone(),
            access_key,
            secret_key,
            session_token: self.session_token.clone(),
            dialect: self.profile,
            addressing: if self.path_style {
                Addressing::Path
            } else {
                self.addressing
            },
        }))
    }
}

fn parse_url(url: &str) -> Result<reqwest::Url> {
    reqwest::Url::parse(url).with_context(|| format!("--endpoint {url:?} is not a URL"))
}
