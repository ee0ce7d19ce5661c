//! The template's context: only what this run measured (or read from the machine and from
//! generated/cases.json), written as the report shows it. The sentences around the figures
//! are the template's.

use super::Report;
use crate::bench::curl;
use crate::bench::external::{External, GibRun, SideBySide, SIDE_FILTER, SIDE_SKIP};
use crate::bench::localstack::LocalStack;
use crate::bench::matrix::MatrixTime;
use crate::bench::measure::Measured;
use crate::bench::runs::{median_run, FullRun, EXTERNAL_TEST_THREADS};
use crate::bench::shards::Sharded;
use crate::bench::stats::{
    gib, mean, median, met, mib, ms, ms_list, ns, pct, per_sec, secs, size, thousands,
};
use serde_json::{json, Value};
use std::time::Duration;

/// A size generated/cases.json did not give.
const UNKNOWN: &str = "unknown size";

impl Report {
    pub(super) fn context(&self) -> Value {
        json!({
            "invocation": self.invocation,
            "date": self.date,
            "total_secs": format!("{:.0}", self.total_secs),
            "machine": self.machine,
            "load_before": self.load_before,
            "load_after": self.load_after,
            "runner": self.runner,
            "profile": self.profile,
            "build_secs": format!("{:.1}", self.build_secs),
            "rows": self.rows(),
            "codegen": self.codegen_context(),
            "runs": self.runs_context(),
            "s3s_fs_error": self.s3s_fs_error,
            "cpu": self.cpu_context(),
            "rss": self.rss_context(),
            "side": self.external.as_ref().map(side_context),
            "localstack": self.localstack_context(),
            "previous_date": self.previous.as_ref().map(|(date, _)| date.clone()),
            "shards": self.shards_context(),
            "matrix": self.matrix_context(),
            "criterion": self.criterion.iter().map(|c| json!({
                "id": c.id,
                "median": ns(c.median_ns),
                "low": ns(c.low_ns),
                "high": ns(c.high_ns),
                "taken": c.taken,
            })).collect::<Vec<_>>(),
        })
    }

    fn shards_context(&self) -> Value {
        match &self.shards {
            Sharded::Measured { shards, .. } => json!({
                "count": shards.len(),
                "walls": shards.iter().map(|d| secs(*d)).collect::<Vec<_>>(),
                "unsharded": median_run(&self.embedded).map(|r| secs(r.m.wall)),
            }),
            Sharded::NotMeasured(why) => json!({ "why": why }),
            Sharded::Unknown => Value::Null,
        }
    }

    fn matrix_context(&self) -> Value {
        match &self.matrix {
            MatrixTime::Measured {
                wall,
                jobs,
                targets,
            } => json!({
                "wall": crate::matrix::jobs::minutes(*wall),
                "jobs": jobs,
                "targets": targets.iter().map(|(name, took, ended)| json!({
                    "name": name,
                    "took": crate::matrix::jobs::minutes(*took),
                    "ended": ended,
                })).collect::<Vec<_>>(),
                "sum": crate::matrix::jobs::minutes(targets.iter().map(|(_, t, _)| *t).sum()),
            }),
            MatrixTime::NotMeasured(why) => json!({ "why": why }),
            MatrixTime::Unknown => Value::Null,
        }
    }

    fn codegen_context(&self) -> Value {
        let c = &self.codegen;
        json!({
            "median": ms(median(&c.binary)),
            "binary": ms_list(&c.binary),
            "exit": c.binary_exit.map_or("?".into(), |e| e.to_string()),
            "up_to_date": c.binary_exit == Some(0),
            "render": ms_list(&c.render),
            "expand": ms_list(&c.expand),
            "cases_json_bytes": c.cases_json_bytes,
            "rust_files": c.rust_files,
            "debug_assertions": cfg!(debug_assertions),
        })
    }

