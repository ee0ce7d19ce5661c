//! `--trace` against the embedded server: the case's trace file exists, shows its
//! exchanges, and holds no signature, token or SSE-C key.

use std::process::Command;

#[test]
fn a_traced_case_writes_its_exchanges_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let id = "copy_object/result/range-header";
    let status = Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--trace")
        .arg("--reports-dir")
        .arg(dir.path())
        .args(["--exact", &format!("embedded::{id}")])
        .status()
        .unwrap();
    assert!(matches!(status.code(), Some(0 | 1)), "{status}");
    let path = dir
        .path()
        .join("embedded/trace")
        .join(format!("{}.txt", id.replace('/', "--")));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("> PUT "), "{text}");
    assert!(text.contains("Signature=[redacted]"), "{text}");
    for line in text.lines() {
        let lower = line.to_ascii_lowercase();
        if lower.contains("customer-key:") {
            assert!(line.ends_with("[redacted]"), "{line}");
        }
        if let Some(i) = line.find("Signature=") {
            assert!(line[i..].starts_with("Signature=[redacted]"), "{line}");
        }
    }
}
