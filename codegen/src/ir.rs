//! The model reduced to what the templates write: operations, structures, and fields with
//! their HTTP binding and Rust type, plus the model facts the runner would otherwise
//! restate (which members carry checksums or SSE-C keys, which operations end an upload).
//! Every quirk of the S3 model the generator must know about is handled here.

use crate::smithy::{local_name, Member, Model, Shape, ShapeKind};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Where a member goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Binding {
    Label,
    Query,
    Header,
    PrefixHeaders,
    PayloadBlob,
    PayloadXml,
    /// An element of the XML body.
    Body,
}

/// How a member sits in XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum XmlKind {
    Scalar,
    FlatList,
    WrappedList,
}

#[derive(Debug, Serialize)]
pub struct Field {
    /// Model member name, as scenarios and reports spell it.
    pub member: String,
    /// Rust field name.
    pub field: String,
    pub rust_type: String,
    pub binding: Binding,
    /// Header or query name, header prefix, or XML element name.
    pub wire: String,
    pub greedy: bool,
    pub xml_kind: XmlKind,
    pub item_type: String,
    pub item_name: String,
}

/// A structure's members that are checksums, by algorithm (`CRC32C` → `checksum_crc32_c`).
#[derive(Debug, Serialize)]
pub struct ChecksumField {
    pub algorithm: String,
    pub field: String,
}

#[derive(Debug, Serialize)]
pub struct Structure {
    pub name: String,
    pub fields: Vec<Field>,
    /// Checksum members, one per algorithm of the model's ChecksumAlgorithm that it has.
    pub checksums: Vec<ChecksumField>,
    /// Has SSECustomerAlgorithm, SSECustomerKey and SSECustomerKeyMD5.
    pub sse_customer: bool,
    /// Has the same three for the copy source.
    pub copy_source_sse_customer: bool,
}

#[derive(Debug, Serialize)]
pub struct PathPart {
    pub literal: String,
    pub field: String,
    pub member: String,
    pub greedy: bool,
}

#[derive(Debug, Serialize)]
pub struct Operation {
    pub name: String,
    pub method: String,
    pub path: Vec<PathPart>,
    pub literal_query: Vec<(String, Option<String>)>,
    pub input: Structure,
    pub output: Structure,
    pub output_has_body: bool,
    pub output_has_payload: bool,
    pub checksum_required: bool,
    pub success_code: u16,
    /// Ends the multipart upload its input names: a POST or DELETE that takes an
    /// UploadId (Complete, Abort). The runner stops tracking the upload after it.
    pub ends_upload: bool,
    /// Starts a multipart upload: a POST to `?uploads`. The runner tracks the upload for
    /// cleanup when such an operation is the step under test.
    pub starts_upload: bool,
}

#[derive(Debug, Serialize)]
pub struct ModeledError {
    pub name: String,
    pub status: u16,
}

/// Everything the templates need.
#[derive(Debug, Serialize)]
pub struct Ir {
    pub operations: Vec<Operation>,
    pub structures: Vec<Structure>,
    pub errors: Vec<ModeledError>,
    pub namespace: String,
    /// The model's ChecksumAlgorithm values, in model order.
    pub checksum_algorithms: Vec<String>,
}

/// Rust keywords a member name may become.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "box", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move",
    "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "type",
    "unsafe", "use", "where", "while",
];

/// `SSECustomerKeyMD5` → `sse_customer_key_md5`, `ETag` → `e_tag`.
pub fn snake_case(name: &str) -> String {
    let out = contract::names::join_words(name, '_');
    if KEYWORDS.contains(&out.as_str()) {
        format!("r#{out}")
    } else {
        out
    }
}

const SSE_MEMBERS: [&str; 3] = [
    "SSECustomerAlgorithm",
    "SSECustomerKey",
    "SSECustomerKeyMD5",
];

struct Generator<'a> {
    model: &'a Model,
    checksum_algorithms: Vec<String>,
    /// Structures (other than operation inputs and outputs) the operations reach.
    structures: BTreeSet<String>,
}

pub fn build(model: &Model) -> Result<Ir> {
    let checksum_algorithms = match model.operation_id("ChecksumAlgorithm") {
        Ok(id) if model.shapes.contains_key(&id) => model.shape(&id)?.enum_values()?,
        _ => Vec::new(),
    };
    let mut generator = Generator {
        model,
        checksum_algorithms: checksum_algorithms.clone(),
        structures: BTreeSet::new(),
    };
    let mut operations = Vec::new();
    for (name, shape) in generator.operations()? {
        operations.push(
            generator
                .operation(&name, shape)
                .with_context(|| format!("operation {name}"))?,
        );
    }
    // Structures reach further structures: walk until no new one appears.
    let mut structures: BTreeMap<String, Structure> = BTreeMap::new();
    loop {
        let pending: Vec<String> = generator
            .structures
            .iter()
            .filter(|id| !structures.contains_key(local_name(id)))
            .cloned()
            .collect();
        if pending.is_empty() {
            break;
        }
        for id in pending {
            let s = generator.structure(&id, false)?;
            structures.insert(s.name.clone(), s);
        }
    }
    let errors = model
        .shapes
        .iter()
        .filter_map(|(id, shape)| {
            shape.error_status().map(|status| ModeledError {
                name: local_name(id).to_string(),
                status,
            })
        })
        .collect();
    let namespace = model
        .service()?
        .1
        .xml_namespace()
        .unwrap_or_default()
        .to_string();
    Ok(Ir {
        operations,
        structures: structures.into_values().collect(),
        errors,
        namespace,
        checksum_algorithms,
    })
}

