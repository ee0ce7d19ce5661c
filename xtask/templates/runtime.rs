//! Wire helpers shared by every generated operation: the HTTP request and response as
//! plain data, percent-encoding, a small XML tree, S3 error bodies, and the conversions
//! between Rust values and headers, query strings, XML and scenario (JSON) values.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

/// RFC 3986 unreserved characters stay; everything else is percent-encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Encodes one path segment or query component.
pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

/// Encodes a greedy label (`{Key+}`): each segment on its own, `/` kept.
pub fn encode_greedy(value: &str) -> String {
    value.split('/').map(encode).collect::<Vec<_>>().join("/")
}

/// A request as data: built by an operation, changed by a case, signed and sent by the runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    /// Already percent-encoded.
    pub path: String,
    /// Decoded names and values; `None` is a bare name such as `?uploads`.
    pub query: Vec<(String, Option<String>)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let query: Vec<String> = self
            .query
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{}={}", encode(k), encode(v)),
                None => encode(k),
            })
            .collect();
        format!("{}?{}", self.path, query.join("&"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces every header of that name (case-insensitive) by one with this value.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.remove_header(name);
        self.headers.push((name.to_ascii_lowercase(), value.to_string()));
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    /// Replaces every query parameter of that name by one with this value.
    pub fn set_query(&mut self, name: &str, value: Option<&str>) {
        self.remove_query(name);
        self.query.push((name.to_string(), value.map(str::to_string)));
    }

    pub fn remove_query(&mut self, name: &str) {
        self.query.retain(|(k, _)| k != name);
    }
}

/// A response as data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request could not be built from an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(pub String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

/// An S3 error body (`<Error><Code>…`), with every other child element kept by name
/// (`Condition`, `ArgumentName`, `ArgumentValue`, `UploadId`, `ProposedSize`, …).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct S3Error {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub fields: BTreeMap<String, String>,
}

/// What a response that is not the operation's output was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseError {
    /// The service said no (any status, including a 200 whose body is `<Error>`).
    Service(S3Error),
    /// The response could not be read as the operation's output.
    Malformed(String),
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::Service(e) => write!(f, "{} {}: {}", e.status, e.code, e.message),
            ResponseError::Malformed(m) => write!(f, "malformed response: {m}"),
        }
    }
}

impl std::error::Error for ResponseError {}

impl S3Error {
    /// Reads an error response. A body that is not an `<Error>` document still gives an
    /// error: its code comes from the status (HEAD responses have no body at all).
    pub fn from_response(response: &HttpResponse) -> S3Error {
        let mut error = S3Error {
            status: response.status,
            ..S3Error::default()
        };
        if let Ok(root) = XmlNode::parse(&response.body) {
            if root.name == "Error" {
                for child in &root.children {
                    match child.name.as_str() {
                        "Code" => error.code = child.text.clone(),
                        "Message" => error.message = child.text.clone(),
                        name => {
                            error.fields.insert(name.to_string(), child.text.clone());
                        }
                    }
                }
            }
        }
        if error.code.is_empty() {
            error.code = status_code_name(response.status).to_string();
        }
        error
    }
}

/// The code S3 gives a body-less error of this status.
pub fn status_code_name(status: u16) -> &'static str {
    match status {
        304 => "NotModified",
        400 => "BadRequest",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        412 => "PreconditionFailed",
        416 => "InvalidRange",
        501 => "NotImplemented",
        _ => "",
    }
}

/// True when a 2xx body is really an `<Error>` document (S3 may send one for copy and
/// complete operations after it has started answering).
pub fn is_error_document(body: &[u8]) -> bool {
    match XmlNode::parse(body) {
        Ok(root) => root.name == "Error",
        Err(_) => false,
    }
}

/// A small XML element tree: element name (without prefix), text, children in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct XmlNode {
    pub name: String,
    pub text: String,
    pub children: Vec<XmlNode>,
}

