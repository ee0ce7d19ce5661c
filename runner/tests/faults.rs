//! Fault injection: vendors run the harness in their CI, so a misbehaving server
//! must end in a verdict — never a hang, never a panic.
//!
//! Each test starts a real s3s-fs server and, in front of it, a small TCP proxy that
//! forwards every request unchanged except the step under test (a copy: UploadPartCopy or
//! CopyObject), where it injects one fault. The runner binary is run against the proxy; its exit code, output,
//! results.json and cleanup are checked. Reports go to a temporary folder.

mod common;

use common::{leftover_buckets, start_s3s_fs, ACCESS_KEY, SECRET_KEY};
use serde_json::Value;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::{sleep, timeout};

#[path = "faults/proxy.rs"]
mod proxy;
use proxy::*;

/// Copies a whole 10-byte source: one UploadPartCopy, expected 200.
const CASE: &str = "upload_part_copy/range/no-range";
/// Copies a whole object: one CopyObject, expected 200.
const COPY_OBJECT_CASE: &str = "copy_object/copy-source/key-plain-encoded";
/// The runner's --request-timeout in seconds: every hang below outlasts it.
const REQUEST_TIMEOUT: &str = "2";
/// A run longer than this is a hang: the test kills the runner and fails.
const RUN_LIMIT: Duration = Duration::from_secs(50);
/// No proxy connection lives longer than this, whatever the runner does.
const CONNECTION_LIMIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------
// The real server

// ---------------------------------------------------------------------------------------
// The misbehaving proxy

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
    reports: tempfile::TempDir,
}

impl Run {
    fn context(&self) -> String {
        let cut = |s: &str| s.chars().take(4000).collect::<String>();
        format!(
            "exit {:?} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            self.took,
            cut(&self.stdout),
            cut(&self.stderr)
        )
    }

    fn results(&self) -> Value {
        let path = self.reports.path().join("faults/results.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), self.context()));
        serde_json::from_str(&text).unwrap()
    }

    fn report_size(&self, name: &str) -> u64 {
        std::fs::metadata(self.reports.path().join("faults").join(name))
            .map(|m| m.len())
            .unwrap_or(0)
    }
}

/// Collects a pipe in the background, so that a hung runner's output can still be shown.
fn collect<R: AsyncRead + Unpin + Send + 'static>(
    pipe: Option<R>,
) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes).await;
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

async fn run_conformance(proxy: SocketAddr, args: &[&str]) -> Run {
    let reports = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--endpoint")
        .arg(format!("http://{proxy}"))
        .args(["--target", "faults", "--request-timeout", REQUEST_TIMEOUT])
        .args(["--case-timeout", "20", "--reports-dir"])
        .arg(reports.path())
        .args(args)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the runner starts");
    let started = Instant::now();
    let stdout = collect(child.stdout.take());
    let stderr = collect(child.stderr.take());
    let status = timeout(RUN_LIMIT, child.wait()).await;
    let took = started.elapsed();
    let hung = status.is_err();
    if hung {
        let _ = child.kill().await;
    }
    let mut run = Run {
        code: status.ok().and_then(|s| s.ok()).and_then(|s| s.code()),
        stdout: stdout.await.unwrap_or_default(),
        stderr: stderr.await.unwrap_or_default(),
        took,
        reports,
    };
    if hung {
        run.code = None;
        panic!(
            "the runner did not exit within {RUN_LIMIT:?} and was killed\n{}",
            run.context()
        );
    }
    run
}

/// What every run against a faulty server must be: it ends, exit 1, no panic.
fn assert_ended_cleanly(run: &Run) {
    assert!(
        !run.stdout.contains("panicked") && !run.stderr.contains("panicked"),
        "the runner panicked\n{}",
        run.context()
    );
    assert_eq!(run.code, Some(1), "exit code\n{}", run.context());
}

fn case<'a>(results: &'a Value, id: &str) -> &'a Value {
    results["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no case {id} in results.json"))
}

