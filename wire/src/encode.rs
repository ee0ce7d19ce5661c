//! Percent-encoding as S3 wants it: RFC 3986 unreserved characters stay, everything else
//! is encoded, once.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

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
