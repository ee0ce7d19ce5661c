//! `docs/reference.md`: suites/reference.toml as a page, rows grouped by feature, each
//! with the cases that cover it. Reports link case refs to its anchors (`#r1`).

use anyhow::{Context, Result};
use contract::reference::{Reference, Row, KINDS};
use contract::vocabulary::Vocabulary;
use contract::Case;
use serde::Serialize;
use std::path::Path;

#[derive(Serialize)]
struct Group<'a> {
    feature: &'a str,
    about: &'a str,
    rows: Vec<RowView<'a>>,
}

#[derive(Serialize)]
struct RowView<'a> {
    #[serde(flatten)]
    row: &'a Row,
    anchor: String,
    /// `UploadPartCopy, CopyObject`.
    operations: String,
    cases: Vec<&'a str>,
}

#[derive(Serialize)]
struct Kind {
    kind: &'static str,
    about: &'static str,
}

pub fn render(tera: &tera::Tera, suites: &Path, cases: &[Case]) -> Result<String> {
    let vocabulary = Vocabulary::load(&suites.join("FEATURES.toml"))?;
    let reference = Reference::load(&suites.join("reference.toml"))?;
    let groups: Vec<Group> = vocabulary
        .features
        .0
        .iter()
        .map(|word| Group {
            feature: &word.name,
            about: &word.about,
            rows: reference
                .rows
                .iter()
                .filter(|r| r.feature == word.name)
                .map(|row| RowView {
                    row,
                    anchor: contract::names::reference_anchor(&row.id),
                    operations: row.operations.join(", "),
                    cases: cases
                        .iter()
                        .filter(|c| c.refs.contains(&row.id))
                        .map(|c| c.id.as_str())
                        .collect(),
                })
                .collect(),
        })
        .filter(|g| !g.rows.is_empty())
        .collect();
    let kinds: Vec<Kind> = KINDS
        .iter()
        .map(|(kind, about)| Kind { kind, about })
        .collect();
    let contested = reference
        .rows
        .iter()
        .filter(|r| !r.contested.is_empty())
        .count();
    let mut context = tera::Context::new();
    context.insert("groups", &groups);
    context.insert("recordings", &reference.recordings);
    context.insert("kinds", &kinds);
    context.insert("rows", &reference.rows.len());
    context.insert("contested", &contested);
    tera.render("reference.md", &context)
        .context("rendering docs/reference.md")
}
