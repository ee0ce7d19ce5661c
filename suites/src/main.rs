//! The runner: `cargo xtask run [OPTIONS] [FILTER]`.
//!
//! Starts the target (the embedded s3s-fs server unless `--endpoint` is given), probes
//! what it supports, runs each case as a libtest-mimic trial named `<target>::<case id>`,
//! writes `reports/<target>/results.json` and `summary.md`, and compares the run with
//! `reports/<target>/baseline.toml`. Exit 0: as the baseline says; 1: a regression or an
//! unexpected pass; 2: usage or setup error.

mod client;
mod content;
mod embedded;
mod executor;
mod fixtures;
mod junit;
mod oss;
mod probe;
mod reproduce;
mod results;
mod terminal;
mod verdict;

use anyhow::{bail, Context, Result};
use clap::Parser;
use client::{Addressing, Client, Endpoint};
use contract::baseline::{self, Baseline, Comparison};
use contract::results::{CaseResult, Results, RunInfo};
use contract::Case;
use contract::Dialect;
use executor::RunContext;
use libtest_mimic::{Completion, Failed, Trial};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(
    name = "cargo xtask run",
    about = "Run the multipart-copy conformance cases against an S3 endpoint",
    after_help = "Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN \
                  (or the flags). Without --endpoint an embedded s3s-fs server is started on 127.0.0.1."
)]
struct Cli {
    /// The S3 endpoint, e.g. http://127.0.0.1:9000. Without it: the embedded s3s-fs server.
    #[arg(long)]
    endpoint: Option<String>,
    /// Name of the target in trial names and under reports/ (default: `embedded`, or host-port).
    #[arg(long)]
    target: Option<String>,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    access_key: Option<String>,
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    #[arg(long, env = "AWS_SESSION_TOKEN", hide_env_values = true)]
    session_token: Option<String>,
    /// Bucket in the path (the default), or in the host name.
    #[arg(long, value_enum, default_value = "path")]
    addressing: Addressing,
    /// Same as `--addressing path`.
    #[arg(long, conflicts_with = "addressing")]
    path_style: bool,
    /// Accept any TLS certificate (self-signed test servers). Certificates are verified
    /// otherwise; the report says when they were not.
    #[arg(long)]
    insecure: bool,
    /// The expectations to judge by: aws or oss.
    #[arg(long, default_value = "aws")]
    profile: Dialect,
    /// Where reports go (default: reports/ of the workspace). Runs narrowed by a filter
    /// or --skip write reports only when this is given.
    #[arg(long)]
    reports_dir: Option<PathBuf>,
    /// The baseline to compare with (default: baseline.toml beside the reports).
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Seconds one request may take.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    request_timeout: u64,
    /// Seconds one case (setup, step, checks) may take; cleanup gets as long again.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=7200))]
    case_timeout: u64,
    /// Only check that the endpoint accepts writes (create a bucket, put an object, remove
    /// both), print what it supports, and exit: 0 usable, 2 not.
    #[arg(long)]
    probe: bool,
    #[command(flatten)]
    test: libtest_mimic::Arguments,
}

/// Cases in a row that found the target unreachable before the rest are not run.
const UNREACHABLE_LIMIT: usize = 3;

/// What the trials share while the run goes on.
#[derive(Default)]
struct RunState {
    collected: Mutex<Vec<CaseResult>>,
    unreachable_streak: AtomicUsize,
    interrupted: AtomicBool,
}

impl RunState {
    fn record(&self, result: CaseResult) {
        self.collected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(result);
    }
}

fn workspace_reports() -> PathBuf {
    let suites = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    suites.parent().unwrap_or(suites).join("reports")
}

/// Whether libtest's filter, `--exact` and `--skip` leave the trial of this name in.
fn selected(args: &libtest_mimic::Arguments, name: &str) -> bool {
    let matches = |pattern: &str| {
        if args.exact {
            name == pattern
        } else {
            name.contains(pattern)
        }
    };
    args.filter.as_deref().is_none_or(matches) && !args.skip.iter().any(|s| matches(s))
}

