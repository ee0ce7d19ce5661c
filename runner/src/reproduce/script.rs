//! A deviation as a shell script a vendor can run: it creates its own uniquely named
//! bucket and objects (the case's setup, as AWS CLI commands), sends the deviating request
//! (`aws s3api`, or `curl --aws-sigv4` where the CLI cannot send it as the case does),
//! prints `status=<status> code=<code or ->`, and deletes what it made on exit. Endpoint and
//! keys come from the environment; SSE-C keys are made up by the script.
//!
//! Values the setup's answers decide (ETags, version and upload ids, times) are shell
//! variables captured from those answers; keys and sizes are the case's own.

use contract::case::{Raw, Step};
use contract::placeholder::{self, Offset, Piece, Placeholder};
use contract::Case;
use generated::operations::Operation;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::fixtures::sanitize;

mod setup;
use setup::*;

/// Why a case gets no script.
pub type NotScripted = String;

/// Text as it may stand inside a double-quoted shell word.
fn dq(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A variable name for a case name: `src-1` → `src_1`.
fn var(name: &str, attribute: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("v_{clean}_{attribute}")
}

struct Object {
    /// The shell fragment of its bucket's name.
    bucket: String,
    key: String,
    size: u64,
    sse_c: bool,
}

struct Upload {
    bucket: String,
    key: String,
    sse_c: bool,
    size: u64,
}

/// How a request is sent: the values the CLI computes itself differ from the header ones.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Cli,
    /// A header or query value (raw, as sent).
    Curl,
}

/// The script being written, and what its setup made so far.
#[derive(Default)]
struct Writer {
    lines: Vec<String>,
    buckets: BTreeMap<String, String>,
    objects: BTreeMap<String, Object>,
    uploads: BTreeMap<String, Upload>,
    /// Derived variables already computed (times).
    computed: BTreeSet<String>,
    files: usize,
}

