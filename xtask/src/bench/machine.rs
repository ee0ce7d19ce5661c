//! The machine the benchmark ran on, as /proc and the toolchain describe it, and the time.

use std::process::Command;
use std::time::SystemTime;

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cpus: usize,
    pub memory: String,
    pub kernel: String,
    pub rustc: String,
    pub cargo: String,
}

impl Machine {
    pub fn describe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |l: &str, name: &str| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim().to_string())
        };
        let version = |program: &str| {
            Command::new(program)
                .arg("--version")
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_else(|_| "unknown".into())
        };
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        Machine {
            cpu: cpuinfo
                .lines()
                .find_map(|l| field(l, "model name"))
                .unwrap_or_else(|| "unknown".into()),
            cpus: cpuinfo
                .lines()
                .filter(|l| field(l, "processor").is_some())
                .count(),
            memory: memory().unwrap_or_else(|| "unknown".into()),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| format!("Linux {}", s.trim()))
                .unwrap_or_else(|_| "unknown".into()),
            rustc: version("rustc"),
            cargo: version(&cargo),
        }
    }
}

/// MemTotal of /proc/meminfo, in GiB.
fn memory() -> Option<String> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(format!("{:.1} GiB", kib / 1024.0 / 1024.0))
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// `2026-11-25 06:21 UTC`.
pub fn format_time(t: SystemTime) -> String {
    // RFC 3339, `2026-11-25T06:21:07Z`: the date, then hours and minutes.
    let rfc3339 = humantime::format_rfc3339_seconds(t).to_string();
    format!("{} {} UTC", &rfc3339[..10], &rfc3339[11..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn times_are_utc_to_the_minute() {
        let at = |secs| format_time(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01 00:00 UTC");
        assert_eq!(
            at(20_597 * 86_400 + 6 * 3600 + 21 * 60 + 59),
            "2026-05-24 06:21 UTC"
        );
        assert_eq!(at(11_016 * 86_400), "2000-02-29 00:00 UTC");
    }
}
