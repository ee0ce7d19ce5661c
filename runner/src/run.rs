//! One run: start (or reach) the target, probe it, run each case as a libtest-mimic trial
//! named `<target>::<case id>`, compare every verdict with the baseline, write the
//! reports. Exit 0: as the baseline says; 1: a regression or an unexpected pass; 2: usage
//! or setup error; 130: interrupted.

use crate::aws_chain::Settings;
use crate::cli::Cli;
use crate::client::{Addressing, Client, Endpoint};
use crate::differential::Collected;
use crate::embedded::EmbeddedServer;
use crate::executor::{self, RunContext};
use crate::terminal::Progress;
use anyhow::{Context, Result};
use contract::baseline::{self, Baseline, Comparison};
use contract::names::trial_name;
use contract::results::{CaseResult, Results, RunInfo, NOT_RUN_ON_TARGET};
use contract::{Case, Verdict};
use libtest_mimic::{Completion, Failed, Trial};
use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

/// Cases in a row that found the target unreachable before the rest are not run.
const UNREACHABLE_LIMIT: usize = 3;

pub fn load_cases() -> Result<Vec<Case>> {
    serde_json::from_str(generated::CASES_JSON)
        .context("generated/cases.json does not match the case format: run `cargo xtask codegen`")
}

/// What every trial shares while the run goes on.
struct Shared {
    ctx: Arc<RunContext>,
    /// `--reference`: each case runs there too, and the two outcomes are compared.
    reference: Option<Arc<RunContext>>,
    differences: Mutex<Collected>,
    baseline: Baseline,
    baseline_label: String,
    /// Opt-in cases run (`--ignored` or `--include-ignored`).
    opted_in: bool,
    handle: tokio::runtime::Handle,
    progress: Progress,
    collected: Mutex<Vec<CaseResult>>,
    unreachable_streak: AtomicUsize,
    interrupted: AtomicBool,
    /// `--trace`: where each case's exchanges go.
    trace_dir: Option<std::path::PathBuf>,
}

impl Shared {
    fn record(&self, result: CaseResult) {
        self.collected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(result);
    }