/// Cases of an opt-in feature (`large`: sources of 1 GiB and more) run only with libtest's
/// `--include-ignored` (or `--ignored`, which runs only them); otherwise they are listed as
/// ignored, with that reason, and left out of the reports.
fn opt_in(case: &Case) -> Option<&str> {
    case.opt_in.as_deref()
}

fn load_cases() -> Result<Vec<Case>> {
    serde_json::from_str(generated::CASES_JSON)
        .context("generated/cases.json does not match the case format: run `cargo xtask codegen`")
}

fn target_name(cli: &Cli) -> Result<String> {
    let name = match (&cli.target, &cli.endpoint) {
        (Some(t), _) => t.clone(),
        (None, None) => "embedded".into(),
        (None, Some(url)) => {
            let url = reqwest::Url::parse(url)
                .with_context(|| format!("--endpoint {url:?} is not a URL"))?;
            format!(
                "{}-{}",
                url.host_str().unwrap_or("endpoint"),
                url.port_or_known_default().unwrap_or(0)
            )
        }
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || name.starts_with('.')
    {
        bail!("--target {name:?}: use letters, digits, '-', '_' and '.' only");
    }
    Ok(name)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(mut cli: Cli) -> Result<ExitCode> {
    let target = target_name(&cli)?;
    for (name, value) in [
        ("--region", Some(&cli.region)),
        ("AWS_ACCESS_KEY_ID (--access-key)", cli.access_key.as_ref()),
        (
            "AWS_SECRET_ACCESS_KEY (--secret-key)",
            cli.secret_key.as_ref(),
        ),
    ] {
        if value.is_some_and(|v| v.trim().is_empty()) {
            bail!("{name} is empty");
        }
    }
    // libtest-mimic panics on a log file it cannot create: find out first.
    if let Some(path) = &cli.test.logfile {
        std::fs::File::create(path)
            .with_context(|| format!("--logfile {path}: cannot create it"))?;
    }
    let reports_root = cli.reports_dir.clone().unwrap_or_else(workspace_reports);
    let report_dir = reports_root.join(&target);
    let baseline_path = cli
        .baseline
        .clone()
        .unwrap_or_else(|| report_dir.join("baseline.toml"));

    let cases = load_cases()?;
    let baseline = Arc::new(Baseline::load(&baseline_path)?);
    if cli.test.list {
        let trials = cases
            .iter()
            .map(|c| Trial::test(format!("{target}::{}", c.id), || Ok(())))
            .collect();
        let _ = libtest_mimic::run(&cli.test, trials);
        return Ok(ExitCode::SUCCESS);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let started = Instant::now();
    let started_at = httpdate::fmt_http_date(std::time::SystemTime::now());

    let dialect = cli.profile;
    let (endpoint, server) = match &cli.endpoint {
        None => {
            let server = runtime.block_on(embedded::EmbeddedServer::start())?;
            let endpoint = Endpoint {
                url: server.url(),
                region: cli.region.clone(),
                access_key: server.access_key.clone(),
                secret_key: server.secret_key.clone(),
                session_token: None,
                addressing: Addressing::Path,
                dialect,
            };
            (endpoint, Some(server))
        }
        Some(url) => {
            let parsed = reqwest::Url::parse(url)
                .with_context(|| format!("--endpoint {url:?} is not a URL"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                bail!("--endpoint {url:?} must be http:// or https://");
            }
            let access_key = cli
                .access_key
                .clone()
                .context("no access key: set AWS_ACCESS_KEY_ID (or --access-key) for --endpoint")?;
            let secret_key = cli.secret_key.clone().context(
                "no secret key: set AWS_SECRET_ACCESS_KEY (or --secret-key) for --endpoint",
            )?;
            let endpoint = Endpoint {
                url: url.trim_end_matches('/').to_string(),
                region: cli.region.clone(),
                access_key,
                secret_key,
                session_token: cli.session_token.clone(),
                dialect,
                addressing: if cli.path_style {
                    Addressing::Path
                } else {
                    cli.addressing
                },
            };
            (endpoint, None)
        }
    };
    let client = Client::new(
        endpoint.clone(),
        Duration::from_secs(cli.request_timeout),
        cli.insecure,
    )?;
    let run_id = embedded::run_id();

    let capabilities = match runtime.block_on(probe::probe(&client, &cli.region, &run_id)) {
        Ok(c) => c,
        Err(e) => {
            if let Some(server) = server {
                runtime.block_on(server.stop());
            }
            return Err(e.context(format!("the target at {} is not usable", endpoint.url)));
        }
    };
    if cli.probe {
        if let Some(server) = server {
            runtime.block_on(server.stop());
        }
        println!(
            "{} accepts writes; capabilities: {}",
            endpoint.url,
            capabilities.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "target {target} at {} (capabilities: {})",
        endpoint.url,
        if capabilities.is_empty() {
            "none probed".to_string()
        } else {
            capabilities.iter().cloned().collect::<Vec<_>>().join(", ")
        }
    );

    let ctx = Arc::new(RunContext {
        client,
        region: cli.region.clone(),
        run_id: run_id.clone(),
        profile: cli.profile,
        capabilities: capabilities.clone(),
        case_timeout: Duration::from_secs(cli.case_timeout),
    });
    let state = Arc::new(RunState::default());
    // Ctrl-C: no new case starts; cases under way finish with their cleanup; the report is
    // written and marked interrupted. A second Ctrl-C stops at once.
    {
        let state = state.clone();
        runtime.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                state.interrupted.store(true, Ordering::SeqCst);
                eprintln!("\ninterrupted: finishing the cases under way and their cleanup (Ctrl-C again to stop now)");
                if tokio::signal::ctrl_c().await.is_ok() {
                    std::process::exit(130);
                }
            }
        });
    }
    // On a terminal a bar replaces libtest's line per case, which goes to a log instead.
    let draw_bar = terminal::interactive(&cli.test);
    if draw_bar {
        let log = std::env::temp_dir().join(format!("conformance-{target}.log"));
        eprintln!("a line per case: {}", log.display());
        cli.test.logfile = Some(log.to_string_lossy().into_owned());
    }
    let opted_in = cli.test.ignored || cli.test.include_ignored;
    let to_run = cases
        .iter()
        .filter(|c| match (opt_in(c), cli.test.ignored) {
            (Some(_), _) => opted_in,
            (None, only_opt_in) => !only_opt_in,
        })
        .filter(|c| selected(&cli.test, &format!("{target}::{}", c.id)))
        .count();
    let progress = Arc::new(terminal::Progress::new(to_run, draw_bar));
    let baseline_label = match &cli.baseline {
        Some(path) => path.display().to_string(),
        None => format!("reports/{target}/baseline.toml"),
    };
    let trials: Vec<Trial> = cases
        .iter()
        .enumerate()
        .map(|(index, case)| {
            let ctx = ctx.clone();
            let case = case.clone();
            let state = state.clone();
            let profile = cli.profile;
            let baseline = baseline.clone();
            let handle = runtime.handle().clone();
            let baseline_label = baseline_label.clone();
            let progress = progress.clone();
            let kind = case.features.first().cloned().unwrap_or_default();
            let opt_in_feature = opt_in(&case).map(str::to_string);
            let ignored_flag = opted_in && opt_in_feature.is_some();
            Trial::ignorable_test(format!("{target}::{}", case.id), move || {
                if let (Some(feature), false) = (&opt_in_feature, opted_in) {
                    return Ok(Completion::ignored_with(format!(
                        "opt-in feature {feature}: run with --include-ignored"
                    )));
                }
                if let Some(reason) = baseline.skip_reason(&case.id) {
                    let reason = format!("{}{reason}", contract::results::NOT_RUN_ON_TARGET);
                    state.record(executor::not_run(&case, profile, contract::Verdict::Skipped, &reason));
                    progress.case_done(true, None);
                    return Ok(Completion::ignored_with(reason));
                }
                if state.interrupted.load(Ordering::SeqCst) {
                    let reason = "the run was interrupted before this case started";
                    state.record(executor::not_run(&case, profile, contract::Verdict::Skipped, reason));
                    progress.case_done(false, None);
                    return Ok(Completion::ignored_with(reason));
                }
                // After several cases in a row found no one answering, the target is down:
                // say so once per case instead of waiting out every timeout.
                if state.unreachable_streak.load(Ordering::SeqCst) >= UNREACHABLE_LIMIT {
                    let reason = format!(
                        "target unavailable: {UNREACHABLE_LIMIT} cases in a row got no answer; this case was not run"
                    );
                    state.record(executor::not_run(&case, profile, contract::Verdict::HarnessError, &reason));
                    progress.case_done(false, Some(&format!("{}: {reason}", case.id)));
                    return Err(Failed::from(reason));
                }
                // The case runs as a task on the runtime's own threads, which also poll the
                // sockets: this thread sleeps until the case is over instead of being woken
                // for every read and write.
                let task = {
                    let (ctx, case) = (ctx.clone(), case.clone());
                    handle.spawn(async move { executor::run_case(&ctx, &case, index).await })
                };
                let outcome = match handle.block_on(task) {
                    Ok(outcome) => outcome,
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    // Only a runtime shutting down cancels a task.
                    Err(e) => return Err(Failed::from(format!("the case was cancelled: {e}"))),
                };
                if outcome.target_unreachable {
                    state.unreachable_streak.fetch_add(1, Ordering::SeqCst);
                } else {
                    state.unreachable_streak.store(0, Ordering::SeqCst);
                }
                let result = outcome.result;
                let comparison = baseline::compare(&baseline, &result, &baseline_label);
                let verdict = result.verdict;
                let summary = result.details.first().cloned().unwrap_or_default();
                state.record(result);
                match &comparison {
                    Comparison::AsExpected => progress.case_done(false, None),
                    Comparison::Known(_) => progress.case_done(true, None),
                    Comparison::Regression(m) | Comparison::UnexpectedPass(m) => {
                        progress.case_done(false, Some(m))
                    }
                }
                match comparison {
                    Comparison::AsExpected if verdict == contract::Verdict::Skipped => {
                        Ok(Completion::ignored_with(format!("skipped: {summary}")))
                    }
                    Comparison::AsExpected => Ok(Completion::Completed),
                    Comparison::Known(reason) => Ok(Completion::ignored_with(format!(
                        "known {verdict}: {reason}"
                    ))),
                    Comparison::Regression(m) | Comparison::UnexpectedPass(m) => {
                        Err(Failed::from(m))
                    }
                }
            })
            .with_kind(kind)
            .with_ignored_flag(ignored_flag)
        })
        .collect();
    let conclusion = libtest_mimic::run(&cli.test, trials);
    progress.finish();

    if let Some(server) = server {
        runtime.block_on(server.stop());
    }
    let case_results =
        std::mem::take(&mut *state.collected.lock().unwrap_or_else(|p| p.into_inner()));
    let interrupted = state.interrupted.load(Ordering::SeqCst);
    let results = Results::new(
        &target,
        cli.profile,
        capabilities.into_iter().collect(),
        case_results,
        RunInfo {
            run_id,
            started_at,
            duration_ms: started.elapsed().as_millis(),
            endpoint: endpoint.url.clone(),
            harness_version: env!("CARGO_PKG_VERSION").into(),
            interrupted,
            insecure: cli.insecure,
        },
    );
    let narrowed = cli.test.filter.is_some() || !cli.test.skip.is_empty();
    if narrowed && cli.reports_dir.is_none() {
        eprintln!("a filtered run: reports/ left as it was (give --reports-dir to write this run's reports)");
    } else {
        let mut json = serde_json::to_string_pretty(&results)?;
        json.push('\n');
        write_file(&report_dir.join("results.json"), json.as_bytes())?;
        let summary = results::render_summary(&results, &baseline)?;
        write_file(&report_dir.join("summary.md"), summary.as_bytes())?;
        let junit = junit::render(&results, &baseline)?;
        write_file(&report_dir.join("junit.xml"), junit.as_bytes())?;
        if let Ok(path) = std::env::var("GITHUB_STEP_SUMMARY") {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
            {
                let _ = f.write_all(summary.as_bytes());
            }
        }
        eprintln!(
            "wrote {}/results.json, summary.md and junit.xml",
            report_dir.display()
        );
    }
    progress.print_summary(&results);
    Ok(if interrupted {
        eprintln!("the run was interrupted: the report covers the cases that ran");
        ExitCode::from(130)
    } else if conclusion.has_failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}
