//! `cargo xtask bench`: measures codegen, the suite's speed and the harness's own cost, and
//! writes docs/benchmarks.md with every figure, how it was taken and the raw numbers.
//!
//! Nothing here asserts a speed or a size: the issue's targets are shown beside what was
//! measured. Every process this starts runs under a time limit and is stopped by its PID;
//! every server listens on 127.0.0.1 only. The pure parts (codegen render, case expansion,
//! the XML response parser) have criterion benches: `cargo bench -p codegen -p runner --bench
//! codegen --bench parse`; their
//! last results, when present under target/criterion, are copied into the report.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    /// Run the criterion benches (`cargo bench -p codegen -p runner --bench codegen --bench parse`) first.
    #[arg(long)]
    criterion: bool,
    /// Where the report goes (default: docs/benchmarks.md).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Limits: no step of the benchmark can hang.
const FULL_RUN_LIMIT: Duration = Duration::from_secs(300);
const SHORT_RUN_LIMIT: Duration = Duration::from_secs(120);
const CURL_LIMIT: Duration = Duration::from_secs(15);
const BUILD_LIMIT: Duration = Duration::from_secs(1800);
const LOCALSTACK_START_LIMIT: Duration = Duration::from_secs(300);

/// The filter of the side-by-side comparison: the ranged part copies of small sources.
const SIDE_FILTER: &str = "upload_part_copy/range/";
const SIDE_SKIP: &str = "large-source";
/// The case with the suite's largest source (6 MiB).
const LARGE_FILTER: &str = "upload_part_copy/range/large-source";
const LARGEST_SOURCE: &str = "6 MiB";
/// The opt-in case that copies the first GiB of a 1 GiB + 1 MiB streamed source.
const GIB_CASE: &str = "upload_part_copy/large/first-gib-of-a-larger-source";
/// Writing 1 GiB, copying it and reading it back takes a while on a shared disk.
const GIB_RUN_LIMIT: Duration = Duration::from_secs(900);

pub fn run(root: &Path, args: Args) -> Result<()> {
    let started = Instant::now();
    let scratch = Scratch::new()?;
    let mut report = Report {
        date: utc_now(),
        invocation: std::iter::once("cargo xtask".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        machine: Machine::describe(),
        load_before: loadavg(),
        profile: args.profile.clone(),
        ..Report::default()
    };

    if args.criterion {
        eprintln!(
            "==> criterion benches: cargo bench -p codegen -p runner --bench codegen --bench parse"
        );
        let status = Command::new(cargo())
            .args(["bench", "-p", "codegen", "-p", "runner"])
            .args(["--bench", "codegen", "--bench", "parse"])
            .current_dir(root)
            .status()
            .context("cannot run cargo bench")?;
        if !status.success() {
            bail!("cargo bench failed ({status})");
        }
    }

    eprintln!("==> building the runner ({} profile)", args.profile);
    let build_started = Instant::now();
    let runner = build_runner(root, &args.profile)?;
    report.build_secs = build_started.elapsed().as_secs_f64();
    report.runner = runner.display().to_string();
    let target_dir = runner
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join("target"));

    eprintln!("==> codegen");
    report.codegen = measure_codegen(root, args.repeat)?;

    let ctx = Ctx {
        root: root.to_path_buf(),
        runner,
        scratch: scratch.path.clone(),
    };

    eprintln!("==> embedded target: {} full run(s)", args.full_runs);
    let embedded = Target::embedded();
    for i in 0..args.full_runs {
        let run = ctx.full_run(&embedded, None, &format!("embedded-{i}"), None)?;
        report.embedded.push(run);
    }

    eprintln!("==> external s3s-fs");
    match S3sFs::start(root, &scratch.path) {
        Ok(server) => {
            let result = measure_external(&ctx, &server, &args, &mut report);
            report.s3s_fs_version = server.version.clone();
            report.s3s_fs_hwm_kib = proc_status_kib(server.pid, "VmHWM");
            server.stop();
            result?;
        }
        Err(e) => report.s3s_fs_error = Some(format!("{e:#}")),
    }

    if args.no_localstack {
        report.localstack = LocalStack::NotMeasured("not measured: --no-localstack".into());
    } else {
        eprintln!("==> LocalStack");
        report.localstack = measure_localstack(&ctx, args.full_runs)?;
    }

    report.criterion = read_criterion(&target_dir);
    report.large_object_cases = large_object_cases(root);
    report.load_after = loadavg();
    report.total_secs = started.elapsed().as_secs_f64();

    let out = args
        .out
        .unwrap_or_else(|| root.join("docs").join("benchmarks.md"));
    contract::files::write_atomically(&out, report.markdown().as_bytes())?;
    println!("{}", report.table());
    println!(
        "wrote {} ({:.0} s in all)",
        out.display(),
        report.total_secs
    );
    Ok(())
}

/// This very xtask binary. Through /proc/self/exe, which still works when a concurrent build
/// has replaced target/debug/xtask while the benchmark runs.
fn xtask_exe() -> Result<PathBuf> {
    let proc_exe = Path::new("/proc/self/exe");
    if proc_exe.exists() {
        return Ok(proc_exe.to_path_buf());
    }
    std::env::current_exe().context("cannot find the xtask binary")
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// A temporary folder for reports, logs and the external server's data, removed at the end.
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

// ---------------------------------------------------------------------------------------
// Processes: wall time, CPU time and peak RSS of one child, under a time limit.

#[derive(Debug, Clone, Default)]
struct Measured {
    wall: Duration,
    user: Duration,
    sys: Duration,
    /// ru_maxrss of the child: its peak resident set, KiB.
    max_rss_kib: u64,
    /// Exit code; None when a signal ended it.
    code: Option<i32>,
    timed_out: bool,
}

impl Measured {
    fn cpu(&self) -> Duration {
        self.user + self.sys
    }
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec.max(0) as u64) + Duration::from_micros(tv.tv_usec.max(0) as u64)
}

/// Spawns `cmd` and waits for it: at most `limit`, then SIGKILL to its PID. The child is
/// reaped with wait4(2), which gives its own user and system time and peak RSS.
fn measure(cmd: &mut Command, limit: Duration) -> Result<(Measured, std::process::Child)> {
    let start = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let pid = child.id() as libc::pid_t;
    let (done, expired) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = expired.recv_timeout(limit) {
            // The child has not been reaped (we wait with WNOWAIT first), so the PID is ours.
            // SAFETY: kill(2) of our own unreaped child (see above).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            true
        } else {
            false
        }
    });
    // Wait for the exit without reaping, so that the watchdog can never signal a reused PID.
    loop {
        // SAFETY: siginfo_t is plain data; all-zero is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: waitid(2) writes only into `info`, which lives across the call.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            let _ = done.send(());
            let _ = watchdog.join();
            return Err(err).context("waitid");
        }
    }
    let wall = start.elapsed();
    let _ = done.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4(2) writes only into `status` and `usage`, which outlive the call.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        return Err(std::io::Error::last_os_error()).context("wait4");
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Ok((
        Measured {
            wall,
            user: timeval(usage.ru_utime),
            sys: timeval(usage.ru_stime),
            max_rss_kib: usage.ru_maxrss.max(0) as u64,
            code,
            timed_out,
        },
        child,
    ))
}

/// user+sys of a live process from /proc/<pid>/stat.
fn proc_cpu(pid: i32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After "pid (comm) ": state is field 3, utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some(Duration::from_secs_f64((utime + stime) as f64 / ticks))
}

/// user+sys of every process in a process group (a server started by `cargo xtask endpoint`
/// runs in a group of its own).
fn group_cpu(pgid: i32) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut found = false;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        // After "pid (comm) ": state, ppid, pgrp.
        let pgrp = stat[close + 2..]
            .split_whitespace()
            .nth(2)
            .and_then(|v| v.parse::<i32>().ok());
        if pgrp == Some(pgid) {
            if let Some(cpu) = proc_cpu(pid) {
                total += cpu;
                found = true;
            }
        }
    }
    found.then_some(total)
}

fn proc_status_kib(pid: i32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

// ---------------------------------------------------------------------------------------
// The runner.

/// Builds the runner binary and returns its path (the build is not part of any figure).
fn build_runner(root: &Path, profile: &str) -> Result<PathBuf> {
    let mut cmd = Command::new(cargo());
    cmd.args(["build", "--quiet", "--profile", profile])
        .args(["--package", "runner", "--bin", "conformance"])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().context("cannot run cargo build")?;
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout)?;
    }
    let status = wait_limited(&mut child, BUILD_LIMIT)?;
    if !status.success() {
        bail!("building the runner failed ({status})");
    }
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact" && message["target"]["name"] == "conformance" {
            if let Some(exe) = message["executable"].as_str() {
                return Ok(PathBuf::from(exe));
            }
        }
    }
    bail!("cargo build did not name the conformance executable")
}

/// Waits for a child for at most `limit`, then kills it by its PID.
fn wait_limited(
    child: &mut std::process::Child,
    limit: Duration,
) -> Result<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{limit:?} passed: stopped pid {}", child.id());
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Where the runner sends its requests.
#[derive(Clone)]
struct Target {
    /// Name in trial names and under the reports folder.
    name: String,
    /// None: the embedded server, inside the runner process.
    url: Option<String>,
    access_key: String,
    secret_key: String,
    region: String,
}

impl Target {
    fn embedded() -> Target {
        Target {
            name: "embedded".into(),
            url: None,
            access_key: String::new(),
            secret_key: String::new(),
            region: "us-east-1".into(),
        }
    }
}

/// An external server whose CPU time is read around each run.
#[derive(Clone, Copy)]
enum Server {
    /// One process (s3s-fs, started here in this process's group).
    Process(i32),
    /// A process group of its own (a server of `cargo xtask endpoint`).
    Group(i32),
}

impl Server {
    fn cpu(self) -> Option<Duration> {
        match self {
            Server::Process(pid) => proc_cpu(pid),
            Server::Group(pgid) => group_cpu(pgid),
        }
    }
}

struct Ctx {
    root: PathBuf,
    runner: PathBuf,
    scratch: PathBuf,
}

