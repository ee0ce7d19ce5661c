//! How a reader sends a deviating request again: an `aws s3api` command line and the
//! request as the harness built it. Secrets never appear in either.

use contract::results::Reproduction;
use serde_json::Value;
use wire::HttpRequest;

/// Headers whose values are secrets (signatures, tokens, customer keys).
fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "authorization"
        || name.ends_with("security-token")
        || name.ends_with("server-side-encryption-customer-key")
}

/// Members whose values are secrets.
fn is_secret_member(member: &str) -> bool {
    member.ends_with("SSECustomerKey")
}

/// `UploadPartCopy` → `upload-part-copy`, `SSECustomerKeyMD5` → `sse-customer-key-md5`.
fn kebab(name: &str) -> String {
    contract::names::join_words(name, '-')
}

/// What botocore leaves unencoded in a copy source it is given as a string.
const COPY_SOURCE_KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The `--copy-source` to give the CLI for the header the harness sent. The CLI
/// percent-encodes the value itself (up to a `?versionId=` suffix), so it gets the decoded
/// value; `false` when encoding that again cannot give the header that was sent.
fn cli_copy_source(sent: &str) -> (String, bool) {
    let (path, version) = match sent.find("?versionId=") {
        Some(i) => sent.split_at(i),
        None => (sent, ""),
    };
    let Ok(decoded) = percent_encoding::percent_decode_str(path).decode_utf8() else {
        return (sent.to_string(), false);
    };
    let again = percent_encoding::utf8_percent_encode(&decoded, COPY_SOURCE_KEEP).to_string();
    (format!("{decoded}{version}"), again == path)
}

/// Single-quotes a shell word.
fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

pub fn reproduction(
    operation: &str,
    input: &Value,
    request: &HttpRequest,
    raw_changes: bool,
    endpoint: &str,
) -> Reproduction {
    let mut cli = format!(
        "aws s3api {} --endpoint-url {}",
        kebab(operation),
        quote(endpoint)
    );
    let mut cli_cannot = raw_changes;
    for (member, value) in input.as_object().into_iter().flatten() {
        let text = match value {
            _ if is_secret_member(member) => "[redacted]".to_string(),
            Value::String(s) if member == "Body" => format!("<file of {} bytes>", s.len()),
            Value::String(s) if member == "CopySource" => {
                let (text, same) = cli_copy_source(s);
                cli_cannot |= !same;
                text
            }
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        cli.push_str(&format!(" --{} {}", kebab(member), quote(&text)));
    }
    if cli_cannot {
        cli.push_str("  # the case sends the request in ways the CLI cannot: see the HTTP request");
    }
    let mut http = format!("{} {} HTTP/1.1\n", request.method, request.path_and_query());
    for (name, value) in &request.headers {
        let value = if is_secret_header(name) {
            "[redacted]"
        } else {
            value.as_str()
        };
        http.push_str(&format!("{name}: {value}\n"));
    }
    http.push_str("(signed by the harness: Authorization and x-amz-date are added, not shown)\n");
    if !request.body.is_empty() {
        match std::str::from_utf8(&request.body) {
            Ok(text) if text.starts_with('<') && text.len() <= 4096 => {
                http.push('\n');
                http.push_str(text);
                http.push('\n');
            }
            _ => http.push_str(&format!("\n<{} bytes of body>\n", request.body.len())),
        }
    }
    Reproduction { cli, http }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The reproduction of an UploadPartCopy with this input, built by the generated binding.
    fn upload_part_copy(input: &Value) -> Reproduction {
        let request = generated::operations::Operation::UploadPartCopy
            .build_request(input)
            .unwrap();
        reproduction(
            "UploadPartCopy",
            input,
            &request,
            false,
            "http://127.0.0.1:9000",
        )
    }

    #[test]
    fn the_cli_line_names_the_operation_and_members_and_hides_keys() {
        let input = json!({
            "Bucket": "b", "Key": "a key", "UploadId": "u1", "PartNumber": 1,
            "CopySource": "b/src", "SSECustomerKey": "c2VjcmV0", "SSECustomerKeyMD5": "md5"
        });
        let r = upload_part_copy(&input);
        assert!(
            r.cli
                .starts_with("aws s3api upload-part-copy --endpoint-url http://127.0.0.1:9000"),
            "{}",
            r.cli
        );
        assert!(r.cli.contains("--copy-source b/src"), "{}", r.cli);
        assert!(r.cli.contains("--key 'a key'"), "{}", r.cli);
        assert!(r.cli.contains("--part-number 1"), "{}", r.cli);
        assert!(
            r.cli.contains("--sse-customer-key [redacted]")
                || r.cli.contains("--sse-customer-key '[redacted]'"),
            "{}",
            r.cli
        );
        assert!(
            !r.cli.contains("c2VjcmV0") && !r.http.contains("c2VjcmV0"),
            "{r:?}"
        );
        assert!(
            r.http.starts_with("PUT /b/a%20key?x-id=UploadPartCopy&"),
            "{}",
            r.http
        );
        assert!(r.http.contains("x-amz-copy-source: b/src"), "{}", r.http);
    }

    #[test]
    fn the_cli_gets_the_copy_source_decoded_since_it_encodes_it_again() {
        assert_eq!(cli_copy_source("b/src"), ("b/src".into(), true));
        assert_eq!(cli_copy_source("b/100%25.txt"), ("b/100%.txt".into(), true));
        assert_eq!(
            cli_copy_source("b/a%20b?versionId=v%2B1"),
            ("b/a b?versionId=v%2B1".into(), true)
        );
        // No CLI value encodes to these: the HTTP request is the only reproduction.
        assert!(!cli_copy_source("b/%ZZ").1);
        assert!(!cli_copy_source("b/a b").1);
        assert!(!cli_copy_source("b/%FF").1);
        let input = json!({"Bucket": "b", "Key": "k", "UploadId": "u", "PartNumber": 1, "CopySource": "b/%ZZ"});
        let r = upload_part_copy(&input);
        assert!(r.cli.contains("cannot"), "{}", r.cli);
    }

    #[test]
    fn member_names_become_cli_options() {
        assert_eq!(
            kebab("CopySourceIfModifiedSince"),
            "copy-source-if-modified-since"
        );
        assert_eq!(kebab("SSECustomerKeyMD5"), "sse-customer-key-md5");
        assert_eq!(
            kebab("CompleteMultipartUpload"),
            "complete-multipart-upload"
        );
    }
}
