//! Codegen-time variables: `${axis.field}` and `${each}`, their bindings and substitution.

use super::*;

/// Variable name → value, for one expanded case.
pub(super) type Bindings = Vec<(String, Value)>;

/// Every combination of a case's `each` and `cross` values (one empty binding without them).
pub(super) fn bindings_of(
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
pub(super) fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The value of a variable (`each`, `each.field`, `axis`, `axis.field`); a field the
/// value lacks gives null.
pub(super) fn lookup(token: &str, bindings: &Bindings) -> Result<Value> {
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
pub(super) fn substitute(value: &mut Value, bindings: &Bindings, slugged: bool) -> Result<()> {
    substitute_nested(value, bindings, slugged, 0)
}

pub(super) fn substitute_nested(
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
            // A variable's value may itself hold a variable (an axis value naming `${op.x}`).
            if s.contains("${") {
                if depth >= 4 {
                    bail!("{s:?}: variables nest more than 4 deep");
                }
                return substitute_nested(value, bindings, slugged, depth + 1);
            }
        }
        Value::Array(items) => {
            for v in items.iter_mut() {
                substitute_nested(v, bindings, slugged, depth)?;
            }
        }
        Value::Object(map) => {
            // Keys may hold variables too (`"Checksum${alg.id}" = …`); a key that is one
            // variable without a value leaves its entry out.
            if map.keys().any(|k| k.contains("${")) {
                let mut renamed = Map::new();
                for (key, v) in std::mem::take(map) {
                    let mut name = Value::String(key.clone());
                    substitute_nested(&mut name, bindings, false, depth)?;
                    let name = match name {
                        Value::Null => continue,
                        Value::String(s) => s,
                        other @ (Value::Number(_) | Value::Bool(_)) => value_text(&other),
                        other => bail!("the key {key:?} is {other}, not a name"),
                    };
                    if renamed.insert(name.clone(), v).is_some() {
                        bail!("two keys of one table are {name:?} (one is {key:?})");
                    }
                }
                *map = renamed;
            }
            for v in map.values_mut() {
                substitute_nested(v, bindings, slugged, depth)?;
            }
            // A variable with no value removes the key: optional fields stay unset. A
            // step's `when` stays, to leave the step out.
            map.retain(|k, v| !v.is_null() || k == "when");
        }
        _ => {}
    }
    Ok(())
}

/// Error fields and output members are text, whatever the variable held.
pub(super) fn stringify_expected_values(expect: &mut Value) {
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

/// An `each` value as an id part: `-1` stays, `bytes=0-9` becomes `bytes_0-9`.
pub(super) fn slug(text: &str) -> String {
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