fn details(case: &Value) -> String {
    case["details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Runs the UploadPartCopy case with `fault` injected into its copy and checks what every
/// fault must leave behind: exit 1, no panic, the case in results.json, cleanup done.
async fn run_fault(fault: Fault) -> (Run, Value) {
    run_fault_in(CASE, fault).await
}

/// As [`run_fault`], for the case `id` (one copy request, UploadPartCopy or CopyObject).
async fn run_fault_in(id: &str, fault: Fault) -> (Run, Value) {
    let fs = start_s3s_fs().await;
    let (proxy, state) = start_proxy(fs.addr, Plan::Every(fault)).await;
    let run = run_conformance(proxy, &["--exact", &format!("faults::{id}")]).await;
    let results = run.results();
    let case = case(&results, id).clone();
    eprintln!(
        "fault {fault:?}: exit {:?} in {:.1?}; verdict {}; observed {}; details {:?}; cleanup {}",
        run.code,
        run.took,
        case["verdict"],
        case["observed"]
            .to_string()
            .chars()
            .take(160)
            .collect::<String>(),
        details(&case).chars().take(300).collect::<String>(),
        case["cleanup"]
    );
    assert_ended_cleanly(&run);
    assert_eq!(
        state.copies.load(Ordering::SeqCst),
        1,
        "the proxy saw one copy request\n{}",
        run.context()
    );
    // Cleanup still ran, through the proxy, and removed everything the case created.
    assert!(
        case["cleanup"].as_array().is_none_or(Vec::is_empty),
        "cleanup failed: {case:#}"
    );
    assert_eq!(
        leftover_buckets(fs.data_dir()),
        Vec::<String>::new(),
        "buckets left on s3s-fs\n{}",
        run.context()
    );
    (run, case)
}

fn assert_verdict(case: &Value, verdict: &str, words: &[&str]) {
    assert_eq!(case["verdict"], verdict, "{case:#}");
    let details = details(case);
    for word in words {
        assert!(
            details.contains(word),
            "details should say {word:?}: {details}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Transport faults: no usable answer, so the harness cannot judge the server -> harness-error,
// with a message that says what happened on the wire.

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_closed_without_an_answer_is_a_harness_error() {
    let (_, case) = run_fault(Fault::Close).await;
    assert_verdict(
        &case,
        "harness-error",
        &["UploadPartCopy: transport failure", "closed"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_connection_is_a_harness_error() {
    let (_, case) = run_fault(Fault::Reset).await;
    assert_verdict(
        &case,
        "harness-error",
        &["UploadPartCopy: transport failure", "reset"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_never_answers_times_out() {
    let (run, case) = run_fault(Fault::HangBeforeHeaders).await;
    assert_verdict(
        &case,
        "harness-error",
        &["UploadPartCopy: transport failure", "timed out"],
    );
    // Bounded by --request-timeout, not by the case timeout (20 s).
    assert!(run.took < Duration::from_secs(15), "{}", run.context());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_stops_midway_times_out() {
    let (run, case) = run_fault(Fault::HangMidBody).await;
    assert_verdict(
        &case,
        "harness-error",
        &["UploadPartCopy: transport failure", "timed out"],
    );
    assert!(run.took < Duration::from_secs(15), "{}", run.context());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_drip_past_the_request_timeout_times_out() {
    let (run, case) = run_fault(Fault::SlowDrip).await;
    assert_verdict(
        &case,
        "harness-error",
        &["UploadPartCopy: transport failure", "timed out"],
    );
    assert!(run.took < Duration::from_secs(15), "{}", run.context());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_shorter_than_its_content_length_is_a_harness_error() {
    let (_, case) = run_fault(Fault::WrongContentLength).await;
    assert_verdict(
        &case,
        "harness-error",
        &["UploadPartCopy: transport failure", "body"],
    );
}

// ---------------------------------------------------------------------------------------
// Answers that arrive whole: the server said something, so the verdict is about the server.

/// S3 documents a 200 whose body is `<Error>` for both copy operations (the copy failed
/// after the answer began): it is the server's error, never a success.
async fn a_200_with_an_error_document_is_the_servers_error(id: &str) {
    let (_, case) = run_fault_in(id, Fault::ErrorIn200).await;
    assert_verdict(&case, "server-error", &[]);
    assert_eq!(case["observed"]["status"], 200, "{case:#}");
    assert_eq!(case["observed"]["code"], "InternalError", "{case:#}");
    assert_eq!(case["observed"]["message"], "x", "{case:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_200_with_an_internal_error_document_is_a_server_error() {
    a_200_with_an_error_document_is_the_servers_error(CASE).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_copy_object_200_with_an_internal_error_document_is_a_server_error() {
    a_200_with_an_error_document_is_the_servers_error(COPY_OBJECT_CASE).await;
}

/// A 2xx that cannot be read as UploadPartCopy output: the server claimed success but gave
/// the client nothing usable. wrong-metadata blames the server, which is right (no bytes
/// were read that could differ); harness-error would blame the harness.
#[tokio::test(flavor = "multi_thread")]
async fn a_200_with_malformed_xml_is_wrong_metadata() {
    let (_, case) = run_fault(Fault::MalformedXml).await;
    assert_verdict(
        &case,
        "wrong-metadata",
        &["not a valid UploadPartCopy output"],
    );
    assert_eq!(case["observed"]["status"], 200, "{case:#}");
}

/// A 400 where 200 is expected is `rejected` by the verdict table (wrong-status and
/// wrong-code are for cases that expect an error). The 10 MiB body is read (the cap is
/// 256 MiB) and must not blow up what the runner writes.
#[tokio::test(flavor = "multi_thread")]
async fn a_10_mib_error_body_is_read_and_graded() {
    let (run, case) = run_fault(Fault::HugeErrorBody).await;
    assert_verdict(&case, "rejected", &[]);
    assert_eq!(case["observed"]["status"], 400, "{case:#}");
    assert_eq!(case["observed"]["code"], "InvalidRequest", "{case:#}");
    let sizes = format!(
        "stdout {} B, stderr {} B, results.json {} B, summary.md {} B, junit.xml {} B",
        run.stdout.len(),
        run.stderr.len(),
        run.report_size("results.json"),
        run.report_size("summary.md"),
        run.report_size("junit.xml")
    );
    eprintln!("fault HugeErrorBody: {sizes}");
    // summary.md is appended to $GITHUB_STEP_SUMMARY, which GitHub caps at 1 MiB; the
    // console is a CI log. A server's 10 MiB message must not be copied into either whole.
    assert!(
        run.report_size("summary.md") < 1 << 20 && run.stdout.len() < 1 << 20,
        "the 10 MiB error message is copied whole into the runner's output: {sizes}"
    );
}

// ---------------------------------------------------------------------------------------
// A target that dies in the middle of a run.

/// The run goes well at first (probe, the first cases), then the target stops answering
/// at the third UploadPartCopy and refuses every connection after it. The run must still
/// end, every case from there on a harness-error, exit 1.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_dies_mid_run_ends_every_later_case_as_a_harness_error() {
    const DIE_AT: usize = 3;
    let fs = start_s3s_fs().await;
    let (proxy, state) = start_proxy(fs.addr, Plan::DieAt(DIE_AT)).await;
    // One thread: the cases run one after the other, in the order stdout shows.
    let run = run_conformance(proxy, &["--test-threads", "1", "upload_part_copy/range/"]).await;
    assert_ended_cleanly(&run);
    let results = run.results();
    let order: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("test "))
        .filter_map(|l| l.split("faults::").nth(1))
        .filter_map(|rest| rest.split(" ...").next())
        .map(str::trim_end)
        .collect();
    assert!(
        order.len() > DIE_AT + 2,
        "too few cases ran\n{}",
        run.context()
    );
    assert_eq!(
        order.len(),
        results["cases"].as_array().unwrap().len(),
        "{}",
        run.context()
    );
    for (i, id) in order.iter().enumerate() {
        let case = case(&results, id);
        let verdict = case["verdict"].as_str().unwrap();
        let details = details(case);
        eprintln!("dies mid-run: #{} {id}: {verdict}: {details}", i + 1);
        if i + 1 < DIE_AT {
            // Before the death: judged on what s3s-fs did.
            assert_ne!(verdict, "harness-error", "{case:#}");
        } else if i + 1 == DIE_AT {
            assert_eq!(verdict, "harness-error", "{case:#}");
            assert!(
                details.contains("UploadPartCopy: transport failure"),
                "{case:#}"
            );
        } else {
            // After it: the first request (CreateBucket) is refused, or the runner has
            // seen enough refusals in a row to call the target unavailable.
            assert_eq!(verdict, "harness-error", "{case:#}");
            assert!(
                details.contains("connection failed") || details.contains("target unavailable"),
                "{case:#}"
            );
        }
    }
    assert_eq!(state.copies.load(Ordering::SeqCst), DIE_AT);
    // Every case before the death cleaned up; only the dying case's bucket can remain.
    assert!(
        leftover_buckets(fs.data_dir()).len() <= 1,
        "{:?}",
        leftover_buckets(fs.data_dir())
    );
    // Refused connections fail at once: no case waited for a timeout.
    assert!(run.took < Duration::from_secs(30), "{}", run.context());
}

// ---------------------------------------------------------------------------------------
// Cleanup that fails.

/// DeleteBucket fails (500) in every case's cleanup: a case that passed becomes the
/// server's deviation, naming the cleanup step; a case that deviated keeps its own verdict;
/// the failure is also a line of its own in results.json and summary.md; and the next case
/// is not touched by it (its bucket has its own name, so the leftover is no obstacle).
#[tokio::test(flavor = "multi_thread")]
async fn a_failing_cleanup_grades_a_passing_case_and_never_spills_into_the_next_case() {
    let fs = start_s3s_fs().await;
    let (proxy, _state) = start_proxy(fs.addr, Plan::DeleteBucketFails).await;
    // bound-1 passes on s3s-fs; bound-10000 does not (its Complete of part 10000 alone is
    // refused), whatever its cleanup does.
    let run = run_conformance(
        proxy,
        &[
            "--test-threads",
            "1",
            "upload_part_copy/part-number/bound-1",
        ],
    )
    .await;
    assert!(!run.stderr.contains("panicked"), "{}", run.context());
    assert_eq!(run.code, Some(1), "{}", run.context());
    let results = run.results();
    let cases = results["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2, "{}", run.context());
    for case in cases {
        let cleanup: Vec<&str> = case["cleanup"]
            .as_array()
            .unwrap_or_else(|| panic!("no cleanup line: {case:#}"))
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let (deletes, others): (Vec<&str>, Vec<&str>) = cleanup
            .iter()
            .partition(|l| l.starts_with("delete bucket mpc-"));
        assert_eq!(deletes.len(), 1, "{case:#}");
        assert!(deletes[0].contains("500 InternalError"), "{deletes:?}");
        // s3s-fs's own quirk, as in embedded_run.rs: AccessDenied to some Aborts.
        for line in others {
            assert!(
                line.starts_with("abort upload") && line.contains("403 AccessDenied"),
                "{case:#}"
            );
        }
    }
    let passing = case(&results, "upload_part_copy/part-number/bound-1");
    assert_verdict(passing, "server-error", &["cleanup: delete bucket mpc-"]);
    let deviating = case(&results, "upload_part_copy/part-number/bound-10000");
    assert_verdict(deviating, "rejected", &["read-back"]);
    assert!(!details(deviating).contains("cleanup:"), "{deviating:#}");
    // Each case's bucket stayed (the deletes were refused), and only those: the objects in
    // them were removed before.
    assert_eq!(leftover_buckets(fs.data_dir()).len(), cases.len());
    let summary = std::fs::read_to_string(run.reports.path().join("faults/summary.md")).unwrap();
    let section = summary
        .split("## Cleanup problems")
        .nth(1)
        .unwrap_or_else(|| panic!("no cleanup section:\n{summary}"));
    for case in cases {
        let id = case["id"].as_str().unwrap();
        assert!(
            section.contains(&format!("{id}: delete bucket mpc-")),
            "{section}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// What the read-back of an uploaded part sends.

/// An UploadPart sent with its CRC32 whose answer carries it (as AWS's does): the check
/// completes the upload with this part alone to read it back. The Complete names the
/// part's checksum only when the upload was created with an algorithm: AWS answers
/// InvalidPart to a part checksum in an upload created without one.
async fn read_back_complete(upload_algorithm: Option<&str>) -> (String, Vec<String>) {
    let fs = start_s3s_fs().await;
    let (proxy, state) = start_proxy(fs.addr, Plan::EchoPartChecksums).await;
    let mut create = serde_json::json!({ "do": "create-upload", "name": "up", "key": "dest" });
    if let Some(algorithm) = upload_algorithm {
        create["checksum_algorithm"] = algorithm.into();
    }
    let case: contract::Case = serde_json::from_value(serde_json::json!({
        "id": "faults/uploaded-read-back",
        "title": "an UploadPart with its CRC32, read back",
        "refs": ["X1"],
        "features": ["checksums"],
        "setup": [create],
        "operation": "UploadPart",
        "input": {
            "Bucket": "{up.bucket}", "Key": "{up.key}", "UploadId": "{up.id}",
            "PartNumber": 1, "ChecksumCRC32": "{b.checksum_crc32}"
        },
        "body": { "name": "b", "size": 10 },
        "expect": { "aws": { "status": 200, "uploaded": "b", "checksum": "CRC32", "source": "suite:faults" } }
    }))
    .unwrap();
    let endpoint = runner::client::Endpoint {
        url: format!("http://{proxy}"),
        region: "us-east-1".into(),
        access_key: ACCESS_KEY.into(),
        secret_key: SECRET_KEY.into(),
        session_token: None,
        addressing: runner::client::Addressing::Path,
        dialect: contract::Dialect::Aws,
    };
    let ctx = runner::executor::RunContext {
        client: runner::client::Client::new(endpoint, Duration::from_secs(10), false).unwrap(),
        region: "us-east-1".into(),
        run_id: "readback".into(),
        profile: contract::Dialect::Aws,
        capabilities: Default::default(),
        case_timeout: Duration::from_secs(20),
    };
    let outcome = timeout(RUN_LIMIT, runner::executor::run_case(&ctx, &case, 0))
        .await
        .expect("the case ends");
    let result = outcome.result;
    assert!(result.cleanup.is_empty(), "{:?}", result.cleanup);
    assert_eq!(leftover_buckets(fs.data_dir()), Vec::<String>::new());
    let completes = state.completes.lock().unwrap().clone();
    (
        format!("{:?}: {:?}", result.verdict, result.details),
        completes,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_uploaded_read_back_names_no_part_checksum_in_an_upload_without_an_algorithm() {
    let (verdict, completes) = read_back_complete(None).await;
    assert_eq!(
        completes.len(),
        1,
        "one Complete, the read-back's: {completes:?}"
    );
    assert!(
        completes[0].contains("<PartNumber>1</PartNumber>"),
        "{completes:?}"
    );
    assert!(!completes[0].contains("Checksum"), "{completes:?}");
    assert!(verdict.starts_with("Pass"), "{verdict}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_uploaded_read_back_names_the_part_checksum_in_an_upload_with_one() {
    let (verdict, completes) = read_back_complete(Some("CRC32")).await;
    assert_eq!(completes.len(), 1, "{completes:?}");
    assert!(completes[0].contains("<ChecksumCRC32>"), "{completes:?}");
    assert!(verdict.starts_with("Pass"), "{verdict}");
}
