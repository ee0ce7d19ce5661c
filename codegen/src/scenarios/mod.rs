//! Scenario files (`suites/cases/**/*.toml`) → concrete cases (`generated/cases.json`).
//!
//! A scenario file is a family: shared setup, operation and input, and a list of cases,
//! each of which may fan out over `each` values. Expansion checks every case against the
//! vocabulary (`suites/FEATURES.toml`) and against the model: the operation, the input
//! member names and their types, and the output members an expectation names.

use crate::smithy::{Model, ShapeKind};
use anyhow::{anyhow, bail, Context, Result};
use contract::placeholder::{self, Kind, Piece};
use contract::reference::Reference;
use contract::vocabulary::Vocabulary;
use contract::{Case, Dialect, Step};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod checks;
mod variables;

use checks::*;
use variables::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    /// The id prefix of the file's cases; may hold variables (`${op.prefix}/preconditions`).
    family: String,
    /// For a file instantiated for several operations: the name of the behaviour it
    /// defines once (`copy-source/preconditions`), which reports group deviations by.
    #[serde(default)]
    shared: Option<String>,
    title: String,
    features: Vec<String>,
    #[serde(default)]
    requires: Vec<String>,
    /// Steps (or a variable holding them); nested lists are flattened.
    #[serde(default = "empty_list")]
    setup: Value,
    /// The operation under test (or a variable naming it).
    operation: String,
    /// Members of the operation's input: a table, a variable holding one, or a list of
    /// them merged in order (`input = ["${op.input}", { CopySource = "…" }]`).
    #[serde(default = "empty_table")]
    input: Value,
    /// Named lists of values that cases fan out over (`cross = ["source", "pos"]`).
    #[serde(default)]
    axes: BTreeMap<String, Vec<Value>>,
    /// Files of suites/axes/ whose axes this file crosses too.
    #[serde(default)]
    axes_from: Vec<String>,
    /// The dialects the file's cases are defined for (a variable allowed); an expectation
    /// for another is left out (`dialects = "${op.dialects}"`: the OSS sources document
    /// UploadPartCopy, not CopyObject). Without it: every dialect a case names.
    #[serde(default)]
    dialects: Option<Value>,
    /// Axes every case of the file crosses, before its own (`cross = ["op"]`: each case
    /// once per operation; the family then names the operation, so ids stay unique).
    #[serde(default)]
    cross: Vec<String>,
    #[serde(rename = "case")]
    cases: Vec<CaseSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseSpec {
    id: String,
    title: String,
    /// A list of reference rows, or a variable holding one.
    refs: Value,
    /// Fan out: one case per value, `${each}` (or `${each.field}` for tables) replaced by it.
    #[serde(default)]
    each: Option<Vec<Value>>,
    /// Fan out over every combination of these axes of the file: `${axis}` / `${axis.field}`.
    #[serde(default)]
    cross: Vec<String>,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    requires: Vec<String>,
    /// Replaces the family's setup when given (a list of steps, or a variable).
    #[serde(default)]
    setup: Option<Value>,
    /// Merged over the family's input.
    #[serde(default)]
    input: Map<String, Value>,
    /// Members of the family's input this case does not send.
    #[serde(default)]
    omit: Vec<String>,
    #[serde(default)]
    raw: Option<Value>,
    /// The step's own payload: `{ name = "b", size = 100000 }`.
    #[serde(default)]
    body: Option<Value>,
    /// Profile → expectation; checked against the case format after substitution.
    expect: Map<String, Value>,
}

fn empty_list() -> Value {
    Value::Array(Vec::new())
}

fn empty_table() -> Value {
    Value::Object(Map::new())
}

/// A file of suites/axes/: axes that several scenario files cross.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AxisFile {
    axes: BTreeMap<String, Vec<Value>>,
}

/// The file's own axes and those of the axis files it names (a name defined twice is an
/// error).
fn load_axes(suites: &Path, file: &mut ScenarioFile) -> Result<()> {
    for name in &file.axes_from {
        if name.contains(['/', '\\']) {
            bail!("axes_from names a file of suites/axes/ by its name alone, not {name:?}");
        }
        let path = suites.join("axes").join(name);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let shared: AxisFile = toml::from_str(&text)
            .with_context(|| format!("malformed axis file {}", path.display()))?;
        for (axis, values) in shared.axes {
            if file.axes.insert(axis.clone(), values).is_some() {
                bail!("axis {axis} is defined twice (in the file and in {name})");
            }
        }
    }
    Ok(())
}

fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in
            std::fs::read_dir(&d).with_context(|| format!("cannot read {}", d.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Expands every scenario under `suites/cases` and returns `cases.json`.
/// What every case is checked against.
pub struct Checker<'a> {
    pub vocabulary: &'a Vocabulary,
    pub reference: &'a Reference,
    pub model: &'a Model,
    /// The model's checksum algorithms, in lower case, as placeholders name them.
    pub algorithms: Vec<String>,
}

/// Expands every scenario under `suites/cases`, checked against the vocabulary, the
/// reference and the model; sorted by id.
pub fn expand(suites: &Path, model: &Model) -> Result<Vec<Case>> {
    let vocabulary = Vocabulary::load(&suites.join("FEATURES.toml"))?;
    let reference = Reference::load(&suites.join("reference.toml"))?;
    let algorithms = match model.operation_id("ChecksumAlgorithm") {
        Ok(id) if model.shapes.contains_key(&id) => model.shape(&id)?.enum_values()?,
        _ => Vec::new(),
    };
    let checker = Checker {
        vocabulary: &vocabulary,
        reference: &reference,
        model,
        algorithms: algorithms.iter().map(|a| a.to_ascii_lowercase()).collect(),
    };
    let mut cases = Vec::new();
    for path in scenario_files(&suites.join("cases"))? {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut file: ScenarioFile = toml::from_str(&text)
            .with_context(|| format!("malformed scenario file {}", path.display()))?;
        load_axes(suites, &mut file)
            .with_context(|| format!("in scenario file {}", path.display()))?;
        let expanded = expand_file(&file, &checker)
            .with_context(|| format!("in scenario file {}", path.display()))?;
        cases.extend(expanded);
    }
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    let mut seen = BTreeSet::new();
    for case in &cases {
        if !seen.insert(case.id.clone()) {
            bail!("two cases have the id {}", case.id);
        }
    }
    checker.check_coverage(&cases)?;
    Ok(cases)
}

/// `generated/cases.json`.
pub fn cases_json(cases: &[Case]) -> Result<String> {
    let mut text = serde_json::to_string_pretty(cases)?;
    text.push('\n');
    Ok(text)
}

impl Checker<'_> {
    /// Every row is covered by a case, or says why not; rows are about known features
    /// and operations.
    fn check_coverage(&self, cases: &[Case]) -> Result<()> {
        for row in &self.reference.rows {
            self.vocabulary
                .features
                .check("feature", std::slice::from_ref(&row.feature))
                .with_context(|| format!("reference row {}", row.id))?;
            for operation in &row.operations {
                self.model
                    .operation(operation)
                    .with_context(|| format!("reference row {}", row.id))?;
            }
            let covering = cases.iter().find(|c| c.refs.contains(&row.id));
            match (covering, &row.uncovered) {
                (None, None) => bail!(
                    "reference row {} is covered by no case: add one, or say why with `uncovered`",
                    row.id
                ),
                (Some(case), Some(_)) => bail!(
                    "reference row {} says it is uncovered, but {} covers it",
                    row.id,
                    case.id
                ),
                _ => {}
            }
        }
        Ok(())
    }
}

fn expand_file(file: &ScenarioFile, checker: &Checker) -> Result<Vec<Case>> {
    let vocabulary = checker.vocabulary;
    vocabulary.features.check("feature", &file.features)?;
    vocabulary
        .capabilities
        .check("capability", &file.requires)?;
    if file.family.is_empty() || file.family.contains(char::is_whitespace) {
        bail!(
            "family {:?} must be a non-empty path without spaces",
            file.family
        );
    }
    if file.title.trim().is_empty() {
        bail!("family {} has no title", file.family);
    }
    for (axis, values) in &file.axes {
        if values.is_empty() {
            bail!("axis {axis} has no values");
        }
    }
    let mut out = Vec::new();
    for spec in &file.cases {
        for bindings in bindings_of(spec, &file.cross, &file.axes)? {
            let mut case =
                expand_case(file, spec, &bindings).with_context(|| format!("case {}", spec.id))?;
            case.contested = case
                .refs
                .iter()
                .filter(|r| {
                    checker
                        .reference
                        .row(r)
                        .is_some_and(|row| !row.contested.is_empty())
                })
                .cloned()
                .collect();
            case.opt_in = case
                .features
                .iter()
                .find(|f| vocabulary.features.get(f).is_some_and(|w| w.opt_in))
                .cloned();
            check_case(&case, checker).with_context(|| format!("case {}", case.id))?;
            out.push(case);
        }
    }
    if let Some(axis) = file.axes.keys().find(|axis| {
        !file.cross.contains(axis) && !file.cases.iter().any(|c| c.cross.contains(axis))
    }) {
        bail!("axis {axis} is crossed by no case");
    }
    Ok(out)
}