impl<'a> Generator<'a> {
    fn operations(&self) -> Result<Vec<(String, &'a Shape)>> {
        let (_, service) = self.model.service()?;
        let mut ops = Vec::new();
        for t in &service.operations {
            ops.push((
                local_name(&t.target).to_string(),
                self.model.shape(&t.target)?,
            ));
        }
        ops.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(ops)
    }

    /// The Rust type of a value of shape `id`. `top_input` marks a member of an operation
    /// input bound to the HTTP message, where timestamps are real times to format; elsewhere
    /// timestamps keep the server's text, which is what a conformance report wants to show.
    fn rust_type(&mut self, id: &str, top_input: bool) -> Result<String> {
        Ok(match self.model.kind(id)? {
            ShapeKind::String | ShapeKind::Enum => "String".into(),
            ShapeKind::Integer | ShapeKind::IntEnum => "i32".into(),
            ShapeKind::Long => "i64".into(),
            ShapeKind::Boolean => "bool".into(),
            ShapeKind::Blob => "Vec<u8>".into(),
            ShapeKind::Timestamp if top_input => "std::time::SystemTime".into(),
            ShapeKind::Timestamp => "String".into(),
            ShapeKind::List => {
                let shape = self.model.shape(id)?;
                let member = shape.member.as_ref().context("list without member")?;
                format!(
                    "Vec<{}>",
                    self.rust_type(&member.target.clone(), top_input)?
                )
            }
            ShapeKind::Map => {
                let shape = self.model.shape(id)?;
                for m in [&shape.key, &shape.value] {
                    let m = m.as_ref().context("map without key or value")?;
                    if self.rust_type(&m.target.clone(), false)? != "String" {
                        bail!("map {id}: only string keys and values are supported");
                    }
                }
                "BTreeMap<String, String>".into()
            }
            ShapeKind::Structure => {
                self.structures.insert(id.to_string());
                format!("crate::shapes::{}", local_name(id))
            }
            other => bail!("shape {id}: type {other:?} is not supported by the generator"),
        })
    }

    fn binding(&self, name: &str, member: &Member) -> Result<Binding> {
        if let Some(t) = member.unsupported_binding() {
            bail!("member {name}: the binding {t} is not supported by the generator");
        }
        Ok(if member.http_label() {
            Binding::Label
        } else if member.http_query().is_some() {
            Binding::Query
        } else if member.http_header().is_some() {
            Binding::Header
        } else if member.http_prefix_headers().is_some() {
            Binding::PrefixHeaders
        } else if member.http_payload() {
            match self.model.kind(&member.target)? {
                ShapeKind::Blob => Binding::PayloadBlob,
                ShapeKind::Structure => Binding::PayloadXml,
                other => bail!("member {name}: payload of type {other:?} is not supported"),
            }
        } else {
            Binding::Body
        })
    }

    fn field(&mut self, name: &str, member: &Member, top_input: bool) -> Result<Field> {
        let binding = self.binding(name, member)?;
        let bound = !matches!(binding, Binding::Body | Binding::PayloadXml);
        let rust_type = self.rust_type(&member.target, top_input && bound)?;
        let wire = match binding {
            Binding::Query => member.http_query().unwrap_or(name).to_string(),
            Binding::Header => member.http_header().unwrap_or(name).to_ascii_lowercase(),
            Binding::PrefixHeaders => member
                .http_prefix_headers()
                .unwrap_or_default()
                .to_ascii_lowercase(),
            _ => member
                .xml_name()
                .or_else(|| self.model.shapes.get(&member.target)?.xml_name())
                .unwrap_or(name)
                .to_string(),
        };
        let kind = self.model.kind(&member.target)?;
        let (xml_kind, item_type, item_name) = if kind == ShapeKind::List {
            let list = self.model.shape(&member.target)?;
            let item = list.member.as_ref().context("list without member")?;
            let item_type = self.rust_type(&item.target.clone(), false)?;
            if member.xml_flattened() {
                (XmlKind::FlatList, item_type, wire.clone())
            } else {
                let item_name = item.xml_name().unwrap_or("member");
                (XmlKind::WrappedList, item_type, item_name.to_string())
            }
        } else {
            (XmlKind::Scalar, String::new(), String::new())
        };
        if kind == ShapeKind::Map && binding != Binding::PrefixHeaders {
            bail!("member {name}: maps are only supported as prefix headers");
        }
        Ok(Field {
            member: name.to_string(),
            field: snake_case(name),
            rust_type,
            binding,
            wire,
            greedy: false,
            xml_kind,
            item_type,
            item_name,
        })
    }

