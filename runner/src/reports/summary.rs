//! summary.md, rendered from results.json and the baseline.

use anyhow::Result;
use contract::baseline::Baseline;
use contract::results::Results;
use contract::Verdict;
use serde::Serialize;
use std::collections::BTreeMap;

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

pub fn render(results: &Results, baseline: &Baseline) -> Result<String> {
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
