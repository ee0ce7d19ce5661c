//! Snapshots of what a run against the embedded server reports (results.json, summary.md,
//! junit.xml), so a change in behaviour shows up in `cargo insta review` as a diff, and
//! junit.xml read back against results.json. Reports go to a temporary folder.
//!
//! The snapshots live in tests/snapshots/. To accept a change: `cargo insta review`, or
//! `INSTA_UPDATE=always cargo test -p runner --test snapshots` and review the git diff.

mod common;

use quick_junit::{Report, TestCaseStatus};
use std::path::{Path, PathBuf};

/// Runs every case against the embedded server with the committed baseline, as
/// `cargo xtask run` does, and returns the folder holding the target's reports.
fn run_embedded(reports: &Path, filter: &[&str], baseline: Option<&Path>) -> PathBuf {
    let target_dir = reports.join("embedded");
    std::fs::create_dir_all(&target_dir).unwrap();
    if let Some(baseline) = baseline {
        std::fs::copy(baseline, target_dir.join("baseline.toml")).unwrap();
    }
    let out = common::runner(reports)
        .args(filter)
        .output()
        .expect("the runner starts");
    // Exit 1 is a deviation the baseline does not list: still a complete report.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir
}

fn committed_baseline() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/embedded/baseline.toml")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Names that change from run to run. Case buckets are `mpc-<run id>-<case index>`; the
/// index is stable but shifts whenever a case is added, so it goes too.
const FILTERS: &[(&str, &str)] = &[
    (r"mpc-[0-9a-f]+-(?:[0-9]+|probe)", "mpc-[run]-[n]"),
    (
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "[upload-id]",
    ),
    (r"uploadId=[^&\s\x22]+", "uploadId=[upload-id]"),
    (r"--upload-id '?[^\s\x22']+'?", "--upload-id [upload-id]"),
    (r#"(UploadId: expected \\?")[^"\\]+"#, "${1}[upload-id]"),
    (r#"(VersionId: expected \\?")[^"\\]+"#, "${1}[version-id]"),
    (
        r"<UploadId>[^<]+</UploadId>",
        "<UploadId>[upload-id]</UploadId>",
    ),
    // SSE-C keys are made fresh for every case (the keys themselves are never written).
    (
        r"(customer-key-md5:? )'?[A-Za-z0-9+/]{22}=='?",
        "${1}[key-md5]",
    ),
    // Version ids are made by the server, differently each run (`null` is not one).
    (r"versionId=[^&\s\x22'\\]{5,}", "versionId=[version-id]"),
    (r"--version-id [^\s\x22']{5,}", "--version-id [version-id]"),
    (
        r"<VersionId>[^<]{5,}</VersionId>",
        "<VersionId>[version-id]</VersionId>",
    ),
    // ... and in the detail lines that name an expected or received version id.
    (
        r#"(VersionId[^\n]*?expected \\?")[A-Za-z0-9._+/=-]{5,}"#,
        "${1}[version-id]",
    ),
    (
        r#"(VersionId[^\n]*?got (?:Some\()?\\?")[A-Za-z0-9._+/=-]{5,}"#,
        "${1}[version-id]",
    ),
    (
        r#"(CustomerKeyMD5 is missing \(expected \\?")[A-Za-z0-9+/]{22}=="#,
        "${1}[key-md5]",
    ),
    (
        r#"(version-id should be absent, got \\?")[A-Za-z0-9._+/=-]{5,}"#,
        "${1}[version-id]",
    ),
    (r"127\.0\.0\.1:[0-9]+", "127.0.0.1:[port]"),
    // Conditions are written relative to the source's Last-Modified.
    (
        r"[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT",
        "[http-date]",
    ),
    (
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z",
        "[rfc3339-date]",
    ),
];

fn snapshot_settings(target: &str) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_suffix(target);
    settings.set_prepend_module_to_snapshot(false);
    for (regex, replacement) in FILTERS {
        settings.add_filter(regex, *replacement);
    }
    settings
}

/// One full run (minutes with the whole case grid) serves both checks.
#[test]
fn the_embedded_run_matches_its_snapshots_and_junit_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let target_dir = run_embedded(dir.path(), &[], Some(&committed_baseline()));
    let raw: serde_json::Value =
        serde_json::from_str(&read(&target_dir.join("results.json"))).unwrap();
    let summary = read(&target_dir.join("summary.md"));
    let junit = read(&target_dir.join("junit.xml"));

    check_junit_counts(&raw, &junit);

    let results = typed(raw);
    snapshot_settings("embedded").bind(|| {
        // run_info is the volatile block by design: keep its keys, drop its values.
        insta::assert_json_snapshot!("results", results, {
            ".run_info.*" => "[run_info]",
        });
        insta::assert_snapshot!("summary", summary);
        insta::assert_snapshot!("junit", junit);
    });
}

/// The typed record, so that the redaction of run_info keeps its field names (on a JSON
/// map insta's `*` would redact the keys too). The round trip must lose nothing, or the
/// snapshot would not show the whole file.
fn typed(raw: serde_json::Value) -> contract::results::Results {
    let results: contract::results::Results = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(serde_json::to_value(&results).unwrap(), raw);
    results
}

