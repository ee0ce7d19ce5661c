//! Runs one case: setup, the step under test, grading, data checks, cleanup.

use crate::client::{Client, TransportError};
use crate::fixtures::{self, Content, Created, Fixture, SharedCreated};
use crate::grade::grade;
use anyhow::{anyhow, Context, Result};
use contract::results::{CaseResult, Expected, Observed};
use contract::{Case, Dialect, Expect, Verdict};
use generated::operations::Operation;
use generated::shapes::CopyPartResult;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wire::{Checksums, FromScenario, HttpResponse, ResponseError};

/// What the runner shares with every case.
pub struct RunContext {
    pub client: Client,
    pub region: String,
    pub run_id: String,
    pub profile: Dialect,
    pub capabilities: BTreeSet<String>,
    pub case_timeout: Duration,
}

/// The record of a case that was not run (the run was interrupted, the target is down).
pub fn not_run(case: &Case, profile: Dialect, verdict: Verdict, reason: &str) -> CaseResult {
    let mut result = new_result(case, case.expect.get(&profile));
    result.verdict = verdict;
    result.details.push(reason.to_string());
    result
}

/// A case's record before it has run: a harness error until something better is known.
fn new_result(case: &Case, expect: Option<&Expect>) -> CaseResult {
    CaseResult {
        id: case.id.clone(),
        title: case.title.clone(),
        refs: case.refs.clone(),
        features: case.features.clone(),
        verdict: Verdict::HarnessError,
        source: expect.map(|e| e.source.clone()).unwrap_or_default(),
        expected: Expected {
            status: expect.map(|e| e.status),
            code: expect.and_then(|e| e.code.clone()),
        },
        observed: None,
        details: vec![],
        notes: vec![],
        cleanup: vec![],
        reproduction: None,
    }
}

/// A case's record, and whether the target looked down while it ran.
pub struct Outcome {
    pub result: CaseResult,
    pub target_unreachable: bool,
}

pub async fn run_case(ctx: &RunContext, case: &Case, index: usize) -> Outcome {
    let mut unreachable = false;
    let result = run_case_inner(ctx, case, index, &mut unreachable).await;
    Outcome {
        result,
        target_unreachable: unreachable,
    }
}

async fn run_case_inner(
    ctx: &RunContext,
    case: &Case,
    index: usize,
    unreachable: &mut bool,
) -> CaseResult {
    let expect = case.expect.get(&ctx.profile);
    let mut result = new_result(case, expect);
    let Some(expect) = expect else {
        result.verdict = Verdict::Skipped;
        result.details.push(format!(
            "the case has no expectation for the {} profile",
            ctx.profile
        ));
        return result;
    };
    let missing: Vec<&String> = case
        .requires
        .iter()
        .filter(|c| !ctx.capabilities.contains(*c))
        .collect();
    if !missing.is_empty() {
        result.verdict = Verdict::Skipped;
        result.details.push(format!(
            "the target lacks {} (probed at the start of the run)",
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return result;
    }

    let bucket = format!("mpc-{}-{index:04}", ctx.run_id);
    let created: SharedCreated = Arc::new(Mutex::new(Created::default()));
    let body = run_body(ctx, case, expect, bucket, created.clone(), &mut result);
    match tokio::time::timeout(ctx.case_timeout, body).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            *unreachable = e.chain().any(|c| {
                c.downcast_ref::<TransportError>()
                    .is_some_and(|t| t.unreachable)
            });
            result.verdict = Verdict::HarnessError;
            result.details.push(format!("{e:#}"));
        }
        Err(_) => {
            result.verdict = Verdict::HarnessError;
            result.details.push(format!(
                "the case did not finish within {:?}",
                ctx.case_timeout
            ));
        }
    }
    // Cleanup runs whatever happened above, on what was recorded as created.
    let snapshot = std::mem::take(&mut *created.lock().unwrap_or_else(|p| p.into_inner()));
    match tokio::time::timeout(ctx.case_timeout, fixtures::cleanup(&ctx.client, &snapshot)).await {
        Ok(failures) => result.cleanup = failures,
        Err(_) => result.cleanup.push(format!(
            "cleanup did not finish within {:?}",
            ctx.case_timeout
        )),
    }
    result
}

