//! `cargo xtask models import`: cut the slice of the upstream S3 model the project uses.
//!
//! The slice holds the operations in scope and every shape they reach, with structural
//! traits only (no documentation, examples or endpoint rules), so that `models/` stays
//! small, reviewable and deterministic.

use crate::smithy::{Model, Shape};
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The operations the harness drives: multipart copy and what it needs around it.
pub const OPERATIONS: [&str; 18] = [
    "CreateBucket",
    "DeleteBucket",
    "PutBucketVersioning",
    "PutObject",
    "GetObject",
    "HeadObject",
    "DeleteObject",
    "DeleteObjects",
    "ListObjectVersions",
    "CreateMultipartUpload",
    "UploadPart",
    "UploadPartCopy",
    "CopyObject",
    "GetObjectTagging",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
    "ListParts",
    "ListMultipartUploads",
];

/// Where the upstream model lives; the defaults name smithy-rs's S3 model at the commit models/ was cut from.
pub struct Upstream {
    pub repository: String,
    pub path: String,
    pub commit: String,
}

impl Default for Upstream {
    fn default() -> Self {
        Upstream {
            repository: "smithy-lang/smithy-rs".into(),
            path: "aws/sdk/aws-models/s3.json".into(),
            commit: "f45327599be30e25bc171df60a01511a81d0f682".into(),
        }
    }
}

/// Traits that change what goes on the wire or how a value is typed. Everything else
/// (documentation, examples, endpoint rules, waiters, ...) is dropped.
const STRUCTURAL_TRAITS: &[&str] = &[
    "smithy.api#http",
    "smithy.api#httpLabel",
    "smithy.api#httpQuery",
    "smithy.api#httpQueryParams",
    "smithy.api#httpHeader",
    "smithy.api#httpPrefixHeaders",
    "smithy.api#httpPayload",
    "smithy.api#httpResponseCode",
    "smithy.api#httpError",
    "smithy.api#error",
    "smithy.api#required",
    "smithy.api#default",
    "smithy.api#enumValue",
    "smithy.api#xmlName",
    "smithy.api#xmlFlattened",
    "smithy.api#xmlAttribute",
    "smithy.api#xmlNamespace",
    "smithy.api#timestampFormat",
    "smithy.api#streaming",
    "smithy.api#sensitive",
    "smithy.api#length",
    "smithy.api#range",
    "smithy.api#pattern",
    "smithy.api#input",
    "smithy.api#output",
    "smithy.api#idempotencyToken",
    "aws.protocols#restXml",
    "aws.protocols#httpChecksum",
    "aws.auth#sigv4",
    "aws.api#service",
];

fn keep_structural(traits: &mut serde_json::Map<String, serde_json::Value>) {
    traits.retain(|name, _| STRUCTURAL_TRAITS.contains(&name.as_str()));
}

/// The slice of `model` holding `operations` and every shape they reach.
pub fn slice(model: &Model, operations: &[&str]) -> Result<Model> {
    let (service_id, service) = model.service()?;
    let mut wanted = Vec::new();
    for name in operations {
        let id = model.operation_id(name)?;
        if !service.operations.iter().any(|t| t.target == id) {
            bail!("the service {service_id} has no operation {name}");
        }
        wanted.push(id);
    }

    let mut reached = BTreeSet::new();
    let mut stack = wanted.clone();
    while let Some(id) = stack.pop() {
        if id.starts_with("smithy.api#") || !reached.insert(id.clone()) {
            continue;
        }
        let shape = model.shape(&id)?;
        stack.extend(references(shape)?);
    }

    let mut shapes = BTreeMap::new();
    for id in &reached {
        let mut shape = model.shape(id)?.clone();
        keep_structural(&mut shape.traits);
        for value in shape.members.values_mut() {
            if let Some(traits) = value.get_mut("traits").and_then(|t| t.as_object_mut()) {
                keep_structural(traits);
                if traits.is_empty() {
                    value.as_object_mut().map(|m| m.remove("traits"));
                }
            }
        }
        for m in [&mut shape.member, &mut shape.key, &mut shape.value]
            .into_iter()
            .flatten()
        {
            keep_structural(&mut m.traits);
        }
        shapes.insert(id.clone(), shape);
    }

    let mut service = service.clone();
    keep_structural(&mut service.traits);
    service.rest.clear();
    service.operations.retain(|t| wanted.contains(&t.target));
    service.operations.sort_by(|a, b| a.target.cmp(&b.target));
    shapes.insert(service_id.clone(), service);

    Ok(Model {
        smithy: model.smithy.clone(),
        metadata: Default::default(),
        shapes,
    })
}

