//! Replays every file of fuzz/corpus/<target>/ through the body of that fuzz target
//! (fuzz/src/lib.rs, the same code `cargo fuzz run <target>` calls), so the seeds and
//! whatever the fuzzer kept keep passing without a fuzzer or a nightly toolchain.

#[path = "../../fuzz/src/lib.rs"]
mod fuzz_bodies;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

fn replay(target: &str, body: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no inputs", dir.display());
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = std::fs::read(path).expect("a corpus file");
            catch_unwind(AssertUnwindSafe(|| body(&data))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs panicked (messages above): {failed:#?}",
        failed.len(),
        files.len()
    );
}

#[test]
fn xml_response_corpus() {
    replay("xml_response", fuzz_bodies::xml_response);
}

#[test]
fn headers_corpus() {
    replay("headers", fuzz_bodies::headers);
}

#[test]
fn scenario_corpus() {
    replay("scenario", fuzz_bodies::scenario);
}

/// The seeds that are real S3 documents must be read as what they are, or the corpus
/// would be exercising nothing but error paths.
#[test]
fn real_responses_parse() {
    use wire::{HttpResponse, ResponseError};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/xml_response");
    let read = |name: &str| -> (generated::operations::Operation, HttpResponse) {
        let data = std::fs::read(dir.join(name)).expect("a seed");
        let response = HttpResponse {
            status: fuzz_bodies::status([data[1], data[2], data[3]]),
            headers: vec![],
            body: data[5..].to_vec(),
        };
        (fuzz_bodies::operation(data[0]), response)
    };
    for (name, member) in [
        ("seed-copy-part-result", "CopyPartResult"),
        ("seed-list-parts", "Parts"),
        ("seed-list-versions-interleaved", "DeleteMarkers"),
        ("seed-initiate", "UploadId"),
        ("seed-complete", "ETag"),
    ] {
        let (op, response) = read(name);
        let output = op
            .parse_response(&response)
            .unwrap_or_else(|e| panic!("{name} ({op:?}) does not parse: {e}"));
        assert!(
            output.get(member).is_some(),
            "{name}: no {member} in {output}"
        );
    }
    for (name, code) in [
        ("seed-200-error-complete", "InternalError"),
        ("seed-200-error-complete-keepalive", "InternalError"),
        ("seed-error-entity-too-small", "EntityTooSmall"),
    ] {
        let (op, response) = read(name);
        match op.parse_response(&response) {
            Err(ResponseError::Service(e)) => assert_eq!(e.code, code, "{name}"),
            other => panic!("{name} ({op:?}): expected the service error {code}, got {other:?}"),
        }
    }
}

/// Every operation of the model can be named by an operation byte (a new one is added to
/// the fuzz bodies' list of later operations).
#[test]
fn every_operation_is_reachable_from_a_byte() {
    let reached: std::collections::BTreeSet<_> = (0..=255u8).map(fuzz_bodies::operation).collect();
    for op in generated::operations::Operation::ALL {
        assert!(reached.contains(op), "{op:?} is named by no byte");
    }
}