async fn run_body(
    ctx: &RunContext,
    case: &Case,
    expect: &Expect,
    bucket: String,
    created: SharedCreated,
    result: &mut CaseResult,
) -> Result<()> {
    let mut fixture = Fixture::new(ctx.client.clone(), &ctx.region, bucket.clone(), created);
    fixture
        .create_bucket(&bucket)
        .await
        .context("setup: the case's bucket")?;
    for (i, step) in case.setup.iter().enumerate() {
        fixture
            .run_step(step)
            .await
            .with_context(|| format!("setup step {}", i + 1))?;
    }

    let operation: Operation = case.operation.parse().map_err(|e: String| anyhow!(e))?;
    let input = fixture.resolve(&Value::Object(case.input.clone()))?;
    let mut request = operation
        .build_request(&input)
        .map_err(|e| anyhow!("building the request: {e}"))?;
    for (name, value) in &case.raw.query {
        request.set_query(name, Some(&fixture.resolve_text(value)?));
    }
    for (name, value) in &case.raw.headers {
        request.set_header(name, &fixture.resolve_text(value)?);
    }
    for name in &case.raw.remove_headers {
        request.remove_header(name);
    }
    let reproduction = crate::reproduce::reproduction(
        &case.operation,
        &input,
        &request,
        !case.raw.is_empty(),
        &ctx.client.endpoint().url,
    );
    let response = ctx
        .client
        .send_signed(&request, case.raw.signing.as_ref())
        .await
        .map_err(|e| {
            anyhow::Error::new(e).context(format!("{}: transport failure", case.operation))
        })?;
    let parsed = operation.parse_response(&response);
    if parsed.is_ok() && operation.ends_upload() {
        if let Some(id) = input.get("UploadId").and_then(Value::as_str) {
            fixture.forget_upload(id);
        }
    }
    let observed = observe(&response, &parsed);
    result.observed = Some(observed.clone());
    result.verdict = grade(expect, &observed);
    result.reproduction = Some(reproduction);

    if let Some(want) = &expect.message {
        let want = fixture.resolve_text(want)?;
        if observed.message.as_deref() != Some(want.as_str()) && result.verdict == Verdict::Pass {
            result.notes.push(format!(
                "message {:?}, AWS says {want:?}",
                observed.message.clone().unwrap_or_default()
            ));
        }
    }
    if result.verdict != Verdict::Pass {
        return Ok(());
    }
    match &parsed {
        Err(ResponseError::Service(error)) => {
            for (field, want) in &expect.error {
                let want = fixture.resolve_text(want)?;
                let got = error.fields.get(field);
                if got != Some(&want) {
                    result.verdict = Verdict::WrongCode;
                    result.details.push(format!(
                        "error field {field}: expected {want:?}, got {got:?}"
                    ));
                }
            }
        }
        Err(ResponseError::Malformed(m)) => {
            result.verdict = Verdict::DataMismatch;
            result.details.push(format!(
                "the response is not a valid {} output: {m}",
                case.operation
            ));
        }
        Ok(output) => {
            let mut mismatches =
                check_data(ctx, &fixture, expect, &input, output, &mut result.notes).await?;
            for name in &expect.present_headers {
                if response.header(name).is_none() {
                    mismatches.push(format!("response header {name} is missing"));
                }
            }
            for name in &expect.absent_headers {
                if let Some(value) = response.header(name) {
                    mismatches.push(format!(
                        "response header {name} should be absent, got {value:?}"
                    ));
                }
            }
            if !mismatches.is_empty() {
                result.verdict = Verdict::DataMismatch;
                result.details.extend(mismatches);
            }
        }
    }
    Ok(())
}

/// Server text that goes into reports is cut: a server must not be able to flood them.
fn shorten(text: &str) -> String {
    const LIMIT: usize = 1024;
    if text.len() <= LIMIT {
        return text.to_string();
    }
    let mut end = LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

fn observe(response: &HttpResponse, parsed: &Result<Value, ResponseError>) -> Observed {
    match parsed {
        Err(ResponseError::Service(e)) => Observed {
            status: response.status,
            code: Some(e.code.clone()),
            message: (!e.message.is_empty()).then(|| shorten(&e.message)),
        },
        _ => Observed {
            status: response.status,
            code: None,
            message: None,
        },
    }
}

fn unquote(etag: &str) -> String {
    etag.trim().trim_matches('"').to_ascii_lowercase()
}

fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(data))
}

