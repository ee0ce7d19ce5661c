//! Full runs against LocalStack, a server of `cargo xtask endpoint` started in process.

use super::proxy::{self, CountingProxy};
use super::runs::{FullRun, Runner};
use super::Started;
use crate::endpoint;
use anyhow::Result;

#[derive(Debug, Clone, Default)]
pub enum LocalStack {
    #[default]
    Unknown,
    NotMeasured(String),
    Measured {
        full: Vec<FullRun>,
        proxied: Option<Box<FullRun>>,
        started_by_bench: bool,
        start_secs: Option<f64>,
        /// What its recipe installed.
        installed: String,
    },
}

const NAME: &str = "localstack";

/// Starts LocalStack unless it runs already (never installs it: that takes minutes), runs
/// the suite against it, and stops it again when it was started here.
pub fn measure_localstack(runner: &Runner, full_runs: u32) -> LocalStack {
    let not = |why: String| LocalStack::NotMeasured(format!("not measured: {why}"));
    if !endpoint::installed(&runner.root, NAME) {
        return not(
            "LocalStack not available (not installed; `cargo xtask endpoint install localstack`)"
                .into(),
        );
    }
    let server = match Started::start(&runner.root, NAME) {
        Ok(s) => s,
        Err(e) => return not(format!("LocalStack not available (it did not start: {e})")),
    };
    let result = runs(runner, full_runs, &server);
    server.stop(&runner.root);
    match result {
        Ok(r) => r,
        Err(e) => not(format!("the run against LocalStack failed ({e:#})")),
    }
}

fn runs(runner: &Runner, full_runs: u32, server: &Started) -> Result<LocalStack> {
    let target = server.target(NAME, NAME);
    let pgid = Some(server.running.pid);
    // First through the proxy: it counts the requests, and warms LocalStack up (its first
    // run after a start is markedly slower).
    eprintln!("    full run through the counting proxy (also the warm-up)");
    let proxy = CountingProxy::start(proxy::upstream(&server.running.url)?)?;
    let proxied = runner.full_run(&target, pgid, "localstack-proxied", Some(&proxy));
    proxy.stop();
    let mut full = Vec::new();
    for i in 0..full_runs {
        eprintln!("    full run {} of {full_runs}", i + 1);
        full.push(runner.full_run(&target, pgid, &format!("localstack-{i}"), None)?);
    }
    Ok(LocalStack::Measured {
        full,
        proxied: proxied.ok().map(Box::new),
        started_by_bench: server.by_bench,
        start_secs: server.start_secs,
        installed: endpoint::describe(NAME)?,
    })
}
