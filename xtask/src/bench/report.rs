//! What one benchmark measured, the summary table (printed and in the report), and
//! docs/benchmarks.md rendered from templates/benchmarks.md.tera.

mod context;

use super::codegen::Codegen;
use super::criterion::CriterionResult;
use super::external::External;
use super::localstack::LocalStack;
use super::machine::{format_time, loadavg, Machine};
use super::matrix::MatrixTime;
use super::runs::{median_run, FullRun};
use super::shards::Sharded;
use super::stats::{median, met, mib, ms, pct, per_sec, secs, size};
use anyhow::{Context, Result};
use std::time::{Duration, SystemTime};

#[derive(Debug, Default)]
pub struct Report {
    pub date: String,
    /// The command line that wrote the report.
    pub invocation: String,
    pub machine: Machine,
    pub load_before: String,
    pub load_after: String,
    pub profile: String,
    /// The runner binary, relative to the workspace.
    pub runner: String,
    pub build_secs: f64,
    pub codegen: Codegen,
    pub embedded: Vec<FullRun>,
    pub external: Option<External>,
    pub s3s_fs_hwm_kib: Option<u64>,
    pub s3s_fs_started_by_bench: bool,
    pub s3s_fs_error: Option<String>,
    /// Cases of generated/cases.json whose setup makes an object of 5 MiB or more.
    pub large_object_cases: usize,
    pub localstack: LocalStack,
    pub shards: Sharded,
    pub matrix: MatrixTime,
    /// The summary of the report this one replaces: its date and figure → measured value.
    pub previous: Option<(String, std::collections::BTreeMap<String, String>)>,
    pub criterion: Vec<CriterionResult>,
    pub total_secs: f64,
}

/// One line of the summary table.
#[derive(serde::Serialize)]
pub struct Row {
    figure: String,
    value: String,
    /// What the report this one replaces measured.
    previous: String,
    target: String,
    verdict: String,
}

impl Row {
    /// A figure with no target.
    fn plain(figure: impl Into<String>, value: String) -> Row {
        Row::new(figure, value, "—", "")
    }

    fn new(figure: impl Into<String>, value: String, target: &str, verdict: &str) -> Row {
        Row {
            figure: figure.into(),
            value,
            previous: String::new(),
            target: target.into(),
            verdict: verdict.into(),
        }
    }
}

/// `40.1 (301 cases in 7.50 s)`.
fn cases_per_sec(run: &FullRun) -> String {
    format!(
        "{:.1} ({} cases in {})",
        per_sec(run.cases as f64, run.m.wall),
        run.cases,
        secs(run.m.wall)
    )
}

fn requests_per_sec(n: u64, run: &FullRun) -> String {
    format!("{:.0} ({n} requests)", per_sec(n as f64, run.m.wall))
}

const GIB_TARGET: &str = "≤ 64 MiB with a 1 GiB source";
const LOCALSTACK_TARGET: &str = "≤ 20 s with every case";
const MATRIX_TARGET: &str = "≤ 4 min";

/// The summary table of a report this command wrote before: its date and each figure's
/// measured value (empty when there is none, or it cannot be read).
pub fn read_previous(
    path: &std::path::Path,
) -> Option<(String, std::collections::BTreeMap<String, String>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let date = text.split_once("` on ")?.1.split_once(" (")?.0.to_string();
    let summary = text.split_once("## Summary")?.1;
    let table = summary
        .split("\n\n")
        .find(|p| p.trim_start().starts_with('|'))?;
    let values = table
        .lines()
        .skip(2)
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().trim_matches('|').split(" | ").collect();
            Some((
                cells.first()?.trim().to_string(),
                cells.get(1)?.trim().to_string(),
            ))
        })
        .collect();
    Some((date, values))
}

impl Report {
    /// The date, command line, machine and load at the start.
    pub fn new(profile: &str) -> Report {
        Report {
            date: format_time(SystemTime::now()),
            invocation: std::iter::once("cargo xtask".to_string())
                .chain(std::env::args().skip(1))
                .collect::<Vec<_>>()
                .join(" "),
            machine: Machine::describe(),
            load_before: loadavg(),
            profile: profile.to_string(),
            ..Report::default()
        }
    }

    /// The load at the end and the time it all took.
    pub fn finish(&mut self, took: Duration) {
        self.load_after = loadavg();
        self.total_secs = took.as_secs_f64();
    }

    /// The request count of a full run on the embedded target: the embedded server is s3s-fs
    /// like the external one, so the run sends the same requests (counted there).
    fn s3s_requests(&self) -> Option<u64> {
        self.external.as_ref().and_then(|e| e.proxied.requests)
    }

