//! The conformance cases as a nextest test target, one test per case, configured by
//! CONFORMANCE_ENDPOINT (a URL, or `embedded`) and the other CONFORMANCE_* variables; see
//! `runner::shards`. Without CONFORMANCE_ENDPOINT it lists no tests.

fn main() -> std::process::ExitCode {
    let reports = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports");
    runner::shards::nextest_main(&reports)
}