fn references(shape: &Shape) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for t in [&shape.input, &shape.output].into_iter().flatten() {
        out.push(t.target.clone());
    }
    out.extend(shape.errors.iter().map(|t| t.target.clone()));
    for m in [&shape.member, &shape.key, &shape.value]
        .into_iter()
        .flatten()
    {
        out.push(m.target.clone());
    }
    for (_, member) in shape.members()? {
        out.push(member.target);
    }
    Ok(out)
}

pub fn render_model(model: &Model) -> Result<String> {
    let mut text = serde_json::to_string_pretty(model)?;
    text.push('\n');
    Ok(text)
}

pub fn render_source(upstream: &Upstream, sha256: &str, operations: &[&str]) -> String {
    let mut ops = String::new();
    for op in operations {
        ops.push_str(&format!("    \"{op}\",\n"));
    }
    format!(
        "# Written by `cargo xtask models import`; the slice in s3.json comes from this file.\n\
         repository = \"{}\"\npath = \"{}\"\ncommit = \"{}\"\nsha256 = \"{}\"\noperations = [\n{ops}]\n",
        upstream.repository, upstream.path, upstream.commit, sha256
    )
}

/// Reads `from`, writes `out_dir/s3.json` and `out_dir/SOURCE.toml`.
pub fn import(from: &Path, out_dir: &Path, upstream: &Upstream) -> Result<()> {
    let bytes = std::fs::read(from)
        .with_context(|| format!("cannot read model file {}", from.display()))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let text = std::str::from_utf8(&bytes)
        .with_context(|| format!("model file {} is not UTF-8", from.display()))?;
    let model =
        Model::parse(text).with_context(|| format!("malformed model file {}", from.display()))?;
    let sliced = slice(&model, &OPERATIONS)?;
    let model_text = render_model(&sliced)?;
    let source_text = render_source(upstream, &sha256, &OPERATIONS);
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    // Write both files beside their final names first, so a failure never leaves one
    // new file next to one old file.
    let model_path = out_dir.join("s3.json");
    let source_path = out_dir.join("SOURCE.toml");
    contract::files::write_atomically(&model_path, model_text.as_bytes())?;
    contract::files::write_atomically(&source_path, source_text.as_bytes())?;
    println!(
        "wrote {} ({} shapes) and {}",
        model_path.display(),
        sliced.shapes.len(),
        source_path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made model: one service, two operations, shapes reached and not reached,
    /// documentation to drop and a structural trait to keep.
    const SMALL: &str = r##"{
      "smithy": "2.0",
      "metadata": {"suppressions": []},
      "shapes": {
        "ex#Svc": {"type": "service", "version": "1", "operations": [{"target": "ex#Get"}, {"target": "ex#Other"}],
                   "traits": {"aws.protocols#restXml": {}, "smithy.api#documentation": "doc",
                              "smithy.rules#endpointRuleSet": {"big": true}}},
        "ex#Get": {"type": "operation", "input": {"target": "ex#GetIn"}, "output": {"target": "ex#GetOut"},
                   "errors": [{"target": "ex#NotFound"}],
                   "traits": {"smithy.api#http": {"method": "GET", "uri": "/{Key+}", "code": 200},
                              "smithy.api#examples": []}},
        "ex#GetIn": {"type": "structure", "members": {
             "Key": {"target": "ex#Key", "traits": {"smithy.api#httpLabel": {}, "smithy.api#required": {},
                                                    "smithy.api#documentation": "the key"}},
             "Count": {"target": "smithy.api#Integer"}}},
        "ex#GetOut": {"type": "structure", "members": {"Items": {"target": "ex#Items",
             "traits": {"smithy.api#xmlFlattened": {}, "smithy.api#xmlName": "Item"}}}},
        "ex#Items": {"type": "list", "member": {"target": "ex#Key"}},
        "ex#Key": {"type": "string", "traits": {"smithy.api#documentation": "k"}},
        "ex#NotFound": {"type": "structure", "members": {}, "traits": {"smithy.api#error": "client", "smithy.api#httpError": 404}},
        "ex#Other": {"type": "operation", "input": {"target": "ex#OtherIn"}},
        "ex#OtherIn": {"type": "structure", "members": {}}
      }
    }"##;

    #[test]
    fn slice_keeps_reached_shapes_and_structural_traits_only() {
        let model = Model::parse(SMALL).unwrap();
        let sliced = slice(&model, &["Get"]).unwrap();
        let ids: Vec<_> = sliced.shapes.keys().cloned().collect();
        assert_eq!(
            ids,
            [
                "ex#Get",
                "ex#GetIn",
                "ex#GetOut",
                "ex#Items",
                "ex#Key",
                "ex#NotFound",
                "ex#Svc"
            ]
        );
        let text = render_model(&sliced).unwrap();
        assert!(!text.contains("documentation"), "{text}");
        assert!(!text.contains("endpointRuleSet"));
        assert!(!text.contains("examples"));
        assert!(!text.contains("ex#Other"));
        assert!(text.contains("smithy.api#httpLabel"));
        assert!(text.contains("smithy.api#xmlFlattened"));
        assert!(text.contains("smithy.api#httpError"));
        // Member order is the model's, not alphabetical.
        let members: Vec<_> = sliced.shapes["ex#GetIn"].members.keys().cloned().collect();
        assert_eq!(members, ["Key", "Count"]);
    }

    #[test]
    fn slice_is_deterministic() {
        let model = Model::parse(SMALL).unwrap();
        let a = render_model(&slice(&model, &["Get", "Other"]).unwrap()).unwrap();
        let b = render_model(&slice(&model, &["Other", "Get"]).unwrap()).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn unknown_operation_is_an_error() {
        let model = Model::parse(SMALL).unwrap();
        let err = slice(&model, &["Put"]).unwrap_err().to_string();
        assert!(err.contains("no operation Put"), "{err}");
    }

    #[test]
    fn malformed_model_is_an_error_not_a_panic() {
        assert!(Model::parse("{").is_err());
        assert!(Model::parse(r#"{"smithy": "1.0", "shapes": {}}"#).is_err());
        assert!(Model::parse(
            r#"{"smithy": "2.0", "shapes": {"a#B": {"type": "structure", "members": {"X": 3}}}}"#
        )
        .is_err());
    }

    #[test]
    fn import_writes_model_and_source() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("in.json");
        std::fs::write(&from, SMALL).unwrap();
        // The small model lacks the S3 operations: import refuses and writes nothing.
        let err = import(&from, &dir.path().join("out"), &Upstream::default()).unwrap_err();
        assert!(err.to_string().contains("no operation"), "{err}");
        assert!(!dir.path().join("out/s3.json").exists());
    }

    #[test]
    fn source_toml_names_the_upstream_and_operations() {
        let text = render_source(&Upstream::default(), "abc", &["Get"]);
        let parsed: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(parsed["sha256"].as_str(), Some("abc"));
        assert_eq!(parsed["operations"][0].as_str(), Some("Get"));
        assert_eq!(parsed["repository"].as_str(), Some("smithy-lang/smithy-rs"));
    }
}