    fn runs_context(&self) -> Value {
        let mut rows = Vec::new();
        for (i, r) in self.embedded.iter().enumerate() {
            rows.push(run_row(
                "embedded",
                &(i + 1).to_string(),
                r,
                self.s3s_requests(),
            ));
        }
        if let Some(ext) = &self.external {
            let n = ext.proxied.requests;
            let warm_up = "through the proxy (warm-up)";
            rows.push(run_row("external s3s-fs", warm_up, &ext.proxied, n));
            for (i, r) in ext.full.iter().enumerate() {
                rows.push(run_row("external s3s-fs", &(i + 1).to_string(), r, n));
            }
        }
        if let LocalStack::Measured { full, proxied, .. } = &self.localstack {
            let n = proxied.as_ref().and_then(|p| p.requests);
            if let Some(p) = proxied {
                rows.push(run_row("LocalStack", "through the proxy (warm-up)", p, n));
            }
            for (i, r) in full.iter().enumerate() {
                rows.push(run_row("LocalStack", &(i + 1).to_string(), r, n));
            }
        }
        let verdicts = median_run(&self.embedded).map(|run| {
            let totals: Vec<String> = run.totals.iter().map(|(k, v)| format!("{k} {v}")).collect();
            totals.join(", ")
        });
        json!({
            "rows": rows,
            "unparsed": self.external.as_ref().map_or(0, |e| e.proxied.unparsed_connections),
            "verdicts": verdicts,
        })
    }

    fn cpu_context(&self) -> Value {
        let mut rows = Vec::new();
        if let Some(r) = median_run(&self.embedded) {
            rows.push(cpu_row("embedded", r, self.s3s_requests()));
        }
        let ext = self.external.as_ref();
        if let Some(r) = ext.and_then(|e| median_run(&e.full)) {
            rows.push(cpu_row("external s3s-fs", r, self.s3s_requests()));
        }
        if let LocalStack::Measured { full, proxied, .. } = &self.localstack {
            if let Some(full) = median_run(full) {
                let n = proxied.as_ref().and_then(|p| p.requests);
                rows.push(cpu_row("LocalStack", full, n));
            }
        }
        json!({
            "rows": rows,
            "bounds": ext.and_then(bounds_context),
            "where": ext.and_then(|e| self.where_context(e)),
        })
    }

    /// Where the harness's CPU goes in a full run against s3s-fs, from the side-by-side
    /// runs (small cases) and the count of large cases.
    fn where_context(&self, ext: &External) -> Option<Value> {
        let r = median_run(&ext.full)?;
        let side = ext.side.as_ref().filter(|s| !s.cases.is_empty())?;
        let small_case = side.cases_cpu() / side.cases.len() as u32;
        let small_req = side.cases_cpu().as_secs_f64() * 1e6 / side.case_requests().max(1) as f64;
        let large = self.large_object_cases.min(r.cases);
        let small = r.cases.saturating_sub(large + r.skipped);
        let small_total = small_case * small as u32;
        let rest = r.m.cpu().saturating_sub(small_total);
        let probe_cpu = median(&side.probe.iter().map(Measured::cpu).collect::<Vec<_>>());
        let alone = ext
            .large
            .as_ref()
            .map(|l| ms(l.cpu().saturating_sub(probe_cpu)));
        Some(json!({
            "sources": sizes(&side.source_bytes),
            "small_case": ms(small_case),
            "small_request": format!("{small_req:.0}"),
            "large": large,
            "cases": r.cases,
            "skipped": r.skipped,
            "small": small,
            "small_total": secs(small_total),
            "rest": secs(rest),
            "per_large": ms(rest / large.max(1) as u32),
            "large_source": ext.large_source_bytes.map_or(UNKNOWN.into(), size),
            "alone": alone,
        }))
    }

    fn rss_context(&self) -> Value {
        let ext = self.external.as_ref();
        let large = ext.and_then(|e| {
            let m = e.large.as_ref()?;
            Some(json!({
                "source": e.large_source_bytes.map_or(UNKNOWN.into(), size),
                "bytes": e.large_source_bytes.map_or(UNKNOWN.into(), thousands),
                "cases": e.large_cases.join(", "),
                "rss": mib(m.max_rss_kib),
            }))
        });
        json!({
            "embedded": median_run(&self.embedded).map(|r| mib(r.m.max_rss_kib)),
            "external": ext.and_then(|e| median_run(&e.full)).map(|r| mib(r.m.max_rss_kib)),
            "large": large,
            "server": ext.and(self.s3s_fs_hwm_kib).map(mib),
            "server_started_by_bench": self.s3s_fs_started_by_bench,
            "measured": ext.is_some(),
            "gib": ext.and_then(|e| e.gib.as_ref()).map(gib_context),
            "gib_error": ext.and_then(|e| e.gib_error.clone()),
        })
    }

