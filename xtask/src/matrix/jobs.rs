//! Running the matrix's targets side by side: each target's server is started and stopped
//! by its own recipe on ports of its own, so several can run at once. Each run's output goes
//! to a log of its own; the terminal gets a line per target as it starts and ends.

use crate::endpoint::{self, process};
use crate::targets;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one target's run may take (its server's start and stop are bounded apart).
const TARGET_LIMIT: Duration = Duration::from_secs(20 * 60);

/// Targets at once: one per core, at most 4. Each target is a server and a runner that
/// both use CPU (LocalStack and Ceph start slowly), so more than the cores only slows all.
pub fn default_jobs() -> u16 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.clamp(1, 4) as u16
}

/// How one target's run ended.
pub struct Outcome {
    pub name: String,
    /// Start of its server and the run (its stop goes on beside the next target's run).
    pub took: Duration,
    /// The runner's exit code: 0 as the baseline says, 1 not, 2 a setup error.
    pub result: Result<i32, String>,
    pub log: PathBuf,
}

impl Outcome {
    /// What to say when the run did not match its baseline or failed.
    pub fn problem(&self) -> Option<String> {
        let name = &self.name;
        match &self.result {
            Ok(0) => None,
            Ok(1) => Some(format!(
                "{name} does not match reports/{name}/baseline.toml (see reports/{name}/summary.md)"
            )),
            Ok(code) => Some(format!(
                "{name}: the run failed (exit {code}; log: {}); its reports were left as they were",
                self.log.display()
            )),
            Err(e) => Some(format!("{name}: {e}")),
        }
    }
}

pub struct MatrixRun {
    /// In the order the targets were asked for.
    pub outcomes: Vec<Outcome>,
    pub wall: Duration,
}

/// Runs every target in `names` into `reports`/<target>/, `jobs` at a time, the longest
/// (by its last run) first so that the last to finish is a short one.
pub fn run_targets(
    root: &Path,
    names: &[String],
    reports: &Path,
    jobs: usize,
) -> Result<MatrixRun> {
    let exe = targets::build_runner(root, None)?;
    let logs = std::env::temp_dir().join("conformance-matrix");
    std::fs::create_dir_all(&logs).with_context(|| format!("cannot create {}", logs.display()))?;
    let mut order: Vec<&String> = names.iter().collect();
    // By the committed reports (a scratch folder has no earlier run).
    let record = root.join("reports");
    order.sort_by_key(|n| std::cmp::Reverse(last_duration(&record, n)));
    eprintln!(
        "==> {} targets, {} side by side; a log per target in {}",
        names.len(),
        jobs.min(names.len()),
        logs.display()
    );
    let started = Instant::now();
    let job = Job {
        root,
        exe: &exe,
        reports,
        logs: &logs,
        stops: Mutex::new(Vec::new()),
    };
    let mut outcomes = side_by_side(&order, jobs, |name| job.run_one(name));
    // A server's stop is mostly waiting (SeaweedFS takes ~15 s to shut down cleanly), so it
    // runs on a thread of its own while the slot takes the next target; all end here.
    for (name, stop) in job.stops.into_inner().unwrap_or_else(|e| e.into_inner()) {
        let stopped = stop
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("its stop panicked")));
        record_stop(&mut outcomes, &name, stopped);
    }
    let wall = started.elapsed();
    outcomes.sort_by_key(|o| names.iter().position(|n| *n == o.name));
    Ok(MatrixRun { outcomes, wall })
}

/// The runner's own duration of the target's last run, when its results say.
fn last_duration(reports: &Path, name: &str) -> u128 {
    contract::results::Results::load(&reports.join(name).join("results.json"))
        .map_or(0, |r| r.run_info.duration_ms)
}

/// `work` on each item, at most `jobs` at once, taken in order; results in the same order.
pub fn side_by_side<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let r = work(item);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every item was worked on"))
        .collect()
}

/// What every target's run in one matrix shares: where things are, and the servers being
/// stopped, each on a thread of its own.
struct Job<'a> {
    root: &'a Path,
    exe: &'a Path,
    reports: &'a Path,
    logs: &'a Path,
    stops: Mutex<Vec<(String, std::thread::JoinHandle<Result<()>>)>>,
}

/// A failed stop makes its target's outcome a failure; a run that failed already keeps its
/// own reason (the stop's is printed).
fn record_stop(outcomes: &mut [Outcome], name: &str, stopped: Result<()>) {
    let Err(e) = stopped else { return };
    let e = format!("stopping its server failed: {e:#}");
    eprintln!("[{name}] {e}");
    if let Some(o) = outcomes.iter_mut().find(|o| o.name == name) {
        if o.result == Ok(0) {
            o.result = Err(e);
        }
    }
}

