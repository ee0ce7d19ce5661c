//! Serde types for the Smithy 2.0 JSON AST, and typed accessors for the traits codegen
//! understands. No maintained crate reads Smithy 2.0 JSON, so this stays small: shapes
//! keep their traits as raw JSON (a model written back is the model read), and every
//! trait name the generator asks for is spelled once, in [`traits`].

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The trait names, as the model spells them.
pub mod traits {
    pub const HTTP: &str = "smithy.api#http";
    pub const HTTP_LABEL: &str = "smithy.api#httpLabel";
    pub const HTTP_QUERY: &str = "smithy.api#httpQuery";
    pub const HTTP_QUERY_PARAMS: &str = "smithy.api#httpQueryParams";
    pub const HTTP_HEADER: &str = "smithy.api#httpHeader";
    pub const HTTP_PREFIX_HEADERS: &str = "smithy.api#httpPrefixHeaders";
    pub const HTTP_PAYLOAD: &str = "smithy.api#httpPayload";
    pub const HTTP_RESPONSE_CODE: &str = "smithy.api#httpResponseCode";
    pub const HTTP_ERROR: &str = "smithy.api#httpError";
    pub const ERROR: &str = "smithy.api#error";
    pub const ENUM_VALUE: &str = "smithy.api#enumValue";
    pub const XML_NAME: &str = "smithy.api#xmlName";
    pub const XML_FLATTENED: &str = "smithy.api#xmlFlattened";
    pub const XML_NAMESPACE: &str = "smithy.api#xmlNamespace";
    pub const HTTP_CHECKSUM: &str = "aws.protocols#httpChecksum";
}

/// The namespace of Smithy's own shapes (`smithy.api#String`, `smithy.api#Unit`).
pub const PRELUDE: &str = "smithy.api#";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub smithy: String,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// Sorted by shape id so that every write of a model is byte-for-byte the same.
    pub shapes: BTreeMap<String, Shape>,
}

/// Every shape type of Smithy 2.0 (`set` is Smithy 1.0's and still read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ShapeKind {
    Blob,
    Boolean,
    String,
    Byte,
    Short,
    Integer,
    Long,
    Float,
    Double,
    BigInteger,
    BigDecimal,
    Timestamp,
    Document,
    Enum,
    IntEnum,
    List,
    Set,
    Map,
    Structure,
    Union,
    Service,
    Operation,
    Resource,
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
    pub kind: ShapeKind,
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

/// An operation's `http` trait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Http {
    pub method: String,
    pub uri: String,
    pub code: u16,
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

    /// The kind of a shape id, prelude shapes included (`smithy.api#String` is a string).
    pub fn kind(&self, id: &str) -> Result<ShapeKind> {
        match id.strip_prefix(PRELUDE) {
            Some(name) => prelude_kind(name).with_context(|| format!("unknown prelude shape {id}")),
            None => Ok(self.shape(id)?.kind),
        }
    }

    /// The one service shape of the model.
    pub fn service(&self) -> Result<(&String, &Shape)> {
        let mut services = self
            .shapes
            .iter()
            .filter(|(_, s)| s.kind == ShapeKind::Service);
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

    /// The operation shape of that name.
    pub fn operation(&self, name: &str) -> Result<&Shape> {
        let id = self.operation_id(name)?;
        self.shapes
            .get(&id)
            .filter(|s| s.kind == ShapeKind::Operation)
            .with_context(|| format!("the model has no operation {name}"))
    }
}

/// `String` → string, `PrimitiveLong` → long, `Unit` → structure (an empty one).
fn prelude_kind(name: &str) -> Option<ShapeKind> {
    Some(match name.strip_prefix("Primitive").unwrap_or(name) {
        "String" => ShapeKind::String,
        "Blob" => ShapeKind::Blob,
        "Boolean" => ShapeKind::Boolean,
        "Byte" => ShapeKind::Byte,
        "Short" => ShapeKind::Short,
        "Integer" => ShapeKind::Integer,
        "Long" => ShapeKind::Long,
        "Float" => ShapeKind::Float,
        "Double" => ShapeKind::Double,
        "BigInteger" => ShapeKind::BigInteger,
        "BigDecimal" => ShapeKind::BigDecimal,
        "Timestamp" => ShapeKind::Timestamp,
        "Document" => ShapeKind::Document,
        "Unit" => ShapeKind::Structure,
        _ => return None,
    })
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

    pub fn http(&self) -> Result<Option<Http>> {
        let Some(http) = self.trait_value(traits::HTTP) else {
            return Ok(None);
        };
        Ok(Some(Http {
            method: http["method"]
                .as_str()
                .context("http trait without method")?
                .to_string(),
            uri: http["uri"]
                .as_str()
                .context("http trait without uri")?
                .to_string(),
            code: http["code"].as_u64().unwrap_or(200) as u16,
        }))
    }

    /// The HTTP status of an error shape (400 when it names none); None for other shapes.
    pub fn error_status(&self) -> Option<u16> {
        self.trait_value(traits::ERROR)?;
        Some(
            self.trait_value(traits::HTTP_ERROR)
                .and_then(Value::as_u64)
                .unwrap_or(400) as u16,
        )
    }

    pub fn xml_name(&self) -> Option<&str> {
        self.trait_value(traits::XML_NAME)?.as_str()
    }

    pub fn xml_namespace(&self) -> Option<&str> {
        self.trait_value(traits::XML_NAMESPACE)?["uri"].as_str()
    }

    /// The model requires a checksum of the request body (DeleteObjects, PutBucketVersioning).
    pub fn request_checksum_required(&self) -> bool {
        self.trait_value(traits::HTTP_CHECKSUM)
            .and_then(|t| t.get("requestChecksumRequired"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The values of an enum shape, in model order.
    pub fn enum_values(&self) -> Result<Vec<String>> {
        self.members()?
            .into_iter()
            .map(|(name, m)| {
                Ok(m.str_trait(traits::ENUM_VALUE)
                    .map(str::to_string)
                    .unwrap_or(name))
            })
            .collect()
    }
}

impl Member {
    pub fn has(&self, name: &str) -> bool {
        self.traits.contains_key(name)
    }

    pub fn str_trait(&self, name: &str) -> Option<&str> {
        self.traits.get(name).and_then(Value::as_str)
    }

    pub fn http_label(&self) -> bool {
        self.has(traits::HTTP_LABEL)
    }

    pub fn http_query(&self) -> Option<&str> {
        self.str_trait(traits::HTTP_QUERY)
    }

    pub fn http_header(&self) -> Option<&str> {
        self.str_trait(traits::HTTP_HEADER)
    }

    pub fn http_prefix_headers(&self) -> Option<&str> {
        self.str_trait(traits::HTTP_PREFIX_HEADERS)
    }

    pub fn http_payload(&self) -> bool {
        self.has(traits::HTTP_PAYLOAD)
    }

    /// Bindings the generator does not support (it refuses the model rather than guess).
    pub fn unsupported_binding(&self) -> Option<&'static str> {
        [traits::HTTP_QUERY_PARAMS, traits::HTTP_RESPONSE_CODE]
            .into_iter()
            .find(|t| self.has(t))
    }

    pub fn xml_name(&self) -> Option<&str> {
        self.str_trait(traits::XML_NAME)
    }

    pub fn xml_flattened(&self) -> bool {
        self.has(traits::XML_FLATTENED)
    }
}

/// The shape name after the `#` of an id.
pub fn local_name(id: &str) -> &str {
    id.rsplit('#').next().unwrap_or(id)
}