    fn localstack_context(&self) -> Value {
        match &self.localstack {
            LocalStack::Measured {
                full,
                proxied,
                started_by_bench,
                start_secs,
                installed,
            } => {
                let Some(run) = median_run(full) else {
                    return json!({ "empty": true });
                };
                let requests = proxied.as_ref().and_then(|p| p.requests);
                let walls: Vec<String> = full.iter().map(|r| secs(r.m.wall)).collect();
                let over = full.iter().filter(|r| r.m.wall > Duration::from_secs(20));
                json!({ "measured": {
                    "installed": installed,
                    "started_by_bench": started_by_bench,
                    "start_secs": format!("{:.0}", start_secs.unwrap_or(0.0)),
                    "wall": secs(run.m.wall),
                    "cases": run.cases,
                    "skipped": run.skipped,
                    "requests": requests,
                    "requests_per_sec": requests.map(|n| format!("{:.0}", per_sec(n as f64, run.m.wall))),
                    "met": met(run.m.wall <= Duration::from_secs(20)),
                    "runs": (full.len() > 1).then(|| json!({
                        "n": full.len(),
                        "walls": walls.join(", "),
                        "over": over.count(),
                    })),
                    "bounds": requests.zip(run.server_cpu).map(|(n, server)| {
                        localstack_bounds(
                            run,
                            n,
                            server,
                            crate::endpoint::test_threads("localstack")
                                .unwrap_or(EXTERNAL_TEST_THREADS),
                        )
                    }),
                }})
            }
            LocalStack::NotMeasured(why) => json!({ "why": why }),
            LocalStack::Unknown => json!({}),
        }
    }
}

/// One line of the table of full runs.
fn run_row(target: &str, label: &str, r: &FullRun, requests: Option<u64>) -> Value {
    json!({
        "target": target,
        "run": label,
        "cases": r.cases,
        "skipped": r.skipped,
        "wall": secs(r.m.wall),
        "duration": format!("{:.2} s", r.duration_ms as f64 / 1000.0),
        "cases_per_sec": format!("{:.1}", per_sec(r.cases as f64, r.m.wall)),
        "requests": requests.map_or("—".into(), |n| n.to_string()),
        "requests_per_sec": requests
            .map_or("—".into(), |n| format!("{:.0}", per_sec(n as f64, r.m.wall))),
        "exit": r.m.code.map_or("signal".into(), |c| c.to_string()),
    })
}

/// One line of the CPU table.
fn cpu_row(target: &str, r: &FullRun, requests: Option<u64>) -> Value {
    json!({
        "target": target,
        "wall": secs(r.m.wall),
        "user": secs(r.m.user),
        "sys": secs(r.m.sys),
        "share": format!("{:.1} %", pct(r.m.cpu(), r.m.wall)),
        "server_cpu": r.server_cpu.map_or("(in the runner)".into(), secs),
        "server_share": r.server_cpu.map_or("—".into(), |s| format!("{:.1} %", pct(s, r.m.wall))),
        "per_request": requests.map_or("—".into(), |n| format!(
            "{:.0} µs",
            r.m.cpu().as_secs_f64() * 1e6 / n.max(1) as f64
        )),
    })
}

/// What the harness's CPU in a full run against s3s-fs means for the 5 % target.
fn bounds_context(ext: &External) -> Option<Value> {
    let (r, n) = (median_run(&ext.full)?, ext.proxied.requests?);
    let cpu = r.m.cpu();
    let per_request = cpu.as_secs_f64() / n.max(1) as f64;
    Some(json!({
        "cpu": secs(cpu),
        "per_request": format!("{:.0}", per_request * 1e6),
        "min_secs": format!("{:.0}", cpu.as_secs_f64() / 0.05),
        "max_requests_per_sec": format!("{:.0}", 0.05 / per_request.max(1e-9)),
        "wall": secs(r.m.wall),
        "requests_per_sec": format!("{:.0}", per_sec(n as f64, r.m.wall)),
        "of_one_second": format!("{:.1}", cpu.as_secs_f64()),
    }))
}