    fn rows(&self) -> Vec<Row> {
        let cg = median(&self.codegen.binary);
        let mut rows = vec![Row::new(
            "codegen (`xtask codegen --check`, built binary)",
            secs(cg),
            "≤ 1 s",
            met(cg <= Duration::from_secs(1)),
        )];
        if let Some(run) = median_run(&self.embedded) {
            rows.push(Row::plain("embedded: cases/s", cases_per_sec(run)));
            if let Some(n) = self.s3s_requests() {
                rows.push(Row::plain("embedded: requests/s", requests_per_sec(n, run)));
            }
            rows.push(Row::plain(
                "embedded: runner CPU / wall (server in-process)",
                format!("{:.0} %", pct(run.m.cpu(), run.m.wall)),
            ));
        }
        if let Some(ext) = &self.external {
            rows.extend(external_rows(ext));
        }
        rows.extend(self.localstack_rows());
        rows.extend(self.shards_row());
        rows.extend(self.matrix_row());
        if let Some((_, previous)) = &self.previous {
            for row in &mut rows {
                row.previous = previous.get(&row.figure).cloned().unwrap_or_default();
            }
        }
        rows
    }

    fn shards_row(&self) -> Option<Row> {
        let figure = format!(
            "embedded target in {} nextest shards",
            super::shards::SHARDS
        );
        let target = "the verdicts of one unsharded run";
        Some(match &self.shards {
            Sharded::Measured {
                shards,
                cases,
                same_verdicts,
            } => {
                let longest = shards.iter().max().copied().unwrap_or_default();
                let all: Duration = shards.iter().sum();
                let same = match same_verdicts {
                    Some(true) => "the same verdicts as unsharded",
                    Some(false) => "verdicts differ from the unsharded run",
                    None => "no unsharded run to compare",
                };
                let value = format!(
                    "longest shard {}, all {} {} ({cases} cases; {same})",
                    secs(longest),
                    shards.len(),
                    secs(all)
                );
                let verdict = match same_verdicts {
                    Some(same) => met(*same),
                    None => "not measured",
                };
                Row::new(figure, value, target, verdict)
            }
            Sharded::NotMeasured(why) => Row::new(figure, why.clone(), target, "not measured"),
            Sharded::Unknown => return None,
        })
    }

    fn matrix_row(&self) -> Option<Row> {
        Some(match &self.matrix {
            MatrixTime::Measured {
                wall,
                jobs,
                targets,
            } => Row::new(
                format!("matrix: {} targets, {jobs} side by side", targets.len()),
                crate::matrix::jobs::minutes(*wall),
                MATRIX_TARGET,
                met(*wall <= Duration::from_secs(240)),
            ),
            MatrixTime::NotMeasured(why) => {
                Row::new("matrix", why.clone(), MATRIX_TARGET, "not measured")
            }
            MatrixTime::Unknown => return None,
        })
    }

    fn localstack_rows(&self) -> Vec<Row> {
        match &self.localstack {
            LocalStack::Measured { full, .. } => {
                let Some(full) = median_run(full) else {
                    return Vec::new();
                };
                let ok = full.m.wall <= Duration::from_secs(20);
                let value = format!(
                    "{} cases in {} ({:.1} cases/s)",
                    full.cases,
                    secs(full.m.wall),
                    per_sec(full.cases as f64, full.m.wall)
                );
                let share = pct(full.m.cpu(), full.m.wall);
                vec![
                    Row::new("LocalStack: full run", value, LOCALSTACK_TARGET, met(ok)),
                    Row::new(
                        "harness CPU / wall (LocalStack)",
                        format!("{share:.1} %"),
                        "≤ 5 %",
                        met(share <= 5.0),
                    ),
                ]
            }
            LocalStack::NotMeasured(why) => vec![Row::new(
                "LocalStack: full run",
                why.clone(),
                LOCALSTACK_TARGET,
                "not measured",
            )],
            LocalStack::Unknown => Vec::new(),
        }
    }

    /// The short table printed at the end.
    pub fn table(&self) -> String {
        let rows = self.rows();
        let width =
            |f: fn(&Row) -> &String| rows.iter().map(|r| f(r).chars().count()).max().unwrap_or(0);
        let (w0, w1) = (width(|r| &r.figure), width(|r| &r.value));
        let lines: Vec<String> = rows
            .iter()
            .map(|r| {
                let verdict = if r.verdict.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.verdict.trim_matches('*'))
                };
                format!("{:<w0$}  {:<w1$}  {}{verdict}", r.figure, r.value, r.target)
            })
            .collect();
        lines.join("\n").trim_end().to_string()
    }

    /// docs/benchmarks.md.
    pub fn markdown(&self) -> Result<String> {
        let name = "benchmarks.md";
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![]);
        tera.add_raw_template(name, include_str!("../../templates/benchmarks.md.tera"))
            .with_context(|| format!("template {name}"))?;
        let context = tera::Context::from_value(self.context())?;
        tera.render(name, &context)
            .with_context(|| format!("cannot render {name}"))
    }
}

