//! summary.md, rendered from results.json and the baseline.

use anyhow::Result;
use contract::baseline::Baseline;
use contract::results::{CaseResult, Column, Results};
use contract::Verdict;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Serialize)]
struct FeatureRow {
    feature: String,
    counts: Vec<usize>,
}

#[derive(Serialize)]
struct DeviationView {
    id: String,
    /// The same behaviour's cases in the other operations, deviating alike.
    also: Vec<String>,
    title: String,
    refs: Vec<String>,
    /// Links to the contested rows among them.
    contested: Vec<String>,
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

/// `[R1](../../docs/reference.md#r1)`: a row, linked from reports/<target>/summary.md.
fn reference_link(row: &str) -> String {
    format!(
        "[{row}](../../docs/reference.md#{})",
        contract::names::reference_anchor(row)
    )
}

/// One deviation as summary.md shows it.
fn view(c: &CaseResult, baseline: &Baseline) -> DeviationView {
    DeviationView {
        id: c.id.clone(),
        also: Vec::new(),
        title: c.title.clone(),
        refs: c.refs.iter().map(|r| reference_link(r)).collect(),
        contested: c.contested.iter().map(|r| reference_link(r)).collect(),
        verdict: c.verdict.name().into(),
        weight: c.verdict.weight().into(),
        expected: c.expected_text(),
        source: c.source.clone(),
        observed: c.observed_text(),
        details: c.details.clone(),
        known: baseline.known_reason(c).map(str::to_string),
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
    }
}

pub fn render(results: &Results, baseline: &Baseline) -> Result<String> {
    let verdicts: Vec<&str> = Verdict::ALL.iter().map(|v| v.name()).collect();
    let cases: Vec<&CaseResult> = results.cases.iter().collect();
    let names: BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| c.features.iter().map(String::as_str))
        .collect();
    let features: Vec<FeatureRow> = Column::all(names, &cases)
        .into_iter()
        .map(|column| FeatureRow {
            feature: column.label(),
            counts: Verdict::ALL
                .iter()
                .map(|v| {
                    cases
                        .iter()
                        .filter(|c| c.verdict == *v && column.holds(c))
                        .count()
                })
                .collect(),
        })
        .collect();
    // A behaviour defined once for several operations that deviates alike in each is
    // listed once, naming every case.
    let mut listed: BTreeMap<(&str, Verdict), usize> = BTreeMap::new();
    let mut deviations: Vec<DeviationView> = Vec::new();
    for c in cases.iter().filter(|c| c.verdict.is_deviation()) {
        if let Some(shared) = &c.shared {
            if let Some(&i) = listed.get(&(shared.as_str(), c.verdict)) {
                deviations[i].also.push(c.id.clone());
                continue;
            }
            listed.insert((shared.as_str(), c.verdict), deviations.len());
        }
        deviations.push(view(c, baseline));
    }
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
    tera.add_raw_template(
        "summary.md",
        include_str!("../../templates/summary.md.tera"),
    )?;
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
