//! Conversions between Rust values and headers, query strings, XML text and scenario
//! (JSON) values, as the generated operations need them.

use crate::error::ResponseError;
use crate::http::HttpResponse;
use crate::xml::{XmlNode, XmlWriter};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::SystemTime;

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
        Value::Object(
            self.iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect(),
        )
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
        .map(|v| {
            T::from_wire(v).map_err(|e| ResponseError::Malformed(format!("header {header}: {e}")))
        })
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