impl Writer {
    fn line(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    fn bucket(&self, name: &str) -> Result<String, NotScripted> {
        self.buckets
            .get(name)
            .cloned()
            .ok_or_else(|| format!("no bucket named {name:?}"))
    }

    /// A file of `size` random bytes (what the bytes are does not change the outcome).
    fn file(&mut self, size: u64) -> String {
        self.files += 1;
        let path = format!("\"$work/file{}\"", self.files);
        self.line(format!("head -c {size} /dev/urandom > {path}"));
        path
    }

    /// The shell fragment (inside double quotes) of one placeholder.
    fn placeholder(&mut self, p: &Placeholder, mode: Mode) -> Result<String, NotScripted> {
        let (name, attr) = (p.name, p.attribute);
        let unsupported = || format!("the placeholder {{{name}.{attr}}} is not scripted");
        Ok(match (name, attr) {
            ("missing", "bucket") => "${bucket}-missing".into(),
            ("missing", "key") => "no-such-key".into(),
            ("missing", "upload_id") => "00000000-0000-4000-8000-00000000dead".into(),
            ("missing", "version_id") => "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrH".into(),
            ("sse", "key") if mode == Mode::Cli => "${sse_key}".into(),
            ("sse", "other_key") if mode == Mode::Cli => "${sse_other_key}".into(),
            ("sse", "key") => "${sse_key_b64}".into(),
            ("sse", "other_key") => "${sse_other_key_b64}".into(),
            ("sse", "key_md5") => "${sse_key_md5}".into(),
            ("sse", "other_key_md5") => "${sse_other_key_md5}".into(),
            _ if attr == "name" && self.buckets.contains_key(name) => self.bucket(name)?,
            _ if self.objects.contains_key(name) => {
                let o = &self.objects[name];
                // The CLI encodes a copy source itself (up to `?versionId=`).
                let source = match mode {
                    Mode::Cli => format!("{}/{}", o.bucket, dq(&o.key)),
                    Mode::Curl => format!("{}/{}", o.bucket, dq(&wire::encode_greedy(&o.key))),
                };
                match attr {
                    "bucket" => o.bucket.clone(),
                    "key" => dq(&o.key),
                    "copy_source" => source,
                    "copy_source_version" => {
                        format!("{source}?versionId=${{{}}}", var(name, "version_id"))
                    }
                    "copy_source_delete_marker" => {
                        format!("{source}?versionId=${{{}}}", var(name, "delete_marker"))
                    }
                    "etag" | "etag_unquoted" | "version_id" | "delete_marker" => {
                        format!("${{{}}}", var(name, attr))
                    }
                    "size" => {
                        let shift = match p.offset {
                            Some(Offset::Bytes(n)) => n,
                            _ => 0,
                        };
                        (o.size as i64 + shift).to_string()
                    }
                    "last_modified" | "last_modified_rfc3339" => self.time(name, attr, p.offset)?,
                    _ => return Err(unsupported()),
                }
            }
            _ if self.uploads.contains_key(name) => {
                let u = &self.uploads[name];
                match attr {
                    "bucket" => u.bucket.clone(),
                    "key" => dq(&u.key),
                    "id" => format!("${{{}}}", var(name, "id")),
                    "size" => {
                        let shift = match p.offset {
                            Some(Offset::Bytes(n)) => n,
                            _ => 0,
                        };
                        (u.size as i64 + shift).to_string()
                    }
                    _ => return Err(unsupported()),
                }
            }
            _ => return Err(unsupported()),
        })
    }

    /// An object's Last-Modified, moved by the offset, as an HTTP date or RFC 3339: asked
    /// of the server by a HEAD when first needed.
    fn time(
        &mut self,
        name: &str,
        attr: &str,
        offset: Option<Offset>,
    ) -> Result<String, NotScripted> {
        let seconds = match offset {
            Some(Offset::Seconds(s)) => s,
            None => 0,
            Some(Offset::Bytes(_)) => return Err("a time with a byte offset".into()),
        };
        let epoch = var(name, "epoch");
        if self.computed.insert(epoch.clone()) {
            let o = &self.objects[name];
            let sse = if o.sse_c { SSE_CLI } else { "" };
            let (bucket, key) = (o.bucket.clone(), dq(&o.key));
            self.line(format!(
                "{epoch}=$(date -u -d \"$(s3api head-object --bucket \"{bucket}\" --key \"{key}\"{sse} \
                 --query LastModified --output text)\" +%s)"
            ));
        }
        let shifted = var(
            name,
            &format!("{attr}_{}", seconds.to_string().replace('-', "m")),
        );
        if self.computed.insert(shifted.clone()) {
            let format = if attr == "last_modified" {
                "+%a, %d %b %Y %H:%M:%S GMT"
            } else {
                "+%Y-%m-%dT%H:%M:%SZ"
            };
            self.line(format!(
                "{shifted}=$(LC_ALL=C date -u -d \"@$(( {epoch} + ({seconds}) ))\" '{format}')"
            ));
        }
        Ok(format!("${{{shifted}}}"))
    }

    /// A string of the case with its placeholders as shell fragments.
    fn text(&mut self, text: &str, mode: Mode) -> Result<String, NotScripted> {
        let pieces = placeholder::pieces(text).map_err(|e| e.0)?;
        let mut out = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(&dq(t)),
                Piece::Placeholder(p) => out.push_str(&self.placeholder(&p, mode)?),
            }
        }
        Ok(out)
    }

    /// A member's value as one double-quoted CLI argument: text as it is, structures as
    /// JSON (the CLI takes JSON for any structure or map).
    fn cli_value(&mut self, value: &Value) -> Result<String, NotScripted> {
        Ok(match value {
            Value::String(s) => {
                if let Some(upload) = s.strip_prefix('{').and_then(|r| r.strip_suffix(".parts}")) {
                    if !self.uploads.contains_key(upload) {
                        return Err(format!("no upload named {upload:?}"));
                    }
                    format!("\"{{\\\"Parts\\\":[${{{}}}]}}\"", var(upload, "parts"))
                } else {
                    format!("\"{}\"", self.text(s, Mode::Cli)?)
                }
            }
            Value::Object(_) | Value::Array(_) => {
                if value.to_string().contains('{') && json_has_placeholder(value) {
                    return Err("a structure with placeholders in it".into());
                }
                format!("\"{}\"", dq(&value.to_string()))
            }
            other => format!("\"{}\"", dq(&other.to_string())),
        })
    }
}

fn json_has_placeholder(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('{'),
        Value::Array(a) => a.iter().any(json_has_placeholder),
        Value::Object(m) => m.values().any(json_has_placeholder),
        _ => false,
    }
}

/// The SSE-C options of a request that uses the case's customer key.
const SSE_CLI: &str = " --sse-customer-algorithm AES256 --sse-customer-key \"$sse_key\"";

