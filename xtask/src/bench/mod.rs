//! `cargo xtask bench`: measures codegen, the suite's speed and the harness's own cost, and
//! writes docs/benchmarks.md (from templates/benchmarks.md.tera) with every figure, how it
//! was taken and the raw numbers.
//!
//! Nothing here asserts a speed or a size: the targets are shown beside what was
//! measured. Every process this starts runs under a time limit and is stopped by its PID;
//! every server listens on 127.0.0.1 only, started in this process the way `cargo xtask
//! endpoint start` starts it. The pure parts (codegen render, case expansion, the XML
//! response parser) have criterion benches: `cargo bench -p codegen -p runner --bench codegen
//! --bench parse`; their last results, when present under target/criterion, are copied into
//! the report.

mod cases;
mod codegen;
mod criterion;
mod curl;
mod external;
mod localstack;
mod machine;
mod matrix;
mod measure;
mod proxy;
mod report;
mod runs;
mod shards;
mod stats;

use crate::endpoint::{self, Running};
use anyhow::{bail, Context, Result};
use report::Report;
use runs::{Runner, Target};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Cargo profile the runner is built and measured in.
    #[arg(long, default_value = "release", value_parser = ["release", "dev"])]
    profile: String,
    /// Full runs per target; the median is reported.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=5))]
    full_runs: u32,
    /// Repetitions of codegen and of the harness's side of the side-by-side comparison.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    repeat: u32,
    /// Request sequences (8 requests each) curl sends in the side-by-side comparison.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=200))]
    curl_sequences: u32,
    /// Do not copy the 1 GiB streamed source (the opt-in `large` case) against s3s-fs.
    #[arg(long)]
    no_gib: bool,
    /// Do not measure against LocalStack, even when `cargo xtask endpoint` can start it.
    #[arg(long)]
    no_localstack: bool,
    /// Do not time the embedded target's run split into nextest shards.
    #[arg(long)]
    no_shards: bool,
    /// Do not time the matrix (every installed target, as `cargo xtask matrix --run`).
    #[arg(long)]
    no_matrix: bool,
    /// Targets side by side in the matrix run, as `cargo xtask matrix --jobs`.
    #[arg(long, default_value_t = crate::matrix::jobs::default_jobs(),
          value_parser = clap::value_parser!(u16).range(1..=16))]
    matrix_jobs: u16,
    /// Run the criterion benches (`cargo bench -p codegen -p runner --bench codegen --bench parse`) first.
    #[arg(long)]
    criterion: bool,
    /// Where the report goes (default: docs/benchmarks.md).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(root: &Path, args: Args) -> Result<()> {
    let started = Instant::now();
    let scratch = Scratch::new()?;
    let mut report = Report::new(&args.profile);
    if args.criterion {
        run_criterion(root)?;
    }

    eprintln!("==> building the runner ({} profile)", args.profile);
    let build_started = Instant::now();
    let exe = crate::targets::build_runner(root, Some(&args.profile))?;
    report.build_secs = build_started.elapsed().as_secs_f64();
    report.runner = exe.strip_prefix(root).unwrap_or(&exe).display().to_string();
    let target_dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join("target"));

    eprintln!("==> codegen");
    report.codegen = codegen::measure_codegen(root, args.repeat)?;

    let runner = Runner {
        root: root.to_path_buf(),
        exe,
        scratch: scratch.path.clone(),
    };
    let cases = cases::Cases::read(root);
    eprintln!("==> embedded target: {} full run(s)", args.full_runs);
    for i in 0..args.full_runs {
        let label = format!("embedded-{i}");
        let run = runner.full_run(&Target::embedded(), None, &label, None)?;
        report.embedded.push(run);
    }

    eprintln!("==> external s3s-fs");
    measure_s3s_fs(&runner, &args, &cases, &mut report)?;

    report.localstack = if args.no_localstack {
        localstack::LocalStack::NotMeasured("not measured: --no-localstack".into())
    } else {
        eprintln!("==> LocalStack");
        localstack::measure_localstack(&runner, args.full_runs)
    };

    report.shards = if args.no_shards {
        shards::Sharded::NotMeasured("not measured: --no-shards".into())
    } else {
        eprintln!(
            "==> the embedded target in {} nextest shards",
            shards::SHARDS
        );
        let unsharded = scratch
            .path
            .join("reports-embedded-0/embedded/results.json");
        shards::measure_shards(root, &runner.exe, &scratch.path, &unsharded)
    };

    report.matrix = if args.no_matrix {
        matrix::MatrixTime::NotMeasured("not measured: --no-matrix".into())
    } else {
        eprintln!("==> the matrix ({} side by side)", args.matrix_jobs);
        matrix::measure_matrix(root, &scratch.path, args.matrix_jobs.into())
    };

    report.criterion = criterion::read_criterion(&target_dir);
    report.large_object_cases = cases.large_object_cases();
    report.finish(started.elapsed());
    let out = args
        .out
        .unwrap_or_else(|| root.join("docs").join("benchmarks.md"));
    report.previous = report::read_previous(&out);
    contract::files::write_atomically(&out, report.markdown()?.as_bytes())?;
    println!("{}", report.table());
    println!(
        "wrote {} ({:.0} s in all)",
        out.display(),
        report.total_secs
    );
    Ok(())
}

