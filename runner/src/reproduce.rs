//! How a reader sends a deviating request again: an `aws s3api` command line and the
//! request as the harness built it. Secrets never appear in either.

use anyhow::{Context, Result};
use contract::results::{Reproduction, Results};
use contract::{Case, Dialect, Verdict};
use serde_json::Value;
use std::path::Path;
use wire::HttpRequest;

pub mod script;

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

/// `reports/<target>/repro/`: a script per deviation that ran (`<case id, / as -->.sh`)
/// and README.md listing them, with the reason for each deviation that has none.
/// Replaces what an earlier run left there.
pub fn write_scripts(dir: &Path, cases: &[Case], results: &Results) -> Result<()> {
    let dir = dir.join("repro");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut index = format!(
        "# Reproductions: {}\n\nEach script makes its own bucket and objects, sends the deviating \
         request, prints `status=… code=…` and deletes what it made. Run it with AWS_ENDPOINT_URL, \
         AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY set (AWS_DEFAULT_REGION: us-east-1 unless set).\n\n\
         | case | recorded | Amazon S3 | script |\n|---|---|---|---|\n",
        results.target
    );
    let mut written = 0;
    for result in &results.cases {
        let (Some(observed), true) = (&result.observed, result.verdict.is_deviation()) else {
            continue;
        };
        if result.verdict == Verdict::HarnessError {
            continue;
        }
        let recorded =
            contract::results::status_code(Some(observed.status), observed.code.as_deref());
        let expected = result.expected_text();
        let outcome = match cases.iter().find(|c| c.id == result.id) {
            _ if results.profile == Dialect::Oss => {
                Err("the OSS dialect signs as neither the AWS CLI nor curl does".to_string())
            }
            Some(case) => script::script(case, &recorded, &expected),
            None => Err("the case is not in this build".to_string()),
        };
        let cell = match outcome {
            Ok(text) => {
                let name = format!("{}.sh", crate::trace::file_name(&result.id));
                let path = dir.join(&name);
                std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                make_executable(&path)?;
                written += 1;
                format!("[{name}]({name})")
            }
            Err(reason) => format!("none: {}", reason.replace('|', "\\|")),
        };
        index.push_str(&format!(
            "| `{}` | {recorded} | {expected} | {cell} |\n",
            result.id
        ));
    }
    std::fs::write(dir.join("README.md"), index)
        .with_context(|| format!("cannot write {}", dir.display()))?;
    eprintln!("wrote {written} reproduction scripts to {}", dir.display());
    Ok(())
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<()> {
    Ok(())
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
