//! `reports/<target>/baseline.toml`: a target's known deviations, each with the reason
//! found when looking into it, and the cases not to run on it at all. A run is compared
//! with it case by case; `cargo xtask baseline update` rewrites it from the last run.

use crate::results::{CaseResult, Results};
use crate::verdict::Verdict;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

/// One known deviation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    pub case: String,
    pub verdict: Verdict,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// A case not run on this target (it brings the server down), with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skip {
    pub case: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    #[serde(default, rename = "deviation")]
    pub deviations: Vec<Deviation>,
    #[serde(default, rename = "skip", skip_serializing_if = "Vec::is_empty")]
    pub skips: Vec<Skip>,
}

/// How the reason of a line written by `update` starts until someone has looked into it.
pub const UNREVIEWED: &str = "unreviewed: ";

impl Baseline {
    /// A missing file is an empty baseline; a malformed one (or one listing a case twice)
    /// is an error.
    pub fn load(path: &Path) -> Result<Baseline> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Baseline::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Baseline::parse(&text).with_context(|| format!("malformed baseline {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Baseline> {
        let baseline: Baseline = toml::from_str(text)?;
        let mut seen = BTreeSet::new();
        for case in baseline.deviations.iter().map(|d| &d.case) {
            if !seen.insert(case) {
                bail!("it lists {case} twice");
            }
        }
        let mut seen = BTreeSet::new();
        for case in baseline.skips.iter().map(|s| &s.case) {
            if !seen.insert(case) {
                bail!("it skips {case} twice");
            }
        }
        Ok(baseline)
    }

    pub fn skip_reason(&self, case: &str) -> Option<&str> {
        self.skips
            .iter()
            .find(|s| s.case == case)
            .map(|s| s.reason.as_str())
    }

    pub fn get(&self, case: &str) -> Option<&Deviation> {
        self.deviations.iter().find(|d| d.case == case)
    }

    /// The reason of a deviation this run shows as the baseline lists it.
    pub fn known_reason(&self, result: &CaseResult) -> Option<&str> {
        self.get(&result.id)
            .filter(|d| d.verdict == result.verdict)
            .map(|d| d.reason.as_str())
    }

    /// The baseline that describes `results`, keeping the reasons already written.
    pub fn updated(&self, results: &Results) -> Baseline {
        let deviations = results
            .cases
            .iter()
            .filter(|c| c.verdict.is_deviation())
            .map(|c| match self.get(&c.id) {
                Some(d) if d.verdict == c.verdict => d.clone(),
                _ => Deviation {
                    case: c.id.clone(),
                    verdict: c.verdict,
                    reason: format!("{UNREVIEWED}{}", c.first_detail()),
                    link: None,
                },
            })
            .collect();
        Baseline {
            deviations,
            skips: self.skips.clone(),
        }
    }

    pub fn render(&self, target: &str) -> Result<String> {
        let mut text = format!(
            "# Known deviations of {target} from the profile. A run fails when a case deviates\n\
             # otherwise, or passes while listed here. Rewrite with\n\
             # `cargo xtask baseline update --target {target}` and review the diff.\n\n"
        );
        text.push_str(&toml::to_string_pretty(self)?);
        Ok(text)
    }
}

/// Rewrites `baseline` from the `results.json` in `report_dir`; returns the new baseline.
pub fn update(report_dir: &Path, baseline: &Path, target: &str) -> Result<Baseline> {
    let results = Results::load(&report_dir.join("results.json"))?;
    let updated = Baseline::load(baseline)?.updated(&results);
    let text = updated.render(target)?;
    if let Some(dir) = baseline.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(baseline, text)
        .with_context(|| format!("cannot write {}", baseline.display()))?;
    Ok(updated)
}

/// How a case compares with the baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// Passed, or deviated exactly as the baseline says.
    AsExpected,
    Known(String),
    /// A deviation the baseline does not list (or lists with another verdict).
    Regression(String),
    /// Listed in the baseline but passed: the baseline must shrink.
    UnexpectedPass(String),
}

/// `baseline_path` is how messages name the file (the line to add or delete is in it).
pub fn compare(baseline: &Baseline, result: &CaseResult, baseline_path: &str) -> Comparison {
    let listed = baseline.get(&result.id);
    match (result.verdict.is_deviation(), listed) {
        (false, None) => Comparison::AsExpected,
        (false, Some(d)) if result.verdict == Verdict::Skipped => {
            Comparison::Known(format!("skipped; baseline says {}", d.verdict))
        }
        (false, Some(d)) => Comparison::UnexpectedPass(format!(
            "{} now passes: delete its [[deviation]] ({}) from {baseline_path}",
            result.id, d.verdict
        )),
        (true, Some(d)) if d.verdict == result.verdict => Comparison::Known(d.reason.clone()),
        (true, Some(d)) => Comparison::Regression(format!(
            "{} is {} (baseline: {}): {}; update its verdict in {baseline_path} if that is right",
            result.id,
            result.verdict,
            d.verdict,
            result.first_detail()
        )),
        (true, None) => Comparison::Regression(format!(
            "{} is {}: {}; add a [[deviation]] for it to {baseline_path} if that is right",
            result.id,
            result.verdict,
            result.first_detail()
        )),
    }
}
