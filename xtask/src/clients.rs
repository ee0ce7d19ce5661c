//! `cargo xtask clients [--target NAME|all]`: real S3 clients run against each target.
//!
//! Each client is installed, pinned, from its registry into `.cache/` on first use (PyPI
//! venvs, npm into `.cache/tools/node`, the AWS SDK for Rust built from crates.io into
//! `.cache/clients/rust-sdk`; rclone is Debian's). A flow (clients/<client>/) runs with the
//! target's endpoint and fresh bucket names in its environment and writes what it did;
//! the runner's `client-check` then reads the copied object back with the harness's own
//! client, compares it with what the flow copied, and removes the flow's buckets. The
//! outcome per flow goes to reports/<target>/clients.json and into summary.md's clients
//! section.

use crate::endpoint::{self, process};
use crate::targets;
use crate::tools;
use anyhow::{bail, Context, Result};
use contract::clients::{Exchange, FlowResult, Linked, Outcome, Report};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

mod install;
use install::*;

#[derive(clap::Args)]
pub struct Args {
    /// A target name, or `all` (every target in matrix order).
    #[arg(long, default_value = "all")]
    pub target: String,
    /// Run only these flows (e.g. `boto3/copy`); every flow when none is given.
    #[arg(long)]
    pub flow: Vec<String>,
    /// Where clients.json (and the clients section of summary.md) go: `<dir>/<target>/`.
    #[arg(long, default_value = "reports")]
    pub reports_dir: PathBuf,
}

/// The pinned Python clients (each in its own venv; the AWS CLI's is the one the
/// reproduction scripts use).
const BOTO3: &[&str] = &["boto3==1.44.5", "botocore==1.44.8", "s3transfer==0.19.3"];
const MINIO_PY: &[&str] = &["minio==7.2.20"];
/// The size of data files `a` and `b`: above the 5 MiB multipart thresholds the flows set.
const DATA_SIZE: u64 = 7 << 20;
const FLOW_LIMIT: Duration = Duration::from_secs(300);
const BUILD_LIMIT: Duration = Duration::from_secs(40 * 60);

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Client {
    AwsCli,
    Boto3,
    JsSdk,
    RustSdk,
    MinioPy,
    Rclone,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::AwsCli => "aws-cli",
            Client::Boto3 => "boto3",
            Client::JsSdk => "js-sdk",
            Client::RustSdk => "rust-sdk",
            Client::MinioPy => "minio-py",
            Client::Rclone => "rclone",
        }
    }
}

/// One flow of one client, and the cases that send requests of the same shape as its steps.
pub struct Flow {
    pub id: &'static str,
    client: Client,
    arg: &'static str,
    pub what: &'static str,
    /// (step, case id prefixes): deviations of these cases are linked to the flow.
    shapes: &'static [(&'static str, &'static [&'static str])],
    /// The source bucket is versioned (its versions must be removed too).
    versioned: bool,
}

const PART_COPY_RANGE_IF_MATCH: &[&str] = &[
    "upload_part_copy/range/",
    "upload_part_copy/preconditions/",
    "copy_source/preconditions/",
    "upload_part_copy/copy-source/",
    "copy_source/copy_source/",
];
const CREATE: &[&str] = &["multipart/create/"];
const COMPLETE_COPIED: &[&str] = &[
    "multipart/complete/copied",
    "multipart/complete/two-copied",
    "multipart/complete/uploaded-then-copied",
    "multipart/complete/small-copied",
];
const MANAGED_COPY: &[&str] = &[
    "upload_part_copy/range/",
    "upload_part_copy/range-grid/",
    "upload_part_copy/copy-source/",
    "copy_source/copy_source/",
];

