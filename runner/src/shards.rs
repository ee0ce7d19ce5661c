//! The cases as a cargo-nextest test target (`runner/tests/conformance.rs`), so that
//! `cargo nextest run --partition hash:k/n` spreads one target's cases over several jobs,
//! and the merge of what the shards recorded into one report.
//!
//! nextest runs each test in its own process: each process reaches the target, runs its
//! one case through the same trials as the `conformance` binary (`run::run_with`), and
//! appends its results, in results.json form, as one line of
//! `<results dir>/<target>/shards/<shard>.jsonl`. `conformance merge <target>` (or
//! `cargo xtask report merge <target>`) joins those lines into results.json, summary.md
//! and junit.xml, as an unsharded run writes them.

use crate::cli::{Cli, Paths};
use anyhow::{bail, Context, Result};
use clap::Parser;
use contract::baseline::Baseline;
use contract::results::{CaseResult, Results, RunInfo};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `http(s)://…`, or `embedded`: each test process starts the embedded s3s-fs server.
pub const ENDPOINT: &str = "CONFORMANCE_ENDPOINT";
/// The target's name (as `--target`).
pub const TARGET: &str = "CONFORMANCE_TARGET";
/// Where `<target>/shards/` and the baseline are (as `--reports-dir`).
pub const RESULTS_DIR: &str = "CONFORMANCE_RESULTS_DIR";
/// The shard's file name (default: nextest's run id).
pub const SHARD: &str = "CONFORMANCE_SHARD";
/// Variables that become runner flags, beside the AWS_* credentials the runner reads.
const FLAGS: [(&str, &str); 5] = [
    (TARGET, "--target"),
    (RESULTS_DIR, "--reports-dir"),
    ("CONFORMANCE_BASELINE", "--baseline"),
    ("CONFORMANCE_REGION", "--region"),
    ("CONFORMANCE_DIALECT", "--dialect"),
];

/// The nextest target's `main`: the cases of the endpoint the environment names, as
/// trials; none at all when it names none. `default_results` is used without
/// CONFORMANCE_RESULTS_DIR.
pub fn nextest_main(default_results: &Path) -> ExitCode {
    match nextest_run(default_results) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn nextest_run(default_results: &Path) -> Result<ExitCode> {
    let libtest_args: Vec<String> = std::env::args().skip(1).collect();
    let Some(endpoint) = std::env::var(ENDPOINT).ok().filter(|e| !e.is_empty()) else {
        // Not configured: no cases rather than cases against nothing. `cargo nextest run
        // --workspace` lists this target too, and must not run the suite by surprise.
        eprintln!(
            "conformance: {ENDPOINT} is not set, so there are no cases to list or run \
             (set it to an http(s):// URL, or to `embedded`)"
        );
        let args = libtest_mimic::Arguments::from_iter(
            std::iter::once("conformance".to_string()).chain(libtest_args),
        );
        return Ok(libtest_mimic::run(&args, Vec::new()).exit_code());
    };
    let mut args = vec!["conformance".to_string()];
    if endpoint != "embedded" {
        args.extend(["--endpoint".to_string(), endpoint]);
    }
    let mut results_dir_given = false;
    for (var, flag) in FLAGS {
        if let Some(value) = std::env::var(var).ok().filter(|v| !v.is_empty()) {
            results_dir_given |= var == RESULTS_DIR;
            args.extend([flag.to_string(), value]);
        }
    }
    if !results_dir_given {
        args.push("--reports-dir".into());
        args.push(default_results.display().to_string());
    }
    args.extend(libtest_args);
    let cli = Cli::try_parse_from(&args).context("the CONFORMANCE_* variables")?;
    let shard = std::env::var(SHARD)
        .or_else(|_| std::env::var("NEXTEST_RUN_ID"))
        .unwrap_or_else(|_| "local".into());
    if shard.is_empty()
        || !shard
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || shard.starts_with('.')
    {
        bail!("{SHARD}={shard:?}: use letters, digits, '-', '_' and '.'");
    }
    let file = cli
        .paths(cli.endpoint.as_deref())?
        .report_dir
        .join("shards")
        .join(format!("{shard}.jsonl"));
    crate::run::run_with(cli, Some(&file))
}

/// Appends one process's results to its shard's file. Test processes of a shard run side
/// by side: each writes its line under an exclusive lock.
pub fn append(file: &Path, results: &Results) -> Result<()> {
    if results.cases.is_empty() {
        return Ok(());
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut line = serde_json::to_string(results)?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .with_context(|| format!("cannot open {}", file.display()))?;
    f.lock()
        .with_context(|| format!("cannot lock {}", file.display()))?;
    f.write_all(line.as_bytes())
        .with_context(|| format!("cannot write {}", file.display()))?;
    Ok(())
}

/// `conformance merge`: shard results into one report.
#[derive(Parser)]
#[command(
    name = "conformance merge",
    about = "Merge the shard results of a sharded (nextest) run into results.json, summary.md and junit.xml"
)]
pub struct MergeArgs {
    /// The target whose shards to merge.
    pub target: String,
    /// Shard files (default: every <reports-dir>/<target>/shards/*.jsonl).
    pub files: Vec<PathBuf>,
    /// Where reports go (default: reports/ in the current folder).
    #[arg(long, default_value = "reports")]
    pub reports_dir: PathBuf,
    /// The baseline to compare with (default: baseline.toml beside the reports).
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Merge even when some cases have no result in the shards (a narrowed run).
    #[arg(long)]
    pub allow_missing: bool,
}

