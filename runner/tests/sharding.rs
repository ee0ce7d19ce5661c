//! The embedded target run in four nextest shards (`--partition hash:k/4` of the
//! `conformance` test target), merged by `conformance merge`, gives exactly the verdicts of
//! one unsharded run of the `conformance` binary, itself run as installed: from a folder
//! outside the checkout, writing reports/ there. Needs cargo-nextest (.ci/run installs it).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const SHARDS: usize = 4;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A reports folder holding the committed embedded baseline, as `cargo xtask run` has it
/// (its [[skip]] entries decide verdicts too).
fn reports_with_baseline(dir: &Path) -> PathBuf {
    let target = dir.join("embedded");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::copy(
        workspace().join("reports/embedded/baseline.toml"),
        target.join("baseline.toml"),
    )
    .unwrap();
    dir.to_path_buf()
}

fn verdicts(results: &Path) -> BTreeSet<(String, String)> {
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results).unwrap()).unwrap();
    results["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn four_nextest_shards_merged_give_the_verdicts_of_one_unsharded_run_of_the_installed_binary() {
    let nextest = cargo().args(["nextest", "--version"]).output();
    assert!(
        nextest.is_ok_and(|o| o.status.success()),
        "cargo-nextest is needed to check sharding: cargo install cargo-nextest --locked"
    );
    let tmp = tempfile::tempdir().unwrap();
    let sharded = reports_with_baseline(&tmp.path().join("sharded"));
    let work = tmp.path().join("work");
    let unsharded = reports_with_baseline(&work.join("reports"));

    for k in 1..=SHARDS {
        let out = cargo()
            .args([
                "nextest",
                "run",
                // As `cargo xtask test` builds (--workspace): the same features, so the
                // test binaries already built are reused, not built again with others.
                "--workspace",
                "--test",
                "conformance",
            ])
            .args(["--partition", &format!("hash:{k}/{SHARDS}")])
            .args([
                "--no-fail-fast",
                "--no-tests",
                "fail",
                "--test-threads",
                "4",
            ])
            .env("CONFORMANCE_ENDPOINT", "embedded")
            .env("CONFORMANCE_RESULTS_DIR", &sharded)
            .env("CONFORMANCE_SHARD", format!("shard-{k}"))
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("GITHUB_STEP_SUMMARY")
            .current_dir(workspace())
            .output()
            .expect("cargo nextest starts");
        // 100: some test failed, i.e. a case deviated from the baseline; verdicts are
        // compared below. Anything else (setup errors, no tests) fails here.
        assert!(
            matches!(out.status.code(), Some(0 | 100)),
            "shard {k}/{SHARDS}:\nstdout:\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }

    // nextest's partition gives each case to one shard: no case is in two shard files.
    let mut shard_of: BTreeMap<String, usize> = BTreeMap::new();
    for k in 1..=SHARDS {
        let file = sharded.join(format!("embedded/shards/shard-{k}.jsonl"));
        let lines = std::fs::read_to_string(&file).unwrap();
        assert!(!lines.trim().is_empty(), "{} is empty", file.display());
        for line in lines.lines() {
            let part: serde_json::Value = serde_json::from_str(line).unwrap();
            for case in part["cases"].as_array().unwrap() {
                let id = case["id"].as_str().unwrap().to_string();
                if let Some(other) = shard_of.insert(id.clone(), k) {
                    panic!("{id} ran in shards {other} and {k}");
                }
            }
        }
    }

    let merge = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(["merge", "embedded", "--reports-dir"])
        .arg(&sharded)
        .output()
        .unwrap();
    assert!(merge.status.success(), "merge: {}", text(&merge.stderr));
    for file in ["results.json", "summary.md", "junit.xml"] {
        assert!(
            sharded.join("embedded").join(file).is_file(),
            "no merged {file}"
        );
    }

    // The unsharded run is the installed binary's (`cargo install --path runner`): copied
    // away from the build and run from a folder outside the checkout with no
    // --reports-dir, it carries its cases and writes reports/embedded/ there.
    let bin = tmp.path().join("bin/conformance");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_conformance"), &bin).unwrap();
    let out = Command::new(&bin)
        .args(["--test-threads", "4"])
        .current_dir(&work)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "unsharded run: {}",
        text(&out.stderr)
    );

    let merged = verdicts(&sharded.join("embedded/results.json"));
    for file in ["results.json", "summary.md", "junit.xml"] {
        assert!(
            unsharded.join("embedded").join(file).is_file(),
            "no {file} in the run's folder"
        );
    }
    // Nothing written beside the binary.
    assert_eq!(std::fs::read_dir(bin.parent().unwrap()).unwrap().count(), 1);
    let whole = verdicts(&unsharded.join("embedded/results.json"));
    assert!(merged.len() > 100, "only {} cases merged", merged.len());
    assert_eq!(shard_of.len(), merged.len());
    let only_merged: Vec<_> = merged.difference(&whole).collect();
    let only_whole: Vec<_> = whole.difference(&merged).collect();
    assert!(
        only_merged.is_empty() && only_whole.is_empty(),
        "sharded only: {only_merged:?}\nunsharded only: {only_whole:?}"
    );
}