/// Output fields, copied bytes and completed objects. Returns what did not match.
async fn check_data(
    ctx: &RunContext,
    fixture: &Fixture,
    expect: &Expect,
    input: &Value,
    output: &Value,
    notes: &mut Vec<String>,
) -> Result<Vec<String>> {
    // The upload the step under test named.
    let upload = input
        .get("UploadId")
        .and_then(Value::as_str)
        .and_then(|id| fixture.uploads.values().find(|u| u.id == id))
        .or_else(|| fixture.uploads.values().next())
        .cloned();
    // `Parts.0.Size`: a number indexes a list.
    let member = |path: &str| {
        path.split('.')
            .try_fold(output, |v, part| match part.parse::<usize>() {
                Ok(i) => v.get(i),
                Err(_) => v.get(part),
            })
    };
    let mut mismatches = Vec::new();
    for (path, want) in &expect.output {
        let want = fixture.resolve_text(want)?;
        let got = member(path);
        // Numbers and booleans compare by their text, as the scenario writes them.
        let text = got.map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        if text.as_deref() == Some(want.as_str()) {
            continue;
        }
        // An ETag is the same ETag with or without its quotes: the value is what a field
        // elsewhere is compared with, how each response quotes it is a matter of its own.
        let is_etag = path.rsplit('.').next() == Some("ETag");
        match text {
            Some(t) if is_etag && unquote(&t) == unquote(&want) => notes.push(format!(
                "output {path}: {t:?} is {want:?} but for its quotes"
            )),
            _ => mismatches.push(format!("output {path}: expected {want:?}, got {got:?}")),
        }
    }
    for path in &expect.present {
        if member(path).is_none_or(|v| v.as_str() == Some("")) {
            mismatches.push(format!("output {path} is missing"));
        }
    }
    if let Some(selector) = &expect.copied {
        let bytes = fixture.bytes(selector)?;
        // The output as its model type again, for the members it has by algorithm.
        let result = output
            .get("CopyPartResult")
            .map(CopyPartResult::from_scenario)
            .transpose()
            .map_err(|e| anyhow!("CopyPartResult: {e}"))?
            .unwrap_or_default();
        let etag = result.e_tag.as_deref();
        match etag {
            Some(etag) if unquote(etag) == bytes.md5_hex() => {}
            Some(etag) => mismatches.push(format!(
                "part ETag {etag} is not the MD5 of the {} bytes of {selector} ({})",
                bytes.len(),
                bytes.md5_hex()
            )),
            None => mismatches.push("no CopyPartResult.ETag in the response".into()),
        }
        let mut checksum_value = None;
        if let Some(algorithm) = &expect.checksum {
            let want = checksum(algorithm, &bytes)?;
            let got = result.checksum(algorithm);
            if got != Some(want.as_str()) {
                mismatches.push(format!(
                    "CopyPartResult.Checksum{algorithm}: expected {want:?} for the copied bytes, got {got:?}"
                ));
            }
            checksum_value = got.map(|g| (algorithm.clone(), g.to_string()));
        }
        // Read the part back: complete the upload with it alone and compare the object.
        if let Some(etag) = etag {
            let mut up = upload.clone().context("a copy case needs an upload")?;
            let part_number = input.get("PartNumber").and_then(Value::as_i64).unwrap_or(1);
            let mut part = generated::shapes::CompletedPart {
                part_number: i32::try_from(part_number).ok(),
                e_tag: Some(etag.to_string()),
                ..Default::default()
            };
            if let Some((algorithm, value)) = &checksum_value {
                part.set_checksum(algorithm, value.clone());
            }
            up.parts = [(part_number, part)].into();
            let sse = fixture.sse_for(up.sse_c);
            match fixtures::complete(&ctx.client, &up, sse).await {
                Ok(_) => {
                    fixture.forget_upload(&up.id);
                    mismatches.extend(check_object(ctx, &up.bucket, &up.key, &bytes, sse).await)
                }
                // Complete is not the operation under test: its refusal leaves the bytes
                // unchecked (the part ETag was), and says so.
                Err(e) => notes.push(format!(
                    "bytes not read back: completing the upload with this part alone failed: {e:#}"
                )),
            }
        }
    }
    if let Some(selector) = &expect.completed {
        let bytes = fixture.bytes(selector)?;
        let up = upload.context("a complete case needs an upload")?;
        let md5s = fixture.part_md5s(selector)?;
        let joined: Vec<u8> = md5s.concat();
        let multipart_etag = format!("{}-{}", md5_hex(&joined), md5s.len());
        let etag = output.get("ETag").and_then(Value::as_str).map(unquote);
        if etag.as_deref() != Some(multipart_etag.as_str()) {
            mismatches.push(format!(
                "object ETag {etag:?}, expected the multipart ETag {multipart_etag}"
            ));
        }
        mismatches.extend(
            check_object(ctx, &up.bucket, &up.key, &bytes, fixture.sse_for(up.sse_c)).await,
        );
    }
    Ok(mismatches)
}