/// `conformance merge …`'s `main` (`args` without the program name and `merge`).
pub fn merge_main(args: impl IntoIterator<Item = String>) -> ExitCode {
    let args =
        match MergeArgs::try_parse_from(std::iter::once("conformance merge".into()).chain(args)) {
            Ok(args) => args,
            Err(e) => return crate::cli::usage_exit(e),
        };
    match merge(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

pub fn merge(args: &MergeArgs) -> Result<()> {
    let target = &args.target;
    contract::names::check_target_name(target).map_err(|e| anyhow::anyhow!("target {e}"))?;
    let report_dir = args.reports_dir.join(target);
    let files = if args.files.is_empty() {
        shard_files(&report_dir.join("shards"))?
    } else {
        args.files.clone()
    };
    let mut parts = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let part: Results = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a shard record", file.display(), n + 1))?;
            if &part.target != target {
                bail!(
                    "{}:{}: results of target {}, not {target}",
                    file.display(),
                    n + 1,
                    part.target
                );
            }
            parts.push(part);
        }
    }
    let Some(first) = parts.first() else {
        bail!("no shard results for {target} in {}", describe(&files));
    };
    let profile = first.profile;
    if let Some(other) = parts.iter().find(|p| p.profile != profile) {
        bail!(
            "the shards judged by different dialects ({} and {})",
            profile.name(),
            other.profile.name()
        );
    }
    let capability_sets: BTreeSet<&Vec<String>> = parts.iter().map(|p| &p.capabilities).collect();
    if capability_sets.len() > 1 {
        eprintln!("warning: the shards' probes found different capabilities; the report lists all of them");
    }
    let capabilities: BTreeSet<String> = parts
        .iter()
        .flat_map(|p| p.capabilities.iter().cloned())
        .collect();
    let run_info = run_info(&parts, &files);
    // A case recorded twice (a retried test, a shard run again): the later line counts.
    let mut cases: BTreeMap<String, CaseResult> = BTreeMap::new();
    let mut repeated = 0;
    for case in parts.into_iter().flat_map(|p| p.cases) {
        repeated += usize::from(cases.insert(case.id.clone(), case).is_some());
    }
    if repeated > 0 {
        eprintln!("warning: {repeated} cases were recorded more than once; the last record of each is kept");
    }
    let missing: Vec<String> = crate::run::load_cases()?
        .into_iter()
        .filter(|c| c.opt_in.is_none() && !cases.contains_key(&c.id))
        .map(|c| c.id)
        .collect();
    if !missing.is_empty() {
        let first = missing
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if !args.allow_missing {
            bail!(
                "{} cases have no result in {} (e.g. {first}): a shard is missing or did not finish \
                 (give --allow-missing to merge a narrowed run)",
                missing.len(),
                describe(&files)
            );
        }
        eprintln!("{} cases have no result (e.g. {first})", missing.len());
    }
    let results = Results::new(
        target,
        profile,
        capabilities.into_iter().collect(),
        cases.into_values().collect(),
        run_info,
    );
    let (baseline, baseline_label) = match &args.baseline {
        Some(path) => (path.clone(), path.display().to_string()),
        None => (
            report_dir.join("baseline.toml"),
            format!("reports/{target}/baseline.toml"),
        ),
    };
    let paths = Paths {
        target: target.clone(),
        report_dir,
        baseline: baseline.clone(),
        baseline_label,
    };
    crate::reports::write(&paths, &results, &Baseline::load(&baseline)?)?;
    eprintln!(
        "merged {} cases from {}",
        results.cases.len(),
        describe(&files)
    );
    Ok(())
}

fn shard_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("no shard results: cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    Ok(files)
}

fn describe(files: &[PathBuf]) -> String {
    match files {
        [] => "no files".into(),
        [one] => one.display().to_string(),
        [first, ..] => format!(
            "{} shard files under {}",
            files.len(),
            first.parent().unwrap_or(first).display()
        ),
    }
}

/// The merged run: shard names as its id, the earliest start, the test processes' time
/// added up.
fn run_info(parts: &[Results], files: &[PathBuf]) -> RunInfo {
    let first = &parts[0].run_info;
    let started_at = parts
        .iter()
        .filter_map(|p| {
            httpdate::parse_http_date(&p.run_info.started_at)
                .ok()
                .map(|t| (t, &p.run_info.started_at))
        })
        .min()
        .map(|(_, s)| s.clone())
        .unwrap_or_else(|| first.started_at.clone());
    let shards: Vec<String> = files
        .iter()
        .filter_map(|f| f.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    RunInfo {
        run_id: format!("shards:{}", shards.join(",")),
        started_at,
        duration_ms: parts.iter().map(|p| p.run_info.duration_ms).sum(),
        endpoint: first.endpoint.clone(),
        harness_version: first.harness_version.clone(),
        interrupted: parts.iter().any(|p| p.run_info.interrupted),
        insecure: parts.iter().any(|p| p.run_info.insecure),
    }
}