    fn structure(&mut self, id: &str, top_input: bool) -> Result<Structure> {
        let shape = self.model.shape(id)?;
        if shape.kind != ShapeKind::Structure {
            bail!("{id} is a {:?}, not a structure", shape.kind);
        }
        let mut fields = Vec::new();
        for (name, member) in shape.members()? {
            fields.push(
                self.field(&name, &member, top_input)
                    .with_context(|| format!("in {id}"))?,
            );
        }
        Ok(self.facts(local_name(id).to_string(), fields))
    }

    /// A structure with the facts the runner reads from it: checksum and SSE-C members.
    fn facts(&self, name: String, fields: Vec<Field>) -> Structure {
        let has = |member: &str| fields.iter().any(|f| f.member == member);
        let checksums = self
            .checksum_algorithms
            .iter()
            .filter_map(|algorithm| {
                let member = format!("Checksum{algorithm}");
                fields
                    .iter()
                    .find(|f| f.member == member)
                    .map(|f| ChecksumField {
                        algorithm: algorithm.clone(),
                        field: f.field.clone(),
                    })
            })
            .collect();
        let sse_customer = SSE_MEMBERS.iter().all(|m| has(m));
        let copy_source_sse_customer = SSE_MEMBERS.iter().all(|m| has(&format!("CopySource{m}")));
        Structure {
            name,
            fields,
            checksums,
            sse_customer,
            copy_source_sse_customer,
        }
    }

    fn io(&mut self, name: String, target: Option<&str>, top_input: bool) -> Result<Structure> {
        let fields = match target {
            Some(t) if t != "smithy.api#Unit" => self.structure(t, top_input)?.fields,
            _ => Vec::new(),
        };
        Ok(self.facts(name, fields))
    }

    fn operation(&mut self, name: &str, shape: &Shape) -> Result<Operation> {
        let http = shape
            .http()?
            .with_context(|| format!("operation {name} has no http trait"))?;
        let (path_text, query_text) = http.uri.split_once('?').unwrap_or((&http.uri, ""));
        let input_target = shape.input.as_ref().map(|t| t.target.as_str());
        let mut input = self.io(format!("{name}Input"), input_target, true)?;
        let path = path_parts(name, path_text, &mut input)?;
        let literal_query = query_text
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (p.to_string(), None),
            })
            .collect();
        let output_target = shape.output.as_ref().map(|t| t.target.as_str());
        let output = self.io(format!("{name}Output"), output_target, false)?;
        let output_has_body = output.fields.iter().any(|f| f.binding == Binding::Body);
        let output_has_payload = output
            .fields
            .iter()
            .any(|f| matches!(f.binding, Binding::PayloadBlob | Binding::PayloadXml));
        if output_has_body && output_has_payload {
            bail!("{name}: an output with both a payload and body members is not supported");
        }
        let ends_upload = matches!(http.method.as_str(), "POST" | "DELETE")
            && input.fields.iter().any(|f| f.member == "UploadId");
        let starts_upload = http.method == "POST" && query_text.split('&').any(|q| q == "uploads");
        Ok(Operation {
            name: name.to_string(),
            method: http.method.clone(),
            path,
            literal_query,
            input,
            output,
            output_has_body,
            output_has_payload,
            checksum_required: shape.request_checksum_required(),
            success_code: http.code,
            ends_upload,
            starts_upload,
        })
    }
}

/// The path of a URI as literal parts and labels; marks greedy labels (`{Key+}`).
fn path_parts(name: &str, path_text: &str, input: &mut Structure) -> Result<Vec<PathPart>> {
    let literal = |text: &str| PathPart {
        literal: text.to_string(),
        field: String::new(),
        member: String::new(),
        greedy: false,
    };
    let mut path = Vec::new();
    let mut rest = path_text;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').context("unclosed label in uri")? + start;
        path.push(literal(&rest[..start]));
        let label = &rest[start + 1..end];
        let (member, greedy) = match label.strip_suffix('+') {
            Some(m) => (m, true),
            None => (label, false),
        };
        let field = input
            .fields
            .iter_mut()
            .find(|f| f.member == member && f.binding == Binding::Label)
            .with_context(|| format!("{name}: uri label {member} has no httpLabel member"))?;
        field.greedy = greedy;
        path.push(PathPart {
            literal: String::new(),
            field: field.field.clone(),
            member: member.to_string(),
            greedy,
        });
        rest = &rest[end + 1..];
    }
    if !rest.is_empty() {
        path.push(literal(rest));
    }
    Ok(path)
}