pub const FLOWS: &[Flow] = &[
    Flow {
        id: "aws-cli/part-copy",
        client: Client::AwsCli,
        arg: "part-copy",
        what: "seed 001: create-multipart-upload, upload-part-copy --copy-source-range --copy-source-if-match (2 parts), complete-multipart-upload",
        shapes: &[
            ("create-multipart-upload", CREATE),
            ("upload-part-copy", PART_COPY_RANGE_IF_MATCH),
            ("complete-multipart-upload", COMPLETE_COPIED),
        ],
        versioned: false,
    },
    Flow {
        id: "aws-cli/cp",
        client: Client::AwsCli,
        arg: "cp",
        what: "aws s3 cp between buckets, 7 MiB above a 5 MB multipart threshold: a managed multipart copy",
        shapes: &[
            ("s3-cp", MANAGED_COPY),
            ("s3-cp", COMPLETE_COPIED),
        ],
        versioned: false,
    },
    Flow {
        id: "aws-cli/cp-checksum",
        client: Client::AwsCli,
        arg: "cp-checksum",
        what: "the same with --checksum-algorithm CRC32",
        shapes: &[
            ("s3-cp", MANAGED_COPY),
            ("s3-cp", &["upload_part_copy/checksums/", "checksum_types/"]),
        ],
        versioned: false,
    },
    Flow {
        id: "boto3/copy",
        client: Client::Boto3,
        arg: "copy",
        what: "client.copy(): s3transfer's managed copy (HeadObject, CreateMultipartUpload, UploadPartCopy per 5 MiB, Complete)",
        shapes: &[("copy", MANAGED_COPY), ("copy", COMPLETE_COPIED)],
        versioned: false,
    },
    Flow {
        id: "boto3/copy-versioned",
        client: Client::Boto3,
        arg: "copy-versioned",
        what: "client.copy() of the older of two versions (CopySource VersionId)",
        shapes: &[(
            "copy",
            &["upload_part_copy/versioning/", "copy_source/versioning/"],
        )],
        versioned: true,
    },
    Flow {
        id: "js-sdk/part-copy",
        client: Client::JsSdk,
        arg: "part-copy",
        what: "seeds 000/004: CreateMultipartUpload, UploadPartCommand (default CRC32 checksum, aws-chunked trailer), UploadPartCopyCommand with CopySourceRange and CopySourceIfMatch, Complete",
        shapes: &[
            ("create-multipart-upload", CREATE),
            ("upload-part", &["streaming/", "multipart/upload-part/", "checksum_types/"]),
            ("upload-part-copy", PART_COPY_RANGE_IF_MATCH),
            ("complete-multipart-upload", &["multipart/complete/uploaded-then-copied", "multipart/complete/copied", "checksum_types/complete"]),
        ],
        versioned: false,
    },
    Flow {
        id: "rust-sdk/part-copy",
        client: Client::RustSdk,
        arg: "part-copy",
        what: "aws-sdk-s3: CreateMultipartUpload, UploadPart (default checksums), UploadPartCopy with CopySourceRange and CopySourceIfMatch, Complete",
        shapes: &[
            ("create-multipart-upload", CREATE),
            ("upload-part", &["streaming/", "multipart/upload-part/", "checksum_types/"]),
            ("upload-part-copy", PART_COPY_RANGE_IF_MATCH),
            ("complete-multipart-upload", &["multipart/complete/uploaded-then-copied", "multipart/complete/copied", "checksum_types/complete"]),
        ],
        versioned: false,
    },
    Flow {
        id: "minio-py/compose",
        client: Client::MinioPy,
        arg: "compose",
        what: "compose_object() of two ranges: UploadPartCopy with x-amz-copy-source-range and -if-match per part",
        shapes: &[
            ("compose-object", PART_COPY_RANGE_IF_MATCH),
            ("compose-object", COMPLETE_COPIED),
        ],
        versioned: false,
    },
    Flow {
        id: "rclone/copy",
        client: Client::Rclone,
        arg: "copy",
        what: "rclone copyto between buckets, server-side, --s3-copy-cutoff 5M: a multipart copy",
        shapes: &[
            ("server-side-copy", MANAGED_COPY),
            ("server-side-copy", COMPLETE_COPIED),
        ],
        versioned: false,
    },
];