/// One full run: every case, default test threads.
#[derive(Debug, Clone, Default)]
struct FullRun {
    m: Measured,
    cases: usize,
    skipped: usize,
    totals: BTreeMap<String, usize>,
    /// The runner's own duration (from its start of work to the end of the trials).
    duration_ms: u64,
    /// Requests counted by the proxy, when the run went through it.
    requests: Option<u64>,
    unparsed_connections: u64,
    /// CPU the (external) server used during the run.
    server_cpu: Option<Duration>,
}

impl Ctx {
    fn runner_command(&self, target: &Target, url: Option<&str>, log: &Path) -> Result<Command> {
        let mut cmd = Command::new(&self.runner);
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

    /// A full run with its reports in the scratch folder (reports/ is left alone), with the
    /// target's committed baseline beside them so the exit code means what it usually does.
    fn full_run(
        &self,
        target: &Target,
        server: Option<Server>,
        label: &str,
        proxy: Option<&CountingProxy>,
    ) -> Result<FullRun> {
        let reports = self.scratch.join(format!("reports-{label}"));
        let dir = reports.join(&target.name);
        std::fs::create_dir_all(&dir)?;
        let baseline_name = if target.url.is_none() || target.name.contains("s3s-fs") {
            "embedded"
        } else {
            target.name.as_str()
        };
        let baseline = self
            .root
            .join("reports")
            .join(baseline_name)
            .join("baseline.toml");
        if baseline.exists() {
            std::fs::copy(&baseline, dir.join("baseline.toml"))?;
        }
        let url = proxy.map(CountingProxy::url);
        let log = self.scratch.join(format!("{label}.log"));
        let mut cmd = self.runner_command(target, url.as_deref(), &log)?;
        cmd.arg("--reports-dir").arg(&reports);
        let cpu_before = server.and_then(Server::cpu);
        let before = proxy.map(|p| p.requests());
        let (m, _) = measure(&mut cmd, FULL_RUN_LIMIT)?;
        let server_cpu = match (cpu_before, server.and_then(Server::cpu)) {
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
                    "the {label} run (exit {:?}) wrote no {}; log:\n{}",
                    m.code,
                    results.display(),
                    tail(&log, 15)
                )
            })?;
        let cases = json["cases"].as_array().map_or(0, Vec::len);
        let skipped = json["cases"].as_array().map_or(0, |c| {
            c.iter().filter(|c| c["verdict"] == "skipped").count()
        });
        let totals = json["totals"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0) as usize))
                    .collect()
            })
            .unwrap_or_default();
        Ok(FullRun {
            m,
            cases,
            skipped,
            totals,
            duration_ms: json["run_info"]["duration_ms"].as_u64().unwrap_or(0),
            requests: proxy.zip(before).map(|(p, b)| p.requests() - b),
            unparsed_connections: proxy.map_or(0, CountingProxy::unparsed),
            server_cpu,
        })
    }

    /// A short run (a filter, or `--probe`); reports are not written.
    fn short_run(
        &self,
        target: &Target,
        args: &[&str],
        label: &str,
        proxy: Option<&CountingProxy>,
    ) -> Result<(Measured, Option<u64>)> {
        self.short_run_limited(target, args, label, proxy, SHORT_RUN_LIMIT)
    }

    fn short_run_limited(
        &self,
        target: &Target,
        args: &[&str],
        label: &str,
        proxy: Option<&CountingProxy>,
        limit: Duration,
    ) -> Result<(Measured, Option<u64>)> {
        let url = proxy.map(CountingProxy::url);
        let log = self.scratch.join(format!("{label}.log"));
        let mut cmd = self.runner_command(target, url.as_deref(), &log)?;
        cmd.args(args);
        let before = proxy.map(|p| p.requests());
        let (m, _) = measure(&mut cmd, limit)?;
        if m.timed_out || !matches!(m.code, Some(0 | 1)) {
            bail!(
                "the {label} run ended with {:?}{}; log:\n{}",
                m.code,
                if m.timed_out { " (time limit)" } else { "" },
                tail(&log, 15)
            );
        }
        Ok((m, proxy.zip(before).map(|(p, b)| p.requests() - b)))
    }

    /// The trial names a filter selects.
    fn list(&self, target: &Target, args: &[&str]) -> Result<Vec<String>> {
        let out = Command::new(&self.runner)
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

fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ---------------------------------------------------------------------------------------
// Codegen.

#[derive(Debug, Clone, Default)]
struct Codegen {
    /// Wall time of the built xtask binary running `codegen --check`, per repetition.
    binary: Vec<Duration>,
    binary_exit: Option<i32>,
    /// `codegen::render` in this process, per repetition.
    render: Vec<Duration>,
    /// Loading models/s3.json and expanding suites/cases (a part of render).
    expand: Vec<Duration>,
    cases_json_bytes: usize,
}

fn measure_codegen(root: &Path, repeat: u32) -> Result<Codegen> {
    let xtask = xtask_exe()?;
    let mut codegen = Codegen::default();
    // `--check` renders and compares without writing, so generated/ is never touched.
    for _ in 0..=repeat {
        let mut cmd = Command::new(&xtask);
        cmd.args(["codegen", "--check"])
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let (m, _) = measure(&mut cmd, SHORT_RUN_LIMIT)?;
        codegen.binary.push(m.wall);
        codegen.binary_exit = m.code;
    }
    // The first run warms the page cache; it is not counted.
    codegen.binary.remove(0);
    for _ in 0..repeat {
        let t = Instant::now();
        let files = codegen::render(root)?;
        codegen.render.push(t.elapsed());
        codegen.cases_json_bytes = files.get(Path::new("cases.json")).map_or(0, String::len);
        let t = Instant::now();
        let model = codegen::smithy::Model::load(&root.join("models/s3.json"))?;
        codegen::scenarios::expand(&root.join("suites"), &model)?;
        codegen.expand.push(t.elapsed());
    }
    Ok(codegen)
}

// ---------------------------------------------------------------------------------------
// The external s3s-fs server, and the comparison with curl.

struct S3sFs {
    pid: i32,
    child: std::process::Child,
    target: Target,
    version: String,
}

impl S3sFs {
    /// The binary `cargo xtask endpoint install s3s-fs` made, or one installed here.
    fn binary(root: &Path) -> Result<PathBuf> {
        let candidates = [
            root.join(".cache/endpoints/s3s-fs/bin/s3s-fs"),
            root.join(".cache/bench/s3s-fs/bin/s3s-fs"),
        ];
        if let Some(found) = candidates.iter().find(|p| p.is_file()) {
            return Ok(found.clone());
        }
        let dir = root.join(".cache/bench/s3s-fs");
        eprintln!(
            "installing s3s-fs 0.14.1 into {} (once; a few minutes)",
            dir.display()
        );
        let mut child = Command::new(cargo())
            .args([
                "install",
                "s3s-fs@0.14.1",
                "--features",
                "binary",
                "--locked",
            ])
            .arg("--root")
            .arg(&dir)
            .stdin(Stdio::null())
            .spawn()
            .context("cannot run cargo install")?;
        let status = wait_limited(&mut child, BUILD_LIMIT)?;
        if !status.success() {
            bail!("cargo install s3s-fs@0.14.1 failed ({status})");
        }
        Ok(candidates[1].clone())
    }

    fn start(root: &Path, scratch: &Path) -> Result<S3sFs> {
        let bin = Self::binary(root)?;
        let version = Command::new(&bin)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        let data = scratch.join("s3s-fs-data");
        std::fs::create_dir_all(&data)?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let access_key = format!("AK{}", random_hex(8).to_uppercase());
        let secret_key = random_hex(20);
        let log = std::fs::File::create(scratch.join("s3s-fs.log"))?;
        let child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", &access_key, "--secret-key", &secret_key])
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut server = S3sFs {
            pid: child.id() as i32,
            child,
            target: Target {
                name: "bench-s3s-fs".into(),
                url: Some(format!("http://127.0.0.1:{port}")),
                access_key,
                secret_key,
                region: "us-east-1".into(),
            },
            version,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                bail!("s3s-fs exited at start ({status})");
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            if Instant::now() >= deadline {
                server.stop();
                bail!("s3s-fs did not listen on 127.0.0.1:{port} within 15 s");
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn addr(&self) -> SocketAddr {
        let url = self.target.url.as_deref().unwrap_or_default();
        url.trim_start_matches("http://")
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// SIGTERM to its PID, SIGKILL after 5 s, then reaped.
    fn stop(mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: kill(2) of our own child, which try_wait says has not exited.
            unsafe { libc::kill(self.pid, libc::SIGTERM) };
            // After 5 s wait_limited sends SIGKILL to the PID and reaps it.
            let _ = wait_limited(&mut self.child, Duration::from_secs(5));
        }
    }
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut buf));
    if read.is_err() {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (nanos >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(97);
        }
    }
    hex::encode(buf)
}

#[derive(Debug, Clone, Default)]
struct External {
    full: Vec<FullRun>,
    proxied: FullRun,
    side: Option<SideBySide>,
    side_error: Option<String>,
    large: Option<Measured>,
    large_cases: Vec<String>,
    gib: Option<GibRun>,
    gib_error: Option<String>,
}

/// The opt-in case with a 1 GiB streamed source, run alone against the external s3s-fs.
#[derive(Debug, Clone, Default)]
struct GibRun {
    case: String,
    m: Measured,
    /// The libtest line of the case (`ok`, or why not).
    outcome: String,
    server_cpu: Option<Duration>,
    /// Bytes the case moves: the source written, read back after the copy.
    source_bytes: u64,
    copied_bytes: u64,
}

#[derive(Debug, Clone, Default)]
struct SideBySide {
    cases: Vec<String>,
    harness: Vec<Measured>,
    probe: Vec<Measured>,
    harness_requests: u64,
    probe_requests: u64,
    curl: CurlRun,
}

fn measure_external(ctx: &Ctx, server: &S3sFs, args: &Args, report: &mut Report) -> Result<()> {
    let target = &server.target;
    let mut ext = External::default();
    // First through the proxy: it counts the requests, and warms the server up.
    eprintln!("    full run through the counting proxy (also the warm-up)");
    let proxy = CountingProxy::start(server.addr())?;
    ext.proxied = ctx.full_run(
        target,
        Some(Server::Process(server.pid)),
        "s3s-fs-proxied",
        Some(&proxy),
    )?;
    for i in 0..args.full_runs {
        eprintln!("    full run {} of {}", i + 1, args.full_runs);
        ext.full.push(ctx.full_run(
            target,
            Some(Server::Process(server.pid)),
            &format!("s3s-fs-{i}"),
            None,
        )?);
    }

    eprintln!("    side by side: curl and the harness");
    match side_by_side(ctx, server, args, &proxy) {
        Ok(side) => ext.side = Some(side),
        Err(e) => ext.side_error = Some(format!("{e:#}")),
    }
    proxy.stop();

    eprintln!("    the largest source alone");
    ext.large_cases = ctx.list(target, &[LARGE_FILTER])?;
    let (m, _) = ctx.short_run(
        target,
        &[LARGE_FILTER, "--test-threads", "1"],
        "s3s-fs-large",
        None,
    )?;
    ext.large = Some(m);
    if args.no_gib {
        ext.gib_error = Some("not measured: --no-gib".into());
    } else {
        eprintln!("    the 1 GiB streamed source ({GIB_CASE})");
        match gib_run(ctx, server) {
            Ok(g) => ext.gib = Some(g),
            Err(e) => ext.gib_error = Some(format!("{e:#}")),
        }
    }
    report.external = Some(ext);
    Ok(())
}

/// Runs the opt-in 1 GiB case alone (`--ignored --exact`), one thread, generous time limits.
fn gib_run(ctx: &Ctx, server: &S3sFs) -> Result<GibRun> {
    let target = &server.target;
    let name = format!("{}::{GIB_CASE}", target.name);
    let label = "s3s-fs-gib";
    let cpu_before = proc_cpu(server.pid);
    let (m, _) = ctx.short_run_limited(
        target,
        &[
            "--ignored",
            "--exact",
            &name,
            "--test-threads",
            "1",
            "--request-timeout",
            "600",
            "--case-timeout",
            "1800",
        ],
        label,
        None,
        GIB_RUN_LIMIT,
    )?;
    let server_cpu = cpu_before
        .zip(proc_cpu(server.pid))
        .map(|(a, b)| b.saturating_sub(a));
    let log = std::fs::read_to_string(ctx.scratch.join(format!("{label}.log"))).unwrap_or_default();
    let outcome = log
        .lines()
        .find(|l| l.contains(&name))
        .and_then(|l| l.rsplit(" ... ").next())
        .unwrap_or("not run (the filter selected nothing)")
        .trim()
        .to_string();
    Ok(GibRun {
        case: name,
        m,
        outcome,
        server_cpu,
        source_bytes: (1 << 30) + (1 << 20),
        copied_bytes: 1 << 30,
    })
}

fn side_by_side(
    ctx: &Ctx,
    server: &S3sFs,
    args: &Args,
    proxy: &CountingProxy,
) -> Result<SideBySide> {
    let target = &server.target;
    let filter = [SIDE_FILTER, "--skip", SIDE_SKIP, "--test-threads", "1"];
    let mut side = SideBySide {
        cases: ctx.list(target, &filter[..3])?,
        ..SideBySide::default()
    };
    if side.cases.is_empty() {
        bail!("the filter {SIDE_FILTER} selects no case");
    }
    // Request counts, through the proxy (one run each).
    let (_, n) = ctx.short_run(target, &filter, "side-count", Some(proxy))?;
    side.harness_requests = n.unwrap_or(0);
    let (_, n) = ctx.short_run(target, &["--probe"], "probe-count", Some(proxy))?;
    side.probe_requests = n.unwrap_or(0);
    // Timings, straight to the server, interleaved with curl so drift hits both alike.
    side.curl = CurlRun::new(server);
    let per_round = args.curl_sequences.div_ceil(args.repeat);
    for round in 0..args.repeat {
        let (m, _) = ctx.short_run(target, &filter, &format!("side-{round}"), None)?;
        side.harness.push(m);
        let (m, _) = ctx.short_run(target, &["--probe"], &format!("probe-{round}"), None)?;
        side.probe.push(m);
        for _ in 0..per_round {
            if side.curl.sequences < args.curl_sequences as usize {
                side.curl.sequence(&ctx.scratch)?;
            }
        }
    }
    Ok(side)
}

/// curl with its own SigV4 signing (`--aws-sigv4`), one process per request.
#[derive(Debug, Clone, Default)]
struct CurlRun {
    url: String,
    user: String,
    version: String,
    sequences: usize,
    /// Wall time of each curl process (spawn to exit).
    process: Vec<Duration>,
    /// curl's own `time_total` of each request.
    time_total: Vec<Duration>,
    /// user+sys of each curl process.
    cpu: Vec<Duration>,
    /// Wall time of each whole sequence.
    sequence_wall: Vec<Duration>,
    /// Whether UploadPartCopy carried x-amz-copy-source-range.
    ranged: bool,
    range_note: Option<String>,
}

impl CurlRun {
    fn new(server: &S3sFs) -> CurlRun {
        let version = Command::new("curl")
            .arg("--version")
            .output()
            .map(|o| {
                // "curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/…": the first two words.
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        CurlRun {
            url: server.target.url.clone().unwrap_or_default(),
            user: format!("{}:{}", server.target.access_key, server.target.secret_key),
            version,
            ranged: true,
            ..CurlRun::default()
        }
    }

    /// One request; returns the status and the body.
    fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Path>,
    ) -> Result<(u16, String)> {
        let mut cmd = Command::new("curl");
        cmd.args([
            "-sS",
            "--max-time",
            "10",
            "--aws-sigv4",
            "aws:amz:us-east-1:s3",
        ])
        .args(["--user", &self.user])
        // curl does not add it, and S3 servers require it.
        .args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
        .args(["-X", method]);
        for (k, v) in headers {
            cmd.args(["-H", &format!("{k}: {v}")]);
        }
        if let Some(body) = body {
            cmd.arg("--data-binary").arg(format!("@{}", body.display()));
        }
        cmd.args(["-w", "\n%{http_code} %{time_total}"])
            .arg(format!("{}{path}", self.url))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let (m, mut child) = measure(&mut cmd, CURL_LIMIT)?;
        let mut out = String::new();
        if let Some(mut stdout) = child.stdout.take() {
            stdout.read_to_string(&mut out)?;
        }
        if m.code != Some(0) {
            bail!("curl {method} {path} failed (exit {:?})", m.code);
        }
        let (body, last) = out.rsplit_once('\n').unwrap_or(("", &out));
        let mut words = last.split_whitespace();
        let status: u16 = words.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let total: f64 = words.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
        self.process.push(m.wall);
        self.cpu.push(m.cpu());
        self.time_total.push(Duration::from_secs_f64(total));
        Ok((status, body.to_string()))
    }

    fn expect(&mut self, what: &str, got: (u16, String)) -> Result<String> {
        if !(200..300).contains(&got.0) {
            bail!("curl: {what} answered {}: {}", got.0, got.1);
        }
        Ok(got.1)
    }

    /// CreateBucket, PutObject (10 bytes), CreateMultipartUpload, UploadPartCopy (bytes=0-9),
    /// CompleteMultipartUpload, DeleteObject ×2, DeleteBucket.
    fn sequence(&mut self, scratch: &Path) -> Result<()> {
        let ten = scratch.join("ten-bytes");
        if !ten.exists() {
            std::fs::write(&ten, b"0123456789")?;
        }
        let bucket = format!("mpc-bench-{}-c{:03}", random_hex(3), self.sequences);
        let started = Instant::now();
        let done = self.sequence_in(&bucket, &ten, scratch);
        if done.is_err() {
            // Best effort: leave nothing behind.
            let _ = self.request("DELETE", &format!("/{bucket}/dst"), &[], None);
            let _ = self.request("DELETE", &format!("/{bucket}/src"), &[], None);
            let _ = self.request("DELETE", &format!("/{bucket}"), &[], None);
            return done;
        }
        self.sequence_wall.push(started.elapsed());
        self.sequences += 1;
        Ok(())
    }

    fn sequence_in(&mut self, bucket: &str, ten: &Path, scratch: &Path) -> Result<()> {
        let r = self.request("PUT", &format!("/{bucket}"), &[], None)?;
        self.expect("CreateBucket", r)?;
        let r = self.request("PUT", &format!("/{bucket}/src"), &[], Some(ten))?;
        self.expect("PutObject", r)?;
        // curl 7.x signs a query key without '=' differently from S3: give it one.
        let r = self.request("POST", &format!("/{bucket}/dst?uploads="), &[], None)?;
        let body = self.expect("CreateMultipartUpload", r)?;
        let upload = between(&body, "<UploadId>", "</UploadId>")
            .context("CreateMultipartUpload: no UploadId")?
            .to_string();
        let copy_path = format!("/{bucket}/dst?partNumber=1&uploadId={upload}");
        let source = format!("/{bucket}/src");
        let mut r = if self.ranged {
            self.request(
                "PUT",
                &copy_path,
                &[
                    ("x-amz-copy-source", &source),
                    ("x-amz-copy-source-range", "bytes=0-9"),
                ],
                None,
            )?
        } else {
            (0, String::new())
        };
        if !self.ranged || r.0 == 403 {
            if self.ranged {
                // Seen with curl 7.88: it lists x-amz-copy-source-range before
                // x-amz-copy-source in SignedHeaders (it sorts "name:value" lines), so the
                // signature cannot match. The rest of the comparison copies the whole source.
                self.ranged = false;
                self.range_note = Some(format!(
                    "{} could not sign x-amz-copy-source-range (403 {}); UploadPartCopy copies the whole 10-byte source instead",
                    self.version,
                    between(&r.1, "<Code>", "</Code>").unwrap_or("?")
                ));
                // The refused request is not counted.
                self.process.pop();
                self.cpu.pop();
                self.time_total.pop();
            }
            r = self.request("PUT", &copy_path, &[("x-amz-copy-source", &source)], None)?;
        }
        let body = self.expect("UploadPartCopy", r)?;
        let etag = between(&body, "<ETag>", "</ETag>")
            .context("UploadPartCopy: no ETag")?
            .replace("&quot;", "\"");
        let complete = scratch.join("complete.xml");
        std::fs::write(
            &complete,
            format!("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"),
        )?;
        let r = self.request(
            "POST",
            &format!("/{bucket}/dst?uploadId={upload}"),
            &[],
            Some(&complete),
        )?;
        let body = self.expect("CompleteMultipartUpload", r)?;
        if body.contains("<Error>") {
            bail!("CompleteMultipartUpload answered an error: {body}");
        }
        for key in ["dst", "src"] {
            let r = self.request("DELETE", &format!("/{bucket}/{key}"), &[], None)?;
            self.expect("DeleteObject", r)?;
        }
        let r = self.request("DELETE", &format!("/{bucket}"), &[], None)?;
        self.expect("DeleteBucket", r)?;
        Ok(())
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}

// ---------------------------------------------------------------------------------------
// A forwarding proxy on 127.0.0.1 that counts HTTP/1.1 requests (to know how many requests a
// run sends: the runner does not say). Timings are never taken through it.

struct CountingProxy {
    addr: SocketAddr,
    requests: Arc<AtomicU64>,
    unparsed: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    acceptor: Option<thread::JoinHandle<()>>,
}

impl CountingProxy {
    fn start(upstream: SocketAddr) -> Result<CountingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicU64::new(0));
        let unparsed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (requests, unparsed, stop) = (requests.clone(), unparsed.clone(), stop.clone());
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(client) = conn else { continue };
                    let (requests, unparsed) = (requests.clone(), unparsed.clone());
                    thread::spawn(move || {
                        let _ = forward(client, upstream, &requests, &unparsed);
                    });
                }
            })
        };
        Ok(CountingProxy {
            addr,
            requests,
            unparsed,
            stop,
            acceptor: Some(acceptor),
        })
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    fn unparsed(&self) -> u64 {
        self.unparsed.load(Ordering::SeqCst)
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn forward(
    client: TcpStream,
    upstream: SocketAddr,
    requests: &AtomicU64,
    unparsed: &AtomicU64,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut client_in, mut client_out) = (client.try_clone()?, client);
    let (mut server_in, mut server_out) = (server.try_clone()?, server);
    let down = thread::spawn(move || {
        let _ = std::io::copy(&mut server_in, &mut client_out);
        let _ = client_out.shutdown(Shutdown::Write);
    });
    let mut counter = RequestCounter::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match client_in.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        requests.fetch_add(counter.feed(&buf[..n]), Ordering::SeqCst);
        if server_out.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    if counter.lost {
        unparsed.fetch_add(1, Ordering::SeqCst);
    }
    let _ = server_out.shutdown(Shutdown::Write);
    let _ = down.join();
    Ok(())
}

