//! The one front door: `cargo xtask <command>`.

mod bench;
mod clients;
mod endpoint;
mod matrix;
mod repro_check;
mod targets;
mod tools;

// The code generator is a library as well, so that benches/ can call it.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::{Command, ExitCode};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Build, generate and run the multipart-copy conformance suite"
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Work with the Smithy models in models/.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Generate generated/ from models/ and suites/.
    Codegen {
        /// Fail (exit 1) when generated/ is not what codegen would write, instead of writing it.
        #[arg(long)]
        check: bool,
    },
    /// Run the cases (no --endpoint: against an embedded s3s-fs server) and write reports/.
    /// Every argument is passed to the runner; see `cargo xtask run --help`.
    #[command(disable_help_flag = true)]
    Run {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The oracle check: `run --oracle`, the suite against a reference endpoint; the cases
    /// whose expectations it contradicts go to reports/<target>/oracle.md.
    #[command(disable_help_flag = true)]
    Oracle {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Reports of sharded runs.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Baselines of known deviations.
    Baseline {
        #[command(subcommand)]
        command: BaselineCommand,
    },
    /// Install, start, stop and inspect real S3 servers on 127.0.0.1.
    Endpoint {
        #[command(subcommand)]
        command: endpoint::Command,
    },
    /// Run (or read) several targets and write reports/matrix.md and reports/matrix.html.
    Matrix(matrix::Args),
    /// Run real S3 clients (AWS CLI, boto3, JS and Rust SDKs, minio-py, rclone) against
    /// targets; write reports/<target>/clients.json and summary.md's clients section.
    Clients(clients::Args),
    /// Measure codegen, the suite's speed and the harness's own cost; write docs/benchmarks.md.
    Bench(bench::Args),
    /// The project's tests: codegen check, formatting, lints, unit and end-to-end tests.
    Test,
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Cut the slice of an upstream S3 model the project uses into models/.
    Import {
        /// The upstream Smithy JSON AST file (smithy-rs aws/sdk/aws-models/s3.json, as models/SOURCE.toml names it).
        #[arg(long)]
        from: PathBuf,
        /// Upstream repository, path and commit recorded in models/SOURCE.toml.
        #[arg(long)]
        repository: Option<String>,
        #[arg(long)]
        path: Option<String>,
        #[arg(long)]
        commit: Option<String>,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Merge the shard results of a nextest run (reports/<target>/shards/*.jsonl) into
    /// results.json, summary.md and junit.xml: `merge <target> [FILES] [--allow-missing]`;
    /// see `conformance merge --help`.
    #[command(disable_help_flag = true)]
    Merge {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand)]
enum BaselineCommand {
    /// Rewrite reports/<target>/baseline.toml from reports/<target>/results.json.
    Update {
        #[arg(long)]
        target: String,
    },
}

/// The workspace root (xtask lives one level below it).
fn root() -> PathBuf {
    // `cargo run` says where xtask's manifest is at run time: a binary built in a shared
    // target folder for another checkout must still work on this one.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest
        .parent()
        .expect("xtask is inside the workspace")
        .to_path_buf()
}

/// Runs a command from the workspace root; its exit code becomes ours.
fn cargo(args: &[&str]) -> Result<i32> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(root())
        .status()
        .with_context(|| format!("cannot run cargo {}", args.join(" ")))?;
    Ok(status.code().unwrap_or(1))
}

fn step(title: &str, args: &[&str]) -> Result<()> {
    eprintln!("==> {title}: cargo {}", args.join(" "));
    let code = cargo(args)?;
    if code != 0 {
        bail!("{title} failed (exit {code})");
    }
    Ok(())
}

/// Where the test command's runs write their reports: a test run must not rewrite the
/// committed ones. The snapshot tests read them from here (CONFORMANCE_FRESH_REPORTS).
fn fresh_reports() -> PathBuf {
    std::env::temp_dir().join("conformance-fresh")
}

/// Runs the suite against a target, compared with its committed baseline.
fn run_target(name: &str) -> Result<()> {
    eprintln!("==> target {name}: start, run against reports/{name}/baseline.toml, stop");
    let code = targets::run(&root(), name, &fresh_reports())?;
    if code != 0 {
        bail!("the run against {name} does not match reports/{name}/baseline.toml (exit {code})");
    }
    Ok(())
}

/// The cargo-nextest release the tests run under.
const NEXTEST: &str = "0.9.143";

fn run_tests() -> Result<()> {
    // rustfmt and clippy are rustup components a minimal toolchain may lack.
    let components = Command::new("rustup")
        .args(["component", "add", "rustfmt", "clippy"])
        .output();
    if let Ok(out) = components {
        if !out.status.success() {
            eprintln!(
                "rustup could not add rustfmt and clippy: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    matrix::ensure_chromium();
    step("generated/ is up to date", &["xtask", "codegen", "--check"])?;
    step("formatting", &["fmt", "--all", "--", "--check"])?;
    step(
        "lints",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--quiet",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // LocalStack stands in for AWS, Ceph RGW is the most deployed open-source server:
    // each must match its baseline (the embedded target is run by the tests below).
    let _ = std::fs::remove_dir_all(fresh_reports());
    run_target("localstack")?;
    run_target("ceph-rgw")?;
    // One real client against the embedded s3s-fs (a process of its own): seed 001's AWS
    // CLI flow must work, its copy read back by the harness.
    eprintln!("==> a real client: the AWS CLI's part-copy flow against the embedded target");
    clients::expect_works(&root(), "embedded", "aws-cli/part-copy", &fresh_reports())?;
    // The AWS CLI the reproduction scripts are checked with, also for the tests below.
    let aws = tools::aws_cli(&root())?;
    // SAFETY: still single-threaded.
    unsafe { std::env::set_var("CONFORMANCE_AWS_CLI", &aws) };
    eprintln!("==> reproduction scripts: a sample run with the AWS CLI against moto");
    repro_check::check(&root(), &aws)?;
    // SAFETY: still single-threaded; the test processes started below inherit it.
    unsafe { std::env::set_var("CONFORMANCE_FRESH_REPORTS", fresh_reports()) };
    // The tests run under cargo-nextest (the sharding test runs its partitions): crates.io's,
    // pinned, installed when missing.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let nextest = |args: &[&str]| Command::new(&cargo).args(args).output();
    if !nextest(&["nextest", "--version"]).is_ok_and(|o| o.status.success()) {
        eprintln!("==> installing cargo-nextest {NEXTEST} (crates.io, about 3 minutes)");
        step(
            "cargo-nextest",
            &["install", "cargo-nextest", "--locked", "--version", NEXTEST],
        )?;
    }
    step(
        "unit and end-to-end tests",
        &[
            "nextest",
            "run",
            "--workspace",
            "--no-fail-fast",
            "--failure-output",
            "final",
        ],
    )?;
    Ok(())
}

/// Rewrites reports/<target>/baseline.toml from reports/<target>/results.json.
fn update_baseline(target: &str) -> Result<()> {
    contract::names::check_target_name(target).map_err(|e| anyhow::anyhow!("--target {e}"))?;
    let dir = root().join("reports").join(target);
    let path = dir.join("baseline.toml");
    let updated = contract::baseline::update(&dir, &path, target)?;
    println!(
        "wrote {} ({} deviations)",
        path.display(),
        updated.deviations.len()
    );
    Ok(())
}

/// Runs the runner binary with these arguments; its exit code becomes ours. It is its own
/// binary so that xtask builds even when generated/ is stale.
fn runner(args: &[String]) -> ExitCode {
    let status = targets::build_runner(&root(), None).and_then(|exe| {
        Command::new(&exe)
            .args(args)
            .current_dir(root())
            .status()
            .with_context(|| format!("cannot run {}", exe.display()))
    });
    match status {
        Ok(status) => ExitCode::from(status.code().unwrap_or(1).clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
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
    let result = match cli.command {
        Commands::Models {
            command:
                ModelsCommand::Import {
                    from,
                    repository,
                    path,
                    commit,
                },
        } => {
            let mut upstream = codegen::slice::Upstream::default();
            if let Some(r) = repository {
                upstream.repository = r;
            }
            if let Some(p) = path {
                upstream.path = p;
            }
            if let Some(c) = commit {
                upstream.commit = c;
            }
            codegen::slice::import(&from, &root().join("models"), &upstream)
        }
        Commands::Codegen { check } => codegen::run(&root(), check),
        Commands::Run { args } => return runner(&args),
        Commands::Oracle { args } => {
            let args: Vec<String> = std::iter::once("--oracle".to_string())
                .chain(args)
                .collect();
            return runner(&args);
        }
        Commands::Report {
            command: ReportCommand::Merge { args },
        } => {
            let args: Vec<String> = std::iter::once("merge".to_string()).chain(args).collect();
            return runner(&args);
        }
        Commands::Baseline {
            command: BaselineCommand::Update { target },
        } => update_baseline(&target),
        Commands::Endpoint { command } => endpoint::run(&root(), command),
        Commands::Matrix(args) => matrix::run(&root(), args),
        Commands::Clients(args) => clients::run(&root(), args),
        Commands::Bench(args) => bench::run(&root(), args),
        Commands::Test => run_tests(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
