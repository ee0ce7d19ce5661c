//! The runs against an external s3s-fs: full runs (one through the counting proxy), the
//! case with the largest source alone, the opt-in 1 GiB case, and curl beside the harness.

use super::cases::Cases;
use super::curl::CurlRun;
use super::measure::{group_cpu, Measured};
use super::proxy::{self, CountingProxy};
use super::runs::{FullRun, Runner, Target, SHORT_RUN_LIMIT};
use super::stats::median;
use super::{Args, Started};
use anyhow::{bail, Result};
use std::time::Duration;

/// The filter of the side-by-side comparison: the ranged part copies of small sources.
pub const SIDE_FILTER: &str = "upload_part_copy/range/";
pub const SIDE_SKIP: &str = "large-source";
/// The case with the suite's largest source.
const LARGE_FILTER: &str = "upload_part_copy/range/large-source";
/// The opt-in case that copies the first GiB of a 1 GiB + 1 MiB streamed source.
const GIB_CASE: &str = "upload_part_copy/large/first-gib-of-a-larger-source";
/// Writing 1 GiB, copying it and reading it back takes a while on a shared disk.
const GIB_RUN_LIMIT: Duration = Duration::from_secs(900);

#[derive(Debug, Clone, Default)]
pub struct External {
    pub full: Vec<FullRun>,
    pub proxied: FullRun,
    pub side: Option<SideBySide>,
    pub side_error: Option<String>,
    pub large: Option<Measured>,
    pub large_cases: Vec<String>,
    /// The largest source the cases of `large_cases` write.
    pub large_source_bytes: Option<u64>,
    pub gib: Option<GibRun>,
    pub gib_error: Option<String>,
}