/// Finds request boundaries in a client's byte stream: a head ending in CRLF CRLF, then
/// Content-Length bytes of body. A chunked body (the runner sends none) stops the count on
/// that connection, which the report then says.
#[derive(Default)]
struct RequestCounter {
    head: Vec<u8>,
    matched: usize,
    body_left: u64,
    lost: bool,
}

impl RequestCounter {
    fn feed(&mut self, mut input: &[u8]) -> u64 {
        const END: &[u8; 4] = b"\r\n\r\n";
        let mut started = 0;
        while !input.is_empty() && !self.lost {
            if self.body_left > 0 {
                let take = self.body_left.min(input.len() as u64) as usize;
                self.body_left -= take as u64;
                input = &input[take..];
                continue;
            }
            let mut consumed = input.len();
            for (i, &b) in input.iter().enumerate() {
                self.head.push(b);
                self.matched = if b == END[self.matched] {
                    self.matched + 1
                } else if b == b'\r' {
                    1
                } else {
                    0
                };
                if self.matched == 4 {
                    consumed = i + 1;
                    break;
                }
            }
            input = &input[consumed..];
            if self.matched == 4 {
                started += 1;
                match body_length(&self.head) {
                    Some(n) => self.body_left = n,
                    None => self.lost = true,
                }
                self.head.clear();
                self.matched = 0;
            } else if self.head.len() > 64 * 1024 {
                self.lost = true;
            }
        }
        started
    }
}

