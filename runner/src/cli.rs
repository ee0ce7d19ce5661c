//! The runner's command line, and what it means once checked.

use crate::aws_chain::{self, Chain, Flags, Settings};
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
    after_help = "Endpoint, region and keys: a flag given wins; otherwise the standard AWS chain \
                  (aws-config): AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL; AWS_REGION, AWS_DEFAULT_REGION; \
                  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; then the profile \
                  (--profile, AWS_PROFILE, or default) of ~/.aws/config and ~/.aws/credentials \
                  (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE): endpoint_url, region, keys or \
                  credential_process. Without an endpoint from any of them an embedded s3s-fs \
                  server is started on 127.0.0.1.\n\n\
                  Exit status: 0 the target behaves as its baseline says; 1 a regression or an \
                  unexpected pass, with --reference also any case whose outcomes differ, with \
                  --oracle any expectation the endpoint contradicts; 2 usage or setup error; \
                  130 interrupted."
)]
pub struct Cli {
    /// The S3 endpoint, e.g. http://127.0.0.1:9000 (else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL,
    /// the profile's endpoint_url). Without any: the embedded s3s-fs server.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Name of the target in trial names and under reports/ (default: `embedded`, or host-port).
    #[arg(long)]
    pub target: Option<String>,
    /// The signing region (else AWS_REGION, AWS_DEFAULT_REGION, the profile's; us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// An AWS credentials profile of the shared config and credentials files (else AWS_PROFILE).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Access key id (else AWS_ACCESS_KEY_ID, else the profile's).
    #[arg(long)]
    pub access_key: Option<String>,
    /// Secret access key (else AWS_SECRET_ACCESS_KEY, else the profile's).
    #[arg(long)]
    pub secret_key: Option<String>,
    /// Session token (else AWS_SESSION_TOKEN, else the profile's).
    #[arg(long)]
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
    /// The dialect requests are sent in and the expectations judged by: aws or oss.
    #[arg(long, default_value = "aws")]
    pub dialect: Dialect,
    /// Where reports go (default: reports/ in the current folder). Runs narrowed by a filter
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
    pub reference: crate::differential::ReferenceArgs,
    #[command(flatten)]
    pub test: libtest_mimic::Arguments,
}

/// What `--profile aws|oss` (the dialect, before `--dialect`) gets when no credentials
/// profile has that name.
pub const OLD_PROFILE_FLAG: &str =
    "--profile now names an AWS credentials profile; the dialect flag is --dialect aws|oss";

/// Where a run's files go and how they are named.
pub struct Paths {
    pub target: String,
    /// `reports/<target>/`.
    pub report_dir: PathBuf,
    pub baseline: PathBuf,
    /// How messages name the baseline (the line to add or delete is in it).
    pub baseline_label: String,
}

/// reports/ of the current folder: the checkout's for `cargo xtask run` (it runs the
/// runner from the workspace root), the caller's for an installed `conformance`.
fn workspace_reports() -> PathBuf {
    PathBuf::from("reports")
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

    /// Checks what clap cannot (empty keys, a log file that cannot be made, the old
    /// meaning of --profile).
    pub fn check(&self) -> Result<()> {
        for (name, value) in [
            ("--region", self.region.as_ref()),
            ("--access-key", self.access_key.as_ref()),
            ("--secret-key", self.secret_key.as_ref()),
            ("--profile", self.profile.as_ref()),
        ] {
            if value.is_some_and(|v| v.trim().is_empty()) {
                bail!("{name} is empty");
            }
        }
        self.reference.check()?;
        // libtest-mimic panics on a log file it cannot create: find out first.
        if let Some(path) = &self.test.logfile {
            std::fs::File::create(path)
                .with_context(|| format!("--logfile {path}: cannot create it"))?;
        }
        Ok(())
    }

    /// Where the run's files go, for the endpoint the settings name (None: embedded).
    pub fn paths(&self, endpoint: Option<&str>) -> Result<Paths> {
        let target = match (&self.target, endpoint) {
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

    /// The flags that say where requests go and as whom.
    pub fn flags(&self) -> Flags<'_> {
        Flags {
            endpoint: self.endpoint.as_deref(),
            region: self.region.as_deref(),
            access_key: self.access_key.as_deref(),
            secret_key: self.secret_key.as_deref(),
            session_token: self.session_token.as_deref(),
        }
    }

    pub fn addressing(&self) -> Addressing {
        if self.path_style {
            Addressing::Path
        } else {
            self.addressing
        }
    }

    /// Flags and the AWS chain read: the endpoint (None: the embedded target), the region,
    /// and where the keys will come from.
    pub async fn settings(&self) -> Result<Settings> {
        let chain = Chain::Standard {
            profile: self.profile.as_deref(),
        };
        let settings = aws_chain::resolve(self.flags(), chain).await?;
        // The old dialect flag, unless a credentials profile of that name exists.
        if let (Some("aws" | "oss"), true) = (self.profile.as_deref(), settings.profile_missing()) {
            bail!(OLD_PROFILE_FLAG);
        }
        if let (Some(name), true) = (&self.profile, settings.profile_missing()) {
            bail!(
                "--profile {name}: no such profile in the AWS config or credentials file \
                 (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE; ~/.aws/config, ~/.aws/credentials)"
            );
        }
        if let (Some(name), None) = (&self.profile, &settings.endpoint) {
            bail!(
                "--profile {name}: the profile names no endpoint_url and none is set \
                 (--endpoint, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL); for Amazon S3 give \
                 --endpoint https://s3.<region>.amazonaws.com"
            );
        }
        Ok(settings)
    }

    /// The endpoint the settings name, with its keys (None: the embedded target).
    pub async fn external_endpoint(&self, settings: &Settings) -> Result<Option<Endpoint>> {
        let Some(url) = &settings.endpoint else {
            return Ok(None);
        };
        endpoint("target", url, settings, self.dialect, self.addressing())
            .await
            .map(Some)
    }
}

/// An endpoint of these settings: its URL checked, its keys asked of the chain. Says on
/// stderr where endpoint, region and keys came from (never a secret).
pub async fn endpoint(
    role: &str,
    url: &str,
    settings: &Settings,
    dialect: Dialect,
    addressing: Addressing,
) -> Result<Endpoint> {
    let parsed = parse_url(url)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        bail!("endpoint {url:?} must be http:// or https://");
    }
    let (keys, from) = settings.keys().await?;
    eprintln!(
        "{role} {url}: {}; keys from {from}",
        settings.origins.join("; ")
    );
    Ok(Endpoint {
        url: url.trim_end_matches('/').to_string(),
        region: settings.region.clone(),
        access_key: keys.access_key,
        secret_key: keys.secret_key,
        session_token: keys.session_token,
        dialect,
        addressing,
    })
}

fn parse_url(url: &str) -> Result<reqwest::Url> {
    reqwest::Url::parse(url).with_context(|| format!("endpoint {url:?} is not a URL"))
}

/// The exit of a command line clap refused: its message, and 2 (0 for --help, --version).
pub fn usage_exit(e: clap::Error) -> std::process::ExitCode {
    let _ = e.print();
    if e.use_stderr() {
        std::process::ExitCode::from(2)
    } else {
        std::process::ExitCode::SUCCESS
    }
}