const PRELUDE: &str = r#"set -euo pipefail
: "${AWS_ENDPOINT_URL:?set AWS_ENDPOINT_URL to the S3 endpoint, e.g. http://127.0.0.1:9000}"
: "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID}"
: "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
# One attempt, path-style, no checksums the case did not ask for, no client-side checks:
# the server sees the request the case sent.
export AWS_MAX_ATTEMPTS=1 AWS_PAGER=""
export AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required
work=$(mktemp -d)
export AWS_CONFIG_FILE="$work/config"
printf '[default]\nparameter_validation = false\ns3 =\n    addressing_style = path\n' > "$AWS_CONFIG_FILE"
s3api() { aws s3api --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
urlenc() {
  local s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in [a-zA-Z0-9._~-]) out+=$c ;; *) out+=$(printf '%%%02X' "'$c") ;; esac
  done
  printf '%s' "$out"
}
# SSE-C keys made up for this run (32 bytes each), as the CLI takes them and as headers.
sse_key=$(openssl rand -hex 16)
sse_other_key=$(openssl rand -hex 16)
sse_key_b64=$(printf '%s' "$sse_key" | base64 -w0)
sse_key_md5=$(printf '%s' "$sse_key" | openssl dgst -md5 -binary | base64 -w0)
sse_other_key_b64=$(printf '%s' "$sse_other_key" | base64 -w0)
sse_other_key_md5=$(printf '%s' "$sse_other_key" | openssl dgst -md5 -binary | base64 -w0)
bucket="repro-$(date +%s)-$(openssl rand -hex 4)"
buckets=()
cleanup() {
  set +e
  local b k v
  for b in "${buckets[@]}"; do
    s3api list-multipart-uploads --bucket "$b" --query 'Uploads[].[Key,UploadId]' --output text 2>/dev/null |
      while IFS=$'\t' read -r k v; do
        [ -n "$v" ] && [ "$k" != None ] && s3api abort-multipart-upload --bucket "$b" --key "$k" --upload-id "$v" >/dev/null 2>&1
      done
    s3api list-object-versions --bucket "$b" --query '[Versions,DeleteMarkers][][].[Key,VersionId]' --output text 2>/dev/null |
      while IFS=$'\t' read -r k v; do
        [ -n "$k" ] && [ "$k" != None ] || continue
        s3api delete-object --bucket "$b" --key "$k" --version-id "$v" >/dev/null 2>&1 ||
          s3api delete-object --bucket "$b" --key "$k" >/dev/null 2>&1
      done
    s3api list-objects-v2 --bucket "$b" --query 'Contents[].[Key]' --output text 2>/dev/null |
      while IFS=$'\t' read -r k; do
        [ -n "$k" ] && [ "$k" != None ] && s3api delete-object --bucket "$b" --key "$k" >/dev/null 2>&1
      done
    s3api delete-bucket --bucket "$b" >/dev/null 2>&1 || echo "could not delete bucket $b" >&2
  done
  rm -rf "$work"
}
trap cleanup EXIT
make_bucket() {
  if [ "$AWS_DEFAULT_REGION" = us-east-1 ]; then
    s3api create-bucket --bucket "$1" >/dev/null
  else
    s3api create-bucket --bucket "$1" --create-bucket-configuration "LocationConstraint=$AWS_DEFAULT_REGION" >/dev/null
  fi
  buckets=("$1" "${buckets[@]}")
}
none() { [ "$1" = None ] && echo "" || echo "$1"; }
json_str() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }
"#;