fn body_length(head: &[u8]) -> Option<u64> {
    let head = String::from_utf8_lossy(head);
    let mut length = 0;
    for line in head.lines().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().ok()?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return None;
        }
    }
    Some(length)
}

// ---------------------------------------------------------------------------------------
// LocalStack, through `cargo xtask endpoint`.

#[derive(Debug, Clone, Default)]
enum LocalStack {
    #[default]
    Unknown,
    NotMeasured(String),
    Measured {
        full: Vec<FullRun>,
        proxied: Option<Box<FullRun>>,
        started_by_bench: bool,
        start_secs: Option<f64>,
        installed: String,
    },
}

fn endpoint_command(root: &Path, args: &[&str], limit: Duration) -> Result<(i32, String, String)> {
    let xtask = xtask_exe()?;
    let out_path = std::env::temp_dir().join(format!(
        "mpc-bench-{}-endpoint-{}.out",
        std::process::id(),
        args.join("-")
    ));
    let err_path = out_path.with_extension("err");
    let mut cmd = Command::new(xtask);
    cmd.arg("endpoint")
        .args(args)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path)?)
        .stderr(std::fs::File::create(&err_path)?);
    let (m, _) = measure(&mut cmd, limit)?;
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    if m.timed_out {
        bail!(
            "`cargo xtask endpoint {}` took over {limit:?}",
            args.join(" ")
        );
    }
    Ok((m.code.unwrap_or(-1), out, err))
}

/// `export K=V …` from `endpoint start` or `status`.
fn parse_exports(text: &str) -> BTreeMap<String, String> {
    let Some(line) = text.lines().rev().find(|l| l.starts_with("export ")) else {
        return BTreeMap::new();
    };
    line["export ".len()..]
        .split_whitespace()
        .filter_map(|word| {
            let (k, v) = word.split_once('=')?;
            Some((k.to_string(), v.trim_matches('\'').to_string()))
        })
        .collect()
}

fn running_pid(status: &str) -> Option<i32> {
    status.lines().find_map(|l| {
        let rest = l.split_once(": running, pid ")?.1;
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    })
}

fn measure_localstack(ctx: &Ctx, full_runs: u32) -> Result<LocalStack> {
    let not = |why: String| -> Result<LocalStack> { Ok(LocalStack::NotMeasured(why)) };
    let (code, status, err) =
        match endpoint_command(&ctx.root, &["status", "localstack"], SHORT_RUN_LIMIT) {
            Ok(r) => r,
            Err(e) => return not(format!("not measured: LocalStack not available ({e:#})")),
        };
    if code != 0 {
        return not(format!(
            "not measured: LocalStack not available (`cargo xtask endpoint status localstack` failed: {})",
            err.lines().last().unwrap_or_default()
        ));
    }
    if status.contains("not installed") {
        return not(
            "not measured: LocalStack not available (not installed; `cargo xtask endpoint install localstack`)"
                .into(),
        );
    }
    let installed = status
        .lines()
        .find_map(|l| l.strip_prefix("localstack: installed "))
        .unwrap_or_default()
        .trim_matches(|c| c == '(' || c == ')')
        .to_string();
    let mut started_by_bench = false;
    let mut start_secs = None;
    let mut status = status;
    if running_pid(&status).is_none() {
        eprintln!("    starting LocalStack (cargo xtask endpoint start localstack)");
        let t = Instant::now();
        let (code, _, err) =
            endpoint_command(&ctx.root, &["start", "localstack"], LOCALSTACK_START_LIMIT)?;
        if code != 0 {
            return not(format!(
                "not measured: LocalStack not available (it did not start: {})",
                err.lines().last().unwrap_or_default()
            ));
        }
        start_secs = Some(t.elapsed().as_secs_f64());
        started_by_bench = true;
        status = endpoint_command(&ctx.root, &["status", "localstack"], SHORT_RUN_LIMIT)?.1;
    }
    let result = localstack_runs(
        ctx,
        full_runs,
        &status,
        started_by_bench,
        start_secs,
        &installed,
    );
    if started_by_bench {
        eprintln!("    stopping LocalStack (cargo xtask endpoint stop localstack)");
        if let Err(e) = endpoint_command(&ctx.root, &["stop", "localstack"], SHORT_RUN_LIMIT) {
            eprintln!("warning: stopping LocalStack: {e:#}");
        }
    }
    match result {
        Ok(r) => Ok(r),
        Err(e) => not(format!(
            "not measured: the run against LocalStack failed ({e:#})"
        )),
    }
}

fn localstack_runs(
    ctx: &Ctx,
    full_runs: u32,
    status: &str,
    started_by_bench: bool,
    start_secs: Option<f64>,
    installed: &str,
) -> Result<LocalStack> {
    let exports = parse_exports(status);
    let pid = running_pid(status).context("LocalStack is not running after start")?;
    let target = Target {
        name: "localstack".into(),
        url: Some(
            exports
                .get("S3_ENDPOINT")
                .cloned()
                .context("no S3_ENDPOINT in `endpoint status localstack`")?,
        ),
        access_key: exports
            .get("AWS_ACCESS_KEY_ID")
            .cloned()
            .unwrap_or_default(),
        secret_key: exports
            .get("AWS_SECRET_ACCESS_KEY")
            .cloned()
            .unwrap_or_default(),
        region: exports
            .get("AWS_REGION")
            .cloned()
            .unwrap_or_else(|| "us-east-1".into()),
    };
    let upstream: SocketAddr = target
        .url
        .as_deref()
        .unwrap_or_default()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .context("LocalStack's URL is not http://IP:PORT")?;
    // First through the proxy: it counts the requests, and warms LocalStack up (its first
    // run after a start is markedly slower).
    eprintln!("    full run through the counting proxy (also the warm-up)");
    let proxy = CountingProxy::start(upstream)?;
    let proxied = ctx.full_run(
        &target,
        Some(Server::Group(pid)),
        "localstack-proxied",
        Some(&proxy),
    );
    proxy.stop();
    let mut full = Vec::new();
    for i in 0..full_runs {
        eprintln!("    full run {} of {full_runs}", i + 1);
        full.push(ctx.full_run(
            &target,
            Some(Server::Group(pid)),
            &format!("localstack-{i}"),
            None,
        )?);
    }
    Ok(LocalStack::Measured {
        full,
        proxied: proxied.ok().map(Box::new),
        started_by_bench,
        start_secs,
        installed: installed.to_string(),
    })
}

