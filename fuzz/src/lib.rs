//! The bodies of the fuzz targets, one function per target. The cargo-fuzz binaries in
//! fuzz/fuzz_targets/ call them, and runner/tests/fuzz_corpus.rs includes this file
//! (`#[path]`) to replay fuzz/corpus/<target>/ without the fuzzer, so it may use only
//! crates the `runner` package depends on: generated, wire, contract, serde_json, toml.
//!
//! Every function takes arbitrary bytes and must return without panicking; the few
//! assertions in them are contracts the generated code documents.
#![forbid(unsafe_code)]

use generated::operations::Operation;
use serde_json::Value;
use wire::{is_error_document, HttpResponse, ResponseError, S3Error, XmlNode};

/// Operations whose output is an XML document that S3 may replace by an `<Error>`
/// document even with status 200.
const ERROR_IN_200: &[Operation] = &[
    Operation::CompleteMultipartUpload,
    Operation::UploadPartCopy,
];

/// Well-formed headers `xml_response` adds, one per bit of its header byte, so that the
/// body is what decides the outcome.
const CANNED_HEADERS: &[(&str, &str)] = &[
    ("content-type", "application/xml"),
    (
        "x-amz-version-id",
        "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo",
    ),
    ("x-amz-server-side-encryption", "AES256"),
    ("x-amz-copy-source-version-id", "null"),
    ("x-amz-request-charged", "requester"),
    ("x-amz-server-side-encryption-bucket-key-enabled", "true"),
    ("etag", "\"9b2cf535f27731c974343645a3985328\""),
    ("last-modified", "Wed, 21 Oct 2015 07:28:00 GMT"),
];

/// The operations the corpus was made with, in the order its operation bytes name them.
const FIRST: [Operation; 16] = [
    Operation::AbortMultipartUpload,
    Operation::CompleteMultipartUpload,
    Operation::CreateBucket,
    Operation::CreateMultipartUpload,
    Operation::DeleteBucket,
    Operation::DeleteObject,
    Operation::DeleteObjects,
    Operation::GetObject,
    Operation::HeadObject,
    Operation::ListMultipartUploads,
    Operation::ListObjectVersions,
    Operation::ListParts,
    Operation::PutBucketVersioning,
    Operation::PutObject,
    Operation::UploadPart,
    Operation::UploadPartCopy,
];

/// Operations the model gained later, named by bytes of 128 and above.
const LATER: [Operation; 2] = [Operation::CopyObject, Operation::GetObjectTagging];

/// The operation named by one byte: below 128 (`@` is the first, `A` the second, … in
/// ASCII) as the corpus was made, so its files keep their meaning; 128 and above the
/// operations added since.
pub fn operation(byte: u8) -> Operation {
    match byte {
        0..=127 => FIRST[usize::from(byte) % FIRST.len()],
        _ => LATER[usize::from(byte) % LATER.len()],
    }
}

/// A status from three bytes, each read as a decimal digit (`'2' '0' '0'` is 200; any
/// byte is some digit).
pub fn status(digits: [u8; 3]) -> u16 {
    digits
        .iter()
        .fold(0, |n, d| n * 10 + u16::from(d.wrapping_sub(b'0') % 10))
}

/// Target `xml_response`: `[op][d][d][d][headers]body`: an operation byte, three status
/// digits, a byte whose bits select `CANNED_HEADERS`, and the response body.
pub fn xml_response(data: &[u8]) {
    let body = data.get(5..).unwrap_or_default();
    // The bare parsers first, on the whole input as well as on the body.
    let _ = XmlNode::parse(data);
    let parsed = XmlNode::parse(body);
    let error_document = is_error_document(body);
    assert_eq!(
        error_document,
        matches!(&parsed, Ok(root) if root.name == "Error"),
        "is_error_document disagrees with XmlNode::parse"
    );
    let [op, d1, d2, d3, mask] = match data.get(..5) {
        Some(&[a, b, c, d, e]) => [a, b, c, d, e],
        _ => return,
    };
    let op = operation(op);
    let status = status([d1, d2, d3]);
    let headers = CANNED_HEADERS
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1 << bit) != 0)
        .map(|(_, (k, v))| (k.to_string(), v.to_string()))
        .collect();
    let response = HttpResponse {
        status,
        headers,
        body: body.to_vec(),
    };
    let error = S3Error::from_response(&response);
    assert_eq!(error.status, status);
    match op.parse_response(&response) {
        Ok(output) => assert!(
            !(error_document && ERROR_IN_200.contains(&op)),
            "{op:?}: a {status} whose body is <Error> read as success: {output}"
        ),
        Err(ResponseError::Service(e)) => assert_eq!(e.status, status),
        Err(ResponseError::Malformed(_)) => {}
    }
}

/// Target `headers`: `[op][d][d][d]` then header lines `name:value` separated by `\n`; an
/// empty line ends them and the rest is the body. Bytes that are not UTF-8 are replaced.
pub fn headers(data: &[u8]) {
    let [op, d1, d2, d3] = match data.get(..4) {
        Some(&[a, b, c, d]) => [a, b, c, d],
        _ => return,
    };
    let op = operation(op);
    let status = status([d1, d2, d3]);
    let rest = &data[4..];
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (rest, &[][..]),
    };
    let headers: Vec<(String, String)> = head
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let line = String::from_utf8_lossy(line);
            match line.split_once(':') {
                Some((name, value)) => (name.to_string(), value.to_string()),
                None => (line.into_owned(), String::new()),
            }
        })
        .collect();
    let response = HttpResponse {
        status,
        headers,
        body: body.to_vec(),
    };
    let _ = response.header("x-amz-meta-");
    let _ = S3Error::from_response(&response);
    if let Err(ResponseError::Service(e)) = op.parse_response(&response) {
        assert_eq!(e.status, status);
    }
}

/// Target `scenario`: the text (bytes that are not UTF-8 replaced) as a TOML case, which
/// must survive a JSON round trip and whose input builds its operation's request; and as
/// a JSON value given to every operation's request builder.
pub fn scenario(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(case) = toml::from_str::<contract::Case>(&text) {
        let json = serde_json::to_string(&case).expect("a case serialises as JSON");
        let back: contract::Case = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("a case does not read back from its JSON {json}: {e}"));
        if case != back {
            let (before, after) = (to_value(&case), to_value(&back));
            assert!(
                same_but_float_ulps(&before, &after),
                "the JSON round trip changed the case: {before} became {after}"
            );
        }
        let _ = toml::to_string(&case);
        if let Ok(op) = case.operation.parse::<Operation>() {
            build(op, &Value::Object(case.input));
        }
    }
    if let Ok(value) = serde_json::from_str::<Value>(&text) {
        for op in Operation::ALL {
            build(*op, &value);
        }
    }
}

fn to_value(case: &contract::Case) -> Value {
    serde_json::to_value(case).expect("a case is a JSON value")
}

/// Equal, except that a float may come back a few units in the last place off: serde_json
/// without its `float_roundtrip` feature reads some of the floats it writes back
/// slightly wrong (a known, reported finding; see README.md). Anything else is a bug.
fn same_but_float_ulps(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() && y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) if x.is_sign_positive() == y.is_sign_positive() => {
                    x.to_bits().abs_diff(y.to_bits()) <= 8
                }
                _ => x == y,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_but_float_ulps(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, x)| y.get(k).is_some_and(|y| same_but_float_ulps(x, y)))
        }
        _ => a == b,
    }
}

fn build(op: Operation, input: &Value) {
    if let Ok(request) = op.build_request(input) {
        let _ = request.path_and_query();
    }
}
