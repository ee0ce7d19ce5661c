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

/// Variable name → value, for one expanded case.
type Bindings = Vec<(String, Value)>;

/// Every combination of a case's `each` and `cross` values (one empty binding without them).
fn bindings_of(
    spec: &CaseSpec,
    file_cross: &[String],
    file_axes: &BTreeMap<String, Vec<Value>>,
) -> Result<Vec<Bindings>> {
    let mut all: Vec<Bindings> = vec![vec![]];
    let mut axes: Vec<(String, &Vec<Value>)> = Vec::new();
    if let Some(each) = &spec.each {
        axes.push(("each".into(), each));
    }
    for name in file_cross.iter().chain(&spec.cross) {
        let values = file_axes.get(name).with_context(|| {
            format!(
                "case {}: the file has no axis {name:?} (axes: {})",
                spec.id,
                file_axes.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        if name == "each" || axes.iter().any(|(n, _)| n == name) {
            bail!("case {}: the axis {name} is named twice", spec.id);
        }
        axes.push((name.clone(), values));
    }
    for (name, values) in axes {
        if values.is_empty() {
            bail!("case {}: {name} has no values", spec.id);
        }
        let mut next = Vec::new();
        for b in &all {
            for v in values {
                let mut b = b.clone();
                b.push((name.clone(), v.clone()));
                next.push(b);
            }
        }
        all = next;
    }
    Ok(all)
}

/// The text of a value in ids and strings.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The value of a variable (`each`, `each.field`, `axis`, `axis.field`); a field the
/// value lacks gives null.
fn lookup(token: &str, bindings: &Bindings) -> Result<Value> {
    let (name, field) = match token.split_once('.') {
        Some((n, f)) => (n, Some(f)),
        None => (token, None),
    };
    let value = &bindings
        .iter()
        .find(|(n, _)| n == name)
        .with_context(|| {
            format!(
                "${{{token}}}: no variable {name:?} (the case has: {})",
                bindings
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?
        .1;
    Ok(match field {
        None => value.clone(),
        Some(f) => value.get(f).cloned().unwrap_or(Value::Null),
    })
}

/// Replaces `${…}` variables in every string. A string that is exactly one variable
/// becomes its value (numbers stay numbers, tables stay tables; a missing field is null,
/// which leaves a table member unset), itself substituted: an axis value may name another
/// axis (`setup = [{ … }, "${op.setup}"]`). Run-time placeholders (`{src.etag}`) stay.
fn substitute(value: &mut Value, bindings: &Bindings, slugged: bool) -> Result<()> {
    substitute_nested(value, bindings, slugged, 0)
}

fn substitute_nested(
    value: &mut Value,
    bindings: &Bindings,
    slugged: bool,
    depth: usize,
) -> Result<()> {
    match value {
        Value::String(s) => {
            if let Some(inner) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
                if !inner.contains(['{', '}']) {
                    if depth >= 4 {
                        bail!("${{{inner}}}: variables nest more than 4 deep");
                    }
                    *value = lookup(inner, bindings)?;
                    return substitute_nested(value, bindings, slugged, depth + 1);
                }
            }
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                let end = rest[start..]
                    .find('}')
                    .with_context(|| format!("unclosed ${{ in {s:?}"))?
                    + start;
                out.push_str(&rest[..start]);
                let token = &rest[start + 2..end];
                match lookup(token, bindings)? {
                    Value::Null => bail!("${{{token}}} has no value in {s:?}"),
                    v if slugged => out.push_str(&slug(&value_text(&v))),
                    v => out.push_str(&value_text(&v)),
                }
                rest = &rest[end + 1..];
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(items) => {
            for v in items.iter_mut() {
                substitute_nested(v, bindings, slugged, depth)?;
            }
        }
        Value::Object(map) => {
            for v in map.values_mut() {
                substitute_nested(v, bindings, slugged, depth)?;
            }
            // A variable with no value removes the key: optional fields stay unset.
            map.retain(|_, v| !v.is_null());
        }
        _ => {}
    }
    Ok(())
}

/// Error fields and output members are text, whatever the variable held.
fn stringify_expected_values(expect: &mut Value) {
    for profile in expect
        .as_object_mut()
        .into_iter()
        .flat_map(|m| m.values_mut())
    {
        for key in ["error", "output"] {
            if let Some(map) = profile.get_mut(key).and_then(Value::as_object_mut) {
                for v in map.values_mut() {
                    if !v.is_string() {
                        *v = Value::String(value_text(v));
                    }
                }
            }
        }
    }
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
    // `setup = ["${source.setup}", "${op.setup}"]`: lists of steps joined into one.
    if let Value::Array(steps) = &mut case["setup"] {
        let flat = steps
            .drain(..)
            .flat_map(|s| match s {
                Value::Array(inner) => inner,
                step => vec![step],
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

/// An `each` value as an id part: `-1` stays, `bytes=0-9` becomes `bytes_0-9`.
fn slug(text: &str) -> String {
    if text.is_empty() {
        return "empty".into();
    }
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn check_case(case: &Case, checker: &Checker) -> Result<()> {
    let (vocabulary, model) = (checker.vocabulary, checker.model);
    if case.refs.is_empty() {
        bail!("no refs: name the reference rows the case covers");
    }
    for r in &case.refs {
        if checker.reference.row(r).is_none() {
            bail!("unknown ref {r:?}: not a row of suites/reference.toml");
        }
    }
    vocabulary.features.check("feature", &case.features)?;
    vocabulary
        .capabilities
        .check("capability", &case.requires)?;
    if !case.expect.contains_key(&Dialect::Aws) {
        bail!("no expectation for the aws profile");
    }
    for (profile, expect) in &case.expect {
        if expect.source.trim().is_empty() {
            bail!("the {profile} expectation has no source");
        }
        checker
            .reference
            .check_source(&expect.source)
            .with_context(|| format!("the {profile} expectation's source"))?;
        if !(100..600).contains(&expect.status) {
            bail!("status {} is not an HTTP status", expect.status);
        }
        let op = model.operation(&case.operation)?;
        for path in expect.output.keys().chain(&expect.present) {
            let output = op.output.as_ref().context("the operation has no output")?;
            check_member_path(model, &output.target, path)
                .with_context(|| format!("expect.{profile}.output"))?;
        }
    }
    let mut names = defined_names(&case.setup);
    if let Some(body) = &case.body {
        names.insert(body.name.clone(), Kind::Object);
    }
    check_input(model, &case.operation, &case.input)?;
    for step in &case.setup {
        if let Step::PutObject { name, input, .. } = step {
            check_input(model, "PutObject", input)
                .with_context(|| format!("setup put-object {name}"))?;
        }
    }
    for (profile, expect) in &case.expect {
        if let Some(stored) = &expect.stored {
            let head = model.operation("HeadObject")?;
            let output = head.output.as_ref().context("HeadObject has no output")?;
            for member in stored.head.keys() {
                check_member_path(model, &output.target, member)
                    .with_context(|| format!("expect.{profile}.stored.head"))?;
            }
        }
    }
    let mut strings = Vec::new();
    collect_strings(&serde_json::to_value(case)?, &mut strings);
    for s in strings {
        check_placeholders(&s, &names, &checker.algorithms)?;
    }
    Ok(())
}

/// Each member is one of the operation's input, with a value of its type.
fn check_input<'a>(
    model: &Model,
    operation: &str,
    input: impl IntoIterator<Item = (&'a String, &'a Value)>,
) -> Result<()> {
    let op = model.operation(operation)?;
    let input_id = &op
        .input
        .as_ref()
        .context("the operation has no input")?
        .target;
    let members = model.shape(input_id)?.members()?;
    for (name, value) in input {
        let member = members
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| m)
            .with_context(|| format!("input: {operation} has no member {name}"))?;
        check_value_type(model, &member.target, value)
            .with_context(|| format!("input member {name}"))?;
    }
    Ok(())
}

fn check_member_path(model: &Model, shape_id: &str, path: &str) -> Result<()> {
    let mut current = shape_id.to_string();
    for part in path.split('.') {
        let shape = model.shape(&current)?;
        // `Parts.0`: a number indexes a list.
        if part.parse::<usize>().is_ok() {
            current = shape
                .member
                .as_ref()
                .filter(|_| shape.kind == ShapeKind::List)
                .with_context(|| {
                    format!("{part} indexes something that is not a list (in {path})")
                })?
                .target
                .clone();
            continue;
        }
        let members = shape.members()?;
        let member = members.iter().find(|(n, _)| n == part).with_context(|| {
            format!(
                "{} has no member {part} (in {path})",
                crate::smithy::local_name(&current)
            )
        })?;
        current = member.1.target.clone();
    }
    Ok(())
}

fn check_value_type(model: &Model, target: &str, value: &Value) -> Result<()> {
    let kind = model.kind(target)?;
    let ok = match kind {
        ShapeKind::String | ShapeKind::Enum | ShapeKind::Timestamp | ShapeKind::Blob => {
            value.is_string()
        }
        // A size placeholder alone (`"{up.size}"`) becomes a number when the runner
        // resolves it.
        ShapeKind::Integer | ShapeKind::Long | ShapeKind::IntEnum => {
            value.is_i64() || value.as_str().is_some_and(is_size_placeholder)
        }
        ShapeKind::Boolean => value.is_boolean(),
        // A structure or list comes from a placeholder (`{up.parts}`) or is written out.
        ShapeKind::Structure => value.is_object() || value.is_string(),
        ShapeKind::List => value.is_array() || value.is_string(),
        _ => true,
    };
    if !ok {
        bail!("{value} does not fit the model type {kind:?} of {target}; use `raw` to send a malformed value");
    }
    Ok(())
}

/// `{name.size}` or `{name.size±N}`, and nothing else.
pub fn is_size_placeholder(text: &str) -> bool {
    matches!(
        placeholder::pieces(text).as_deref(),
        Ok([Piece::Placeholder(p)]) if p.attribute == "size"
    )
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// What each setup name is: object, upload or bucket (besides the built-in names).
fn defined_names(setup: &[Step]) -> BTreeMap<String, Kind> {
    let mut names: BTreeMap<String, Kind> = placeholder::BUILT_IN
        .iter()
        .map(|(n, k)| (n.to_string(), *k))
        .collect();
    for step in setup {
        match step {
            Step::CreateBucket { name } => {
                names.insert(name.clone(), Kind::Bucket);
            }
            Step::PutMultipartObject { name, parts, .. } => {
                names.insert(name.clone(), Kind::Object);
                // Its parts, named like objects: `src_part1`, `src_part2`, ….
                for i in 1..=parts.len() {
                    names.insert(format!("{name}_part{i}"), Kind::Object);
                }
            }
            Step::PutObject { name, .. }
            | Step::UploadPart { name, .. }
            | Step::CopyPart { name, .. } => {
                names.insert(name.clone(), Kind::Object);
            }
            Step::CreateUpload { name, .. } => {
                names.insert(name.clone(), Kind::Upload);
            }
            _ => {}
        }
    }
    names
}

fn check_placeholders(
    text: &str,
    names: &BTreeMap<String, Kind>,
    algorithms: &[String],
) -> Result<()> {
    for piece in placeholder::pieces(text)? {
        if let Piece::Placeholder(p) = piece {
            p.check(
                |name| names.get(name).copied(),
                |a| algorithms.iter().any(|k| k == a),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEATURES: &str = r#"
[features]
range = "r"
[capabilities]
versioning = "v"
"#;

    const REFERENCE: &str = r#"
[[row]]
id = "R1"
operation = "UploadPartCopy"
feature = "range"
situation = "s"
aws = "a"
sources = ["doc:001"]
"#;

    const GOOD: &str = r#"
family = "upload_part_copy/range"
title = "ranges"
features = ["range"]
operation = "UploadPartCopy"
setup = [
    { do = "put-object", name = "src", size = 10 },
    { do = "create-upload", name = "up" },
]
[input]
Bucket = "{up.bucket}"
Key = "{up.key}"
UploadId = "{up.id}"
PartNumber = 1
CopySource = "{src.copy_source}"

[[case]]
id = "n-${each}"
title = "part ${each}"
refs = ["R1"]
each = [1, 2]
input = { PartNumber = "${each}" }
expect.aws = { status = 200, copied = "src", error = { ArgumentValue = "${each}" }, source = "doc:001" }
"#;

    fn model() -> Model {
        Model::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/s3.json")).unwrap()
    }

    fn expand_one(case_file: &str) -> Result<String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("FEATURES.toml"), FEATURES).unwrap();
        std::fs::write(dir.path().join("reference.toml"), REFERENCE).unwrap();
        std::fs::create_dir_all(dir.path().join("cases")).unwrap();
        std::fs::write(dir.path().join("cases/a.toml"), case_file).unwrap();
        cases_json(&expand(dir.path(), &model())?)
    }

    /// One family for two operations: the op axis of an axis file gives each its family,
    /// operation, setup, input and dialects.
    #[test]
    fn a_shared_family_expands_once_per_operation() {
        const AXES: &str = r#"
[axes]
op = [
    { id = "upc", family = "upload_part_copy", operation = "UploadPartCopy", dialects = ["aws", "oss"], setup = [{ do = "create-upload", name = "up", key = "dest" }], input = { Bucket = "{up.bucket}", Key = "{up.key}", UploadId = "{up.id}", PartNumber = 1 } },
    { id = "co", family = "copy_object", operation = "CopyObject", dialects = ["aws"], setup = [], input = { Bucket = "{bucket.name}", Key = "dest" } },
]
"#;
        const SHARED: &str = r#"
family = "${op.family}/copy-source"
shared = "copy-source"
title = "copies"
features = ["range"]
operation = "${op.operation}"
axes_from = ["ops.toml"]
cross = ["op"]
dialects = "${op.dialects}"
input = ["${op.input}", { CopySource = "{src.copy_source}" }]

[axes]
source = [{ id = "small", setup = [{ do = "put-object", name = "src", size = 10 }, "${op.setup}"] }]

[[case]]
id = "whole-${source.id}"
title = "whole"
refs = ["R1"]
cross = ["source"]
setup = "${source.setup}"
expect.aws = { status = 200, copied = "src", source = "doc:001" }
expect.oss = { status = 200, copied = "src", source = "doc:003" }
"#;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("FEATURES.toml"), FEATURES).unwrap();
        std::fs::write(dir.path().join("reference.toml"), REFERENCE).unwrap();
        std::fs::create_dir_all(dir.path().join("cases")).unwrap();
        std::fs::create_dir_all(dir.path().join("axes")).unwrap();
        std::fs::write(dir.path().join("axes/ops.toml"), AXES).unwrap();
        std::fs::write(dir.path().join("cases/a.toml"), SHARED).unwrap();
        let cases = expand(dir.path(), &model()).unwrap();
        let ids: Vec<_> = cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "copy_object/copy-source/whole-small",
                "upload_part_copy/copy-source/whole-small"
            ]
        );
        let (co, upc) = (&cases[0], &cases[1]);
        assert_eq!(upc.shared.as_deref(), Some("copy-source/whole-small"));
        assert_eq!(co.shared, upc.shared);
        assert_eq!(
            (upc.operation.as_str(), co.operation.as_str()),
            ("UploadPartCopy", "CopyObject")
        );
        // The nested setup is joined; the op's input merged under the file's.
        assert_eq!(upc.setup.len(), 2);
        assert_eq!(co.setup.len(), 1);
        assert_eq!(upc.input["UploadId"], "{up.id}");
        assert_eq!(co.input["Bucket"], "{bucket.name}");
        assert_eq!(co.input["CopySource"], "{src.copy_source}");
        // CopyObject is judged by aws alone.
        assert!(upc.expect.contains_key(&Dialect::Oss));
        assert!(!co.expect.contains_key(&Dialect::Oss));

        // A name both the file and its axis file define is refused.
        let twice = SHARED.replace("[axes]\n", "[axes]\nop = [{ id = \"x\" }]\n");
        std::fs::write(dir.path().join("cases/a.toml"), twice).unwrap();
        let err = format!("{:#}", expand(dir.path(), &model()).unwrap_err());
        assert!(err.contains("axis op is defined twice"), "{err}");
    }

    #[test]
    fn each_fans_out_with_stable_ids_and_typed_inputs() {
        let text = expand_one(GOOD).unwrap();
        let cases: Vec<Case> = serde_json::from_str(&text).unwrap();
        let ids: Vec<_> = cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            ["upload_part_copy/range/n-1", "upload_part_copy/range/n-2"]
        );
        // In the input the number stays a number; in expectations it is text.
        assert_eq!(cases[1].input["PartNumber"], serde_json::json!(2));
        assert_eq!(cases[1].expect[&Dialect::Aws].error["ArgumentValue"], "2");
        assert_eq!(cases[0].title, "part 1");
        // Expansion is deterministic.
        assert_eq!(text, expand_one(GOOD).unwrap());
    }

    fn rejects(edit: (&str, &str), message: &str) {
        let file = GOOD.replace(edit.0, edit.1);
        assert_ne!(file, GOOD, "the edit {edit:?} changed nothing");
        let err = format!("{:#}", expand_one(&file).unwrap_err());
        assert!(err.contains(message), "{edit:?}: {err}");
    }

    #[test]
    fn a_case_without_refs_source_or_known_words_is_rejected() {
        rejects(("refs = [\"R1\"]", "refs = []"), "no refs");
        rejects(("refs = [\"R1\"]", "refs = [\"Z9\"]"), "unknown ref");
        rejects(("source = \"doc:001\"", "source = \" \""), "has no source");
        rejects(
            ("source = \"doc:001\"", "source = \"blog:x\""),
            "kind must be one of",
        );
        rejects(
            ("features = [\"range\"]", "features = [\"speed\"]"),
            "unknown feature",
        );
        rejects(
            ("expect.aws", "expect.oss"),
            "no expectation for the aws profile",
        );
        rejects(("expect.aws", "expect.gcs"), "unknown variant `gcs`");
    }

    #[test]
    fn the_model_checks_operations_members_and_types() {
        rejects(
            (
                "operation = \"UploadPartCopy\"",
                "operation = \"UploadPartCopyX\"",
            ),
            "no operation",
        );
        rejects(
            (
                "input = { PartNumber = \"${each}\" }",
                "input = { PartNumbr = 1 }",
            ),
            "has no member PartNumbr",
        );
        rejects(
            (
                "input = { PartNumber = \"${each}\" }",
                "input = { PartNumber = \"abc\" }",
            ),
            "use `raw`",
        );
        rejects(
            (
                "copied = \"src\"",
                "output = { \"CopyPartResult.Etag\" = \"x\" }",
            ),
            "no member Etag",
        );
    }

    #[test]
    fn placeholders_must_name_what_setup_made() {
        rejects(
            ("{src.copy_source}", "{nosuch.copy_source}"),
            "no setup step defines",
        );
        rejects(("{src.copy_source}", "{src.colour}"), "no attribute");
    }

    const AXES: &str = r#"
[axes]
src = [{ id = "small", size = 10 }, { id = "big", size = 6291456 }]
pos = [{ id = "first", last = 0 }]

[[case]]
id = "x-${src.id}-${pos.id}"
title = "bytes=0-${pos.last} of ${src.size} bytes"
refs = ["R1"]
cross = ["src", "pos"]
setup = [{ do = "put-object", name = "src", size = "${src.size}" }, { do = "create-upload", name = "up" }]
omit = ["PartNumber"]
input = { CopySourceRange = "bytes=0-${pos.last}" }
expect.aws = { status = 200, copied = "src[0-0]", source = "doc:001" }
"#;

    #[test]
    fn file_axes_cross_and_omit_removes_a_member() {
        let file = format!("{GOOD}{AXES}");
        let cases: Vec<Case> = serde_json::from_str(&expand_one(&file).unwrap()).unwrap();
        let x: Vec<&Case> = cases.iter().filter(|c| c.id.contains("/x-")).collect();
        let ids: Vec<_> = x.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "upload_part_copy/range/x-big-first",
                "upload_part_copy/range/x-small-first"
            ]
        );
        assert_eq!(x[0].title, "bytes=0-0 of 6291456 bytes");
        assert!(!x[0].input.contains_key("PartNumber"));
        assert_eq!(x[0].input["CopySourceRange"], "bytes=0-0");
        // A run-time placeholder is left for the runner.
        assert_eq!(x[0].input["UploadId"], "{up.id}");
    }

    #[test]
    fn axes_and_variables_must_exist_and_be_used() {
        let file = format!("{GOOD}{AXES}");
        let bad = |from: &str, to: &str, message: &str| {
            let edited = file.replace(from, to);
            assert_ne!(edited, file, "{from:?} changed nothing");
            let err = format!("{:#}", expand_one(&edited).unwrap_err());
            assert!(err.contains(message), "{from:?}: {err}");
        };
        bad(
            "cross = [\"src\", \"pos\"]",
            "cross = [\"src\", \"place\"]",
            "no axis \"place\"",
        );
        bad(
            "[axes]\n",
            "[axes]\nspare = [1]\n",
            "axis spare is crossed by no case",
        );
        bad("${pos.last} of", "${post.last} of", "no variable \"post\"");
        bad(
            "omit = [\"PartNumber\"]",
            "omit = [\"Range\"]",
            "has no member Range",
        );
    }

    /// docs/scenarios.md is the language's reference: it names every step and attribute.
    #[test]
    fn the_reference_page_names_every_step_and_placeholder() {
        let page = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/scenarios.md"),
        )
        .unwrap();
        // serde lists the step kinds it knows when it meets one it does not.
        let err = serde_json::from_str::<Step>(r#"{"do": "?"}"#)
            .unwrap_err()
            .to_string();
        let steps: Vec<&str> = err.split('`').skip(3).step_by(2).collect();
        assert!(steps.len() >= 10, "{err}");
        for step in steps {
            assert!(
                page.contains(&format!("`{step}`")),
                "docs/scenarios.md lacks step {step}"
            );
        }
        for kind in [
            Kind::Bucket,
            Kind::Missing,
            Kind::Sse,
            Kind::Object,
            Kind::Upload,
        ] {
            for attribute in kind.attributes() {
                assert!(
                    page.contains(&format!("`{attribute}`")),
                    "docs/scenarios.md lacks attribute {attribute}"
                );
            }
        }
    }

    #[test]
    fn broken_files_are_errors_not_panics() {
        rejects(("family = ", "familie = "), "malformed scenario file");
        rejects(("size = 10", "size = \"ten\""), "malformed setup step 1");
        rejects(
            ("[[case]]", "[[case]]\nunknown_key = 1"),
            "malformed scenario file",
        );
    }
}
