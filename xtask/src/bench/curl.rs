//! curl beside the harness: the same requests, signed by curl itself, one process each.

use super::measure::measure;
use super::runs::Target;
use crate::endpoint::process::random_hex;
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CURL_LIMIT: Duration = Duration::from_secs(15);

/// The object curl writes and copies a part of.
pub const SOURCE: &[u8] = b"0123456789";

/// curl with its own SigV4 signing (`--aws-sigv4`), one process per request.
#[derive(Debug, Clone, Default)]
pub struct CurlRun {
    pub url: String,
    pub user: String,
    pub version: String,
    pub sequences: usize,
    /// Wall time of each curl process (spawn to exit).
    pub process: Vec<Duration>,
    /// curl's own `time_total` of each request.
    pub time_total: Vec<Duration>,
    /// user+sys of each curl process.
    pub cpu: Vec<Duration>,
    /// Wall time of each whole sequence.
    pub sequence_wall: Vec<Duration>,
    /// Whether UploadPartCopy carried x-amz-copy-source-range.
    pub ranged: bool,
    pub range_note: Option<String>,
}

impl CurlRun {
    pub fn new(target: &Target) -> CurlRun {
        let version = Command::new("curl")
            .arg("--version")
            .output()
            .map(|o| {
                // "curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/…": the first two words.
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        CurlRun {
            url: target.url.clone().unwrap_or_default(),
            user: format!("{}:{}", target.access_key, target.secret_key),
            version,
            ranged: true,
            ..CurlRun::default()
        }
    }

    /// One request; returns the status and the body.
    fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Path>,
    ) -> Result<(u16, String)> {
        let mut cmd = Command::new("curl");
        cmd.args([
            "-sS",
            "--max-time",
            "10",
            "--aws-sigv4",
            "aws:amz:us-east-1:s3",
        ])
        .args(["--user", &self.user])
        // curl does not add it, and S3 servers require it.
        .args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
        .args(["-X", method]);
        for (k, v) in headers {
            cmd.args(["-H", &format!("{k}: {v}")]);
        }
        if let Some(body) = body {
            cmd.arg("--data-binary").arg(format!("@{}", body.display()));
        }
        cmd.args(["-w", "\n%{http_code} %{time_total}"])
            .arg(format!("{}{path}", self.url))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let (m, mut child) = measure(&mut cmd, CURL_LIMIT)?;
        let mut out = String::new();
        if let Some(mut stdout) = child.stdout.take() {
            stdout.read_to_string(&mut out)?;
        }
        if m.code != Some(0) {
            bail!("curl {method} {path} failed (exit {:?})", m.code);
        }
        let (body, last) = out.rsplit_once('\n').unwrap_or(("", &out));
        let mut words = last.split_whitespace();
        let status: u16 = words.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let total: f64 = words.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
        self.process.push(m.wall);
        self.cpu.push(m.cpu());
        self.time_total.push(Duration::from_secs_f64(total));
        Ok((status, body.to_string()))
    }

    fn expect(&mut self, what: &str, got: (u16, String)) -> Result<String> {
        if !(200..300).contains(&got.0) {
            bail!("curl: {what} answered {}: {}", got.0, got.1);
        }
        Ok(got.1)
    }

    /// CreateBucket, PutObject (10 bytes), CreateMultipartUpload, UploadPartCopy (bytes=0-9),
    /// CompleteMultipartUpload, DeleteObject ×2, DeleteBucket.
    pub fn sequence(&mut self, scratch: &Path) -> Result<()> {
        let ten = scratch.join("ten-bytes");
        if !ten.exists() {
            std::fs::write(&ten, SOURCE)?;
        }
        let bucket = format!("mpc-bench-{}-c{:03}", random_hex(3)?, self.sequences);
        let started = Instant::now();
        let done = self.sequence_in(&bucket, &ten, scratch);
        if done.is_err() {
            // Best effort: leave nothing behind.
            let _ = self.request("DELETE", &format!("/{bucket}/dst"), &[], None);
            let _ = self.request("DELETE", &format!("/{bucket}/src"), &[], None);
            let _ = self.request("DELETE", &format!("/{bucket}"), &[], None);
            return done;
        }
        self.sequence_wall.push(started.elapsed());
        self.sequences += 1;
        Ok(())
    }

    fn sequence_in(&mut self, bucket: &str, ten: &Path, scratch: &Path) -> Result<()> {
        let r = self.request("PUT", &format!("/{bucket}"), &[], None)?;
        self.expect("CreateBucket", r)?;
        let r = self.request("PUT", &format!("/{bucket}/src"), &[], Some(ten))?;
        self.expect("PutObject", r)?;
        // curl 7.x signs a query key without '=' differently from S3: give it one.
        let r = self.request("POST", &format!("/{bucket}/dst?uploads="), &[], None)?;
        let body = self.expect("CreateMultipartUpload", r)?;
        let upload = between(&body, "<UploadId>", "</UploadId>")
            .context("CreateMultipartUpload: no UploadId")?
            .to_string();
        let copy_path = format!("/{bucket}/dst?partNumber=1&uploadId={upload}");
        let source = format!("/{bucket}/src");
        let r = self.upload_part_copy(&copy_path, &source)?;
        let body = self.expect("UploadPartCopy", r)?;
        let etag = between(&body, "<ETag>", "</ETag>")
            .context("UploadPartCopy: no ETag")?
            .replace("&quot;", "\"");
        let complete = scratch.join("complete.xml");
        std::fs::write(
            &complete,
            format!("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part></CompleteMultipartUpload>"),
        )?;
        let r = self.request(
            "POST",
            &format!("/{bucket}/dst?uploadId={upload}"),
            &[],
            Some(&complete),
        )?;
        let body = self.expect("CompleteMultipartUpload", r)?;
        if body.contains("<Error>") {
            bail!("CompleteMultipartUpload answered an error: {body}");
        }
        for key in ["dst", "src"] {
            let r = self.request("DELETE", &format!("/{bucket}/{key}"), &[], None)?;
            self.expect("DeleteObject", r)?;
        }
        let r = self.request("DELETE", &format!("/{bucket}"), &[], None)?;
        self.expect("DeleteBucket", r)?;
        Ok(())
    }

    /// UploadPartCopy of the source's bytes; of the whole source once curl has been seen
    /// unable to sign the range header.
    fn upload_part_copy(&mut self, path: &str, source: &str) -> Result<(u16, String)> {
        if self.ranged {
            let range = format!("bytes=0-{}", SOURCE.len() - 1);
            let headers = [
                ("x-amz-copy-source", source),
                ("x-amz-copy-source-range", range.as_str()),
            ];
            let r = self.request("PUT", path, &headers, None)?;
            if r.0 != 403 {
                return Ok(r);
            }
            // Seen with curl 7.88: it lists x-amz-copy-source-range before
            // x-amz-copy-source in SignedHeaders (it sorts "name:value" lines), so the
            // signature cannot match. The rest of the comparison copies the whole source.
            self.ranged = false;
            self.range_note = Some(format!(
                "{} could not sign x-amz-copy-source-range (403 {}); UploadPartCopy copies \
                 the whole {}-byte source instead",
                self.version,
                between(&r.1, "<Code>", "</Code>").unwrap_or("?"),
                SOURCE.len()
            ));
            // The refused request is not counted.
            self.process.pop();
            self.cpu.pop();
            self.time_total.pop();
        }
        self.request("PUT", path, &[("x-amz-copy-source", source)], None)
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = text[start..].find(close)? + start;
    Some(&text[start..end])
}