fn run_criterion(root: &Path) -> Result<()> {
    eprintln!(
        "==> criterion benches: cargo bench -p codegen -p runner --bench codegen --bench parse"
    );
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["bench", "-p", "codegen", "-p", "runner"])
        .args(["--bench", "codegen", "--bench", "parse"])
        .current_dir(root)
        .status()
        .context("cannot run cargo bench")?;
    if !status.success() {
        bail!("cargo bench failed ({status})");
    }
    Ok(())
}

/// The runs against s3s-fs as `cargo xtask endpoint` starts it; a server that does not
/// start is reported, not an error.
fn measure_s3s_fs(
    runner: &Runner,
    args: &Args,
    cases: &cases::Cases,
    report: &mut Report,
) -> Result<()> {
    let server = match Started::start(&runner.root, "s3s-fs") {
        Ok(server) => server,
        Err(e) => {
            report.s3s_fs_error = Some(format!("{e:#}"));
            return Ok(());
        }
    };
    let result = external::measure_external(runner, &server, args, cases);
    report.s3s_fs_hwm_kib = measure::proc_status_kib(server.running.pid, "VmHWM");
    report.s3s_fs_started_by_bench = server.by_bench;
    server.stop(&runner.root);
    report.external = Some(result?);
    Ok(())
}

/// A server of `cargo xtask endpoint`, started in this process for the benchmark (and
/// stopped after it) unless it was running already.
pub struct Started {
    pub name: &'static str,
    pub running: Running,
    pub by_bench: bool,
    /// How long `endpoint::start` took, when it ran.
    pub start_secs: Option<f64>,
}

impl Started {
    pub fn start(root: &Path, name: &'static str) -> Result<Started> {
        if let Some(running) = endpoint::running(root, name)? {
            eprintln!(
                "    {name} is already running (pid {}); it is left running",
                running.pid
            );
            return Ok(Started {
                name,
                running,
                by_bench: false,
                start_secs: None,
            });
        }
        eprintln!("    starting {name} (as `cargo xtask endpoint start {name}` does)");
        let t = Instant::now();
        let running = endpoint::start(root, name)?;
        Ok(Started {
            name,
            running,
            by_bench: true,
            start_secs: Some(t.elapsed().as_secs_f64()),
        })
    }

    /// The server as a target of the runner, named `name` in the trial names.
    pub fn target(&self, name: &str, baseline: &'static str) -> Target {
        Target::endpoint(name, baseline, &self.running)
    }

    /// Stops the server when the benchmark started it.
    pub fn stop(self, root: &Path) {
        if self.by_bench {
            eprintln!("    stopping {}", self.name);
            if let Err(e) = endpoint::stop(root, self.name) {
                eprintln!("warning: stopping {}: {e:#}", self.name);
            }
        }
    }
}

/// A temporary folder for reports and logs, removed at the end.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new() -> Result<Scratch> {
        let path = std::env::temp_dir().join(format!("mpc-bench-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("cannot clear {}", path.display()))?;
        }
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