fn external_rows(ext: &External) -> Vec<Row> {
    let mut rows = Vec::new();
    if let Some(run) = median_run(&ext.full) {
        rows.push(Row::plain("external s3s-fs: cases/s", cases_per_sec(run)));
        if let Some(n) = ext.proxied.requests {
            rows.push(Row::plain(
                "external s3s-fs: requests/s",
                requests_per_sec(n, run),
            ));
        }
        let share = pct(run.m.cpu(), run.m.wall);
        rows.push(Row::new(
            "harness CPU / wall (external s3s-fs)",
            format!("{share:.1} %"),
            "≤ 5 %",
            met(share <= 5.0),
        ));
        rows.push(Row::plain(
            "peak RSS of the runner, full run (external s3s-fs)",
            mib(run.m.max_rss_kib),
        ));
    }
    if let Some(large) = &ext.large {
        let source = ext.large_source_bytes.map_or("largest".into(), size);
        rows.push(Row::plain(
            format!("peak RSS of the runner, {source} source"),
            mib(large.max_rss_kib),
        ));
    }
    rows.extend(gib_row(ext));
    if let Some((h, c, _)) = ext.side.as_ref().and_then(|s| s.per_request()) {
        let ratio = h.as_secs_f64() / c.as_secs_f64().max(1e-9);
        rows.push(Row::plain(
            "harness vs curl, wall per request",
            format!("{} vs {} = {ratio:.2}×", ms(h), ms(c)),
        ));
    }
    rows
}