impl Job<'_> {
    fn run_one(&self, name: &str) -> Outcome {
        eprintln!("[{name}] starting");
        let log = &self.logs.join(format!("{name}.log"));
        let started = Instant::now();
        let result = self.run_logged(name, log).map_err(|e| format!("{e:#}"));
        let took = started.elapsed();
        let said = match &result {
            Ok(0) => "matches its baseline".to_string(),
            Ok(1) => "does not match its baseline".to_string(),
            Ok(code) => format!("failed (exit {code})\n{}", process::tail(log, 10)),
            Err(e) => format!("failed: {e}"),
        };
        eprintln!(
            "[{name}] {said} ({}; log: {})",
            minutes(took),
            log.display()
        );
        Outcome {
            name: name.to_string(),
            took,
            result,
            log: log.to_path_buf(),
        }
    }

    /// One target as `targets::run` runs it, with the runner's output in `log` and its time
    /// bounded; its server's stop is left running in `stops`.
    fn run_logged(&self, name: &str, log: &Path) -> Result<i32> {
        let (root, exe, reports) = (self.root, self.exe, self.reports);
        let out = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let baseline = root.join("reports").join(name).join("baseline.toml");
        let mut runner = Command::new(exe);
        runner
            .args(["--target", name])
            .arg("--reports-dir")
            .arg(reports)
            .arg("--baseline")
            .arg(&baseline)
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        if name == targets::EMBEDDED {
            return wait(runner, name);
        }
        let running = endpoint::start_with_probe(root, name, exe)?;
        if let Some(n) = endpoint::test_threads(name) {
            runner.args(["--test-threads", &n.to_string()]);
        }
        runner
            .args(["--endpoint", &running.url, "--region", &running.region])
            .env("AWS_ACCESS_KEY_ID", &running.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &running.secret_key)
            .env_remove("AWS_SESSION_TOKEN");
        let code = wait(runner, name);
        let (root, owned) = (root.to_path_buf(), name.to_string());
        let stop = std::thread::spawn(move || endpoint::stop(&root, &owned));
        self.stops
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((name.to_string(), stop));
        code
    }
}

fn wait(mut runner: Command, name: &str) -> Result<i32> {
    let mut child = runner
        .spawn()
        .with_context(|| format!("cannot start the runner for {name}"))?;
    match process::wait_bounded(&mut child, TARGET_LIMIT) {
        Some(status) => Ok(status.code().unwrap_or(2)),
        None => anyhow::bail!("the run did not finish within {}", minutes(TARGET_LIMIT)),
    }
}

/// `3 min 41 s`, or `52.3 s` under a minute.
pub fn minutes(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1} s")
    } else {
        let whole = d.as_secs();
        format!("{} min {:02} s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_by_side_runs_at_most_jobs_at_once_and_keeps_the_order() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items: Vec<u64> = (0..7).collect();
        let out = side_by_side(&items, 3, |i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            // The first three wait (bounded) until all three run: three threads take them.
            let deadline = Instant::now() + Duration::from_secs(10);
            while *i < 3 && most.load(Ordering::SeqCst) < 3 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            running.fetch_sub(1, Ordering::SeqCst);
            i * 10
        });
        assert_eq!(out, [0, 10, 20, 30, 40, 50, 60]);
        assert_eq!(most.load(Ordering::SeqCst), 3);
        // One job: one at a time; no items: nothing, no thread left waiting.
        let most = AtomicUsize::new(0);
        let running = AtomicUsize::new(0);
        side_by_side(&items, 1, |_| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            running.fetch_sub(1, Ordering::SeqCst);
        });
        assert_eq!(most.load(Ordering::SeqCst), 1);
        assert!(side_by_side(&[] as &[u8], 4, |_| 0).is_empty());
    }

    #[test]
    fn a_failed_stop_fails_its_target_unless_the_run_failed_first() {
        let outcome = |name: &str, result| Outcome {
            name: name.into(),
            took: Duration::ZERO,
            result,
            log: "/tmp/x.log".into(),
        };
        let mut outcomes = vec![outcome("moto", Ok(0)), outcome("garage", Ok(2))];
        record_stop(&mut outcomes, "moto", Ok(()));
        assert_eq!(outcomes[0].result, Ok(0));
        record_stop(&mut outcomes, "moto", Err(anyhow::anyhow!("pid 7 lives")));
        let problem = outcomes[0].problem().unwrap();
        assert!(
            problem.contains("stopping its server failed: pid 7 lives"),
            "{problem}"
        );
        // A run that failed already keeps its own, first, reason.
        record_stop(&mut outcomes, "garage", Err(anyhow::anyhow!("pid 8 lives")));
        assert_eq!(outcomes[1].result, Ok(2));
    }

    #[test]
    fn times_read_as_minutes_and_problems_name_the_target() {
        assert_eq!(minutes(Duration::from_millis(52_340)), "52.3 s");
        assert_eq!(minutes(Duration::from_secs(221)), "3 min 41 s");
        let outcome = |result| Outcome {
            name: "moto".into(),
            took: Duration::ZERO,
            result,
            log: "/tmp/moto.log".into(),
        };
        assert!(outcome(Ok(0)).problem().is_none());
        assert!(outcome(Ok(1))
            .problem()
            .unwrap()
            .contains("reports/moto/baseline.toml"));
        assert!(outcome(Ok(2)).problem().unwrap().contains("/tmp/moto.log"));
        assert!(outcome(Err("did not start".into()))
            .problem()
            .unwrap()
            .starts_with("moto: did not start"));
    }
}