/// A checksum as S3 writes it: base64 of the big-endian digest, computed by streaming.
fn checksum(algorithm: &str, bytes: &Content) -> Result<String> {
    use base64::Engine;
    let all = |f: &mut dyn FnMut(&[u8])| bytes.for_each_chunk(0, bytes.len(), f);
    let digest = match algorithm {
        "CRC32" => {
            let mut h = crc32fast::Hasher::new();
            all(&mut |b| h.update(b));
            h.finalize().to_be_bytes().to_vec()
        }
        "CRC32C" => {
            let mut crc = 0;
            all(&mut |b| crc = crc32c::crc32c_append(crc, b));
            crc.to_be_bytes().to_vec()
        }
        "SHA1" => {
            use sha1::Digest;
            let mut h = sha1::Sha1::new();
            all(&mut |b| h.update(b));
            h.finalize().to_vec()
        }
        "SHA256" => {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            all(&mut |b| h.update(b));
            h.finalize().to_vec()
        }
        other => anyhow::bail!("checksum algorithm {other} is not supported by the harness"),
    };
    Ok(base64::engine::general_purpose::STANDARD.encode(digest))
}

/// Reads the object back as a stream and compares it with `bytes` as it arrives.
async fn check_object(
    ctx: &RunContext,
    bucket: &str,
    key: &str,
    bytes: &Content,
    sse: Option<&fixtures::SseKey>,
) -> Vec<String> {
    match fixtures::read_back(&ctx.client, bucket, key, sse, bytes).await {
        Ok(None) => vec![],
        Ok(Some(d)) => vec![format!(
            "the object holds {} bytes (MD5 {}), expected {} bytes (MD5 {}); they differ from byte {} on",
            d.received_len,
            d.received_md5,
            bytes.len(),
            bytes.md5_hex(),
            d.first_difference
        )],
        Err(e) => vec![format!("the object could not be read back: {e:#}")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_by_streaming_are_those_of_the_bytes() {
        use base64::Engine;
        let c = Content::generated("src", 3 * crate::content::CHUNK as u64 + 11);
        let bytes = c.to_vec();
        let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
        assert_eq!(
            checksum("CRC32", &c).unwrap(),
            b64(&crc32fast::hash(&bytes).to_be_bytes())
        );
        assert_eq!(
            checksum("CRC32C", &c).unwrap(),
            b64(&crc32c::crc32c(&bytes).to_be_bytes())
        );
        {
            use sha1::Digest;
            assert_eq!(
                checksum("SHA1", &c).unwrap(),
                b64(&sha1::Sha1::digest(&bytes))
            );
        }
        {
            use sha2::Digest;
            assert_eq!(
                checksum("SHA256", &c).unwrap(),
                b64(&sha2::Sha256::digest(&bytes))
            );
        }
        assert!(checksum("MD4", &c).is_err());
        assert_eq!(c.md5_hex(), md5_hex(&bytes));
    }
}