/// The opt-in case with a 1 GiB streamed source, run alone against the external s3s-fs.
#[derive(Debug, Clone, Default)]
pub struct GibRun {
    pub case: String,
    pub m: Measured,
    /// The libtest line of the case (`ok`, or why not).
    pub outcome: String,
    pub server_cpu: Option<Duration>,
    /// Bytes the case moves (from generated/cases.json): the source it writes, and the
    /// range it copies, which it reads back after completing the upload.
    pub source_bytes: Option<u64>,
    pub copied_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct SideBySide {
    pub cases: Vec<String>,
    /// The sizes of the sources those cases write (from generated/cases.json).
    pub source_bytes: Vec<u64>,
    pub harness: Vec<Measured>,
    pub probe: Vec<Measured>,
    pub harness_requests: u64,
    pub probe_requests: u64,
    pub curl: CurlRun,
}

pub fn measure_external(
    runner: &Runner,
    server: &Started,
    args: &Args,
    cases: &Cases,
) -> Result<External> {
    let target = &server.target("bench-s3s-fs", "embedded");
    let pgid = Some(server.running.pid);
    let mut ext = External::default();
    // First through the proxy: it counts the requests, and warms the server up.
    eprintln!("    full run through the counting proxy (also the warm-up)");
    let proxy = CountingProxy::start(proxy::upstream(&server.running.url)?)?;
    ext.proxied = runner.full_run(target, pgid, "s3s-fs-proxied", Some(&proxy))?;
    for i in 0..args.full_runs {
        eprintln!("    full run {} of {}", i + 1, args.full_runs);
        let label = format!("s3s-fs-{i}");
        ext.full.push(runner.full_run(target, pgid, &label, None)?);
    }

    eprintln!("    side by side: curl and the harness");
    match side_by_side(runner, target, args, &proxy, cases) {
        Ok(side) => ext.side = Some(side),
        Err(e) => ext.side_error = Some(format!("{e:#}")),
    }
    proxy.stop();

    eprintln!("    the largest source alone");
    ext.large_cases = runner.list(target, &[LARGE_FILTER])?;
    ext.large_source_bytes = ext
        .large_cases
        .iter()
        .filter_map(|c| cases.source_bytes(c))
        .max();
    let filter = [LARGE_FILTER, "--test-threads", "1"];
    let (m, _) = runner.short_run(target, &filter, "s3s-fs-large", None, SHORT_RUN_LIMIT)?;
    ext.large = Some(m);
    if args.no_gib {
        ext.gib_error = Some("not measured: --no-gib".into());
    } else {
        eprintln!("    the 1 GiB streamed source ({GIB_CASE})");
        match gib_run(runner, target, server.running.pid, cases) {
            Ok(g) => ext.gib = Some(g),
            Err(e) => ext.gib_error = Some(format!("not measured: {e:#}")),
        }
    }
    Ok(ext)
}

/// Runs the opt-in 1 GiB case alone (`--ignored --exact`), one thread, generous time limits.
fn gib_run(runner: &Runner, target: &Target, pgid: i32, cases: &Cases) -> Result<GibRun> {
    let name = format!("{}::{GIB_CASE}", target.name);
    let label = "s3s-fs-gib";
    let cpu_before = group_cpu(pgid);
    let args = [
        "--ignored",
        "--exact",
        &name,
        "--test-threads",
        "1",
        "--request-timeout",
        "600",
        "--case-timeout",
        "1800",
    ];
    let (m, _) = runner.short_run(target, &args, label, None, GIB_RUN_LIMIT)?;
    let server_cpu = cpu_before
        .zip(group_cpu(pgid))
        .map(|(a, b)| b.saturating_sub(a));
    let log = std::fs::read_to_string(runner.log(label)).unwrap_or_default();
    let outcome = log
        .lines()
        .find(|l| l.contains(&name))
        .and_then(|l| l.rsplit(" ... ").next())
        .unwrap_or("not run (the filter selected nothing)")
        .trim()
        .to_string();
    Ok(GibRun {
        source_bytes: cases.source_bytes(&name),
        copied_bytes: cases.range_bytes(&name),
        case: name,
        m,
        outcome,
        server_cpu,
    })
}

fn side_by_side(
    runner: &Runner,
    target: &Target,
    args: &Args,
    proxy: &CountingProxy,
    cases: &Cases,
) -> Result<SideBySide> {
    let filter = [SIDE_FILTER, "--skip", SIDE_SKIP, "--test-threads", "1"];
    let mut side = SideBySide {
        cases: runner.list(target, &filter[..3])?,
        ..SideBySide::default()
    };
    if side.cases.is_empty() {
        bail!("the filter {SIDE_FILTER} selects no case");
    }
    side.source_bytes = side
        .cases
        .iter()
        .filter_map(|c| cases.source_bytes(c))
        .collect();
    side.source_bytes.sort();
    side.source_bytes.dedup();
    // Request counts, through the proxy (one run each).
    let limit = SHORT_RUN_LIMIT;
    let (_, n) = runner.short_run(target, &filter, "side-count", Some(proxy), limit)?;
    side.harness_requests = n.unwrap_or(0);
    let (_, n) = runner.short_run(target, &["--probe"], "probe-count", Some(proxy), limit)?;
    side.probe_requests = n.unwrap_or(0);
    // Timings, straight to the server, interleaved with curl so drift hits both alike.
    side.curl = CurlRun::new(target);
    let per_round = args.curl_sequences.div_ceil(args.repeat);
    for round in 0..args.repeat {
        let label = format!("side-{round}");
        let (m, _) = runner.short_run(target, &filter, &label, None, limit)?;
        side.harness.push(m);
        let label = format!("probe-{round}");
        let (m, _) = runner.short_run(target, &["--probe"], &label, None, limit)?;
        side.probe.push(m);
        for _ in 0..per_round {
            if side.curl.sequences < args.curl_sequences as usize {
                side.curl.sequence(&runner.scratch)?;
            }
        }
    }
    Ok(side)
}

impl SideBySide {
    /// The harness's wall time for the cases alone: the median filtered run less the
    /// median probe-only run.
    pub fn cases_wall(&self) -> Duration {
        let h: Vec<Duration> = self.harness.iter().map(|m| m.wall).collect();
        let p: Vec<Duration> = self.probe.iter().map(|m| m.wall).collect();
        median(&h).saturating_sub(median(&p))
    }

    pub fn cases_cpu(&self) -> Duration {
        let h: Vec<Duration> = self.harness.iter().map(Measured::cpu).collect();
        let p: Vec<Duration> = self.probe.iter().map(Measured::cpu).collect();
        median(&h).saturating_sub(median(&p))
    }

    pub fn case_requests(&self) -> u64 {
        self.harness_requests.saturating_sub(self.probe_requests)
    }

    /// (harness, curl process, curl time_total), per request.
    pub fn per_request(&self) -> Option<(Duration, Duration, Duration)> {
        let n = self.case_requests();
        if n == 0 || self.curl.process.is_empty() {
            return None;
        }
        Some((
            self.cases_wall() / n as u32,
            super::stats::mean(&self.curl.process),
            super::stats::mean(&self.curl.time_total),
        ))
    }
}
