//! End to end: the runner binary against the embedded s3s-fs server, and its refusal of
//! bad input. Reports go to a temporary folder, never to the committed reports/.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn conformance(args: &[&str], reports: &Path) -> Output {
    common::runner(reports)
        .args(args)
        .output()
        .expect("the runner starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn verdict_of(results: &serde_json::Value, id: &str) -> String {
    results["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no case {id}"))["verdict"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn the_cases_run_against_the_embedded_server_with_graded_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    // The committed baseline is copied in so the exit code is the one `cargo xtask run` gives.
    let target_dir = dir.path().join("embedded");
    std::fs::create_dir_all(&target_dir).unwrap();
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/embedded/baseline.toml");
    std::fs::copy(&committed, target_dir.join("baseline.toml")).unwrap();

    let out = conformance(&["--test-threads", "4"], dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.lines().any(
            |l| l.contains("embedded::upload_part_copy/range/first-ten-bytes ")
                && l.ends_with("... ok")
        ),
        "{stdout}"
    );
    // Not a terminal: libtest's plain lines, and an end summary without colour.
    let stderr = text(&out.stderr);
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
    let cases_run = serde_json::from_str::<Vec<serde_json::Value>>(generated::CASES_JSON)
        .unwrap()
        .iter()
        .filter(|c| c.get("opt_in").is_none())
        .count();
    assert!(
        stderr.contains(&format!("embedded: {cases_run} cases: ")),
        "{stderr}"
    );
    assert!(stderr.contains("\n  pass "), "{stderr}");

    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(target_dir.join("results.json")).unwrap())
            .unwrap();
    let cases = results["cases"].as_array().unwrap();
    assert!(cases.len() >= 25, "only {} cases", cases.len());
    for case in cases {
        assert!(!case["refs"].as_array().unwrap().is_empty(), "{case}");
        assert!(!case["source"].as_str().unwrap().is_empty(), "{case}");
        assert_ne!(case["verdict"], "harness-error", "{case}");
        // Every bucket and object the case made is removed. An Abort may fail: s3s-fs drops
        // an upload whose Complete failed and then answers AccessDenied for it (safety.rs
        // checks on disk that no upload is left).
        for line in case["cleanup"].as_array().into_iter().flatten() {
            let line = line.as_str().unwrap();
            assert!(
                line.starts_with("abort upload") && line.contains("403 AccessDenied"),
                "cleanup failed: {case}"
            );
        }
    }
    // What s3s-fs really does: ranges copy the right bytes...
    assert_eq!(
        verdict_of(&results, "upload_part_copy/range/first-ten-bytes"),
        "pass"
    );
    assert_eq!(
        verdict_of(&results, "upload_part_copy/range/large-source-first-5mib"),
        "pass"
    );
    assert_eq!(
        verdict_of(&results, "multipart/complete/two-uploaded-parts"),
        "pass"
    );
    // ...but it accepts part numbers 0 and 10001 and ignores copy-source preconditions.
    for id in [
        "upload_part_copy/part-number/out-of-range-0",
        "upload_part_copy/part-number/out-of-range-10001",
        "upload_part_copy/preconditions/if-match-other-single",
        "upload_part_copy/preconditions/if-none-match-etag-single",
    ] {
        assert_eq!(verdict_of(&results, id), "silent-accept", "{id}");
    }
    let summary = std::fs::read_to_string(target_dir.join("summary.md")).unwrap();
    assert!(summary.contains("## Deviations"));
    assert!(summary.contains("upload_part_copy/preconditions/if-match-other-single"));
}

#[test]
fn a_deviation_missing_from_the_baseline_fails_the_run_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    // No baseline: every deviation is a regression.
    let out = conformance(
        &[
            "--exact",
            "embedded::upload_part_copy/preconditions/if-match-other-single",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("add a [[deviation]]"), "{stdout}");
    assert!(
        stdout.contains("reports/embedded/baseline.toml"),
        "{stdout}"
    );
}

#[test]
fn a_listed_deviation_that_passes_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let target_dir = dir.path().join("embedded");
    std::fs::create_dir_all(&target_dir).unwrap();
    std::fs::write(
        target_dir.join("baseline.toml"),
        "[[deviation]]\ncase = \"upload_part_copy/range/no-range\"\nverdict = \"rejected\"\nreason = \"test\"\n",
    )
    .unwrap();
    let out = conformance(
        &["--exact", "embedded::upload_part_copy/range/no-range"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("now passes: delete its [[deviation]]"));
}