// ---------------------------------------------------------------------------------------
// Criterion's last results, when `cargo bench` has run.

#[derive(Debug, Clone)]
struct CriterionResult {
    id: String,
    median_ns: f64,
    low_ns: f64,
    high_ns: f64,
    taken: String,
}

fn read_criterion(target_dir: &Path) -> Vec<CriterionResult> {
    let mut found = Vec::new();
    let mut stack = vec![target_dir.join("criterion")];
    let mut visited = 0;
    while let Some(dir) = stack.pop() {
        visited += 1;
        if visited > 10_000 {
            break;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|n| n == "new") {
                let estimates = path.join("estimates.json");
                let benchmark = path.join("benchmark.json");
                let (Ok(e), Ok(b)) = (
                    std::fs::read_to_string(&estimates),
                    std::fs::read_to_string(&benchmark),
                ) else {
                    continue;
                };
                let (Ok(e), Ok(b)) = (
                    serde_json::from_str::<Value>(&e),
                    serde_json::from_str::<Value>(&b),
                ) else {
                    continue;
                };
                let taken = std::fs::metadata(&estimates)
                    .and_then(|m| m.modified())
                    .map(format_time)
                    .unwrap_or_default();
                let median = &e["median"];
                found.push(CriterionResult {
                    id: b["full_id"].as_str().unwrap_or_default().to_string(),
                    median_ns: median["point_estimate"].as_f64().unwrap_or(0.0),
                    low_ns: median["confidence_interval"]["lower_bound"]
                        .as_f64()
                        .unwrap_or(0.0),
                    high_ns: median["confidence_interval"]["upper_bound"]
                        .as_f64()
                        .unwrap_or(0.0),
                    taken,
                });
            } else if path
                .file_name()
                .is_some_and(|n| n != "report" && n != "base")
            {
                stack.push(path);
            }
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

/// Cases whose setup makes an object (or a part) of 5 MiB or more.
fn large_object_cases(root: &Path) -> usize {
    fn large(v: &Value, key: Option<&str>) -> bool {
        match v {
            Value::Object(m) => m.iter().any(|(k, v)| large(v, Some(k))),
            Value::Array(a) => a.iter().any(|v| large(v, key)),
            Value::Number(n) => {
                matches!(key, Some("size" | "parts")) && n.as_u64().is_some_and(|n| n >= 5 << 20)
            }
            _ => false,
        }
    }
    std::fs::read_to_string(root.join("generated/cases.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| {
            v.as_array().map(|cases| {
                cases
                    .iter()
                    // Opt-in cases (feature `large`) are not part of a full run.
                    .filter(|c| {
                        !c["features"]
                            .as_array()
                            .is_some_and(|f| f.iter().any(|f| f == "large"))
                    })
                    .filter(|c| large(&c["setup"], None))
                    .count()
            })
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// The machine.

#[derive(Debug, Clone, Default)]
struct Machine {
    cpu: String,
    cpus: usize,
    memory: String,
    kernel: String,
    rustc: String,
    cargo: String,
}

impl Machine {
    fn describe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == "model name").then(|| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let cpus = cpuinfo
            .lines()
            .filter(|l| l.split(':').next().is_some_and(|k| k.trim() == "processor"))
            .count();
        let memory = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                let kib: f64 = m
                    .lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()?;
                Some(format!("{:.1} GiB", kib / 1024.0 / 1024.0))
            })
            .unwrap_or_else(|| "unknown".into());
        let version = |program: &str| {
            Command::new(program)
                .arg("--version")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_else(|_| "unknown".into())
        };
        Machine {
            cpu,
            cpus,
            memory,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| format!("Linux {}", s.trim()))
                .unwrap_or_else(|_| "unknown".into()),
            rustc: version("rustc"),
            cargo: version(&cargo()),
        }
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn utc_now() -> String {
    format_time(SystemTime::now())
}

fn format_time(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

// ---------------------------------------------------------------------------------------
// The report.

#[derive(Debug, Default)]
struct Report {
    date: String,
    /// The command line that wrote the report.
    invocation: String,
    machine: Machine,
    load_before: String,
    load_after: String,
    profile: String,
    runner: String,
    build_secs: f64,
    codegen: Codegen,
    embedded: Vec<FullRun>,
    external: Option<External>,
    s3s_fs_version: String,
    s3s_fs_hwm_kib: Option<u64>,
    s3s_fs_error: Option<String>,
    /// Cases of generated/cases.json whose setup makes an object of 5 MiB or more.
    large_object_cases: usize,
    localstack: LocalStack,
    criterion: Vec<CriterionResult>,
    total_secs: f64,
}

fn median(values: &[Duration]) -> Duration {
    let mut v = values.to_vec();
    v.sort();
    match v.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2,
    }
}

fn mean(values: &[Duration]) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.iter().sum::<Duration>() / values.len() as u32
}

/// The run with the median wall time.
fn median_run(runs: &[FullRun]) -> Option<&FullRun> {
    let mut v: Vec<&FullRun> = runs.iter().collect();
    v.sort_by_key(|r| r.m.wall);
    v.get(v.len() / 2).copied()
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn pct(part: Duration, whole: Duration) -> f64 {
    if whole.is_zero() {
        0.0
    } else {
        100.0 * part.as_secs_f64() / whole.as_secs_f64()
    }
}

fn per_sec(n: f64, d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        n / d.as_secs_f64()
    }
}

fn ns(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.2} s", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2} ms", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} µs", v / 1e3)
    } else {
        format!("{v:.0} ns")
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

/// One line of the summary table.
struct Row {
    figure: String,
    value: String,
    target: String,
    verdict: String,
}

impl Report {
    /// The request count of a full run on the embedded target: the embedded server is s3s-fs
    /// 0.14.1 like the external one, so the run sends the same requests (counted there).
    fn s3s_requests(&self) -> Option<u64> {
        self.external.as_ref().and_then(|e| e.proxied.requests)
    }

    fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        let cg = median(&self.codegen.binary);
        rows.push(Row {
            figure: "codegen (`xtask codegen --check`, built binary)".into(),
            value: secs(cg),
            target: "≤ 1 s".into(),
            verdict: met(cg <= Duration::from_secs(1)).into(),
        });
        if let Some(run) = median_run(&self.embedded) {
            rows.push(Row {
                figure: "embedded: cases/s".into(),
                value: format!(
                    "{:.1} ({} cases in {})",
                    per_sec(run.cases as f64, run.m.wall),
                    run.cases,
                    secs(run.m.wall)
                ),
                target: "—".into(),
                verdict: String::new(),
            });
            if let Some(n) = self.s3s_requests() {
                rows.push(Row {
                    figure: "embedded: requests/s".into(),
                    value: format!("{:.0} ({n} requests)", per_sec(n as f64, run.m.wall)),
                    target: "—".into(),
                    verdict: String::new(),
                });
            }
            rows.push(Row {
                figure: "embedded: runner CPU / wall (server in-process)".into(),
                value: format!("{:.0} %", pct(run.m.cpu(), run.m.wall)),
                target: "—".into(),
                verdict: String::new(),
            });
        }
        if let Some(ext) = &self.external {
            if let Some(run) = median_run(&ext.full) {
                rows.push(Row {
                    figure: "external s3s-fs: cases/s".into(),
                    value: format!(
                        "{:.1} ({} cases in {})",
                        per_sec(run.cases as f64, run.m.wall),
                        run.cases,
                        secs(run.m.wall)
                    ),
                    target: "—".into(),
                    verdict: String::new(),
                });
                if let Some(n) = ext.proxied.requests {
                    rows.push(Row {
                        figure: "external s3s-fs: requests/s".into(),
                        value: format!("{:.0} ({n} requests)", per_sec(n as f64, run.m.wall)),
                        target: "—".into(),
                        verdict: String::new(),
                    });
                }
                let share = pct(run.m.cpu(), run.m.wall);
                rows.push(Row {
                    figure: "harness CPU / wall (external s3s-fs)".into(),
                    value: format!("{share:.1} %"),
                    target: "≤ 5 %".into(),
                    verdict: met(share <= 5.0).into(),
                });
                rows.push(Row {
                    figure: "peak RSS of the runner, full run (external s3s-fs)".into(),
                    value: mib(run.m.max_rss_kib),
                    target: "—".into(),
                    verdict: String::new(),
                });
            }
            if let Some(large) = &ext.large {
                rows.push(Row {
                    figure: format!("peak RSS of the runner, {LARGEST_SOURCE} source"),
                    value: mib(large.max_rss_kib),
                    target: "—".into(),
                    verdict: String::new(),
                });
            }
            match (&ext.gib, &ext.gib_error) {
                (Some(g), _) => {
                    let ok = g.outcome == "ok" && g.m.code == Some(0);
                    rows.push(Row {
                        figure: "peak RSS of the runner, 1 GiB streamed source (external s3s-fs)"
                            .into(),
                        value: format!(
                            "{} (case {}, {})",
                            mib(g.m.max_rss_kib),
                            g.outcome,
                            secs(g.m.wall)
                        ),
                        target: "≤ 64 MiB with a 1 GiB source".into(),
                        verdict: if ok {
                            met(g.m.max_rss_kib <= 64 << 10).into()
                        } else {
                            "**the case did not pass**".into()
                        },
                    });
                }
                (None, Some(e)) => rows.push(Row {
                    figure: "peak RSS of the runner, 1 GiB streamed source".into(),
                    value: e.lines().next().unwrap_or_default().replace('|', "/"),
                    target: "≤ 64 MiB with a 1 GiB source".into(),
                    verdict: "not measured".into(),
                }),
                (None, None) => {}
            }
            if let Some(side) = &ext.side {
                if let Some((h, c, _)) = side.per_request() {
                    rows.push(Row {
                        figure: "harness vs curl, wall per request".into(),
                        value: format!(
                            "{} vs {} = {:.2}×",
                            ms(h),
                            ms(c),
                            h.as_secs_f64() / c.as_secs_f64().max(1e-9)
                        ),
                        target: "—".into(),
                        verdict: String::new(),
                    });
                }
            }
        }
        match &self.localstack {
            LocalStack::Measured { full, .. } => {
                let Some(full) = median_run(full) else {
                    return rows;
                };
                let ok = full.cases >= 300 && full.m.wall <= Duration::from_secs(20);
                rows.push(Row {
                    figure: "LocalStack: full run".into(),
                    value: format!(
                        "{} cases in {} ({:.1} cases/s)",
                        full.cases,
                        secs(full.m.wall),
                        per_sec(full.cases as f64, full.m.wall)
                    ),
                    target: "≥ 300 cases in ≤ 20 s".into(),
                    verdict: met(ok).into(),
                });
                let share = pct(full.m.cpu(), full.m.wall);
                rows.push(Row {
                    figure: "harness CPU / wall (LocalStack)".into(),
                    value: format!("{share:.1} %"),
                    target: "≤ 5 %".into(),
                    verdict: met(share <= 5.0).into(),
                });
            }
            LocalStack::NotMeasured(why) => rows.push(Row {
                figure: "LocalStack: full run".into(),
                value: why.clone(),
                target: "≥ 300 cases in ≤ 20 s".into(),
                verdict: "not measured".into(),
            }),
            LocalStack::Unknown => {}
        }
        rows
    }

    /// The short table printed at the end.
    fn table(&self) -> String {
        let rows = self.rows();
        let w0 = rows
            .iter()
            .map(|r| r.figure.chars().count())
            .max()
            .unwrap_or(0);
        let w1 = rows
            .iter()
            .map(|r| r.value.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for r in rows {
            let _ = writeln!(
                out,
                "{:<w0$}  {:<w1$}  {}{}",
                r.figure,
                r.value,
                r.target,
                if r.verdict.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.verdict.trim_matches('*'))
                }
            );
        }
        out.trim_end().to_string()
    }

    fn markdown(&self) -> String {
        let mut md = String::new();
        let m = &self.machine;
        let _ = writeln!(md, "# Benchmarks\n");
        let _ = writeln!(
            md,
            "Written by `{}` on {} ({:.0} s in all). Run it again to refresh every figure; \
             nothing here is asserted by a test. The issue's targets stand beside what was \
             measured.\n",
            self.invocation, self.date, self.total_secs
        );
        let _ = writeln!(md, "## Machine\n");
        let _ = writeln!(md, "| | |\n|---|---|");
        let _ = writeln!(md, "| CPU | {} × {} |", m.cpus, m.cpu);
        let _ = writeln!(md, "| memory | {} |", m.memory);
        let _ = writeln!(md, "| kernel | {} |", m.kernel);
        let _ = writeln!(md, "| toolchain | {}; {} |", m.rustc, m.cargo);
        let _ = writeln!(
            md,
            "| load average (1, 5, 15 min) | {} before, {} after |",
            self.load_before, self.load_after
        );
        let _ = writeln!(
            md,
            "| runner | `{}` ({} profile; built in {:.1} s, not counted) |\n",
            self.runner_rel(),
            self.profile,
            self.build_secs
        );
        let _ = writeln!(
            md,
            "The machine is shared: other builds and runs may have used its two cores at the same \
             time (see the load average). Wall times are the first thing such load changes; CPU \
             times and request counts much less.\n"
        );

        let _ = writeln!(md, "## Summary\n");
        let _ = writeln!(md, "| figure | measured | target | |\n|---|---|---|---|");
        for r in self.rows() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                r.figure, r.value, r.target, r.verdict
            );
        }
        md.push('\n');
        self.md_codegen(&mut md);
        self.md_runs(&mut md);
        self.md_cpu(&mut md);
        self.md_rss(&mut md);
        self.md_side(&mut md);
        self.md_localstack(&mut md);
        self.md_criterion(&mut md);
        md
    }

    fn runner_rel(&self) -> String {
        Path::new(&self.runner)
            .strip_prefix(crate::root())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| self.runner.clone())
    }

    fn md_codegen(&self, md: &mut String) {
        let c = &self.codegen;
        let list = |v: &[Duration]| v.iter().map(|d| ms(*d)).collect::<Vec<_>>().join(", ");
        let _ = writeln!(md, "## Codegen\n");
        let _ = writeln!(
            md,
            "Wall time of the built xtask binary running `codegen --check` (it renders everything \
             `codegen` writes and compares it with generated/, writing nothing), without any cargo \
             build: median {} of [{}] (one warm-up run first, not counted; exit {}: {}). \
             In this process, `codegen::render` took [{}] and, within it, loading models/s3.json \
             and expanding suites/cases into cases.json ({} bytes) took [{}]. The rest of render is \
             the tera templates and four `rustfmt` processes, one per generated Rust file. Both \
             are the xtask that `cargo xtask` builds, in the dev profile (the workspace optimises \
             dependencies, not xtask's own code); the criterion bench below runs the same render \
             optimised. The spread between repetitions is the shared machine's load.\n",
            ms(median(&c.binary)),
            list(&c.binary),
            c.binary_exit.map_or("?".into(), |e| e.to_string()),
            match c.binary_exit {
                Some(0) => "generated/ is up to date",
                _ => "generated/ differs from what codegen renders now (work in progress)",
            },
            list(&c.render),
            c.cases_json_bytes,
            list(&c.expand),
        );
    }

    fn md_runs(&self, md: &mut String) {
        let _ = writeln!(md, "## Cases and requests per second\n");
        let _ = writeln!(
            md,
            "A full run is the runner with no filter (every case, default test threads: one per \
             core), its reports written to a scratch folder so reports/ is left alone. Wall time \
             is from spawning the runner to its exit (so it includes starting the target, probing \
             it and writing the reports); `duration` is the runner's own figure from \
             results.json. Requests are counted by a forwarding proxy on 127.0.0.1 that finds \
             HTTP/1.1 request heads in the client's byte stream, in a separate run (timings are \
             never taken through the proxy). The embedded server is s3s-fs 0.14.1 as the external \
             one is, so a run sends the same requests to both and the count of the external run \
             stands for the embedded one.\n"
        );
        let _ = writeln!(
            md,
            "| target | run | cases (skipped) | wall | duration | cases/s | requests | requests/s | exit |\n|---|---|---|---|---|---|---|---|---|"
        );
        let mut line = |target: &str, label: &str, r: &FullRun, requests: Option<u64>| {
            let _ = writeln!(
                md,
                "| {target} | {label} | {} ({}) | {} | {:.2} s | {:.1} | {} | {} | {} |",
                r.cases,
                r.skipped,
                secs(r.m.wall),
                r.duration_ms as f64 / 1000.0,
                per_sec(r.cases as f64, r.m.wall),
                requests.map_or("—".into(), |n| n.to_string()),
                requests.map_or("—".into(), |n| format!(
                    "{:.0}",
                    per_sec(n as f64, r.m.wall)
                )),
                r.m.code.map_or("signal".into(), |c| c.to_string()),
            );
        };
        for (i, r) in self.embedded.iter().enumerate() {
            line("embedded", &format!("{}", i + 1), r, self.s3s_requests());
        }
        if let Some(ext) = &self.external {
            line(
                "external s3s-fs",
                "through the proxy (warm-up)",
                &ext.proxied,
                ext.proxied.requests,
            );
            for (i, r) in ext.full.iter().enumerate() {
                line(
                    "external s3s-fs",
                    &format!("{}", i + 1),
                    r,
                    ext.proxied.requests,
                );
            }
        }
        if let LocalStack::Measured { full, proxied, .. } = &self.localstack {
            let n = proxied.as_ref().and_then(|p| p.requests);
            if let Some(p) = proxied {
                line("LocalStack", "through the proxy (warm-up)", p, n);
            }
            for (i, r) in full.iter().enumerate() {
                line("LocalStack", &format!("{}", i + 1), r, n);
            }
        }
        md.push('\n');
        let lost = self
            .external
            .as_ref()
            .map_or(0, |e| e.proxied.unparsed_connections);
        if lost > 0 {
            let _ = writeln!(
                md,
                "The proxy lost track of request boundaries on {lost} connection(s) (a chunked \
                 body): the counts above are lower bounds.\n"
            );
        }
        if let Some(e) = &self.s3s_fs_error {
            let _ = writeln!(md, "The external s3s-fs could not be used: {e}\n");
        }
        if let Some(run) = median_run(&self.embedded) {
            let totals = run
                .totals
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(md, "Verdicts of the embedded run: {totals}.\n");
        }
    }

    fn md_cpu(&self, md: &mut String) {
        let _ = writeln!(md, "## Harness CPU time as a share of wall time\n");
        let _ = writeln!(
            md,
            "The runner's user+system time comes from `wait4(2)` when it exits (its own rusage, \
             children excluded); the external server's from `/proc/<pid>/stat` (utime+stime) read \
             before and after the run. With the embedded target the server runs inside the runner \
             process, so that share counts both; against the external s3s-fs the runner's share is \
             the harness alone.\n"
        );
        let _ = writeln!(
            md,
            "| target | wall | runner user | runner sys | runner CPU / wall | server CPU | server CPU / wall | runner CPU per request |\n|---|---|---|---|---|---|---|---|"
        );
        let mut line = |target: &str, r: &FullRun, requests: Option<u64>| {
            let _ = writeln!(
                md,
                "| {target} | {} | {} | {} | {:.1} % | {} | {} | {} |",
                secs(r.m.wall),
                secs(r.m.user),
                secs(r.m.sys),
                pct(r.m.cpu(), r.m.wall),
                r.server_cpu.map_or("(in the runner)".into(), secs),
                r.server_cpu
                    .map_or("—".into(), |s| format!("{:.1} %", pct(s, r.m.wall))),
                requests.map_or("—".into(), |n| format!(
                    "{:.0} µs",
                    r.m.cpu().as_secs_f64() * 1e6 / n.max(1) as f64
                )),
            );
        };
        if let Some(r) = median_run(&self.embedded) {
            line("embedded", r, self.s3s_requests());
        }
        if let Some(ext) = &self.external {
            if let Some(r) = median_run(&ext.full) {
                line("external s3s-fs", r, ext.proxied.requests);
            }
        }
        if let LocalStack::Measured { full, proxied, .. } = &self.localstack {
            if let Some(full) = median_run(full) {
                line(
                    "LocalStack",
                    full,
                    proxied.as_ref().and_then(|p| p.requests),
                );
            }
        }
        md.push('\n');
        self.md_cpu_bounds(md);
    }

    /// What bounds the harness's CPU share, from the figures measured.
    fn md_cpu_bounds(&self, md: &mut String) {
        let Some(ext) = &self.external else { return };
        let (Some(r), Some(n)) = (median_run(&ext.full), ext.proxied.requests) else {
            return;
        };
        let cpu = r.m.cpu();
        let cpu_per_req = cpu.as_secs_f64() / n.max(1) as f64;
        let _ = writeln!(
            md,
            "What bounds it. The harness's CPU is a fixed amount of work per run — {} against \
             s3s-fs, {:.0} µs per request on average — whatever the server, so its share of \
             wall time is that work over the run's length: at most 5 % means a full run may not \
             be shorter than {:.0} s, or send more than {:.0} requests per second. Against \
             s3s-fs on loopback the run lasts {} ({:.0} requests/s): the faster the server, \
             the higher the share. The targets \
             \"≤ 20 s against LocalStack\" and \"≤ 5 % CPU\" together ask for at most 1 s of \
             harness CPU per run, {:.1}× less than now.\n",
            secs(cpu),
            cpu_per_req * 1e6,
            cpu.as_secs_f64() / 0.05,
            0.05 / cpu_per_req.max(1e-9),
            secs(r.m.wall),
            per_sec(n as f64, r.m.wall),
            cpu.as_secs_f64(),
        );
        let Some(side) = ext.side.as_ref().filter(|s| !s.cases.is_empty()) else {
            return;
        };
        let small_case = side.cases_cpu() / side.cases.len() as u32;
        let small_req = side.cases_cpu().as_secs_f64() * 1e6 / side.case_requests().max(1) as f64;
        let large = self.large_object_cases.min(r.cases);
        let small = r.cases.saturating_sub(large + r.skipped);
        let small_total = small_case * small as u32;
        let rest = cpu.saturating_sub(small_total);
        let probe_cpu = median(&side.probe.iter().map(Measured::cpu).collect::<Vec<_>>());
        let alone = ext
            .large
            .as_ref()
            .map(|l| l.cpu().saturating_sub(probe_cpu));
        let _ = writeln!(
            md,
            "Where it goes. A case on a 10-byte source costs the harness {} of CPU ({:.0} µs per \
             request; the side-by-side runs below). {large} of the {} cases create an object or \
             part of 5 MiB or more (counted in generated/cases.json), {} were skipped, so the \
             {small} others account for about {} and the {large} large ones for the remaining \
             {} (about {} each{}). Moving object data is most of it. A `perf record -g` of the \
             release runner against s3s-fs taken on 2026-11-25 before object data was streamed \
             (by hand, not by this benchmark) put about 14 % of the samples in memmove, 12 % in \
             SHA-256 (the SigV4 payload hash), 7 % in MD5, 6 % in generating object data and \
             about 8 % in page faults of freshly allocated buffers. Since then setup bodies of \
             1 MiB and more go out signed `UNSIGNED-PAYLOAD` (no SHA-256) and are generated \
             256 KiB at a time as they are sent; the MD5 of expected content is computed once \
             per distinct content and run (cases share their sources' names and so their \
             bytes); objects read back are compared with the generator by memcmp as they \
             arrive instead of being buffered whole and hashed. What is left per large case is \
             generating each byte for the upload and again for the comparison, an MD5 for each \
             distinct content, and the kernel copying every body through loopback sockets (the \
             runner's system time, about as large as its user time). A second profile taken the same way after the change \
             puts 48 % of the samples in the kernel (14 % switching tasks: wake-ups between the \
             async runtime's threads and libtest's; 6 % copying socket data), 18 % in generating \
             object data (`Content::fill`: one xorshift64* step per 8 bytes, a serial chain) \
             and 6 % in MD5.\n",
            ms(small_case),
            small_req,
            r.cases,
            r.skipped,
            secs(small_total),
            secs(rest),
            ms(rest / large.max(1) as u32),
            alone
                .map(|a| format!(
                    "; the {LARGEST_SOURCE} case run alone, less a probe-only run, took {}, \
                     start-up costs of a fresh process included",
                    ms(a)
                ))
                .unwrap_or_default(),
        );
    }

    fn md_rss(&self, md: &mut String) {
        let _ = writeln!(md, "## Peak RSS\n");
        let _ = writeln!(
            md,
            "`ru_maxrss` of the runner from `wait4(2)`: the peak resident set of that process \
             over its whole life.\n"
        );
        if let Some(r) = median_run(&self.embedded) {
            let _ = writeln!(
                md,
                "- full run, embedded target (server in the same process): {}",
                mib(r.m.max_rss_kib)
            );
        }
        if let Some(ext) = &self.external {
            if let Some(r) = median_run(&ext.full) {
                let _ = writeln!(
                    md,
                    "- full run, external s3s-fs (the harness alone): {}",
                    mib(r.m.max_rss_kib)
                );
            }
            if let Some(l) = &ext.large {
                let _ = writeln!(
                    md,
                    "- only the case with the suite's largest source, {LARGEST_SOURCE} (6,291,456 \
                     bytes; {}), \
                     external s3s-fs: {}",
                    ext.large_cases.join(", "),
                    mib(l.max_rss_kib)
                );
            }
            if let Some(kib) = self.s3s_fs_hwm_kib {
                let _ = writeln!(
                    md,
                    "- the external s3s-fs server itself (VmHWM at the end): {}",
                    mib(kib)
                );
            }
        }
        let Some(ext) = &self.external else {
            md.push('\n');
            return;
        };
        match (&ext.gib, &ext.gib_error) {
            (Some(g), _) => {
                let gib = |b: u64| format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64);
                let moved = g.source_bytes + g.copied_bytes;
                let _ = writeln!(
                    md,
                    "- **a 1 GiB streamed source** ({}: {} written by PutObject, its first GiB \
                     copied by one UploadPartCopy, the upload completed with that part and the \
                     object read back), external s3s-fs, one thread: **{}** (the case: {}; exit \
                     {}; {} wall, runner CPU {} user + {} sys, s3s-fs CPU {})\n",
                    g.case,
                    gib(g.source_bytes),
                    mib(g.m.max_rss_kib),
                    g.outcome,
                    g.m.code.map_or("by a signal".into(), |c| c.to_string()),
                    secs(g.m.wall),
                    secs(g.m.user),
                    secs(g.m.sys),
                    g.server_cpu.map_or("unknown".into(), secs),
                );
                let _ = writeln!(
                    md,
                    "Object data is never held: fixtures::content describes an object as segments \
                     of a seekable generator (xorshift64*, jumped to any offset by powers of its \
                     GF(2) matrix), request bodies of 1 MiB and more are produced 256 KiB at a time \
                     while they are sent (signed `UNSIGNED-PAYLOAD`), and the object is compared \
                     with the generator chunk by chunk as it is read back, so the runner's memory \
                     does not depend on the object's size: the figure is the runner's fixed size \
                     (binary, runtime, connection and body buffers), about the same as with the 6 MiB \
                     source. \
                     The harness moved {} through its own hands in this case ({:.0} MiB/s of \
                     harness CPU); the wall time is s3s-fs writing the source, copying it on disk \
                     and serving it, and the MD5s both sides compute. The opt-in case is not part \
                     of any full run above (`--ignored --exact` runs it alone).\n",
                    gib(moved),
                    moved as f64 / (1u64 << 20) as f64 / g.m.cpu().as_secs_f64().max(1e-9),
                );
            }
            (None, Some(e)) => {
                let _ = writeln!(md, "- a 1 GiB streamed source: not measured ({e})\n");
            }
            (None, None) => md.push('\n'),
        }
    }

    fn md_side(&self, md: &mut String) {
        let _ = writeln!(md, "## The harness beside a plain client\n");
        let Some(ext) = &self.external else {
            let _ = writeln!(md, "Not measured: no external s3s-fs.\n");
            return;
        };
        let Some(side) = &ext.side else {
            let _ = writeln!(
                md,
                "Not measured: {}\n",
                ext.side_error.as_deref().unwrap_or("unknown error")
            );
            return;
        };
        let c = &side.curl;
        let _ = writeln!(
            md,
            "Both talk to the same external s3s-fs in the same run, one request at a time, \
             timings interleaved.\n\n\
             - **curl** ({}) signs with `--aws-sigv4 aws:amz:us-east-1:s3` and `--user AK:SK` \
             (plus `x-amz-content-sha256: UNSIGNED-PAYLOAD`, which curl does not send itself), one \
             process per request. A sequence is CreateBucket, PutObject of 10 bytes, \
             CreateMultipartUpload, UploadPartCopy, CompleteMultipartUpload, two DeleteObject and \
             DeleteBucket: 8 requests, {} sequences.{}\n\
             - **the harness** runs `{SIDE_FILTER}` (`--skip {SIDE_SKIP} --test-threads 1`): {} \
             cases of the same shape (PutObject of a 10-byte source, CreateMultipartUpload, a \
             ranged UploadPartCopy, the checks, cleanup down to DeleteBucket). A run also starts \
             the process and probes the target, so the same runner doing only `--probe` is \
             timed too and subtracted. Requests were counted through the proxy: {} for the \
             filtered run, {} for the probe alone.\n",
            c.version,
            c.sequences,
            c.range_note
                .as_ref()
                .map(|n| format!(" Note: {n}."))
                .unwrap_or_default(),
            side.cases.len(),
            side.harness_requests,
            side.probe_requests,
        );
        let walls = |v: &[Measured]| v.iter().map(|m| ms(m.wall)).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            md,
            "| | raw | per request |\n|---|---|---|\n\
             | curl, process wall (spawn to exit) | mean {} over {} requests | {} |\n\
             | curl, its own `time_total` | mean {} | {} |\n\
             | curl, process CPU (user+sys) | mean {} | {} |\n\
             | curl, one 8-request sequence | mean {} | — |\n\
             | harness, filtered run | [{}] | — |\n\
             | harness, probe only | [{}] | — |\n\
             | harness, cases alone (median difference) | {} for {} requests | {} |\n\
             | harness CPU, cases alone (median difference) | {} | {} |\n",
            ms(mean(&c.process)),
            c.process.len(),
            ms(mean(&c.process)),
            ms(mean(&c.time_total)),
            ms(mean(&c.time_total)),
            ms(mean(&c.cpu)),
            ms(mean(&c.cpu)),
            ms(mean(&c.sequence_wall)),
            walls(&side.harness),
            walls(&side.probe),
            ms(side.cases_wall()),
            side.case_requests(),
            side.per_request().map_or("—".into(), |(h, _, _)| ms(h)),
            ms(side.cases_cpu()),
            ms(side.cases_cpu() / side.case_requests().max(1) as u32),
        );
        if let Some((h, c_proc, c_total)) = side.per_request() {
            let h_cpu = side.cases_cpu() / side.case_requests().max(1) as u32;
            let _ = writeln!(
                md,
                "Harness over curl, per request: **{:.2}×** curl's process wall time, {:.2}× \
                 curl's own `time_total` (which leaves out its start-up), {:.2}× curl's CPU. \
                 Below 1 means the harness adds less per request than a plain client costs: \
                 curl starts a process, loads OpenSSL and opens a new connection for every \
                 request, which the harness does once per run (it keeps connections alive). What \
                 the harness adds instead — the SHA-256 of every body for the signature, the \
                 checks of each answer against the case's expectation, the results — is inside \
                 its figures above. Both sides include the same server's time.\n",
                h.as_secs_f64() / c_proc.as_secs_f64().max(1e-9),
                h.as_secs_f64() / c_total.as_secs_f64().max(1e-9),
                h_cpu.as_secs_f64() / mean(&c.cpu).as_secs_f64().max(1e-9),
            );
        }
    }

    fn md_localstack(&self, md: &mut String) {
        let _ = writeln!(md, "## LocalStack\n");
        match &self.localstack {
            LocalStack::Measured {
                full,
                proxied,
                started_by_bench,
                start_secs,
                installed,
            } => {
                let Some(run) = median_run(full) else { return };
                let requests = proxied.as_ref().and_then(|p| p.requests);
                let _ = writeln!(
                    md,
                    "LocalStack ({installed}) came from `cargo xtask endpoint`{}. After a warm-up \
                     run through the counting proxy, a full run took {} for {} cases ({} skipped) \
                     with the default test threads{}. The issue's target is ≥ 300 cases in ≤ 20 s: \
                     {}.\n",
                    if *started_by_bench {
                        format!(
                            " (started for this benchmark and stopped after it; `endpoint start` took \
                             {:.0} s, a build of the runner it probes with included)",
                            start_secs.unwrap_or(0.0)
                        )
                    } else {
                        " (it was already running)".into()
                    },
                    secs(run.m.wall),
                    run.cases,
                    run.skipped,
                    requests
                        .map(|n| format!(", {n} requests ({:.0}/s)", per_sec(n as f64, run.m.wall)))
                        .unwrap_or_default(),
                    met(run.cases >= 300 && run.m.wall <= Duration::from_secs(20)),
                );
                if full.len() > 1 {
                    let over = full
                        .iter()
                        .filter(|r| r.m.wall > Duration::from_secs(20))
                        .count();
                    let walls: Vec<String> = full.iter().map(|r| secs(r.m.wall)).collect();
                    let _ = writeln!(
                        md,
                        "That is the median of {} runs ({}); {over} of them took over 20 s.\n",
                        full.len(),
                        walls.join(", "),
                    );
                }
                if let (Some(n), Some(server)) = (requests, run.server_cpu) {
                    let threads = self.machine.cpus.max(1) as f64;
                    let _ = writeln!(
                        md,
                        "What bounds it: LocalStack's processes used {} of CPU in that run \
                         ({:.1} ms per request, {:.0} % of one core) against the runner's {} \
                         ({:.2} ms per request). With {} cases in flight a request took about \
                         {:.1} ms from the harness's side; the harness's own CPU is {:.0} % of \
                         that, the rest is LocalStack (Python) answering, on the same two cores. \
                         More test threads would overlap more of LocalStack's waiting, but the \
                         two cores are shared by the server and the harness.\n",
                        secs(server),
                        server.as_secs_f64() * 1e3 / n.max(1) as f64,
                        pct(server, run.m.wall),
                        secs(run.m.cpu()),
                        run.m.cpu().as_secs_f64() * 1e3 / n.max(1) as f64,
                        self.machine.cpus,
                        run.m.wall.as_secs_f64() * 1e3 * threads / n.max(1) as f64,
                        100.0 * run.m.cpu().as_secs_f64() / (run.m.wall.as_secs_f64() * threads),
                    );
                }
            }
            LocalStack::NotMeasured(why) => {
                let _ = writeln!(md, "{why}.\n");
            }
            LocalStack::Unknown => {
                let _ = writeln!(md, "Not measured.\n");
            }
        }
    }

    fn md_criterion(&self, md: &mut String) {
        let _ = writeln!(md, "## Criterion benches of the pure parts\n");
        let _ = writeln!(
            md,
            "`cargo bench -p codegen -p runner --bench codegen --bench parse` (or `cargo xtask bench \
             --criterion`) runs:\n\n\
             - `codegen/benches/codegen.rs`: `codegen::render` of the real models/ and suites/ \
             (including its rustfmt processes), loading models/s3.json, and the case expansion \
             (`scenarios::expand`);\n\
             - `runner/benches/parse.rs`: the generated XML response parser on a ListParts body \
             of 1000 parts (`ListPartsOutput::parse`, and the bare `XmlNode::parse` under it), \
             and reading the expanded cases (generated/cases.json) into the case type.\n"
        );
        if self.criterion.is_empty() {
            let _ = writeln!(
                md,
                "No criterion results were found under target/criterion: run the benches to see \
                 them here.\n"
            );
            return;
        }
        let _ = writeln!(
            md,
            "Their last results (median and its 95 % confidence interval; criterion's files \
             under target/criterion):\n"
        );
        let _ = writeln!(
            md,
            "| bench | median | interval | taken |\n|---|---|---|---|"
        );
        for c in &self.criterion {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} – {} | {} |",
                c.id,
                ns(c.median_ns),
                ns(c.low_ns),
                ns(c.high_ns),
                c.taken
            );
        }
        md.push('\n');
    }
}

