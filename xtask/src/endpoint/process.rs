//! Process groups, one-shot steps with a time limit, and small helpers (ports, keys, logs).

use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The processes of one server, all in one process group so that stop reaches children too.
pub struct Group {
    pub log: PathBuf,
    pub children: Vec<(String, Child)>,
}

impl Group {
    pub fn new(log: PathBuf) -> Self {
        Group {
            log,
            children: Vec::new(),
        }
    }

    /// The group id: the PID of the first process spawned.
    pub fn pgid(&self) -> Option<i32> {
        self.children.first().map(|(_, c)| c.id() as i32)
    }

    /// Spawns a long-running process of the server, output appended to the server log.
    pub fn spawn(&mut self, label: &str, mut cmd: Command) -> Result<()> {
        let log = append(&self.log)?;
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(self.pgid().unwrap_or(0));
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {label} ({:?})", cmd.get_program()))?;
        self.children.push((label.to_string(), child));
        Ok(())
    }

    /// The first process that has exited, with how it ended.
    pub fn exited(&mut self) -> Option<String> {
        for (label, child) in &mut self.children {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(format!("{label} exited ({status})"));
            }
        }
        None
    }

    /// Kills the whole group (used when a start fails). `stop_group` reaps our children
    /// itself; `Child::kill` afterwards could hit a reused PID, so it is not called.
    pub fn kill(&mut self) {
        if let Some(pgid) = self.pgid() {
            if let Err(e) = stop_group(pgid, Duration::from_secs(10)) {
                eprintln!("warning: {e:#}");
            }
        }
    }
}

/// An exclusive lock on `path`, held until dropped: two starts (or a start and a stop) of
/// one server from different processes would otherwise race on its state file.
pub fn lock(path: &Path, limit: Duration) -> Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let deadline = Instant::now() + limit;
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                if !told {
                    eprintln!(
                        "waiting for another start or stop ({} is locked)",
                        path.display()
                    );
                    told = true;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                bail!("{} stayed locked for {limit:?}", path.display())
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
    }
}

pub fn append(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// The last `n` lines of a log, indented, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    let shown: Vec<String> = lines[start..].iter().map(|l| format!("    {l}")).collect();
    if shown.is_empty() {
        format!("  ({} is empty)", path.display())
    } else {
        format!("  last lines of {}:\n{}", path.display(), shown.join("\n"))
    }
}

/// Runs a one-shot command in its own process group, killed after `limit`. Stderr goes to
/// `log`; stdout is returned when `capture`, else it goes to `log` too.
pub fn run_step(mut cmd: Command, limit: Duration, log: &Path, capture: bool) -> Result<String> {
    let what = format!("{cmd:?}");
    let out_path = log.with_extension(format!("step-{}.out", std::process::id()));
    let out = if capture {
        File::create(&out_path).with_context(|| format!("cannot create {}", out_path.display()))?
    } else {
        append(log)?
    };
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(append(log)?)
        .process_group(0);
    let mut child = cmd.spawn().with_context(|| format!("cannot run {what}"))?;
    let status = wait_bounded(&mut child, limit);
    let mut stdout = String::new();
    if capture {
        if let Ok(mut f) = File::open(&out_path) {
            let _ = f.read_to_string(&mut stdout);
        }
        let _ = std::fs::remove_file(&out_path);
    }
    match status {
        Some(s) if s.success() => Ok(stdout),
        Some(s) => bail!("{what} failed ({s})\n{}{}", indent(&stdout), tail(log, 15)),
        None => bail!("{what} did not finish within {limit:?}\n{}", tail(log, 15)),
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .rev()
        .take(15)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|l| format!("    {l}\n"))
        .collect()
}

/// Waits for a child at most `limit`; on time-out kills its group and returns None.
pub fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                // SAFETY: kill(2) takes two integers and touches no memory of ours. The child
                // is not reaped yet, so no other process can hold its PID as a group id: the
                // signal reaches the child's own group, or nothing (ESRCH) when it has none.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Ports this process has handed out. Servers start side by side (`cargo xtask matrix`), so
/// a port released here must not be given again before its server binds it.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A port free right now on 127.0.0.1 (the kernel picks it; we release it at once).
pub fn free_port() -> Result<u16> {
    Ok(free_ports(1, 0)?[0])
}