impl XmlNode {
    pub fn parse(bytes: &[u8]) -> Result<XmlNode, String> {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_reader(bytes);
        let mut stack: Vec<XmlNode> = Vec::new();
        let mut buf = Vec::new();
        // Documents deeper than this are refused rather than followed.
        const MAX_DEPTH: usize = 64;
        loop {
            let event = reader
                .read_event_into(&mut buf)
                .map_err(|e| format!("XML error at byte {}: {e}", reader.buffer_position()))?;
            match event {
                Event::Start(start) => {
                    if stack.len() >= MAX_DEPTH {
                        return Err("XML nested too deeply".into());
                    }
                    let name = start.local_name().as_ref().to_string();
                    stack.push(XmlNode { name, ..XmlNode::default() });
                }
                Event::Empty(start) => {
                    let name = start.local_name().as_ref().to_string();
                    let node = XmlNode { name, ..XmlNode::default() };
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(node),
                        None => return Ok(node),
                    }
                }
                Event::Text(text) => {
                    if let Some(node) = stack.last_mut() {
                        // Entities arrive as their own events, so text needs no unescaping.
                        node.text.push_str(&text.xml10_content());
                    }
                }
                Event::GeneralRef(reference) => {
                    if let Some(node) = stack.last_mut() {
                        let entity = format!("&{};", reference.into_inner());
                        let unescaped = quick_xml::escape::unescape(&entity)
                            .map_err(|e| format!("XML entity: {e}"))?;
                        node.text.push_str(&unescaped);
                    }
                }
                Event::CData(data) => {
                    if let Some(node) = stack.last_mut() {
                        node.text.push_str(&data.into_inner());
                    }
                }
                Event::End(_) => {
                    let node = stack.pop().ok_or("unbalanced XML end tag")?;
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(node),
                        None => return Ok(node),
                    }
                }
                Event::Eof if stack.is_empty() => return Err("no XML document".into()),
                Event::Eof => {
                    return Err("the XML document ends before its last element closes".into())
                }
                _ => {}
            }
            buf.clear();
        }
    }

    pub fn child(&self, name: &str) -> Option<&XmlNode> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a XmlNode> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// Writes XML elements into a string.
#[derive(Default)]
pub struct XmlWriter {
    pub out: String,
}

impl XmlWriter {
    pub fn open(&mut self, name: &str, namespace: Option<&str>) {
        match namespace {
            Some(ns) => self.out.push_str(&format!("<{name} xmlns=\"{ns}\">")),
            None => self.out.push_str(&format!("<{name}>")),
        }
    }
    pub fn close(&mut self, name: &str) {
        self.out.push_str(&format!("</{name}>"));
    }
    pub fn text(&mut self, text: &str) {
        self.out.push_str(&quick_xml::escape::escape(text));
    }
}

/// A value read from an XML element.
pub trait FromXml: Sized {
    fn from_xml(node: &XmlNode) -> Result<Self, String>;
}

/// A value written as the content of an XML element.
pub trait ToXml {
    fn to_xml(&self, w: &mut XmlWriter);
}

/// A value read from a scenario file (JSON after expansion).
pub trait FromScenario: Sized {
    fn from_scenario(value: &Value) -> Result<Self, String>;
}

/// A value shown in a report as JSON, named by model member names.
pub trait ToJson {
    fn to_json(&self) -> Value;
}

/// A value in a header or query string.
pub trait WireValue: Sized {
    fn to_wire(&self) -> String;
    fn from_wire(text: &str) -> Result<Self, String>;
}

impl WireValue for String {
    fn to_wire(&self) -> String {
        self.clone()
    }
    fn from_wire(text: &str) -> Result<Self, String> {
        Ok(text.to_string())
    }
}

macro_rules! number_wire {
    ($($t:ty),*) => {$(
        impl WireValue for $t {
            fn to_wire(&self) -> String {
                self.to_string()
            }
            fn from_wire(text: &str) -> Result<Self, String> {
                text.trim().parse().map_err(|_| format!("not a number: {text:?}"))
            }
        }
        impl FromXml for $t {
            fn from_xml(node: &XmlNode) -> Result<Self, String> {
                <$t as WireValue>::from_wire(&node.text)
            }
        }
        impl ToXml for $t {
            fn to_xml(&self, w: &mut XmlWriter) {
                w.text(&self.to_string())
            }
        }
        impl FromScenario for $t {
            fn from_scenario(value: &Value) -> Result<Self, String> {
                value
                    .as_i64()
                    .and_then(|n| <$t>::try_from(n).ok())
                    .ok_or_else(|| format!("expected an integer, found {value}"))
            }
        }
        impl ToJson for $t {
            fn to_json(&self) -> Value {
                Value::from(*self)
            }
        }
    )*};
}
number_wire!(i32, i64);

