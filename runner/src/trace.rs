//! `--trace`: every HTTP exchange a case makes (setup, step, checks, cleanup), written to
//! `reports/<target>/trace/<case id>.txt` once the case is over. The client records into
//! the trace of the case whose task it runs in (a task-local), so no caller passes it on.
//! Secrets are redacted before anything is kept: the Authorization signature, session
//! tokens, SSE-C keys, presigned signatures.

use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Bytes of a body shown; the rest is counted.
const BODY_PREVIEW: usize = 2048;

/// The exchanges of one case, in the order they were sent.
#[derive(Default, Clone)]
pub struct Trace(Arc<Mutex<String>>);

tokio::task_local! {
    static CURRENT: Trace;
}

impl Trace {
    /// Runs `future` with every exchange the client makes in it recorded here.
    pub async fn scope<F: Future>(&self, future: F) -> F::Output {
        CURRENT.scope(self.clone(), future).await
    }

    pub fn text(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Writes the trace to `<dir>/<case id with / as ->.txt`.
    pub fn write(&self, dir: &Path, case_id: &str) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(format!("{}.txt", file_name(case_id)));
        std::fs::write(&path, self.text())
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

/// A case id as a file name: `upload_part_copy/range/x` → `upload_part_copy--range--x`.
pub fn file_name(case_id: &str) -> String {
    case_id.replace('/', "--")
}

/// Whether the running task is a traced case (so the client copies what it sends).
pub fn active() -> bool {
    CURRENT.try_with(|_| ()).is_ok()
}

/// What was sent, for [`record`]: the body when it is in memory, else its length.
pub struct Sent<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a reqwest::header::HeaderMap,
    pub body: Option<&'a [u8]>,
}

/// What came back: the status, headers and body, or why none came.
pub type Answer<'a> = Result<(u16, &'a [(String, String)], &'a [u8]), &'a str>;

/// Records one exchange into the current case's trace (nothing outside a traced case).
pub fn record(sent: &Sent<'_>, answer: Answer<'_>) {
    let _ = CURRENT.try_with(|trace| {
        let mut out = trace.0.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(out, "> {} {}", sent.method, redact_url(sent.url));
        for (name, value) in sent.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            let _ = writeln!(out, "> {}: {}", name, redact_header(name.as_str(), &value));
        }
        match sent.body {
            Some(body) => preview(&mut out, ">", body),
            None => out.push_str(">\n> <body streamed, not kept>\n"),
        }
        match answer {
            Ok((status, headers, body)) => {
                let _ = writeln!(out, "< {status}");
                for (name, value) in headers {
                    let _ = writeln!(out, "< {}: {}", name, redact_header(name, value));
                }
                preview(&mut out, "<", body);
            }
            Err(message) => {
                let _ = writeln!(out, "< no answer: {message}");
            }
        }
        out.push('\n');
    });
}

fn preview(out: &mut String, side: &str, body: &[u8]) {
    if body.is_empty() {
        return;
    }
    let _ = writeln!(out, "{side}");
    let shown = &body[..body.len().min(BODY_PREVIEW)];
    match std::str::from_utf8(shown) {
        Ok(text) if !text.contains('\0') => {
            for line in text.lines() {
                let _ = writeln!(out, "{side} {line}");
            }
        }
        _ => {
            let _ = writeln!(out, "{side} <{} bytes of binary body>", body.len());
            return;
        }
    }
    if body.len() > shown.len() {
        let _ = writeln!(out, "{side} <… {} more bytes>", body.len() - shown.len());
    }
}

/// Whether a header's whole value is a secret.
fn secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.ends_with("security-token")
        || name.ends_with("server-side-encryption-customer-key")
        || name.ends_with("copy-source-server-side-encryption-customer-key")
}

/// The Authorization header keeps its scheme, credential scope and signed headers (what a
/// reader needs to see how it was signed); the signature goes.
pub fn redact_header(name: &str, value: &str) -> String {
    if name.eq_ignore_ascii_case("authorization") {
        return match value.find("Signature=") {
            Some(i) => format!("{}Signature=[redacted]", &value[..i]),
            // OSS and SigV2: `OSS id:signature`, `AWS id:signature`.
            None => match value.rfind(':') {
                Some(i) => format!("{}:[redacted]", &value[..i]),
                None => "[redacted]".to_string(),
            },
        };
    }
    if secret_header(name) {
        return "[redacted]".to_string();
    }
    value.to_string()
}

/// Query parameters of a presigned URL that are secrets.
fn secret_query(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "x-amz-signature"
        || name == "x-amz-security-token"
        || name == "signature"
        || name.ends_with("customer-key")
}

pub fn redact_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            if secret_query(name) {
                format!("{name}=[redacted]")
            } else {
                pair.to_string()
            }
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_tokens_and_keys_are_redacted() {
        let auth = "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4_request, \
                    SignedHeaders=host;x-amz-date, Signature=abcdef0123";
        let redacted = redact_header("Authorization", auth);
        assert!(!redacted.contains("abcdef0123"), "{redacted}");
        assert!(
            redacted.contains("SignedHeaders=host;x-amz-date"),
            "{redacted}"
        );
        assert_eq!(
            redact_header("authorization", "OSS id:sig"),
            "OSS id:[redacted]"
        );
        assert_eq!(redact_header("x-amz-security-token", "tok"), "[redacted]");
        assert_eq!(
            redact_header("x-amz-server-side-encryption-customer-key", "k"),
            "[redacted]"
        );
        assert_eq!(
            redact_header("x-amz-copy-source-server-side-encryption-customer-key", "k"),
            "[redacted]"
        );
        // The key's MD5 is not the key: kept, it tells which key was used.
        assert_eq!(
            redact_header("x-amz-server-side-encryption-customer-key-MD5", "m"),
            "m"
        );
        assert_eq!(
            redact_url("http://h/b/k?X-Amz-Credential=c&X-Amz-Signature=s1g&x-id=GetObject"),
            "http://h/b/k?X-Amz-Credential=c&X-Amz-Signature=[redacted]&x-id=GetObject"
        );
        assert_eq!(redact_url("http://h/b/k"), "http://h/b/k");
    }

    #[test]
    fn nothing_is_recorded_outside_a_traced_case() {
        let headers = reqwest::header::HeaderMap::new();
        let sent = Sent {
            method: "GET",
            url: "http://h/",
            headers: &headers,
            body: Some(b""),
        };
        record(&sent, Err("x"));
    }

    #[tokio::test]
    async fn a_traced_case_keeps_its_exchanges() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Signature=5ecret".parse().unwrap(),
        );
        let trace = Trace::default();
        trace
            .scope(async {
                let sent = Sent {
                    method: "PUT",
                    url: "http://h/b/k",
                    headers: &headers,
                    body: Some(b"<x/>"),
                };
                let answer = [("etag".to_string(), "\"e\"".to_string())];
                record(&sent, Ok((200, &answer, b"")));
            })
            .await;
        let text = trace.text();
        assert!(text.contains("> PUT http://h/b/k"), "{text}");
        assert!(text.contains("> <x/>"), "{text}");
        assert!(text.contains("< 200\n< etag: \"e\""), "{text}");
        assert!(!text.contains("5ecret"), "{text}");
    }
}
