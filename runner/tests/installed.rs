//! The `conformance` binary as `cargo install --path runner` installs it: copied out of the
//! build folder and run from an empty folder outside the checkout, it carries its cases
//! and writes reports/<target>/ in the folder it is run from.

mod common;

use std::process::Command;

#[test]
fn the_binary_runs_from_any_folder_and_writes_reports_there() {
    let tmp = tempfile::tempdir().unwrap();
    // Away from the build: nothing of the checkout is beside it.
    let bin = tmp.path().join("bin/conformance");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_conformance"), &bin).unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();

    // The whole suite against the embedded target (a filtered run writes no reports
    // unless --reports-dir is given), with no --reports-dir: reports/ is the folder's.
    let out = Command::new(&bin)
        .args(["--test-threads", "4"])
        .current_dir(&work)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // No baseline in this folder: the embedded server's known deviations fail the run
    // (exit 1), which is what a first run against a new target does.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit {:?}: {stderr}",
        out.status.code()
    );
    let results = work.join("reports/embedded/results.json");
    assert!(results.is_file(), "no {}: {stderr}", results.display());
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    let cases = results["cases"].as_array().unwrap();
    let expected = serde_json::from_str::<Vec<serde_json::Value>>(generated::CASES_JSON)
        .unwrap()
        .iter()
        .filter(|c| c.get("opt_in").is_none())
        .count();
    assert_eq!(cases.len(), expected);
    assert!(cases.iter().all(|c| c["verdict"] != "harness-error"));
    for file in ["summary.md", "junit.xml"] {
        assert!(work.join("reports/embedded").join(file).is_file(), "no {file}");
    }
    // Nothing written beside the binary.
    assert_eq!(std::fs::read_dir(bin.parent().unwrap()).unwrap().count(), 1);
}
