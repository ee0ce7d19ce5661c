//! The wire: what every generated S3 operation is built on. The HTTP request and response
//! as plain data, percent-encoding, a small XML tree on quick-xml, S3 error bodies, and
//! the conversions between Rust values and headers, query strings, XML and scenario
//! (JSON) values. Hand-written; `generated/` depends on it and holds only what codegen
//! writes.
#![forbid(unsafe_code)]

mod encode;
mod error;
mod facts;
mod http;
mod values;
mod xml;

pub use encode::{encode, encode_greedy};
pub use error::{is_error_document, status_code_name, ResponseError, S3Error};
pub use facts::{Checksums, CopySourceSseCustomer, OperationInput, SseCustomer};
pub use http::{BuildError, HttpRequest, HttpResponse};
pub use values::*;
pub use xml::*;
