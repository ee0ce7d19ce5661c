//! results.json (one canonical record per run), summary.md rendered from it, and the
//! baseline of known deviations a run is compared with.

use anyhow::{bail, Context, Result};
use schema::results::CaseResult;
pub use schema::results::{Deviation, Results, RunInfo};
use schema::Verdict;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub fn load_results(path: &Path) -> Result<Results> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("malformed {}", path.display()))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    #[serde(default, rename = "deviation")]
    pub deviations: Vec<Deviation>,
    /// Cases not run on this target at all (they bring the server down), each with why.
    #[serde(default, rename = "skip", skip_serializing_if = "Vec::is_empty")]
    pub skips: Vec<Skip>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Skip {
    pub case: String,
    pub reason: String,
}

impl Baseline {
    /// A missing file is an empty baseline; a malformed one is an error.
    pub fn load(path: &Path) -> Result<Baseline> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Baseline::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let baseline: Baseline = toml::from_str(&text)
            .with_context(|| format!("malformed baseline {}", path.display()))?;
        let mut seen = std::collections::BTreeSet::new();
        for d in &baseline.deviations {
            if !seen.insert(&d.case) {
                bail!("baseline {} lists {} twice", path.display(), d.case);
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
                    reason: format!(
                        "unreviewed: {}",
                        c.details
                            .first()
                            .cloned()
                            .unwrap_or_else(|| c.observed_text())
                    ),
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
        (true, Some(d)) => {
            Comparison::Regression(format!(
            "{} is {} (baseline: {}): {}; update its verdict in {baseline_path} if that is right",
            result.id,
            result.verdict,
            d.verdict,
            result.details.first().cloned().unwrap_or_else(|| result.observed_text())
        ))
        }
        (true, None) => Comparison::Regression(format!(
            "{} is {}: {}; add a [[deviation]] for it to {baseline_path} if that is right",
            result.id,
            result.verdict,
            result
                .details
                .first()
                .cloned()
                .unwrap_or_else(|| result.observed_text())
        )),
    }
}

#[derive(Serialize)]
struct FeatureRow {
    feature: String,
    counts: Vec<usize>,
}

#[derive(Serialize)]
struct DeviationView {
    id: String,
    title: String,
    refs: Vec<String>,
    verdict: String,
    weight: String,
    expected: String,
    source: String,
    observed: String,
    details: Vec<String>,
    known: Option<String>,
    cli: String,
    http: String,
}

pub fn render_summary(results: &Results, baseline: &Baseline) -> Result<String> {
    let verdicts: Vec<&str> = Verdict::ALL.iter().map(|v| v.name()).collect();
    let mut by_feature: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for case in &results.cases {
        let column = Verdict::ALL
            .iter()
            .position(|v| *v == case.verdict)
            .unwrap_or(0);
        for f in &case.features {
            by_feature
                .entry(f.clone())
                .or_insert_with(|| vec![0; verdicts.len()])[column] += 1;
        }
    }
    let features: Vec<FeatureRow> = by_feature
        .into_iter()
        .map(|(feature, counts)| FeatureRow { feature, counts })
        .collect();
    let deviations: Vec<DeviationView> = results
        .cases
        .iter()
        .filter(|c| c.verdict.is_deviation())
        .map(|c| DeviationView {
            id: c.id.clone(),
            title: c.title.clone(),
            refs: c.refs.clone(),
            verdict: c.verdict.name().into(),
            weight: c.verdict.weight().into(),
            expected: c.expected_text(),
            source: c.source.clone(),
            observed: c.observed_text(),
            details: c.details.clone(),
            known: baseline
                .get(&c.id)
                .filter(|d| d.verdict == c.verdict)
                .map(|d| d.reason.clone()),
            cli: c
                .reproduction
                .as_ref()
                .map(|r| r.cli.clone())
                .unwrap_or_default(),
            http: c
                .reproduction
                .as_ref()
                .map(|r| r.http.clone())
                .unwrap_or_default(),
        })
        .collect();
    let cleanup: Vec<String> = results
        .cases
        .iter()
        .flat_map(|c| c.cleanup.iter().map(move |l| format!("{}: {l}", c.id)))
        .collect();
    let totals_line = Verdict::ALL
        .iter()
        .filter_map(|v| {
            results
                .totals
                .get(v.name())
                .map(|n| format!("{} {n}", v.name()))
        })
        .collect::<Vec<_>>()
        .join(" · ");

    let mut tera = tera::Tera::default();
    tera.add_raw_template("summary.md", include_str!("../templates/summary.md.tera"))?;
    tera.autoescape_on(vec![]);
    let mut context = tera::Context::new();
    context.insert("target", &results.target);
    context.insert("profile", &results.profile);
    context.insert("verdict_line", &results.verdict_line());
    context.insert("totals_line", &totals_line);
    context.insert("verdicts", &verdicts);
    context.insert("features", &features);
    context.insert("deviations", &deviations);
    context.insert("cleanup", &cleanup);
    Ok(tera.render("summary.md", &context)?)
}
