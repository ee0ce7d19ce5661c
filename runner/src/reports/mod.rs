//! What a run writes under `reports/<target>/`: results.json (the record), summary.md and
//! junit.xml rendered from it. The summary also goes to `$GITHUB_STEP_SUMMARY` when set.

pub mod junit;
pub mod summary;

use crate::cli::Paths;
use anyhow::{Context, Result};
use contract::baseline::Baseline;
use contract::results::Results;
use std::path::Path;

pub fn write(paths: &Paths, results: &Results, baseline: &Baseline) -> Result<()> {
    let dir = &paths.report_dir;
    let mut json = serde_json::to_string_pretty(results)?;
    json.push('\n');
    write_file(&dir.join("results.json"), json.as_bytes())?;
    let summary = summary::render(results, baseline)?;
    write_file(&dir.join("summary.md"), summary.as_bytes())?;
    let junit = junit::render(results, baseline)?;
    write_file(&dir.join("junit.xml"), junit.as_bytes())?;
    if let Ok(path) = std::env::var("GITHUB_STEP_SUMMARY") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
        {
            let _ = f.write_all(summary.as_bytes());
        }
    }
    eprintln!(
        "wrote {}/results.json, summary.md and junit.xml",
        dir.display()
    );
    Ok(())
}

/// Writes through a temporary sibling, so a reader never sees half a report.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}
