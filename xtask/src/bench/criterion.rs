//! Criterion's last results, when `cargo bench` has run: target/criterion/**/new/.

use super::machine::format_time;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct CriterionResult {
    pub id: String,
    pub median_ns: f64,
    pub low_ns: f64,
    pub high_ns: f64,
    /// When its estimates were written.
    pub taken: String,
}

pub fn read_criterion(target_dir: &Path) -> Vec<CriterionResult> {
    let mut found = Vec::new();
    let mut stack = vec![target_dir.join("criterion")];
    let mut visited = 0;
    while let Some(dir) = stack.pop() {
        visited += 1;
        if visited > 10_000 {
            break;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()) {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            match name {
                "new" => found.extend(read_new(&path)),
                "report" | "base" => {}
                _ => stack.push(path),
            }
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

/// One bench's `new` folder: estimates.json and benchmark.json.
fn read_new(dir: &Path) -> Option<CriterionResult> {
    let estimates: PathBuf = dir.join("estimates.json");
    let read = |path: &Path| -> Option<Value> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    };
    let e = read(&estimates)?;
    let b = read(&dir.join("benchmark.json"))?;
    let taken = std::fs::metadata(&estimates)
        .and_then(|m| m.modified())
        .map(format_time)
        .unwrap_or_default();
    let median = &e["median"];
    let bound = |name: &str| median["confidence_interval"][name].as_f64().unwrap_or(0.0);
    Some(CriterionResult {
        id: b["full_id"].as_str().unwrap_or_default().to_string(),
        median_ns: median["point_estimate"].as_f64().unwrap_or(0.0),
        low_ns: bound("lower_bound"),
        high_ns: bound("upper_bound"),
        taken,
    })
}