impl WireValue for bool {
    fn to_wire(&self) -> String {
        self.to_string()
    }
    fn from_wire(text: &str) -> Result<Self, String> {
        match text.trim() {
            "true" | "TRUE" | "True" => Ok(true),
            "false" | "FALSE" | "False" => Ok(false),
            _ => Err(format!("not a boolean: {text:?}")),
        }
    }
}

/// Input timestamps: http-date in headers (the model's default for headers).
impl WireValue for SystemTime {
    fn to_wire(&self) -> String {
        httpdate::fmt_http_date(*self)
    }
    fn from_wire(text: &str) -> Result<Self, String> {
        httpdate::parse_http_date(text).map_err(|_| format!("not an http-date: {text:?}"))
    }
}

/// Lists in headers are comma-separated.
impl<T: WireValue> WireValue for Vec<T> {
    fn to_wire(&self) -> String {
        self.iter().map(T::to_wire).collect::<Vec<_>>().join(",")
    }
    fn from_wire(text: &str) -> Result<Self, String> {
        text.split(',').map(|p| T::from_wire(p.trim())).collect()
    }
}

impl FromXml for String {
    fn from_xml(node: &XmlNode) -> Result<Self, String> {
        Ok(node.text.clone())
    }
}
impl FromXml for bool {
    fn from_xml(node: &XmlNode) -> Result<Self, String> {
        bool::from_wire(&node.text)
    }
}
impl ToXml for String {
    fn to_xml(&self, w: &mut XmlWriter) {
        w.text(self)
    }
}
impl ToXml for bool {
    fn to_xml(&self, w: &mut XmlWriter) {
        w.text(if *self { "true" } else { "false" })
    }
}

impl FromScenario for String {
    fn from_scenario(value: &Value) -> Result<Self, String> {
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("expected a string, found {value}"))
    }
}
impl FromScenario for bool {
    fn from_scenario(value: &Value) -> Result<Self, String> {
        value
            .as_bool()
            .ok_or_else(|| format!("expected true or false, found {value}"))
    }
}
impl FromScenario for Vec<u8> {
    fn from_scenario(value: &Value) -> Result<Self, String> {
        String::from_scenario(value).map(String::into_bytes)
    }
}
/// Scenario timestamps are http-dates (`Wed, 21 Oct 2015 07:28:00 GMT`) or RFC 3339.
impl FromScenario for SystemTime {
    fn from_scenario(value: &Value) -> Result<Self, String> {
        let text = String::from_scenario(value)?;
        httpdate::parse_http_date(&text)
            .or_else(|_| humantime::parse_rfc3339(&text))
            .map_err(|_| format!("not an http-date or RFC 3339 time: {text:?}"))
    }
}
impl<T: FromScenario> FromScenario for Vec<T> {
    fn from_scenario(value: &Value) -> Result<Self, String> {
        value
            .as_array()
            .ok_or_else(|| format!("expected a list, found {value}"))?
            .iter()
            .map(T::from_scenario)
            .collect()
    }
}
impl FromScenario for BTreeMap<String, String> {
    fn from_scenario(value: &Value) -> Result<Self, String> {
        value
            .as_object()
            .ok_or_else(|| format!("expected a table, found {value}"))?
            .iter()
            .map(|(k, v)| Ok((k.clone(), String::from_scenario(v)?)))
            .collect()
    }
}

impl ToJson for String {
    fn to_json(&self) -> Value {
        Value::from(self.as_str())
    }
}
impl ToJson for bool {
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}
/// Bodies are shown by size and MD5 (never whole: they may be large).
impl ToJson for Vec<u8> {
    fn to_json(&self) -> Value {
        use md5::Digest;
        serde_json::json!({"size": self.len(), "md5": hex_lower(&md5::Md5::digest(self))})
    }
}
impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(T::to_json).collect())
    }
}
impl ToJson for BTreeMap<String, String> {
    fn to_json(&self) -> Value {
        Value::Object(self.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect())
    }
}