fn gib_row(ext: &External) -> Option<Row> {
    match (&ext.gib, &ext.gib_error) {
        (Some(g), _) => {
            let ok = g.outcome == "ok" && g.m.code == Some(0);
            let verdict = if ok {
                met(g.m.max_rss_kib <= 64 << 10)
            } else {
                "**the case did not pass**"
            };
            let value = format!(
                "{} (case {}, {})",
                mib(g.m.max_rss_kib),
                g.outcome,
                secs(g.m.wall)
            );
            Some(Row::new(
                "peak RSS of the runner, 1 GiB streamed source (external s3s-fs)",
                value,
                GIB_TARGET,
                verdict,
            ))
        }
        (None, Some(e)) => Some(Row::new(
            "peak RSS of the runner, 1 GiB streamed source",
            e.lines().next().unwrap_or_default().replace('|', "/"),
            GIB_TARGET,
            "not measured",
        )),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::curl::CurlRun;
    use crate::bench::external::{GibRun, SideBySide};
    use crate::bench::measure::Measured;

    fn measured(wall_ms: u64, cpu_ms: u64) -> Measured {
        Measured {
            wall: Duration::from_millis(wall_ms),
            user: Duration::from_millis(cpu_ms / 2),
            sys: Duration::from_millis(cpu_ms / 2),
            max_rss_kib: 30 << 10,
            code: Some(0),
            timed_out: false,
        }
    }

    fn full_run(requests: Option<u64>) -> FullRun {
        FullRun {
            m: measured(7_000, 800),
            cases: 301,
            skipped: 23,
            totals: [("pass".to_string(), 98)].into_iter().collect(),
            duration_ms: 6_990,
            requests,
            server_cpu: Some(Duration::from_secs(7)),
            ..FullRun::default()
        }
    }

    fn sample() -> Report {
        let curl = CurlRun {
            version: "curl 8".into(),
            sequences: 2,
            process: vec![Duration::from_millis(10); 16],
            time_total: vec![Duration::from_millis(2); 16],
            cpu: vec![Duration::from_millis(9); 16],
            sequence_wall: vec![Duration::from_millis(80); 2],
            ..CurlRun::default()
        };
        let side = SideBySide {
            cases: vec!["t::a".into(), "t::b".into()],
            source_bytes: vec![10],
            harness: vec![measured(300, 40)],
            probe: vec![measured(50, 10)],
            harness_requests: 20,
            probe_requests: 2,
            curl,
        };
        let gib = GibRun {
            case: "t::gib".into(),
            m: measured(28_000, 3_000),
            outcome: "ok".into(),
            server_cpu: Some(Duration::from_secs(28)),
            source_bytes: Some((1 << 30) + (1 << 20)),
            copied_bytes: Some(1 << 30),
        };
        let external = External {
            full: vec![full_run(None)],
            proxied: full_run(Some(2673)),
            side: Some(side),
            large: Some(measured(200, 30)),
            large_cases: vec!["t::large".into()],
            large_source_bytes: Some(6 << 20),
            gib: Some(gib),
            ..External::default()
        };
        Report {
            embedded: vec![full_run(None)],
            external: Some(external),
            s3s_fs_hwm_kib: Some(18 << 10),
            large_object_cases: 125,
            localstack: LocalStack::Measured {
                full: vec![full_run(None), full_run(None)],
                proxied: Some(Box::new(full_run(Some(2971)))),
                started_by_bench: true,
                start_secs: Some(29.0),
                installed: "pip: localstack".into(),
            },
            criterion: vec![CriterionResult {
                id: "codegen/render".into(),
                median_ns: 2.7e8,
                low_ns: 2.4e8,
                high_ns: 4.6e8,
                taken: "2026-11-25 03:38 UTC".into(),
            }],
            shards: Sharded::Measured {
                shards: vec![Duration::from_secs(61), Duration::from_secs(58)],
                cases: 301,
                same_verdicts: Some(true),
            },
            matrix: MatrixTime::Measured {
                wall: Duration::from_secs(250),
                jobs: 2,
                targets: vec![(
                    "garage".into(),
                    Duration::from_secs(70),
                    "as its baseline says".into(),
                )],
            },
            previous: Some((
                "2026-12-01 10:00 UTC".into(),
                [(
                    "peak RSS of the runner, 6 MiB source".to_string(),
                    "31.0 MiB".to_string(),
                )]
                .into(),
            )),
            ..Report::new("release")
        }
    }

    #[test]
    fn the_previous_report_is_read_back_from_its_summary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("benchmarks.md");
        let report = sample();
        std::fs::write(&path, report.markdown().unwrap()).unwrap();
        let (date, values) = read_previous(&path).unwrap();
        assert_eq!(date, report.date);
        assert_eq!(values["peak RSS of the runner, 6 MiB source"], "30.0 MiB");
        assert_eq!(values["matrix: 1 targets, 2 side by side"], "4 min 10 s");
        assert!(read_previous(&dir.path().join("none.md")).is_none());
    }

    #[test]
    fn every_section_renders_with_its_tables() {
        let md = sample().markdown().unwrap();
        for heading in [
            "## Machine",
            "## Summary",
            "## Codegen",
            "## Cases and requests per second",
            "## Harness CPU time as a share of wall time",
            "## Peak RSS",
            "## The harness beside a plain client",
            "## LocalStack",
            "## One target in shards",
            "## The matrix",
            "## Criterion benches of the pure parts",
        ] {
            assert!(md.contains(&format!("\n{heading}\n\n")), "{heading}:\n{md}");
        }
        assert!(md.contains("| external s3s-fs | through the proxy (warm-up) | 301 (23) |"));
        assert!(
            md.contains("| peak RSS of the runner, 6 MiB source | 30.0 MiB | 31.0 MiB | — |  |")
        );
        assert!(
            md.contains("| previous report (2026-12-01 10:00 UTC) |"),
            "{md}"
        );
        assert!(
            md.contains(
                "| matrix: 1 targets, 2 side by side | 4 min 10 s |  | ≤ 4 min | **missed** |"
            ),
            "{md}"
        );
        assert!(
            md.contains(
                "longest shard 61.00 s, all 2 119.00 s (301 cases; the same verdicts as unsharded)"
            ),
            "{md}"
        );
        assert!(
            md.contains("| garage | 1 min 10 s | as its baseline says |"),
            "{md}"
        );
        assert!(md.contains("6,291,456 bytes; t::large"), "{md}");
        assert!(md.contains("its first 1 GiB copied by one UploadPartCopy"));
        assert!(
            md.contains("| harness, cases alone (median difference) | 250.0 ms for 18 requests |")
        );
        assert!(md.contains("That is the median of 2 runs"));
        assert!(md.contains("| `codegen/render` | 270.00 ms | 240.00 ms – 460.00 ms |"));
        assert!(!md.contains("\n\n\n"), "{md}");
        assert!(md.ends_with("|\n\n") || md.ends_with(".\n\n"), "{md:?}");
    }

    #[test]
    fn a_report_with_nothing_measured_renders() {
        let md = Report::default().markdown().unwrap();
        assert!(md.contains("Not measured: no external s3s-fs."), "{md}");
        assert!(md.contains("No criterion results were found"), "{md}");
        assert!(!md.contains("\n\n\n"), "{md}");
    }
}
