//! S3 error bodies, and what a response that is not the operation's output was.

use crate::http::HttpResponse;
use crate::xml::XmlNode;
use std::collections::BTreeMap;
use std::fmt;

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