fn gib_context(g: &GibRun) -> Value {
    let moved = g.source_bytes.zip(g.copied_bytes).map(|(s, c)| s + c);
    json!({
        "case": g.case,
        "source": g.source_bytes.map_or(UNKNOWN.into(), gib),
        "copied": g.copied_bytes.map_or(UNKNOWN.into(), size),
        "rss": mib(g.m.max_rss_kib),
        "outcome": g.outcome,
        "exit": g.m.code.map_or("by a signal".into(), |c| c.to_string()),
        "wall": secs(g.m.wall),
        "user": secs(g.m.user),
        "sys": secs(g.m.sys),
        "server_cpu": g.server_cpu.map_or("unknown".into(), secs),
        "moved": moved.map_or(UNKNOWN.into(), gib),
        "rate": moved.map_or(UNKNOWN.into(), |m| format!(
            "{:.0}",
            m as f64 / (1u64 << 20) as f64 / g.m.cpu().as_secs_f64().max(1e-9)
        )),
    })
}

fn side_context(ext: &External) -> Value {
    let Some(side) = &ext.side else {
        return json!({ "error": ext.side_error.as_deref().unwrap_or("unknown error") });
    };
    let c = &side.curl;
    let per_request = side.case_requests().max(1) as u32;
    let walls = |v: &[Measured]| ms_list(&v.iter().map(|m| m.wall).collect::<Vec<_>>());
    json!({ "measured": {
        "curl_version": c.version,
        "curl_source_bytes": curl::SOURCE.len(),
        "sequences": c.sequences,
        "range_note": c.range_note,
        "filter": SIDE_FILTER,
        "skip": SIDE_SKIP,
        "cases": side.cases.len(),
        "sources": sizes(&side.source_bytes),
        "harness_requests": side.harness_requests,
        "probe_requests": side.probe_requests,
        "curl_process": ms(mean(&c.process)),
        "curl_requests": c.process.len(),
        "curl_total": ms(mean(&c.time_total)),
        "curl_cpu": ms(mean(&c.cpu)),
        "curl_sequence": ms(mean(&c.sequence_wall)),
        "harness": walls(&side.harness),
        "probe": walls(&side.probe),
        "cases_wall": ms(side.cases_wall()),
        "case_requests": side.case_requests(),
        "harness_per_request": side.per_request().map_or("—".into(), |(h, _, _)| ms(h)),
        "cases_cpu": ms(side.cases_cpu()),
        "cpu_per_request": ms(side.cases_cpu() / per_request),
        "ratios": ratios(side),
    }})
}

/// The harness over curl, per request: wall, curl's own time_total, CPU.
fn ratios(side: &SideBySide) -> Option<Value> {
    let (h, c_proc, c_total) = side.per_request()?;
    let h_cpu = side.cases_cpu() / side.case_requests().max(1) as u32;
    let over =
        |a: Duration, b: Duration| format!("{:.2}", a.as_secs_f64() / b.as_secs_f64().max(1e-9));
    Some(json!({
        "process": over(h, c_proc),
        "total": over(h, c_total),
        "cpu": over(h_cpu, mean(&side.curl.cpu)),
    }))
}

/// What bounds a full run against LocalStack: its CPU against the runner's.
fn localstack_bounds(run: &FullRun, requests: u64, server: Duration, cases: usize) -> Value {
    let n = requests.max(1) as f64;
    let threads = cases.max(1) as f64;
    let wall = run.m.wall.as_secs_f64();
    json!({
        "server_cpu": secs(server),
        "server_per_request": format!("{:.1}", server.as_secs_f64() * 1e3 / n),
        "server_share": format!("{:.0}", pct(server, run.m.wall)),
        "runner_cpu": secs(run.m.cpu()),
        "runner_per_request": format!("{:.2}", run.m.cpu().as_secs_f64() * 1e3 / n),
        "threads": cases,
        "request": format!("{:.1}", wall * 1e3 * threads / n),
        "runner_share": format!("{:.0}", 100.0 * run.m.cpu().as_secs_f64() / (wall * threads)),
    })
}

/// `10 bytes`, or `10 bytes to 6 MiB` when the sources differ.
fn sizes(bytes: &[u64]) -> String {
    match (bytes.first(), bytes.last()) {
        (Some(a), Some(b)) if a == b => size(*a),
        (Some(a), Some(b)) => format!("{} to {}", size(*a), size(*b)),
        _ => UNKNOWN.into(),
    }
}