#[test]
fn list_names_every_case_without_starting_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let out = conformance(&["--list"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("embedded::upload_part_copy/part-number/bound-10000: test"),
        "{stdout}"
    );
    assert!(!dir.path().join("embedded").exists());
}

#[test]
fn bad_input_is_a_one_line_error_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--no-such-flag"], "unexpected argument"),
        (&["--dialect", "gcs"], "invalid value"),
        (&["--endpoint", "not a url"], "is not a URL"),
        (&["--endpoint", "ftp://127.0.0.1:1"], "must be http"),
        (&["--endpoint", "http://127.0.0.1:9"], "no credentials"),
        (&["--target", "../escape"], "--target"),
        (&["--logfile", "/nonexistent/dir/run.log"], "--logfile"),
        (&["--region", ""], "--region is empty"),
        (
            &[
                "--endpoint",
                "http://127.0.0.1:9",
                "--access-key",
                "",
                "--secret-key",
                "x",
            ],
            "--access-key is empty",
        ),
    ];
    for (args, message) in cases {
        let out = conformance(args, dir.path());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn an_unreachable_endpoint_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    // Port 9 (discard) on loopback: nothing listens there.
    let mut command = Command::new(env!("CARGO_BIN_EXE_conformance"));
    common::clear_aws_chain(&mut command);
    let out = command
        .args([
            "--endpoint",
            "http://127.0.0.1:9",
            "--request-timeout",
            "5",
            "--reports-dir",
        ])
        .arg(dir.path())
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "secret-never-printed")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not usable"), "{stderr}");
    assert!(stderr.contains("connection failed"), "{stderr}");
    assert!(!stderr.contains("secret-never-printed"));
    // One line says where endpoint, region and keys came from; the error is one line.
    let lines: Vec<&str> = stderr.trim().lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].contains("keys from the environment (AWS_ACCESS_KEY_ID)"),
        "{stderr}"
    );
    assert!(lines[1].starts_with("error: "), "{stderr}");
    assert!(!dir.path().join("127.0.0.1-9/results.json").exists());
}

#[test]
fn insecure_tls_is_opt_in_and_said_in_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = conformance(
        &[
            "--insecure",
            "--exact",
            "embedded::upload_part_copy/range/no-range",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("embedded/results.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(results["run_info"]["insecure"], true);
    let summary = std::fs::read_to_string(dir.path().join("embedded/summary.md")).unwrap();
    assert!(
        summary.contains("TLS certificates were not verified"),
        "{summary}"
    );
    // Without the flag nothing is said, and certificates are verified.
    let out = conformance(
        &["--exact", "embedded::upload_part_copy/range/no-range"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let summary = std::fs::read_to_string(dir.path().join("embedded/summary.md")).unwrap();
    assert!(!summary.contains("not verified"));
}

/// On a terminal (a pseudo-terminal made by util-linux `script`) a progress bar replaces
/// libtest's line per case, which goes to a log, and the end summary is coloured.
#[test]
fn a_terminal_gets_a_progress_bar_and_a_coloured_summary() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!(
            "skipped: util-linux `script` is not installed, so no pseudo-terminal can be made"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let typescript = dir.path().join("typescript");
    let command = format!(
        "{} upload_part_copy/range/first --reports-dir {}",
        env!("CARGO_BIN_EXE_conformance"),
        dir.path().display()
    );
    let out = Command::new("script")
        .args(["-qec", &command])
        .arg(&typescript)
        .env_remove("NO_COLOR")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .expect("script starts");
    let screen = text(&std::fs::read(&typescript).unwrap());
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(screen.contains("as expected"), "no bar: {screen}");
    // The bar counts the cases the filter leaves, not the whole grid.
    assert!(screen.contains("0/1 "), "wrong total: {screen}");
    assert!(
        !screen.contains("... ok"),
        "libtest lines on the terminal: {screen}"
    );
    assert!(screen.contains("\u{1b}[32m"), "no colour: {screen}");
    let log = screen
        .lines()
        .find_map(|l| l.trim().strip_prefix("a line per case: "))
        .expect("the log is named");
    let log = std::fs::read_to_string(log.trim()).unwrap();
    assert!(
        log.contains("upload_part_copy/range/first-ten-bytes ... ok"),
        "{log}"
    );
}
