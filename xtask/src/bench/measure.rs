//! Wall time, CPU time and peak RSS of one child under a time limit, and the CPU time of a
//! running server's process group.

use crate::endpoint::process;
use anyhow::{Context, Result};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub wall: Duration,
    pub user: Duration,
    pub sys: Duration,
    /// ru_maxrss of the child: its peak resident set, KiB.
    pub max_rss_kib: u64,
    /// Exit code; None when a signal ended it.
    pub code: Option<i32>,
    pub timed_out: bool,
}

impl Measured {
    pub fn cpu(&self) -> Duration {
        self.user + self.sys
    }
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec.max(0) as u64) + Duration::from_micros(tv.tv_usec.max(0) as u64)
}

/// Spawns `cmd` and waits for it: at most `limit`, then SIGKILL to its PID. The child is
/// reaped with wait4(2), which gives its own user and system time and peak RSS.
pub fn measure(cmd: &mut Command, limit: Duration) -> Result<(Measured, Child)> {
    let start = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let pid = child.id() as libc::pid_t;
    let (done, expired) = mpsc::channel::<()>();
    let watchdog = thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = expired.recv_timeout(limit) {
            // SAFETY: kill(2) takes two integers and touches no memory of ours. The PID is
            // still our child's: it is reaped only after this thread has been joined.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            true
        } else {
            false
        }
    });
    let exited = wait_exit(pid);
    let wall = start.elapsed();
    let _ = done.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    exited?;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is a plain C struct of integers, for which all zero bytes are valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are to locals that outlive the call; the PID is our child's.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if r != pid {
        return Err(std::io::Error::last_os_error()).context("wait4");
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let measured = Measured {
        wall,
        user: timeval(usage.ru_utime),
        sys: timeval(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss.max(0) as u64,
        code,
        timed_out,
    };
    Ok((measured, child))
}

/// Waits for the child to exit without reaping it (WNOWAIT), so that the watchdog can
/// never signal a reused PID.
fn wait_exit(pid: libc::pid_t) -> Result<()> {
    loop {
        // SAFETY: siginfo_t is a plain C struct, for which all zero bytes are valid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a local that outlives the call; waitid only writes into it.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("waitid");
        }
    }
}

/// user+sys of every live process in a process group (a server of `cargo xtask endpoint`
/// runs in a group of its own).
pub fn group_cpu(pgid: i32) -> Option<Duration> {
    let members = process::group_members(pgid);
    let ticks: u64 = members
        .iter()
        .filter_map(|&pid| process::proc_stat(pid))
        .map(|s| s.cpu_ticks)
        .sum();
    // SAFETY: sysconf(3) takes an integer and touches no memory of ours.
    let per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (!members.is_empty()).then(|| Duration::from_secs_f64(ticks as f64 / per_sec))
}

/// A `Field:  N kB` line of /proc/<pid>/status, in KiB.
pub fn proc_status_kib(pid: i32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}