impl SideBySide {
    fn cases_wall(&self) -> Duration {
        let h: Vec<Duration> = self.harness.iter().map(|m| m.wall).collect();
        let p: Vec<Duration> = self.probe.iter().map(|m| m.wall).collect();
        median(&h).saturating_sub(median(&p))
    }

    fn cases_cpu(&self) -> Duration {
        let h: Vec<Duration> = self.harness.iter().map(Measured::cpu).collect();
        let p: Vec<Duration> = self.probe.iter().map(Measured::cpu).collect();
        median(&h).saturating_sub(median(&p))
    }

    fn case_requests(&self) -> u64 {
        self.harness_requests.saturating_sub(self.probe_requests)
    }

    /// (harness, curl process, curl time_total), per request.
    fn per_request(&self) -> Option<(Duration, Duration, Duration)> {
        let n = self.case_requests();
        if n == 0 || self.curl.process.is_empty() {
            return None;
        }
        Some((
            self.cases_wall() / n as u32,
            mean(&self.curl.process),
            mean(&self.curl.time_total),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_finds_requests_across_reads() {
        let one = b"PUT /b/k HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello";
        let two = b"GET /b/k HTTP/1.1\r\nhost: x\r\n\r\n";
        let mut stream = one.to_vec();
        stream.extend_from_slice(two);
        stream.extend_from_slice(one);
        // Any split of the stream into reads gives the same count.
        for chunk in [1, 2, 3, 7, 50, stream.len()] {
            let mut c = RequestCounter::default();
            let n: u64 = stream.chunks(chunk).map(|p| c.feed(p)).sum();
            assert_eq!(n, 3, "reads of {chunk} bytes");
            assert!(!c.lost);
        }
        // A body that looks like a request head is not counted.
        let tricky = b"PUT /k HTTP/1.1\r\ncontent-length: 4\r\n\r\n\r\n\r\n";
        let mut c = RequestCounter::default();
        assert_eq!(c.feed(tricky), 1);
    }

    #[test]
    fn a_chunked_body_stops_the_count_and_says_so() {
        let mut c = RequestCounter::default();
        assert_eq!(
            c.feed(b"PUT /k HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
            1
        );
        assert!(c.lost);
    }

    #[test]
    fn dates_and_exports_parse() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_597), (2026, 5, 24));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        let e = parse_exports(
            "localstack: running, pid 42, http://127.0.0.1:4566\nexport S3_ENDPOINT=http://127.0.0.1:4566 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY='s3cr3t' AWS_REGION=us-east-1\n",
        );
        assert_eq!(e["S3_ENDPOINT"], "http://127.0.0.1:4566");
        assert_eq!(e["AWS_ACCESS_KEY_ID"], "test");
        assert_eq!(e["AWS_SECRET_ACCESS_KEY"], "s3cr3t");
        assert_eq!(
            running_pid("localstack: running, pid 42, http://x"),
            Some(42)
        );
        assert_eq!(running_pid("localstack: not running"), None);
    }
}
