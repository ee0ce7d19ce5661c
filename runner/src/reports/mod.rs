//! What a run writes under `reports/<target>/`: results.json (the record), summary.md and
//! junit.xml rendered from it. The summary also goes to `$GITHUB_STEP_SUMMARY` when set.

pub mod junit;
pub mod summary;

use crate::cli::Paths;
use anyhow::Result;
use contract::baseline::Baseline;
use contract::files::write_atomically as write_file;
use contract::results::Results;

pub fn write(paths: &Paths, results: &Results, baseline: &Baseline) -> Result<()> {
    let dir = &paths.report_dir;
    let mut json = serde_json::to_string_pretty(results)?;
    json.push('\n');
    write_file(&dir.join("results.json"), json.as_bytes())?;
    let mut summary = summary::render(results, baseline)?;
    summary.push_str(&crate::differential::render_section(results));
    // The clients section `cargo xtask clients` wrote from clients.json survives a re-run.
    if let Some(report) = std::fs::read_to_string(dir.join("clients.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<contract::clients::Report>(&t).ok())
    {
        summary = contract::clients::with_section(&summary, &contract::clients::render(&report));
    }
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