/// A client failure that is the client's own doing, not the server's: (flow, step, words
/// the error contains, the note). Checked against the recorded error, never assumed.
const CLIENT_BUGS: &[(&str, &str, &str, &str)] = &[];

pub fn run(root: &Path, args: Args) -> Result<()> {
    let names: Vec<String> = if args.target == "all" {
        targets::all().into_iter().map(String::from).collect()
    } else if targets::is_known(&args.target) {
        vec![args.target.clone()]
    } else {
        bail!(
            "unknown target {:?}; known: all, {}",
            args.target,
            targets::all().join(", ")
        );
    };
    for f in &args.flow {
        if !FLOWS.iter().any(|flow| flow.id == f) {
            bail!(
                "unknown flow {f:?}; known: {}",
                FLOWS.iter().map(|f| f.id).collect::<Vec<_>>().join(", ")
            );
        }
    }
    let flows: Vec<&Flow> = FLOWS
        .iter()
        .filter(|f| args.flow.is_empty() || args.flow.iter().any(|id| id == f.id))
        .collect();
    let reports = if args.reports_dir.is_absolute() {
        args.reports_dir.clone()
    } else {
        root.join(&args.reports_dir)
    };
    let installed = Installed::prepare(root, &flows);
    let check = build_check(root)?;
    let mut failed = Vec::new();
    for name in &names {
        eprintln!("==> clients against {name}");
        let report = run_target(root, name, &flows, &installed, &check)?;
        let dir = reports.join(name);
        write_report(root, &dir, &report)?;
        for f in &report.flows {
            eprintln!("    {:<22} {}", f.id, f.outcome.line());
        }
        if report.flows.iter().any(|f| f.outcome != Outcome::Works) {
            failed.push(name.clone());
        }
    }
    if !failed.is_empty() {
        eprintln!("some flows did not work against: {}", failed.join(", "));
    }
    Ok(())
}

/// Where a target answers: its URL, region and keys.
struct Endpoint {
    url: String,
    region: String,
    access_key: String,
    secret_key: String,
}

/// The embedded target as a process of its own (the runner's s3s-fs), stopped by its PID.
struct EmbeddedProcess(Child);

impl EmbeddedProcess {
    fn start(check: &Path) -> Result<(EmbeddedProcess, Endpoint)> {
        let mut child = Command::new(check)
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start client-check serve")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let server = EmbeddedProcess(child);
        read.context("client-check serve said nothing")?;
        let v: Value = serde_json::from_str(&line).context("client-check serve's first line")?;
        let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        Ok((
            server,
            Endpoint {
                url: field("url"),
                region: field("region"),
                access_key: field("access_key"),
                secret_key: field("secret_key"),
            },
        ))
    }
}

impl Drop for EmbeddedProcess {
    fn drop(&mut self) {
        // Closing stdin stops it; the kill is for one that does not listen.
        drop(self.0.stdin.take());
        if process::wait_bounded(&mut self.0, Duration::from_secs(10)).is_none() {
            eprintln!("client-check serve did not stop: killed");
        }
    }
}

