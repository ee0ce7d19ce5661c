//! Serde types for the Smithy 2.0 JSON AST, and the accessors codegen needs.
//! No maintained crate reads Smithy 2.0 JSON, so this stays small: shapes keep their
//! traits as raw JSON and callers ask for the few traits they understand.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub smithy: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// Sorted by shape id so that every write of a model is byte-for-byte the same.
    pub shapes: BTreeMap<String, Shape>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    pub target: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub target: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub traits: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Target>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Target>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<Target>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Member>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Member>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Member>,
    /// Members in model order: the XML body is written in this order.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub members: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub traits: Map<String, Value>,
    /// Everything else a shape may carry (resources, mixins, ...): kept, never read.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl Model {
    pub fn load(path: &Path) -> Result<Model> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read model file {}", path.display()))?;
        Model::parse(&text).with_context(|| format!("malformed model file {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Model> {
        let model: Model = serde_json::from_str(text)?;
        if !model.smithy.starts_with('2') {
            bail!(
                "Smithy IDL version {} is not supported (2.x only)",
                model.smithy
            );
        }
        for (id, shape) in &model.shapes {
            shape
                .members()
                .with_context(|| format!("shape {id} has a malformed member"))?;
        }
        Ok(model)
    }

    pub fn shape(&self, id: &str) -> Result<&Shape> {
        self.shapes
            .get(id)
            .with_context(|| format!("the model has no shape {id}"))
    }

    /// The one service shape of the model.
    pub fn service(&self) -> Result<(&String, &Shape)> {
        let mut services = self.shapes.iter().filter(|(_, s)| s.kind == "service");
        let first = services.next().context("the model has no service shape")?;
        if services.next().is_some() {
            bail!("the model has more than one service shape");
        }
        Ok(first)
    }

    /// `com.amazonaws.s3#UploadPartCopy` for `UploadPartCopy`, in the service's namespace.
    pub fn operation_id(&self, name: &str) -> Result<String> {
        let (service_id, _) = self.service()?;
        let namespace = service_id.split('#').next().unwrap_or_default();
        Ok(format!("{namespace}#{name}"))
    }
}

impl Shape {
    /// Members in model order, each parsed.
    pub fn members(&self) -> Result<Vec<(String, Member)>> {
        self.members
            .iter()
            .map(|(name, value)| {
                let member: Member = serde_json::from_value(value.clone())
                    .with_context(|| format!("member {name}"))?;
                Ok((name.clone(), member))
            })
            .collect()
    }

    pub fn trait_value(&self, name: &str) -> Option<&Value> {
        self.traits.get(name)
    }
}

impl Member {
    pub fn has(&self, name: &str) -> bool {
        self.traits.contains_key(name)
    }
    pub fn str_trait(&self, name: &str) -> Option<&str> {
        self.traits.get(name).and_then(Value::as_str)
    }
}

/// The shape name after the `#` of an id.
pub fn local_name(id: &str) -> &str {
    id.rsplit('#').next().unwrap_or(id)
}