/// Every other committed target (reports/<target>/ of a real server): snapshots of its
/// results.json and summary.md. Read from the committed reports, so that a re-run with
/// `cargo xtask matrix --run` shows in `cargo insta review` how the server's behaviour changed;
/// `cargo xtask test` points CONFORMANCE_FRESH_REPORTS at the runs it has just made
/// (LocalStack, Ceph RGW), so CI compares today's behaviour with the snapshots.
#[test]
fn each_committed_target_matches_its_snapshots() {
    let reports = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports");
    let fresh = std::env::var_os("CONFORMANCE_FRESH_REPORTS").map(PathBuf::from);
    let mut targets: Vec<String> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("results.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|t| t != "embedded")
        .collect();
    targets.sort();
    assert!(targets.iter().any(|t| t == "localstack"), "{targets:?}");
    for target in targets {
        let dir = match &fresh {
            Some(f) if f.join(&target).join("results.json").is_file() => f.join(&target),
            _ => reports.join(&target),
        };
        let results = typed(serde_json::from_str(&read(&dir.join("results.json"))).unwrap());
        assert_eq!(results.target, target, "{}", dir.display());
        // The clients section comes from `cargo xtask clients`, not from the run.
        let summary = contract::clients::without_section(&read(&dir.join("summary.md")));
        snapshot_settings(&target).bind(|| {
            insta::assert_json_snapshot!("results", results, {
                ".run_info.*" => "[run_info]",
            });
            insta::assert_snapshot!("summary", summary);
        });
    }
}

/// Counts of junit.xml as results.json and the baseline imply them.
fn expected_counts(results: &serde_json::Value, baseline: &str) -> (usize, usize, usize) {
    let listed: toml::Table = toml::from_str(baseline).unwrap();
    let listed: Vec<(String, String)> = listed
        .get("deviation")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
        .map(|d| {
            (
                d["case"].as_str().unwrap().to_string(),
                d["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let cases = results["cases"].as_array().unwrap();
    let (mut failures, mut skipped) = (0, 0);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let verdict = case["verdict"].as_str().unwrap();
        let known = listed.iter().any(|(c, v)| c == id && v == verdict);
        match verdict {
            "pass" | "pass-alternative" => {}
            "skipped" => skipped += 1,
            _ if known => skipped += 1,
            _ => failures += 1,
        }
    }
    (cases.len(), failures, skipped)
}

/// junit.xml read back: one testcase per case, in order, with the counts results.json
/// and the baseline imply.
fn check_junit_counts(results: &serde_json::Value, junit: &str) {
    let report = Report::deserialize_from_str(junit).unwrap();
    let (tests, failures, skipped) = expected_counts(results, &read(&committed_baseline()));
    assert_eq!(
        (report.tests, report.failures, report.skipped, report.errors),
        (tests, failures, skipped, 0)
    );
    assert_eq!(report.test_suites.len(), 1);
    let suite = &report.test_suites[0];
    assert_eq!(suite.name.as_str(), "embedded/aws");
    let cases = results["cases"].as_array().unwrap();
    assert_eq!(suite.test_cases.len(), cases.len());
    for (junit_case, case) in suite.test_cases.iter().zip(cases) {
        assert_eq!(junit_case.name.as_str(), case["id"].as_str().unwrap());
        assert_eq!(
            junit_case.classname.as_ref().map(|c| c.as_str()),
            case["features"][0].as_str()
        );
        // A known deviation is skipped with the baseline's reason.
        if let TestCaseStatus::Skipped { message, ty, .. } = &junit_case.status {
            let ty = ty.as_ref().unwrap().as_str();
            assert!(ty == "skipped" || ty.starts_with("known "), "{ty}");
            assert!(message.is_some(), "{}", junit_case.name.as_str());
        }
        if let TestCaseStatus::NonSuccess { message, .. } = &junit_case.status {
            let message = message.as_ref().unwrap().as_str();
            let prefix = format!("{}: expected ", case["verdict"].as_str().unwrap());
            assert!(message.starts_with(&prefix), "{message}");
        }
    }
}

/// `<status> <code>` as junit.rs writes it, from a results.json `expected`/`observed`.
fn status_code(v: &serde_json::Value) -> String {
    match (v["status"].as_u64(), v["code"].as_str()) {
        (Some(s), Some(c)) => format!("{s} {c}"),
        (Some(s), None) => s.to_string(),
        (None, _) => "nothing".into(),
    }
}

#[test]
fn deviations_missing_from_the_baseline_are_junit_failures() {
    let dir = tempfile::tempdir().unwrap();
    // No baseline, so every deviation is a regression; a filter keeps the run short (and
    // s3s-fs is known to ignore copy-source preconditions, so some cases deviate), and
    // --reports-dir makes the narrowed run write its reports.
    let target_dir = run_embedded(dir.path(), &["upload_part_copy/preconditions/"], None);
    let results: serde_json::Value =
        serde_json::from_str(&read(&target_dir.join("results.json"))).unwrap();
    let report = Report::deserialize_from_str(&read(&target_dir.join("junit.xml"))).unwrap();
    let (tests, failures, skipped) = expected_counts(&results, "");
    assert!(failures > 0, "no case deviated: {results}");
    assert_eq!(
        (report.tests, report.failures, report.skipped),
        (tests, failures, skipped)
    );
    let cases = results["cases"].as_array().unwrap();
    for (junit_case, case) in report.test_suites[0].test_cases.iter().zip(cases) {
        let TestCaseStatus::NonSuccess {
            message,
            description,
            ..
        } = &junit_case.status
        else {
            continue;
        };
        let observed = if case["observed"].is_null() {
            "nothing".to_string()
        } else {
            status_code(&case["observed"])
        };
        assert_eq!(
            message.as_ref().unwrap().as_str(),
            format!(
                "{}: expected {}, observed {observed}",
                case["verdict"].as_str().unwrap(),
                status_code(&case["expected"])
            )
        );
        let text = description.as_ref().unwrap().as_str();
        let source = format!("source: {}", case["source"].as_str().unwrap());
        assert!(text.contains(&source), "{text}");
        for detail in case["details"].as_array().into_iter().flatten() {
            assert!(text.contains(detail.as_str().unwrap()), "{text}");
        }
    }
}