fn run_target(
    root: &Path,
    name: &str,
    flows: &[&Flow],
    installed: &Installed,
    check: &Path,
) -> Result<Report> {
    let work = std::env::temp_dir()
        .join("conformance-clients")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let mut data = Command::new(check);
    data.arg("data").arg(&work).arg(DATA_SIZE.to_string());
    process::run_step(data, Duration::from_secs(60), &work.join("data.log"), false)?;
    let deviations = deviations(root, name);
    let started = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let mut results = Vec::new();
    let mut versions = installed.versions.clone();
    {
        let (_embedded, endpoint) = if name == targets::EMBEDDED {
            let (p, e) = EmbeddedProcess::start(check)?;
            (Some(p), e)
        } else {
            let r = endpoint::start(root, name)?;
            (
                None,
                Endpoint {
                    url: r.url,
                    region: r.region,
                    access_key: r.access_key,
                    secret_key: r.secret_key,
                },
            )
        };
        for flow in flows {
            let result = run_flow(flow, installed, check, &endpoint, &work, &deviations);
            if let Some(v) = &result.version {
                versions.insert(flow.client.name().to_string(), v.clone());
            }
            results.push(result);
        }
    }
    if name != targets::EMBEDDED {
        endpoint::stop(root, name)?;
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(Report {
        target: name.to_string(),
        run_info: contract::clients::RunInfo {
            started_at: started,
            clients: versions,
            results_json: deviations.source,
        },
        flows: results,
    })
}

/// The deviations of the target's committed results.json, by case id.
struct Deviations {
    cases: Vec<(String, String)>,
    /// Which run they come from (results.json's run id and start), for the reader.
    source: Option<String>,
}

fn deviations(root: &Path, name: &str) -> Deviations {
    let path = root.join("reports").join(name).join("results.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Deviations {
            cases: Vec::new(),
            source: None,
        };
    };
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return Deviations {
            cases: Vec::new(),
            source: None,
        };
    };
    let cases = v["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let verdict = c["verdict"].as_str()?;
            let deviates = !matches!(verdict, "pass" | "skipped" | "unsupported" | "tolerated");
            let id = c["id"].as_str()?.to_string();
            deviates.then(|| (id, verdict.to_string()))
        })
        .collect();
    let source = Some(format!(
        "reports/{name}/results.json (run {}, {})",
        v["run_info"]["run_id"].as_str().unwrap_or("?"),
        v["run_info"]["started_at"].as_str().unwrap_or("?")
    ));
    Deviations { cases, source }
}

fn linked(flow: &Flow, failed_step: Option<&str>, deviations: &Deviations) -> Vec<Linked> {
    let mut out: Vec<Linked> = Vec::new();
    for (step, prefixes) in flow.shapes {
        for (id, verdict) in &deviations.cases {
            if prefixes.iter().any(|p| id.starts_with(p)) && !out.iter().any(|l| &l.case == id) {
                out.push(Linked {
                    case: id.clone(),
                    verdict: verdict.clone(),
                    step: step.to_string(),
                    at_failed_step: failed_step == Some(*step),
                });
            }
        }
    }
    out
}

fn run_flow(
    flow: &Flow,
    installed: &Installed,
    check: &Path,
    endpoint: &Endpoint,
    work: &Path,
    deviations: &Deviations,
) -> FlowResult {
    let mut result = FlowResult {
        id: flow.id.to_string(),
        client: flow.client.name().to_string(),
        what: flow.what.to_string(),
        version: None,
        outcome: Outcome::NotRun,
        step: None,
        error: None,
        status: None,
        code: None,
        request: None,
        answer: None,
        steps: Vec::new(),
        linked: Vec::new(),
        client_bug: None,
        cleanup: Vec::new(),
    };
    let program = match installed.programs.get(&flow.client) {
        Some(Ok(p)) => p.clone(),
        Some(Err(e)) => {
            result.error = Some(format!("not installed: {e}"));
            return result;
        }
        None => return result,
    };
    match flow_once(flow, &program, check, endpoint, work, &mut result) {
        Ok(()) => {}
        Err(e) => {
            result.outcome = Outcome::Fails;
            result.step.get_or_insert_with(|| "harness".into());
            result.error = Some(format!("{e:#}"));
        }
    }
    let failed = (result.outcome == Outcome::Fails)
        .then(|| result.step.clone())
        .flatten();
    result.linked = linked(flow, failed.as_deref(), deviations);
    if let (Some(step), Some(error)) = (&result.step, &result.error) {
        for (id, bug_step, words, note) in CLIENT_BUGS {
            if *id == flow.id && bug_step == step && error.contains(words) {
                result.client_bug = Some(note.to_string());
            }
        }
    }
    result
}