fn expand_case(file: &ScenarioFile, spec: &CaseSpec, bindings: &Bindings) -> Result<Case> {
    let mut id = Value::String(spec.id.clone());
    substitute(&mut id, bindings, true)?;
    let mut id_part = value_text(&id);
    // `each` without `${each}` in the id: the value is appended.
    if let Some((_, v)) = bindings.iter().find(|(n, _)| n == "each") {
        if !spec.id.contains("${each") {
            id_part = format!("{id_part}-{}", slug(&value_text(v)));
        }
    }
    contract::names::check_case_name(&id_part).map_err(|e| anyhow!(e))?;
    let mut family = Value::String(file.family.clone());
    substitute(&mut family, bindings, false)?;
    let family = value_text(&family);
    let mut operation = Value::String(file.operation.clone());
    substitute(&mut operation, bindings, false)?;
    let operation = value_text(&operation);
    let mut input = file.input.clone();
    substitute(&mut input, bindings, false)?;
    let mut input = merged_tables(input)?;
    for member in &spec.omit {
        if input.remove(member).is_none() {
            bail!("omit: the family's input has no member {member}");
        }
    }
    for (k, v) in &spec.input {
        input.insert(k.clone(), v.clone());
    }
    let mut features = file.features.clone();
    features.extend(spec.features.iter().cloned());
    features.sort();
    features.dedup();
    let mut requires = file.requires.clone();
    requires.extend(spec.requires.iter().cloned());
    requires.sort();
    requires.dedup();

    let mut case = serde_json::json!({
        "id": format!("{family}/{id_part}"),
        "shared": file.shared.as_ref().map(|s| format!("{s}/{id_part}")),
        "title": spec.title,
        "refs": spec.refs,
        "features": features,
        "requires": requires,
        "setup": spec.setup.clone().unwrap_or_else(|| file.setup.clone()),
        "operation": operation,
        "input": input,
        "raw": spec.raw.clone().unwrap_or_else(|| serde_json::json!({})),
        "body": spec.body.clone(),
        "expect": spec.expect,
    });
    let id = case["id"].take();
    substitute(&mut case, bindings, false)?;
    case["id"] = id;
    // `setup = ["${source.setup}", "${op.setup}"]`: lists of steps joined into one. A
    // variable without a value there is no step; a step whose `when` has no value, or is
    // false or empty, is left out.
    if let Value::Array(steps) = &mut case["setup"] {
        let flat = steps
            .drain(..)
            .flat_map(|s| match s {
                Value::Array(inner) => inner,
                Value::Null => vec![],
                step => vec![step],
            })
            .filter_map(|mut step| {
                let Some(when) = step.as_object_mut().and_then(|m| m.remove("when")) else {
                    return Some(step);
                };
                let wanted = match when {
                    Value::Null | Value::Bool(false) => false,
                    Value::String(s) => !s.is_empty(),
                    Value::Array(a) => !a.is_empty(),
                    _ => true,
                };
                wanted.then_some(step)
            })
            .collect();
        *steps = flat;
        for (i, step) in steps.iter().enumerate() {
            serde_json::from_value::<Step>(step.clone())
                .with_context(|| format!("malformed setup step {}: {step}", i + 1))?;
        }
    }
    if let Some(dialects) = &file.dialects {
        let mut dialects = dialects.clone();
        substitute(&mut dialects, bindings, false)?;
        let dialects: Vec<Dialect> = serde_json::from_value(dialects)
            .context("dialects must be a list of dialect names (aws, oss)")?;
        if let Some(expect) = case["expect"].as_object_mut() {
            expect.retain(|name, _| dialects.iter().any(|d| d.name() == name));
        }
    }
    stringify_expected_values(&mut case["expect"]);
    Ok(serde_json::from_value(case)?)
}

/// The family's input as one table: a table, or a list of tables merged in order.
fn merged_tables(input: Value) -> Result<Map<String, Value>> {
    match input {
        Value::Object(map) => Ok(map),
        Value::Array(tables) => {
            let mut out = Map::new();
            for table in tables {
                out.extend(merged_tables(table)?);
            }
            Ok(out)
        }
        other => bail!("the family's input must be a table of members, not {other}"),
    }
}

#[cfg(test)]
mod tests;
