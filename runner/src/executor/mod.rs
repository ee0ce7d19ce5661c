//! Runs one case: setup, the step under test, grading, the checks its expectation
//! declares, cleanup. A case passes only when every declared check ran and held; a setup
//! step, a check or a cleanup the server answered otherwise than AWS does gives the case
//! that step's grade, naming the step (`harness-error` is for the harness's own failures
//! and transport faults).

mod checks;
mod step;

use crate::client::Client;
use crate::fixtures::{self, Created, Fixture, SharedCreated};
use crate::grade::{failure_verdict, unreachable};
use anyhow::{Context, Result};
use contract::results::{CaseResult, Expected};
use contract::{Case, Dialect, Expect, Step, Verdict};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the runner shares with every case.
pub struct RunContext {
    pub client: Client,
    pub region: String,
    pub run_id: String,
    pub profile: Dialect,
    pub capabilities: BTreeSet<String>,
    pub case_timeout: Duration,
}

/// The record of a case that was not run (the run was interrupted, the target is down).
pub fn not_run(case: &Case, profile: Dialect, verdict: Verdict, reason: &str) -> CaseResult {
    let mut result = new_result(case, case.expect.get(&profile));
    result.verdict = verdict;
    result.details.push(reason.to_string());
    result
}

/// A case's record before it has run: a harness error until something better is known.
fn new_result(case: &Case, expect: Option<&Expect>) -> CaseResult {
    CaseResult {
        id: case.id.clone(),
        operation: case.operation.clone(),
        shared: case.shared.clone(),
        title: case.title.clone(),
        refs: case.refs.clone(),
        contested: case.contested.clone(),
        features: case.features.clone(),
        verdict: Verdict::HarnessError,
        source: expect.map(|e| e.source.clone()).unwrap_or_default(),
        expected: Expected {
            status: expect.map(|e| e.status),
            code: expect.and_then(|e| e.code.clone()),
        },
        observed: None,
        details: vec![],
        notes: vec![],
        cleanup: vec![],
        reproduction: None,
    }
}

/// Records a finding: the case's verdict becomes the worse of the two, and the detail
/// says what differs.
fn find(result: &mut CaseResult, verdict: Verdict, detail: String) {
    result.verdict = result.verdict.worse(verdict);
    result.details.push(detail);
}

/// A case's record, and whether the target looked down while it ran.
pub struct Outcome {
    pub result: CaseResult,
    pub target_unreachable: bool,
}

pub async fn run_case(ctx: &RunContext, case: &Case, index: usize) -> Outcome {
    let expect = case.expect.get(&ctx.profile);
    let mut result = new_result(case, expect);
    let Some(expect) = expect else {
        result.verdict = Verdict::Skipped;
        result.details.push(format!(
            "the case has no expectation for the {} profile",
            ctx.profile
        ));
        return Outcome {
            result,
            target_unreachable: false,
        };
    };
    let missing: Vec<&str> = case
        .requires
        .iter()
        .filter(|c| !ctx.capabilities.contains(*c))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        result.verdict = Verdict::Skipped;
        result.details.push(format!(
            "the target lacks {} (probed at the start of the run)",
            missing.join(", ")
        ));
        return Outcome {
            result,
            target_unreachable: false,
        };
    }
    let bucket = format!("mpc-{}-{index:04}", ctx.run_id);
    let created: SharedCreated = Arc::new(Mutex::new(Created::default()));
    let body = run_body(ctx, case, expect, bucket, created.clone(), &mut result);
    let mut target_unreachable = false;
    match tokio::time::timeout(ctx.case_timeout, body).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            target_unreachable = unreachable(&e);
            // A failure after the step under test was graded cannot make it better.
            let verdict = failure_verdict(&e);
            result.verdict = match result.observed {
                Some(_) => result.verdict.worse(verdict),
                None => verdict,
            };
            result.details.push(format!("{e:#}"));
        }
        Err(_) => {
            result.verdict = Verdict::HarnessError;
            result.details.push(format!(
                "the case did not finish within {:?}",
                ctx.case_timeout
            ));
        }
    }
    clean_up(ctx, &created, &mut result).await;
    Outcome {
        result,
        target_unreachable,
    }
}

/// Removes what the case created, whatever happened before. A cleanup the server refused
/// makes a passing case that server's deviation; it never changes a deviation already
/// found, and every line is reported on its own.
async fn clean_up(ctx: &RunContext, created: &SharedCreated, result: &mut CaseResult) {
    let snapshot = std::mem::take(&mut *created.lock().unwrap_or_else(|p| p.into_inner()));
    match tokio::time::timeout(ctx.case_timeout, fixtures::cleanup(&ctx.client, &snapshot)).await {
        Ok(failures) => {
            for failure in failures {
                let passed = matches!(result.verdict, Verdict::Pass | Verdict::PassAlternative);
                if passed && failure.verdict != Verdict::HarnessError {
                    result.verdict = failure.verdict;
                    result.details.push(format!("cleanup: {}", failure.line));
                }
                result.cleanup.push(failure.line);
            }
        }
        Err(_) => result.cleanup.push(format!(
            "cleanup did not finish within {:?}",
            ctx.case_timeout
        )),
    }
}

async fn run_body(
    ctx: &RunContext,
    case: &Case,
    expect: &Expect,
    bucket: String,
    created: SharedCreated,
    result: &mut CaseResult,
) -> Result<()> {
    let mut fixture = Fixture::new(ctx.client.clone(), &ctx.region, bucket.clone(), created);
    fixture.reads_times = names_last_modified(case);
    fixture
        .create_bucket(&bucket)
        .await
        .context("setup: creating the case's bucket")?;
    for (i, step) in case.setup.iter().enumerate() {
        fixture
            .run_step(step)
            .await
            .with_context(|| format!("setup step {} ({})", i + 1, describe(step)))?;
    }
    let sent = step::send(ctx, case, &mut fixture).await?;
    result.observed = Some(sent.observed.clone());
    result.verdict = crate::grade::grade(expect, &sent.observed);
    result.reproduction = Some(sent.reproduction.clone());
    checks::run(ctx, &fixture, expect, &sent, result).await
}

/// Whether any text of the case names a `{….last_modified…}` placeholder.
fn names_last_modified(case: &Case) -> bool {
    serde_json::to_string(case).map_or(true, |text| text.contains(".last_modified"))
}

/// `put-object src`, `copy-part c1`: a setup step as a report names it.
fn describe(step: &Step) -> String {
    let (kind, name) = match step {
        Step::CreateBucket { name } => ("create-bucket", name.as_str()),
        Step::EnableVersioning { bucket } => ("enable-versioning", bucket.as_str()),
        Step::SuspendVersioning { bucket } => ("suspend-versioning", bucket.as_str()),
        Step::PutObject { name, .. } => ("put-object", name.as_str()),
        Step::PutMultipartObject { name, .. } => ("put-multipart-object", name.as_str()),
        Step::DeleteObject { name } => ("delete-object", name.as_str()),
        Step::CreateUpload { name, .. } => ("create-upload", name.as_str()),
        Step::UploadPart { name, .. } => ("upload-part", name.as_str()),
        Step::CopyPart { name, .. } => ("copy-part", name.as_str()),
        Step::CompleteUpload { upload, .. } => ("complete-upload", upload.as_str()),
        Step::AbortUpload { upload } => ("abort-upload", upload.as_str()),
    };
    format!("{kind} {name}")
}