/// The script of a case, or why it has none.
pub fn script(case: &Case, recorded: &str, expected: &str) -> Result<String, NotScripted> {
    if let Some(signing) = &case.raw.signing {
        return Err(format!(
            "the request is signed in a way curl cannot ({signing:?})"
        ));
    }
    if case.raw.streaming.is_some() {
        return Err(
            "the body is aws-chunked, which neither the CLI nor curl frames as the case does"
                .into(),
        );
    }
    let operation: Operation = case.operation.parse().map_err(|e: String| e)?;
    let mut w = Writer::default();
    w.buckets.insert("bucket".into(), "${bucket}".into());
    w.line("make_bucket \"$bucket\"");
    for step in &case.setup {
        setup_step(&mut w, step)?;
    }
    let mode = if cli_can_send(case) {
        Mode::Cli
    } else {
        Mode::Curl
    };
    w.line("# The request under test.");
    match mode {
        Mode::Cli => cli_step(&mut w, case)?,
        Mode::Curl => curl_step(&mut w, case, operation)?,
    }
    let mut out = String::new();
    let _ = writeln!(out, "#!/usr/bin/env bash");
    let _ = writeln!(out, "# {}: {}", case.id, case.title);
    let _ = writeln!(out, "# Recorded: {recorded}. Amazon S3: {expected}.");
    let _ = writeln!(
        out,
        "# Needs the AWS CLI{}, openssl and GNU coreutils. Run with AWS_ENDPOINT_URL,",
        if mode == Mode::Curl {
            " and curl >= 7.75"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_DEFAULT_REGION) set; it prints"
    );
    let _ = writeln!(out, "# `status=<status> code=<error code or ->` last.");
    out.push_str(PRELUDE);
    for line in &w.lines {
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// Whether `aws s3api` sends the step as the case does: no raw changes, copy sources and
/// SSE-C keys the CLI would encode and hash the same way.
fn cli_can_send(case: &Case) -> bool {
    if !Raw::is_empty(&case.raw) {
        return false;
    }
    let text = |m: &str| case.input.get(m).and_then(Value::as_str);
    for prefix in ["SSECustomer", "CopySourceSSECustomer"] {
        let key = text(&format!("{prefix}Key"));
        let md5 = text(&format!("{prefix}KeyMD5"));
        // The CLI encodes the key and computes its MD5 itself.
        let ok = matches!(
            (key, md5),
            (None, None)
                | (Some("{sse.key}"), None | Some("{sse.key_md5}"))
                | (Some("{sse.other_key}"), None | Some("{sse.other_key_md5}"))
        );
        if !ok {
            return false;
        }
    }
    if let Some(source) = case.input.get("CopySource") {
        let Some(source) = source.as_str() else {
            return false;
        };
        let whole = match placeholder::pieces(source).as_deref() {
            Ok([Piece::Placeholder(p)]) => p.attribute.starts_with("copy_source"),
            _ => false,
        };
        if !whole && !super::cli_copy_source(source).1 {
            return false;
        }
        if source.contains('{') && !whole {
            return false;
        }
    }
    // Dates the CLI would parse and write again in its own form.
    for (member, value) in &case.input {
        let is_time = member.ends_with("Since") || member == "Expires" || member.ends_with("Date");
        if is_time {
            let Some(s) = value.as_str() else {
                return false;
            };
            let placeholder_time = matches!(
                placeholder::pieces(s).as_deref(),
                Ok([Piece::Placeholder(p)]) if p.attribute == "last_modified"
            );
            if !placeholder_time && httpdate::parse_http_date(s).is_err() {
                return false;
            }
        }
    }
    true
}

/// The step under test as an `aws s3api` command, with `--debug` to read the status from.
fn cli_step(w: &mut Writer, case: &Case) -> Result<(), NotScripted> {
    let mut options = String::new();
    for (member, value) in &case.input {
        if member.ends_with("SSECustomerKeyMD5") {
            continue; // the CLI computes it from the key
        }
        let value = w.cli_value(value)?;
        let _ = write!(options, " \\\n  --{} {value}", super::kebab(member));
    }
    if let Some(body) = &case.body {
        let file = w.file(body.size);
        let _ = write!(options, " \\\n  --body {file}");
    }
    w.line(format!(
        "set +e\ns3api {}{options} \\\n  --debug > \"$work/out\" 2> \"$work/debug\"\nset -e",
        super::kebab(&case.operation)
    ));
    w.line(
        r#"cat "$work/out"
grep -E '^An error occurred|^$' "$work/debug" | grep -v '^$' >&2 || true
status=$(grep -oE 'HTTP/1\.1" [0-9]{3}' "$work/debug" | tail -1 | grep -oE '[0-9]{3}$' || true)
code=$(sed -n 's/^An error occurred (\([^)]*\)).*/\1/p' "$work/debug" | tail -1)
case "$code" in [0-9][0-9][0-9]) code="" ;; esac
echo "status=${status:-none} code=${code:--}""#,
    );
    Ok(())
}

/// The step under test as the harness builds it, sent by curl: the case's input with a
/// marker for each placeholder, built by the generated binding, the markers then replaced
/// by shell fragments (percent-encoded in the URL).
fn curl_step(w: &mut Writer, case: &Case, operation: Operation) -> Result<(), NotScripted> {
    let mut fragments: Vec<String> = Vec::new();
    let mut marked = serde_json::Map::new();
    for (member, value) in &case.input {
        marked.insert(member.clone(), mark(w, value, &mut fragments)?);
    }
    let mut raw = |text: &str, fragments: &mut Vec<String>| -> Result<String, NotScripted> {
        mark_text(w, text, fragments)
    };
    let mut request = operation
        .build_request(&Value::Object(marked))
        .map_err(|e| format!("building the request: {e}"))?;
    for (name, value) in &case.raw.query {
        request.set_query(name, Some(&raw(value, &mut fragments)?));
    }
    for (name, value) in &case.raw.headers {
        request.set_header(name, &raw(value, &mut fragments)?);
    }
    for name in &case.raw.remove_headers {
        request.remove_header(name);
    }
    let unmark = |text: &str, in_url: bool| -> String {
        let mut out = dq(text);
        for (i, fragment) in fragments.iter().enumerate() {
            let marker = marker(i);
            let with = if in_url {
                format!("$(urlenc \"{fragment}\")")
            } else {
                fragment.clone()
            };
            out = out.replace(&marker, &with);
        }
        out
    };
    let mut command = String::from("set +e\ncurl -sS -o \"$work/out\" -w '%{http_code}' \\\n  --aws-sigv4 \"aws:amz:${AWS_DEFAULT_REGION}:s3\" --user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" \\\n  -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' ${AWS_SESSION_TOKEN:+-H \"x-amz-security-token: $AWS_SESSION_TOKEN\"}");
    let _ = write!(command, " \\\n  -X {}", request.method);
    for (name, value) in &request.headers {
        let lower = name.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "host" | "content-length" | "authorization" | "x-amz-date" | "x-amz-content-sha256"
        ) {
            continue;
        }
        let _ = write!(
            command,
            " \\\n  -H \"{}: {}\"",
            dq(name),
            unmark(value, false)
        );
    }
    for name in &case.raw.remove_headers {
        // Headers curl would add itself.
        if name.eq_ignore_ascii_case("content-type") || name.eq_ignore_ascii_case("accept") {
            let _ = write!(command, " \\\n  -H \"{}:\"", dq(name));
        }
    }
    let body = match &case.body {
        Some(b) => Some(w.file(b.size)),
        None if !request.body.is_empty() => {
            let text = String::from_utf8(request.body.clone())
                .map_err(|_| "a binary request body".to_string())?;
            w.files += 1;
            let path = format!("\"$work/file{}\"", w.files);
            w.line(format!("printf '%s' \"{}\" > {path}", unmark(&text, false)));
            Some(path)
        }
        None => None,
    };
    if let Some(path) = body {
        let _ = write!(command, " \\\n  --data-binary @{path}");
    } else if matches!(request.method, "PUT" | "POST") {
        let _ = write!(command, " \\\n  --data-binary ''");
    }
    let _ = write!(
        command,
        " \\\n  \"${{AWS_ENDPOINT_URL%/}}{}\" > \"$work/status\"\nset -e",
        unmark(&request.path_and_query(), true)
    );
    w.line(command);
    w.line(
        r#"cat "$work/out"; echo
status=$(cat "$work/status")
code=$(sed -n 's:.*<Code>\([^<]*\)</Code>.*:\1:p' "$work/out" | head -1)
echo "status=${status:-none} code=${code:--}""#,
    );
    Ok(())
}

fn marker(i: usize) -> String {
    format!("ZqZ{i}ZqZ")
}

/// A text with each placeholder replaced by a marker that encoding leaves as it is.
fn mark_text(
    w: &mut Writer,
    text: &str,
    fragments: &mut Vec<String>,
) -> Result<String, NotScripted> {
    let pieces = placeholder::pieces(text).map_err(|e| e.0)?;
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder(p) => {
                fragments.push(w.placeholder(&p, Mode::Curl)?);
                out.push_str(&marker(fragments.len() - 1));
            }
        }
    }
    Ok(out)
}

fn mark(w: &mut Writer, value: &Value, fragments: &mut Vec<String>) -> Result<Value, NotScripted> {
    Ok(match value {
        Value::String(s) if s.ends_with(".parts}") => {
            return Err("a part list sent by curl".into());
        }
        Value::String(s) => {
            if let Ok([Piece::Placeholder(p)]) = placeholder::pieces(s).as_deref() {
                if p.attribute == "size" {
                    let n: i64 = w
                        .placeholder(p, Mode::Curl)?
                        .parse()
                        .map_err(|_| "a size".to_string())?;
                    return Ok(Value::from(n));
                }
            }
            Value::String(mark_text(w, s, fragments)?)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| mark(w, v, fragments))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), mark(w, v, fragments)?)))
                .collect::<Result<_, NotScripted>>()?,
        ),
        other => other.clone(),
    })
}