pub fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `Content-MD5` for operations whose model requires a request checksum.
pub fn content_md5(body: &[u8]) -> String {
    use base64::Engine;
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body))
}

/// Reads the scenario value of one member, naming it in the error.
pub fn member_from_scenario<T: FromScenario>(
    shape: &str,
    member: &str,
    value: &Value,
) -> Result<Option<T>, String> {
    if value.is_null() {
        return Ok(None);
    }
    T::from_scenario(value)
        .map(Some)
        .map_err(|e| format!("{shape}.{member}: {e}"))
}

/// The scenario value of a structure: a table whose keys are member names.
pub fn scenario_table<'a>(
    shape: &str,
    value: &'a Value,
) -> Result<&'a serde_json::Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{shape}: expected a table of members, found {value}"))
}

/// Reads a member from a response header.
pub fn header_member<T: WireValue>(
    response: &HttpResponse,
    header: &str,
) -> Result<Option<T>, ResponseError> {
    response
        .header(header)
        .map(|v| T::from_wire(v).map_err(|e| ResponseError::Malformed(format!("header {header}: {e}"))))
        .transpose()
}

/// Reads the members of a prefix-header map (`x-amz-meta-*`).
pub fn prefix_headers(response: &HttpResponse, prefix: &str) -> Option<BTreeMap<String, String>> {
    let map: BTreeMap<String, String> = response
        .headers
        .iter()
        .filter_map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            lower
                .strip_prefix(prefix)
                .map(|rest| (rest.to_string(), v.clone()))
        })
        .collect();
    (!map.is_empty()).then_some(map)
}

/// Reads a member from the child element of that name.
pub fn xml_member<T: FromXml>(node: &XmlNode, name: &str) -> Result<Option<T>, String> {
    node.child(name)
        .map(|c| T::from_xml(c).map_err(|e| format!("<{name}>: {e}")))
        .transpose()
}

/// Reads a flattened list: every child element of that name, in document order.
pub fn xml_flat_list<T: FromXml>(node: &XmlNode, name: &str) -> Result<Option<Vec<T>>, String> {
    let items: Vec<T> = node
        .children_named(name)
        .map(|c| T::from_xml(c).map_err(|e| format!("<{name}>: {e}")))
        .collect::<Result<_, _>>()?;
    Ok((!items.is_empty()).then_some(items))
}

/// Reads a wrapped list: `<Name><Item>…</Item>…</Name>`.
pub fn xml_wrapped_list<T: FromXml>(
    node: &XmlNode,
    name: &str,
    item: &str,
) -> Result<Option<Vec<T>>, String> {
    node.child(name)
        .map(|wrapper| {
            wrapper
                .children_named(item)
                .map(|c| T::from_xml(c).map_err(|e| format!("<{name}><{item}>: {e}")))
                .collect()
        })
        .transpose()
}

pub fn write_xml_member<T: ToXml>(w: &mut XmlWriter, name: &str, value: &Option<T>) {
    if let Some(v) = value {
        w.open(name, None);
        v.to_xml(w);
        w.close(name);
    }
}

pub fn write_xml_flat_list<T: ToXml>(w: &mut XmlWriter, name: &str, value: &Option<Vec<T>>) {
    for v in value.iter().flatten() {
        w.open(name, None);
        v.to_xml(w);
        w.close(name);
    }
}

pub fn write_xml_wrapped_list<T: ToXml>(
    w: &mut XmlWriter,
    name: &str,
    item: &str,
    value: &Option<Vec<T>>,
) {
    if let Some(items) = value {
        w.open(name, None);
        for v in items {
            w.open(item, None);
            v.to_xml(w);
            w.close(item);
        }
        w.close(name);
    }
}

/// Parses the body of a response whose output is an XML document, first ruling out an
/// `<Error>` document (which S3 may send with status 200).
pub fn xml_body(response: &HttpResponse) -> Result<Option<XmlNode>, ResponseError> {
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let root = XmlNode::parse(&response.body).map_err(ResponseError::Malformed)?;
    if root.name == "Error" {
        return Err(ResponseError::Service(S3Error::from_response(response)));
    }
    Ok(Some(root))
}