fn flow_once(
    flow: &Flow,
    program: &[PathBuf],
    check: &Path,
    endpoint: &Endpoint,
    work: &Path,
    result: &mut FlowResult,
) -> Result<()> {
    let dir = work.join(flow.id.replace('/', "-"));
    std::fs::create_dir_all(&dir)?;
    let run = process::random_hex(4)?;
    let src_bucket = format!("cf-{run}-src");
    let dst_bucket = format!("cf-{run}-dst");
    let (src_key, dst_key) = ("source/object.bin", "copy/object.bin");
    let report_path = dir.join("flow.json");
    let log = dir.join("flow.log");
    let mut cmd = Command::new(&program[0]);
    cmd.args(&program[1..])
        .arg(flow.arg)
        .env("FLOW_ENDPOINT", &endpoint.url)
        .env("FLOW_REGION", &endpoint.region)
        .env("AWS_ACCESS_KEY_ID", &endpoint.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &endpoint.secret_key)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("FLOW_SOURCE_BUCKET", &src_bucket)
        .env("FLOW_DEST_BUCKET", &dst_bucket)
        .env("FLOW_SOURCE_KEY", src_key)
        .env("FLOW_DEST_KEY", dst_key)
        .env("FLOW_DATA_A", work.join("a"))
        .env("FLOW_DATA_B", work.join("b"))
        .env("FLOW_WORK", &dir)
        .env("FLOW_REPORT", &report_path);
    let ran = process::run_step(cmd, FLOW_LIMIT, &log, false);
    let text = std::fs::read_to_string(&report_path).ok();
    let report: Option<Value> = text.and_then(|t| serde_json::from_str(&t).ok());
    let Some(report) = report else {
        let why = match ran {
            Err(e) => format!("{e:#}"),
            Ok(_) => "the flow wrote no report".into(),
        };
        result.outcome = Outcome::Fails;
        result.step = Some("start".into());
        result.error = Some(why);
        clean(
            check,
            endpoint,
            &dir,
            &src_bucket,
            &dst_bucket,
            flow,
            None,
            result,
        )?;
        return Ok(());
    };
    result.version = report["version"].as_str().map(String::from);
    let steps: Vec<contract::clients::Step> =
        serde_json::from_value(report["steps"].clone()).unwrap_or_default();
    let exchanges: Vec<Exchange> = report["exchanges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| serde_json::from_value(x.clone()).ok())
        .map(Exchange::redacted)
        .collect();
    let failed = steps.iter().find(|s| !s.ok).cloned();
    let all_ok = failed.is_none() && !steps.is_empty() && ran.is_ok();
    result.steps = steps.iter().map(|s| s.name.clone()).collect();
    let expect = if all_ok {
        report.get("expect").filter(|e| e.is_array()).cloned()
    } else {
        None
    };
    let read = clean(
        check,
        endpoint,
        &dir,
        &src_bucket,
        &dst_bucket,
        flow,
        expect.clone(),
        result,
    )?;
    if let Some(step) = failed {
        result.outcome = Outcome::Fails;
        // The answer of the step's last exchange that was not a success, else its last one.
        let mine: Vec<&Exchange> = exchanges
            .iter()
            .filter(|x| x.step.as_deref() == Some(step.name.as_str()))
            .collect();
        let culprit = mine
            .iter()
            .rev()
            .find(|x| x.status.is_some_and(|s| s >= 300))
            .or(mine.last())
            .copied();
        result.status = step.status.or(culprit.and_then(|x| x.status));
        result.code = step.code.clone();
        result.error = step.error.clone();
        result.step = Some(step.name.clone());
        if let Some(x) = culprit {
            result.request = Some(x.request_line());
            result.answer = x.answer();
        }
        return Ok(());
    }
    if !all_ok {
        result.outcome = Outcome::Fails;
        result.step = Some("exit".into());
        result.error = Some(match ran {
            Err(e) => format!("{e:#}"),
            Ok(_) => "the flow recorded no steps".into(),
        });
        return Ok(());
    }
    match read {
        Some(Ok(())) => result.outcome = Outcome::Works,
        Some(Err(e)) => {
            result.outcome = Outcome::Fails;
            result.step = Some("read-back".into());
            result.error = Some(e);
        }
        None => {
            result.outcome = Outcome::Fails;
            result.step = Some("read-back".into());
            result.error = Some("the flow said nothing of what it copied".into());
        }
    }
    Ok(())
}

/// Reads the copy back (when `expect` is given) and removes the flow's buckets, with the
/// runner's client. Returns the read-back's outcome.
#[allow(clippy::too_many_arguments)]
fn clean(
    check: &Path,
    endpoint: &Endpoint,
    dir: &Path,
    src_bucket: &str,
    dst_bucket: &str,
    flow: &Flow,
    expect: Option<Value>,
    result: &mut FlowResult,
) -> Result<Option<Result<(), String>>> {
    let spec = serde_json::json!({
        "endpoint": endpoint.url,
        "region": endpoint.region,
        "size": DATA_SIZE,
        "bucket": dst_bucket,
        "key": "copy/object.bin",
        "expect": expect,
        "buckets": [src_bucket, dst_bucket],
        "keys": ["source/object.bin", "copy/object.bin"],
        "versioned": if flow.versioned { vec![src_bucket] } else { vec![] },
    });
    let spec_path = dir.join("check.json");
    std::fs::File::create(&spec_path)?.write_all(spec.to_string().as_bytes())?;
    let mut cmd = Command::new(check);
    cmd.arg("check")
        .arg(&spec_path)
        .env("AWS_ACCESS_KEY_ID", &endpoint.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &endpoint.secret_key);
    let out = process::run_step(cmd, Duration::from_secs(180), &dir.join("check.log"), true)?;
    let v: Value = serde_json::from_str(out.trim()).context("client-check's answer")?;
    result.cleanup = v["cleanup"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l.as_str().map(String::from))
        .collect();
    let read = &v["read_back"];
    if read.is_null() {
        return Ok(None);
    }
    Ok(Some(if read["matches"] == true {
        Ok(())
    } else {
        Err(read["error"]
            .as_str()
            .unwrap_or("read-back failed")
            .to_string())
    }))
}

fn write_report(root: &Path, dir: &Path, report: &Report) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("clients.json");
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    // summary.md's clients section, rewritten in place (the runner writes the same section
    // from clients.json when it rewrites summary.md).
    let summary = dir.join("summary.md");
    if let Ok(text) = std::fs::read_to_string(&summary) {
        let updated = contract::clients::with_section(&text, &contract::clients::render(report));
        std::fs::write(&summary, updated)?;
    }
    let _ = root;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// Runs one flow against one target (reports under `reports`) and fails unless it works:
/// the test command's check that a real client's copy is read back intact.
pub fn expect_works(root: &Path, target: &str, flow: &str, reports: &Path) -> Result<()> {
    run(
        root,
        Args {
            target: target.to_string(),
            flow: vec![flow.to_string()],
            reports_dir: reports.to_path_buf(),
        },
    )?;
    let path = reports.join(target).join("clients.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let report: Report = serde_json::from_str(&text)?;
    match report.flows.iter().find(|f| f.id == flow) {
        Some(f) if f.outcome == Outcome::Works => Ok(()),
        Some(f) => bail!(
            "{flow} against {target}: {} at {}: {}",
            f.outcome.line(),
            f.step.as_deref().unwrap_or("?"),
            f.error.as_deref().unwrap_or("")
        ),
        None => bail!("{flow} is missing from {}", path.display()),
    }
}

/// The matrix's "clients" cells of a target: (flow id, cell text), from its clients.json;
/// empty when it has none. For xtask/src/matrix.rs.
pub fn matrix_cells(reports: &Path, target: &str) -> Vec<(String, String)> {
    let path = reports.join(target).join("clients.json");
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let Ok(report) = serde_json::from_str::<Report>(&text) else {
        return Vec::new();
    };
    contract::clients::matrix_cells(&report)
}

#[cfg(test)]
mod tests;
