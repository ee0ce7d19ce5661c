//! A request and a response as plain data: built by an operation, changed by a case,
//! signed and sent by the runner.

use crate::encode::encode;
use std::fmt;

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
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
    }

    pub fn remove_header(&mut self, name: &str) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    /// Replaces every query parameter of that name by one with this value.
    pub fn set_query(&mut self, name: &str, value: Option<&str>) {
        self.remove_query(name);
        self.query
            .push((name.to_string(), value.map(str::to_string)));
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
