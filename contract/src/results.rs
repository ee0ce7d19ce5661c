//! The record of a run: `results.json`, one record per case; everything that changes from
//! run to run sits in `run_info`.

use crate::verdict::Verdict;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One case's record in results.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    pub id: String,
    /// The operation under test.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub operation: String,
    /// For a behaviour defined once for several operations: its name without the
    /// operation, the same in each (reports list a deviation shared by both once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<String>,
    pub title: String,
    pub refs: Vec<String>,
    /// Rows among `refs` whose sources disagree: a deviation there may be the other side's
    /// reading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contested: Vec<String>,
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
    pub profile: crate::Dialect,
    /// Verdict → number of cases.
    pub totals: BTreeMap<String, usize>,
    pub capabilities: Vec<String>,
    /// Sorted by id.
    pub cases: Vec<CaseResult>,
    /// Everything that changes from run to run, kept apart so reports diff cleanly.
    pub run_info: RunInfo,
    /// A differential run (`--reference`): where the reference and the target answered
    /// differently, expectations aside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub differences: Option<Differences>,
}

/// What a differential run found: each case ran against the reference and the target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Differences {
    /// The reference endpoint's URL.
    pub reference: String,
    /// Cases that ran on both sides and were compared.
    pub compared: usize,
    /// Cases not compared (not run, or no answer, on one side), with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_compared: Vec<String>,
    /// The compared cases whose outcomes differ, sorted by id.
    pub cases: Vec<Difference>,
}

/// One case the reference and the target answered differently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    pub id: String,
    /// What differs: `status`, `code`, `checks` (the same status and code, but the
    /// members, headers or bytes the checks look at differ).
    pub differs: Vec<String>,
    pub target: Side,
    pub reference: Side,
}

/// One side's outcome of a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// `200`, `403 AccessDenied`.
    pub observed: String,
    pub verdict: Verdict,
    /// The first finding of the checks, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
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
    pub fn load(path: &Path) -> Result<Results> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("malformed {}", path.display()))
    }

    pub fn new(
        target: &str,
        profile: crate::Dialect,
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
            profile,
            totals,
            capabilities,
            cases,
            run_info,
            differences: None,
        }
    }
}

/// `400 InvalidArgument`, `200`, or `nothing`.
pub fn status_code(status: Option<u16>, code: Option<&str>) -> String {
    match (status, code) {
        (Some(s), Some(c)) => format!("{s} {c}"),
        (Some(s), None) => s.to_string(),
        (None, _) => "nothing".into(),
    }
}

impl CaseResult {
    pub fn expected_text(&self) -> String {
        status_code(self.expected.status, self.expected.code.as_deref())
    }

    /// The first line of why the case is not a pass, or what came back.
    pub fn first_detail(&self) -> String {
        self.details
            .first()
            .cloned()
            .unwrap_or_else(|| self.observed_text())
    }

    /// What came back, with the server's message.
    pub fn observed_text(&self) -> String {
        match &self.observed {
            Some(o) => {
                let mut text = status_code(Some(o.status), o.code.as_deref());
                if let Some(m) = &o.message {
                    text.push_str(&format!(" ({m})"));
                }
                text
            }
            None => "no response".into(),
        }
    }
}

/// A column of a report: a feature, split by operation when it holds a behaviour defined
/// once for several operations (a server may be right in UploadPartCopy and wrong in
/// CopyObject). Features whose operations are steps of one life cycle stay whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub feature: String,
    pub operation: Option<String>,
}

impl Column {
    /// `preconditions`, or `preconditions · CopyObject`.
    pub fn label(&self) -> String {
        match &self.operation {
            Some(op) => format!("{} · {op}", self.feature),
            None => self.feature.clone(),
        }
    }

    pub fn holds(&self, case: &CaseResult) -> bool {
        case.features.contains(&self.feature)
            && self
                .operation
                .as_ref()
                .is_none_or(|op| *op == case.operation)
    }

    /// The columns of these features (in the order given) over these cases.
    pub fn all<'a>(
        features: impl IntoIterator<Item = &'a str>,
        cases: &[&CaseResult],
    ) -> Vec<Column> {
        let mut out = Vec::new();
        for feature in features {
            let in_feature = || {
                cases
                    .iter()
                    .filter(|c| c.features.iter().any(|f| f == feature))
            };
            let mut operations: Vec<&str> = in_feature().map(|c| c.operation.as_str()).collect();
            operations.sort();
            operations.dedup();
            if operations.len() > 1 && in_feature().any(|c| c.shared.is_some()) {
                out.extend(operations.into_iter().map(|op| Column {
                    feature: feature.to_string(),
                    operation: Some(op.to_string()),
                }));
            } else {
                out.push(Column {
                    feature: feature.to_string(),
                    operation: None,
                });
            }
        }
        out
    }
}

