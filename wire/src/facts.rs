//! What the runner asks of generated types without naming each one: the operation an
//! input belongs to, their checksum members and their SSE-C key members. Codegen
//! implements these traits for every type the model gives them, so the runner restates
//! no operation or member name.

use crate::error::ResponseError;
use crate::http::{BuildError, HttpRequest, HttpResponse};

/// An operation's input: it builds the request, and the operation reads the response.
pub trait OperationInput {
    type Output;
    /// The operation's name in the model.
    const OPERATION: &'static str;
    fn build(&self) -> Result<HttpRequest, BuildError>;
    fn parse_output(response: &HttpResponse) -> Result<Self::Output, ResponseError>;
}

/// A structure with checksum members (`ChecksumCRC32`, …), by the algorithm's name as the
/// model's ChecksumAlgorithm spells it (`CRC32`).
pub trait Checksums {
    fn checksum(&self, algorithm: &str) -> Option<&str>;
    /// False when the structure has no member for that algorithm.
    fn set_checksum(&mut self, algorithm: &str, value: String) -> bool;
}

/// An input that takes an SSE-C customer key (`SSECustomerAlgorithm`, `SSECustomerKey`,
/// `SSECustomerKeyMD5`).
pub trait SseCustomer {
    fn set_sse_customer(&mut self, algorithm: &str, key: &str, key_md5: &str);
}

/// An input that takes the copy source's SSE-C key (`CopySourceSSECustomer*`).
pub trait CopySourceSseCustomer {
    fn set_copy_source_sse_customer(&mut self, algorithm: &str, key: &str, key_md5: &str);
}
