//! What an expanded case is checked for: its input, steps, expectations and placeholders
//! against the model and the vocabulary.

use super::*;

pub(super) fn check_case(case: &Case, checker: &Checker) -> Result<()> {
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
        for path in expect
            .output
            .keys()
            .chain(&expect.present)
            .chain(&expect.absent)
        {
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
    for (i, step) in case.setup.iter().enumerate() {
        check_step(model, &case.setup, step).with_context(|| format!("setup step {}", i + 1))?;
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

/// A setup step's members of a model operation: of their types, enum values among the
/// model's, a full-object checksum only for an upload with an algorithm.
pub(super) fn check_step(model: &Model, setup: &[Step], step: &Step) -> Result<()> {
    let text = |v: &Option<String>| v.clone().map(Value::String);
    let (operation, members, algorithm, full) = match step {
        Step::PutObject { name, input, .. } => {
            return check_input(model, "PutObject", input)
                .with_context(|| format!("put-object {name}"));
        }
        Step::CompleteUpload {
            upload,
            if_none_match,
            if_match,
            checksum_type,
            full_object_checksum,
        } => {
            let algorithm = setup.iter().find_map(|s| match s {
                Step::CreateUpload {
                    name,
                    checksum_algorithm,
                    ..
                } if name == upload => Some(checksum_algorithm.clone()),
                _ => None,
            });
            let members = [
                ("IfNoneMatch", text(if_none_match)),
                ("IfMatch", text(if_match)),
                ("ChecksumType", text(checksum_type)),
            ];
            let algorithm = algorithm.with_context(|| {
                format!("complete-upload {upload}: no create-upload step is named {upload}")
            })?;
            (
                "CompleteMultipartUpload",
                members,
                algorithm,
                *full_object_checksum,
            )
        }
        Step::PutMultipartObject {
            checksum_algorithm,
            checksum_type,
            complete,
            ..
        } => {
            // The type at Create is checked with the one at Complete.
            check_enum(model, "ChecksumType", checksum_type.as_deref())?;
            let members = [
                ("ChecksumType", text(&complete.checksum_type)),
                ("IfNoneMatch", None),
                ("IfMatch", None),
            ];
            (
                "CompleteMultipartUpload",
                members,
                checksum_algorithm.clone(),
                complete.full_object_checksum,
            )
        }
        Step::CreateUpload { checksum_type, .. } => {
            return check_enum(model, "ChecksumType", checksum_type.as_deref());
        }
        _ => return Ok(()),
    };
    let members: Map<String, Value> = members
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v?)))
        .collect();
    check_input(model, operation, &members)?;
    if let Some(Value::String(t)) = members.get("ChecksumType") {
        check_enum(model, "ChecksumType", Some(t))?;
    }
    if full && algorithm.is_none() {
        bail!("full_object_checksum: the upload has no checksum_algorithm, so no checksum to send");
    }
    Ok(())
}

/// A value of one of the model's enums (`ChecksumType`), when given.
pub(super) fn check_enum(model: &Model, shape: &str, value: Option<&str>) -> Result<()> {
    let Some(value) = value else { return Ok(()) };
    let values = model.shape(&model.operation_id(shape)?)?.enum_values()?;
    if !values.iter().any(|v| v == value) {
        bail!(
            "{value:?} is not a {shape} of the model ({})",
            values.join(", ")
        );
    }
    Ok(())
}

/// Each member is one of the operation's input, with a value of its type.
pub(super) fn check_input<'a>(
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

pub(super) fn check_member_path(model: &Model, shape_id: &str, path: &str) -> Result<()> {
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

pub(super) fn check_value_type(model: &Model, target: &str, value: &Value) -> Result<()> {
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

pub(super) fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// What each setup name is: object, upload or bucket (besides the built-in names).
pub(super) fn defined_names(setup: &[Step]) -> BTreeMap<String, Kind> {
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

pub(super) fn check_placeholders(
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