/// How the detail of a case starts when the target's baseline says not to run it at all:
/// it brings the target down.
pub const NOT_RUN_ON_TARGET: &str = "not run on this target: ";

impl Results {
    /// `N cases: x behave as AWS does, y deviate (z critical), w skipped`, marked when the
    /// run was interrupted or did not verify TLS. summary.md and the matrix lead with it.
    pub fn verdict_line(&self) -> String {
        let count =
            |f: &dyn Fn(Verdict) -> bool| self.cases.iter().filter(|c| f(c.verdict)).count();
        let deviations = count(&|v| v.is_deviation());
        let critical = count(&|v| v.weight() == "critical");
        let details = count(&|v| v == Verdict::ErrorDetails);
        let passed = count(&|v| matches!(v, Verdict::Pass | Verdict::PassAlternative));
        let skipped = count(&|v| v == Verdict::Skipped);
        let mut line = format!(
            "{} cases: {passed} behave as AWS does, {deviations} deviate ({critical} critical",
            self.cases.len()
        );
        if details > 0 {
            line.push_str(&format!(", {details} differ only in error details"));
        }
        line.push_str(&format!("), {skipped} skipped"));
        let crashers = self
            .cases
            .iter()
            .filter(|c| c.verdict == Verdict::Skipped)
            .filter(|c| {
                c.details
                    .first()
                    .is_some_and(|d| d.starts_with(NOT_RUN_ON_TARGET))
            })
            .count();
        if crashers > 0 {
            line.push_str(&format!(
                " ({crashers} of them because they bring the target down)"
            ));
        }
        if self.run_info.insecure {
            line.push_str(" (TLS certificates were not verified: --insecure)");
        }
        if self.run_info.interrupted {
            line = format!("INTERRUPTED, partial run. {line}");
        }
        line
    }
}

/// Records for the tests of what reads results (JUnit, the matrix, the verdict line): the
/// fields no such test looks at are filled in once, here.
pub mod sample {
    use super::*;

    /// A case of feature `range` that expected 400 InvalidArgument and saw nothing.
    pub fn case(id: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            id: id.into(),
            operation: "UploadPartCopy".into(),
            shared: None,
            title: format!("title of {id}"),
            refs: vec!["R1".into()],
            contested: vec![],
            features: vec!["range".into()],
            verdict,
            source: "doc:001".into(),
            expected: Expected {
                status: Some(400),
                code: Some("InvalidArgument".into()),
            },
            observed: None,
            details: vec![],
            notes: vec![],
            cleanup: vec![],
            reproduction: None,
        }
    }

    pub fn results(target: &str, cases: Vec<CaseResult>) -> Results {
        Results::new(
            target,
            crate::Dialect::Aws,
            vec![],
            cases,
            RunInfo {
                run_id: "r".into(),
                started_at: "now".into(),
                duration_ms: 1,
                endpoint: "http://127.0.0.1:1".into(),
                harness_version: "0".into(),
                interrupted: false,
                insecure: false,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_line_says_how_many_cases_bring_the_target_down() {
        let skipped = |id: &str, why: &str| CaseResult {
            details: vec![why.into()],
            ..sample::case(id, Verdict::Skipped)
        };
        let cases = vec![
            sample::case("a", Verdict::Pass),
            skipped("b", "the target lacks versioning"),
            skipped("c", &format!("{NOT_RUN_ON_TARGET}it aborts")),
            sample::case("d", Verdict::SilentAccept),
            sample::case("e", Verdict::ErrorDetails),
        ];
        assert_eq!(
            sample::results("t", cases).verdict_line(),
            "5 cases: 1 behave as AWS does, 2 deviate (1 critical, 1 differ only in error details), 2 skipped \
             (1 of them because they bring the target down)"
        );
    }

    #[test]
    fn a_feature_splits_by_operation_only_where_a_behaviour_is_shared() {
        let case = |id: &str, feature: &str, op: &str, shared: bool| CaseResult {
            features: vec![feature.into()],
            operation: op.into(),
            shared: shared.then(|| id.to_string()),
            ..sample::case(id, Verdict::Pass)
        };
        let cases = [
            case("a", "preconditions", "UploadPartCopy", true),
            case("b", "preconditions", "CopyObject", true),
            case("c", "lifecycle", "CompleteMultipartUpload", false),
            case("d", "lifecycle", "ListParts", false),
        ];
        let refs: Vec<&CaseResult> = cases.iter().collect();
        let columns = Column::all(["preconditions", "lifecycle"], &refs);
        let labels: Vec<String> = columns.iter().map(Column::label).collect();
        assert_eq!(
            labels,
            [
                "preconditions · CopyObject",
                "preconditions · UploadPartCopy",
                "lifecycle"
            ]
        );
        assert!(columns[0].holds(&cases[1]) && !columns[0].holds(&cases[0]));
        assert!(columns[2].holds(&cases[2]) && columns[2].holds(&cases[3]));
    }
}
