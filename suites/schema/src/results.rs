//! The record of a run: `results.json`, and the baseline entries that name known deviations.

use crate::Verdict;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One case's record in results.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    pub id: String,
    pub title: String,
    pub refs: Vec<String>,
    pub features: Vec<String>,
    pub verdict: Verdict,
    pub source: String,
    pub expected: Expected,
    pub observed: Option<Observed>,
    /// Why the verdict is not `pass`: mismatched fields, bytes, the harness error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// Differences that do not change the verdict (another error message).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What cleanup could not remove, reported on its own and never blamed on the case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleanup: Vec<String>,
    /// For a deviation: how to send the step under test again, secrets redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reproduction: Option<Reproduction>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reproduction {
    /// An `aws s3api …` command line.
    pub cli: String,
    /// The request as the harness built it, before signing.
    pub http: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expected {
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The outcome of the step under test, reduced to what grading needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub status: u16,
    /// The S3 error code; set for an error, including a 200 whose body was `<Error>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub target: String,
    pub profile: String,
    /// Verdict → number of cases.
    pub totals: BTreeMap<String, usize>,
    pub capabilities: Vec<String>,
    /// Sorted by id.
    pub cases: Vec<CaseResult>,
    /// Everything that changes from run to run, kept apart so reports diff cleanly.
    pub run_info: RunInfo,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    pub run_id: String,
    pub started_at: String,
    pub duration_ms: u128,
    pub endpoint: String,
    pub harness_version: String,
    /// Ctrl-C stopped the run: cases not started are `skipped`.
    #[serde(default)]
    pub interrupted: bool,
    /// TLS certificates were not verified (`--insecure`).
    #[serde(default)]
    pub insecure: bool,
}

impl Results {
    pub fn new(
        target: &str,
        profile: &str,
        capabilities: Vec<String>,
        mut cases: Vec<CaseResult>,
        run_info: RunInfo,
    ) -> Results {
        cases.sort_by(|a, b| a.id.cmp(&b.id));
        let mut totals = BTreeMap::new();
        for case in &cases {
            *totals.entry(case.verdict.name().to_string()).or_insert(0) += 1;
        }
        Results {
            target: target.to_string(),
            profile: profile.to_string(),
            totals,
            capabilities,
            cases,
            run_info,
        }
    }
}

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