/// `n` distinct free ports other than `taken` and those handed out before: all are bound at
/// once before being released, so the kernel cannot hand out one twice.
pub fn free_ports(n: usize, taken: u16) -> Result<Vec<u16>> {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let mut listeners = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < n {
        if listeners.len() > n + 1000 {
            bail!(
                "no {n} free ports on 127.0.0.1 after {} tries",
                listeners.len()
            );
        }
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        if port != taken && handed_out.insert(port) {
            ports.push(port);
        }
        listeners.push(listener);
    }
    Ok(ports)
}

pub fn accepts(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("cannot read /dev/urandom")?;
    Ok(buf)
}

/// `n` characters out of `alphabet`, e.g. for access keys.
pub fn random_string(n: usize, alphabet: &[u8]) -> Result<String> {
    Ok(random_bytes(n)?
        .into_iter()
        .map(|b| alphabet[b as usize % alphabet.len()] as char)
        .collect())
}

/// `n` random bytes as 2n hex digits.
pub fn random_hex(n: usize) -> Result<String> {
    Ok(hex::encode(random_bytes(n)?))
}

pub const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// What /proc/<pid>/stat says about one process.
pub struct Stat {
    pub state: char,
    pub pgid: i32,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    /// Start time in clock ticks since boot, so a reused PID is not taken for the same process.
    pub start_ticks: u64,
}

pub fn proc_stat(pid: i32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    // Counted from there: state 0, pgrp 2, utime 11, stime 12, starttime 19.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let number = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        pgid: fields.get(2)?.parse().ok()?,
        cpu_ticks: number(11)? + number(12)?,
        start_ticks: number(19)?,
    })
}

impl Stat {
    /// Neither a zombie nor dead.
    pub fn live(&self) -> bool {
        self.state != 'Z' && self.state != 'X'
    }
}

/// The live (non-zombie) processes of a process group.
pub fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| proc_stat(pid).is_some_and(|s| s.pgid == pgid && s.live()))
        .collect()
}

/// SIGTERM to the group, wait up to `grace`, then SIGKILL; Err lists what survived.
pub fn stop_group(pgid: i32, grace: Duration) -> Result<()> {
    // SAFETY: getpgrp(2) takes no arguments, cannot fail and touches no memory of ours.
    let own = unsafe { libc::getpgrp() };
    if pgid <= 1 || pgid == own {
        bail!("refusing to signal process group {pgid}");
    }
    let wait_empty = |limit: Duration| {
        let deadline = Instant::now() + limit;
        loop {
            reap(pgid);
            if group_members(pgid).is_empty() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    // SAFETY: kill(2) takes two integers and touches no memory of ours. The group is one we
    // started (neither ours nor init's, checked above); a PGID is not reused while it lives.
    unsafe { libc::kill(-pgid, libc::SIGTERM) };
    if wait_empty(grace) {
        return Ok(());
    }
    // SAFETY: as for SIGTERM above.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    if wait_empty(Duration::from_secs(5)) {
        return Ok(());
    }
    bail!(
        "processes of group {pgid} survived SIGKILL: {:?}",
        group_members(pgid)
    )
}

/// Collects exit statuses of our own children in the group, so they leave no zombies.
fn reap(pgid: i32) {
    loop {
        let mut status = 0;
        // SAFETY: `status` is a local that outlives the call and waitpid(2) only writes an
        // int into it. With WNOHANG it never blocks; it reaps only our children in the group
        // (ECHILD when there are none), whose Child handles are not waited on afterwards.
        let pid = unsafe { libc::waitpid(-pgid, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Servers started side by side in one process never get the same port, even one the
    /// kernel would hand out again once released.
    #[test]
    fn ports_handed_out_are_never_handed_out_again() {
        let mut seen = BTreeSet::new();
        for _ in 0..20 {
            assert!(seen.insert(free_port().unwrap()));
            for p in free_ports(3, 0).unwrap() {
                assert!(seen.insert(p), "port {p} handed out twice");
            }
        }
        let taken = free_port().unwrap();
        assert!(!free_ports(5, taken).unwrap().contains(&taken));
    }
}