    fn take_results(&self) -> Vec<CaseResult> {
        std::mem::take(&mut *self.collected.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The target of a run: an endpoint, and the embedded server when the run started one.
struct Target {
    endpoint: Endpoint,
    embedded: Option<EmbeddedServer>,
}

impl Target {
    async fn start(cli: &Cli, settings: &Settings) -> Result<Target> {
        if let Some(endpoint) = cli.external_endpoint(settings).await? {
            return Ok(Target {
                endpoint,
                embedded: None,
            });
        }
        let server = EmbeddedServer::start().await?;
        Ok(Target {
            endpoint: Endpoint {
                url: server.url(),
                region: settings.region.clone(),
                access_key: server.access_key.clone(),
                secret_key: server.secret_key.clone(),
                session_token: None,
                addressing: Addressing::Path,
                dialect: cli.dialect,
            },
            embedded: Some(server),
        })
    }

    async fn stop(self) {
        if let Some(server) = self.embedded {
            server.stop().await;
        }
    }
}

/// Cases at once against an external endpoint, unless --test-threads says otherwise. A case
/// mostly waits for the server (SeaweedFS answers at a third of one core, and 175 cases took
/// 29.5 s two at a time, 8.9 s eight at a time, with the same verdicts); the embedded server
/// shares this process's cores, so it keeps libtest's one per core.
const EXTERNAL_TEST_THREADS: usize = 8;

pub fn run(cli: Cli) -> Result<ExitCode> {
    run_with(cli, None)
}

/// A run whose results are appended to `shard_file` (one line of results.json form)
/// instead of written as reports: the nextest target's, see `crate::shards`.
pub fn run_with(mut cli: Cli, shard_file: Option<&std::path::Path>) -> Result<ExitCode> {
    cli.check()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let settings = runtime.block_on(cli.settings())?;
    let paths = cli.paths(settings.endpoint.as_deref())?;
    if settings.endpoint.is_some()
        && cli.test.test_threads.is_none()
        && std::env::var_os("RUST_TEST_THREADS").is_none()
    {
        cli.test.test_threads = Some(EXTERNAL_TEST_THREADS);
    }
    let cases = load_cases()?;
    // The oracle judges by the expectations alone.
    let baseline = if cli.reference.oracle {
        Baseline::default()
    } else {
        Baseline::load(&paths.baseline)?
    };
    if cli.test.list {
        list(&cli, &paths.target, &cases);
        return Ok(ExitCode::SUCCESS);
    }
    let started = (Instant::now(), httpdate::fmt_http_date(SystemTime::now()));
    let reference_settings = runtime.block_on(cli.reference.settings(&cli, &settings))?;
    let target = runtime.block_on(Target::start(&cli, &settings))?;
    let run_id = crate::embedded::run_id();
    let reached = runtime.block_on(async {
        let target = reach(&cli, &target.endpoint, &run_id).await?;
        let reference = match &reference_settings {
            Some(s) => Some(reach_reference(&cli, s).await?),
            None => None,
        };
        anyhow::Ok((target, reference))
    });
    let ((client, capabilities), reference) = match reached {
        Ok(reached) => reached,
        Err(e) => {
            runtime.block_on(target.stop());
            return Err(e);
        }
    };
    if cli.probe {
        runtime.block_on(target.stop());
        println!(
            "{} accepts writes; capabilities: {}",
            client.endpoint().url,
            join(&capabilities)
        );
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "target {} at {} (capabilities: {})",
        paths.target,
        client.endpoint().url,
        if capabilities.is_empty() {
            "none probed".to_string()
        } else {
            join(&capabilities)
        }
    );
    // On a terminal a bar replaces libtest's line per case, which goes to a log instead.
    let draw_bar = crate::terminal::interactive(&cli.test);
    if draw_bar {
        let log = std::env::temp_dir().join(format!("conformance-{}.log", paths.target));
        eprintln!("a line per case: {}", log.display());
        cli.test.logfile = Some(log.to_string_lossy().into_owned());
    }
    let shared = Arc::new(Shared {
        ctx: Arc::new(RunContext {
            region: client.endpoint().region.clone(),
            client,
            run_id,
            profile: cli.dialect,
            capabilities,
            case_timeout: cli.case_timeout(),
        }),
        reference,
        differences: Mutex::default(),
        baseline,
        baseline_label: paths.baseline_label.clone(),
        opted_in: cli.test.ignored || cli.test.include_ignored,
        handle: runtime.handle().clone(),
        progress: Progress::new(to_run(&cli, &paths.target, &cases), draw_bar),
        collected: Mutex::default(),
        unreachable_streak: AtomicUsize::new(0),
        interrupted: AtomicBool::new(false),
        trace_dir: cli.trace.then(|| paths.report_dir.join("trace")),
    });
    handle_ctrl_c(&runtime, &shared);
    let trials = cases
        .into_iter()
        .enumerate()
        .map(|(index, case)| trial(&shared, &paths.target, case, index))
        .collect();
    let conclusion = libtest_mimic::run(&cli.test, trials);
    shared.progress.finish();
    runtime.block_on(target.stop());
    finish(
        &cli,
        &paths,
        &shared,
        started,
        conclusion.has_failed(),
        shard_file,
    )
}

/// The client of the target, once a probe found it accepts writes, and what it supports.
async fn reach(cli: &Cli, endpoint: &Endpoint, run_id: &str) -> Result<(Client, BTreeSet<String>)> {
    let client = Client::new(endpoint.clone(), cli.request_timeout(), cli.insecure)?;
    let capabilities = crate::probe::probe(&client, &endpoint.region, run_id)
        .await
        .with_context(|| format!("the target at {} is not usable", endpoint.url))?;
    Ok((client, capabilities))
}

/// The reference of a differential run, probed like the target.
async fn reach_reference(cli: &Cli, settings: &Settings) -> Result<Arc<RunContext>> {
    let url = settings
        .endpoint
        .as_deref()
        .context("the reference has no URL")?;
    let endpoint =
        crate::cli::endpoint("reference", url, settings, cli.dialect, cli.addressing()).await?;
    let run_id = crate::embedded::run_id();
    let (client, capabilities) = reach(cli, &endpoint, &run_id)
        .await
        .context("--reference")?;
    eprintln!("reference at {url} (capabilities: {})", join(&capabilities));
    Ok(Arc::new(RunContext {
        region: endpoint.region.clone(),
        client,
        run_id,
        profile: cli.dialect,
        capabilities,
        case_timeout: cli.case_timeout(),
    }))
}

/// The record of the run: results.json and the rest unless the run was narrowed, the
/// summary on the terminal, the exit code.
fn finish(
    cli: &Cli,
    paths: &crate::cli::Paths,
    shared: &Shared,
    (started, started_at): (Instant, String),
    failed: bool,
    shard_file: Option<&std::path::Path>,
) -> Result<ExitCode> {
    let interrupted = shared.interrupted.load(Ordering::SeqCst);
    let ctx = &shared.ctx;
    let mut results = Results::new(
        &paths.target,
        cli.dialect,
        ctx.capabilities.iter().cloned().collect(),
        shared.take_results(),
        RunInfo {
            run_id: ctx.run_id.clone(),
            started_at,
            duration_ms: started.elapsed().as_millis(),
            endpoint: ctx.client.endpoint().url.clone(),
            harness_version: env!("CARGO_PKG_VERSION").into(),
            interrupted,
            insecure: cli.insecure,
        },
    );
    if let Some(reference) = &shared.reference {
        let collected =
            std::mem::take(&mut *shared.differences.lock().unwrap_or_else(|p| p.into_inner()));
        results.differences = Some(collected.finish(&reference.client.endpoint().url));
    }
    let differ = results
        .differences
        .as_ref()
        .is_some_and(|d| !d.cases.is_empty());
    if cli.reference.oracle {
        let contradicted = crate::differential::write_oracle(paths, &results)?;
        shared.progress.print_summary(&results);
        return Ok(if interrupted {
            ExitCode::from(130)
        } else if contradicted > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    if let Some(file) = shard_file {
        crate::shards::append(file, &results)?;
    } else if cli.narrowed() && cli.reports_dir.is_none() {
        eprintln!("a filtered run: reports/ left as it was (give --reports-dir to write this run's reports)");
    } else {
        crate::reports::write(paths, &results, &shared.baseline)?;
        crate::reproduce::write_scripts(&paths.report_dir, &load_cases()?, &results)?;
    }
    shared.progress.print_summary(&results);
    Ok(if interrupted {
        eprintln!("the run was interrupted: the report covers the cases that ran");
        ExitCode::from(130)
    } else if failed || differ {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn join(words: &BTreeSet<String>) -> String {
    words.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// `--list`: the trial names, nothing run. Opt-in cases are listed as ignored, so that
/// nextest leaves them out unless asked (`--run-ignored`).
fn list(cli: &Cli, target: &str, cases: &[Case]) {
    let trials = cases
        .iter()
        .map(|c| {
            Trial::test(trial_name(target, &c.id), || Ok(())).with_ignored_flag(c.opt_in.is_some())
        })
        .collect();
    let _ = libtest_mimic::run(&cli.test, trials);
}

/// How many cases libtest's filter, `--exact`, `--skip` and `--ignored` leave.
fn to_run(cli: &Cli, target: &str, cases: &[Case]) -> usize {
    let args = &cli.test;
    let matches = |name: &str, pattern: &str| {
        if args.exact {
            name == pattern
        } else {
            name.contains(pattern)
        }
    };
    let selected = |name: &str| {
        args.filter.as_deref().is_none_or(|f| matches(name, f))
            && !args.skip.iter().any(|s| matches(name, s))
    };
    let opted_in = args.ignored || args.include_ignored;
    cases
        .iter()
        .filter(|c| match (&c.opt_in, args.ignored) {
            (Some(_), _) => opted_in,
            (None, only_opt_in) => !only_opt_in,
        })
        .filter(|c| selected(&trial_name(target, &c.id)))
        .count()
}

/// Ctrl-C: no new case starts; cases under way finish with their cleanup; the report is
/// written and marked interrupted. A second Ctrl-C stops at once.
fn handle_ctrl_c(runtime: &tokio::runtime::Runtime, shared: &Arc<Shared>) {
    let shared = shared.clone();
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            shared.interrupted.store(true, Ordering::SeqCst);
            eprintln!("\ninterrupted: finishing the cases under way and their cleanup (Ctrl-C again to stop now)");
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
}

/// The trial of one case. Opt-in cases are libtest's ignored ones: `--include-ignored`
/// (or `--ignored`) runs them, otherwise they are listed with the reason and left out of
/// the reports.
fn trial(shared: &Arc<Shared>, target: &str, case: Case, index: usize) -> Trial {
    let kind = case.features.first().cloned().unwrap_or_default();
    let ignored = shared.opted_in && case.opt_in.is_some();
    let shared = shared.clone();
    Trial::ignorable_test(trial_name(target, &case.id), move || {
        judge(&shared, &case, index)
    })
    .with_kind(kind)
    .with_ignored_flag(ignored)
}

/// Runs a case unless it must not run, records its result, and tells libtest how it
/// compares with the baseline.
fn judge(shared: &Shared, case: &Case, index: usize) -> Result<Completion, Failed> {
    if let Some(completion) = not_run(shared, case) {
        return completion;
    }
    let result = execute(shared, case, index)?;
    if let Some(reference) = &shared.reference {
        let theirs = run_on(shared, reference, case, index)?.result;
        shared
            .differences
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add(&result, &theirs);
    }
    let comparison = baseline::compare(&shared.baseline, &result, &shared.baseline_label);
    let verdict = result.verdict;
    let summary = result.details.first().cloned().unwrap_or_default();
    shared.record(result);
    match &comparison {
        Comparison::AsExpected => shared.progress.case_done(false, None),
        Comparison::Known(_) => shared.progress.case_done(true, None),
        Comparison::Regression(m) | Comparison::UnexpectedPass(m) => {
            shared.progress.case_done(false, Some(m))
        }
    }
    match comparison {
        Comparison::AsExpected if verdict == Verdict::Skipped => {
            Ok(Completion::ignored_with(format!("skipped: {summary}")))
        }
        Comparison::AsExpected => Ok(Completion::Completed),
        Comparison::Known(reason) => Ok(Completion::ignored_with(format!(
            "known {verdict}: {reason}"
        ))),
        Comparison::Regression(m) | Comparison::UnexpectedPass(m) => Err(Failed::from(m)),
    }
}

/// Why a case is not run, if it is not: opt-in, skipped by the baseline (it brings the
/// target down), the run was interrupted, or the target stopped answering.
fn not_run(shared: &Shared, case: &Case) -> Option<Result<Completion, Failed>> {
    let profile = shared.ctx.profile;
    if let (Some(feature), false) = (&case.opt_in, shared.opted_in) {
        return Some(Ok(Completion::ignored_with(format!(
            "opt-in feature {feature}: run with --include-ignored"
        ))));
    }
    if let Some(reason) = shared.baseline.skip_reason(&case.id) {
        let reason = format!("{NOT_RUN_ON_TARGET}{reason}");
        shared.record(executor::not_run(case, profile, Verdict::Skipped, &reason));
        shared.progress.case_done(true, None);
        return Some(Ok(Completion::ignored_with(reason)));
    }
    if shared.interrupted.load(Ordering::SeqCst) {
        let reason = "the run was interrupted before this case started";
        shared.record(executor::not_run(case, profile, Verdict::Skipped, reason));
        shared.progress.case_done(false, None);
        return Some(Ok(Completion::ignored_with(reason)));
    }
    // After several cases in a row found no one answering, the target is down: say so
    // once per case instead of waiting out every timeout.
    if shared.unreachable_streak.load(Ordering::SeqCst) >= UNREACHABLE_LIMIT {
        let reason = format!(
            "target unavailable: {UNREACHABLE_LIMIT} cases in a row got no answer; this case was not run"
        );
        shared.record(executor::not_run(
            case,
            profile,
            Verdict::HarnessError,
            &reason,
        ));
        shared
            .progress
            .case_done(false, Some(&format!("{}: {reason}", case.id)));
        return Some(Err(Failed::from(reason)));
    }
    None
}

/// Runs the case as a task on the runtime's own threads, which also poll the sockets:
/// this thread sleeps until the case is over instead of being woken for every read and
/// write. Keeps count of cases in a row that found the target unreachable.
fn execute(shared: &Shared, case: &Case, index: usize) -> Result<CaseResult, Failed> {
    let outcome = run_on(shared, &shared.ctx, case, index)?;
    if outcome.target_unreachable {
        shared.unreachable_streak.fetch_add(1, Ordering::SeqCst);
    } else {
        shared.unreachable_streak.store(0, Ordering::SeqCst);
    }
    Ok(outcome.result)
}

/// Runs the case against the endpoint of `ctx` (the target, or the reference).
fn run_on(
    shared: &Shared,
    ctx: &Arc<RunContext>,
    case: &Case,
    index: usize,
) -> Result<executor::Outcome, Failed> {
    let task = {
        // The task outlives this borrow: it gets its own copies.
        let ctx = ctx.clone();
        let case = case.clone();
        let trace_dir = shared.trace_dir.clone();
        shared.handle.spawn(async move {
            let Some(dir) = trace_dir else {
                return executor::run_case(&ctx, &case, index).await;
            };
            let trace = crate::trace::Trace::default();
            let outcome = trace.scope(executor::run_case(&ctx, &case, index)).await;
            if let Err(e) = trace.write(&dir, &case.id) {
                eprintln!("{}: the trace was not written: {e:#}", case.id);
            }
            outcome
        })
    };
    let outcome = match shared.handle.block_on(task) {
        Ok(outcome) => outcome,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only a runtime shutting down cancels a task.
        Err(e) => return Err(Failed::from(format!("the case was cancelled: {e}"))),
    };
    Ok(outcome)
}
