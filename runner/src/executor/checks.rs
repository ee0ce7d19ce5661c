//! The checks an expectation declares, once the status and code are graded: the error's
//! message and fields (`error-details` when they differ), output members, headers,
//! ETags and checksums (`wrong-metadata`), and the bytes read back (`data-mismatch`).

use super::step::Sent;
use super::{find, RunContext};
use crate::content::{Content, Difference};
use crate::fixtures::{self, Fixture, SseKey, UploadInfo};
use crate::grade::failure_verdict;
use anyhow::{anyhow, Context, Result};
use contract::results::CaseResult;
use contract::{Expect, Stored, Verdict};
use generated::operations::{CopyObjectOutput, Operation, UploadPartCopyOutput, UploadPartOutput};
use generated::shapes::CompletedPart;
use serde_json::Value;
use wire::{Checksums, ResponseError, ToJson};

pub async fn run(
    ctx: &RunContext,
    fixture: &Fixture,
    expect: &Expect,
    sent: &Sent,
    result: &mut CaseResult,
) -> Result<()> {
    // Checks run on a pass, and on a success with another 2xx status: its bytes may be
    // wrong too (a whole object where a part was asked for).
    let both_succeeded = (200..300).contains(&expect.status)
        && (200..300).contains(&sent.observed.status)
        && sent.observed.code.is_none();
    if result.verdict != Verdict::Pass && !both_succeeded {
        return Ok(());
    }
    match &sent.parsed {
        Err(ResponseError::Service(error)) => {
            if let Some(want) = &expect.message {
                let want = fixture.resolve_text(want)?;
                if error.message != want {
                    find(
                        result,
                        Verdict::ErrorDetails,
                        format!("message {:?}, AWS says {want:?}", error.message),
                    );
                }
            }
            for (field, want) in &expect.error {
                let want = fixture.resolve_text(want)?;
                let got = error.fields.get(field);
                if got != Some(&want) {
                    find(
                        result,
                        Verdict::ErrorDetails,
                        format!("error field {field}: expected {want:?}, got {got:?}"),
                    );
                }
            }
        }
        Err(ResponseError::Malformed(m)) => find(
            result,
            Verdict::WrongMetadata,
            format!(
                "the answer is not a valid {} output: {m}",
                sent.operation.name()
            ),
        ),
        Ok(output) => {
            check_output(fixture, expect, output, result)?;
            check_headers(expect, sent, result);
            if let Some(stored) = &expect.stored {
                check_stored(ctx, fixture, stored, sent, result).await?;
            }
            if let (Some(selector), Operation::CopyObject) = (&expect.copied, sent.operation) {
                check_object_copy(ctx, fixture, expect, sent, selector, result).await?;
            } else if let Some(selector) = &expect.copied {
                let copy = UploadPartCopyOutput::parse(&sent.response)
                    .map_err(|e| anyhow!("UploadPartCopy: {e}"))?
                    .copy_part_result
                    .unwrap_or_default();
                let answer = PartAnswer {
                    field: "CopyPartResult.ETag",
                    etag: copy.e_tag.clone(),
                    checksum: expect
                        .checksum
                        .as_ref()
                        .and_then(|a| copy.checksum(a).map(str::to_string)),
                };
                check_part(ctx, fixture, expect, sent, &answer, selector, result).await?;
            }
            if let Some(selector) = &expect.uploaded {
                let out = UploadPartOutput::parse(&sent.response)
                    .map_err(|e| anyhow!("UploadPart: {e}"))?;
                let answer = PartAnswer {
                    field: "ETag",
                    etag: out.e_tag.clone(),
                    checksum: expect
                        .checksum
                        .as_ref()
                        .and_then(|a| out.checksum(a).map(str::to_string)),
                };
                check_part(ctx, fixture, expect, sent, &answer, selector, result).await?;
            }
            if let Some(selector) = &expect.body {
                check_body(fixture, sent, selector, result)?;
            }
            if let Some(selector) = &expect.completed {
                check_completed(ctx, fixture, sent, output, selector, result).await?;
            }
        }
    }
    Ok(())
}

fn unquote(etag: &str) -> String {
    etag.trim().trim_matches('"').to_ascii_lowercase()
}

/// Output members by dotted path (`Parts.0.Size`: a number indexes a list).
fn check_output(
    fixture: &Fixture,
    expect: &Expect,
    output: &Value,
    result: &mut CaseResult,
) -> Result<()> {
    let member = |path: &str| {
        path.split('.')
            .try_fold(output, |v, part| match part.parse::<usize>() {
                Ok(i) => v.get(i),
                Err(_) => v.get(part),
            })
    };
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
            Some(t) if is_etag && unquote(&t) == unquote(&want) => result.notes.push(format!(
                "output {path}: {t:?} is {want:?} but for its quotes"
            )),
            None => find(
                result,
                Verdict::WrongMetadata,
                format!("output {path} is missing (expected {want:?})"),
            ),
            Some(t) => find(
                result,
                Verdict::WrongMetadata,
                format!("output {path}: expected {want:?}, got {t:?}"),
            ),
        }
    }
    for path in &expect.present {
        if member(path).is_none_or(|v| v.as_str() == Some("")) {
            find(
                result,
                Verdict::WrongMetadata,
                format!("output {path} is missing"),
            );
        }
    }
    Ok(())
}

fn check_headers(expect: &Expect, sent: &Sent, result: &mut CaseResult) {
    for name in &expect.present_headers {
        if sent.response.header(name).is_none() {
            find(
                result,
                Verdict::WrongMetadata,
                format!("response header {name} is missing"),
            );
        }
    }
    for name in &expect.absent_headers {
        if let Some(value) = sent.response.header(name) {
            find(
                result,
                Verdict::WrongMetadata,
                format!("response header {name} should be absent, got {value:?}"),
            );
        }
    }
}

/// The upload the step under test named.
fn upload_of(fixture: &Fixture, sent: &Sent) -> Result<UploadInfo> {
    sent.input
        .get("UploadId")
        .and_then(Value::as_str)
        .and_then(|id| fixture.uploads.values().find(|u| u.id == id))
        .or_else(|| fixture.uploads.values().next())
        .cloned()
        .context("the case names no upload")
}

/// What an UploadPart or UploadPartCopy said of the part it made.
struct PartAnswer {
    /// Where the ETag is: `CopyPartResult.ETag`, `ETag`.
    field: &'static str,
    etag: Option<String>,
    /// The checksum of the algorithm the expectation names.
    checksum: Option<String>,
}

/// A part the step under test made (a copy or an upload): its ETag (the MD5 of the bytes,
/// except under SSE-C), its checksum, and its bytes, read back by completing the upload
/// with this part alone.
async fn check_part(
    ctx: &RunContext,
    fixture: &Fixture,
    expect: &Expect,
    sent: &Sent,
    answer: &PartAnswer,
    selector: &str,
    result: &mut CaseResult,
) -> Result<()> {
    let bytes = fixture.bytes(selector)?;
    let mut up = upload_of(fixture, sent)?;
    let Some(etag) = answer.etag.as_deref() else {
        find(
            result,
            Verdict::WrongMetadata,
            format!(
                "no {} in the answer: the part cannot be named in a Complete, its bytes were not read back",
                answer.field
            ),
        );
        return Ok(());
    };
    if up.sse_c {
        // Under SSE-C AWS's part ETags are not the MD5 of the plaintext (identical parts
        // get different ones): the bytes read back with the key are what is checked.
        result
            .notes
            .push("SSE-C: the part ETag is not compared with the MD5 of the bytes".into());
    } else if unquote(etag) != bytes.md5_hex() {
        find(
            result,
            Verdict::WrongMetadata,
            format!(
                "part ETag {etag} is not the MD5 of the {} bytes of {selector} ({})",
                bytes.len(),
                bytes.md5_hex()
            ),
        );
    }
    let part_number = sent
        .input
        .get("PartNumber")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let mut part = CompletedPart {
        part_number: i32::try_from(part_number).ok(),
        e_tag: Some(etag.to_string()),
        ..Default::default()
    };
    if let Some(algorithm) = &expect.checksum {
        let want = crate::checksum::of(algorithm, &bytes)?;
        let got = answer.checksum.as_deref();
        if got != Some(want.as_str()) {
            find(
                result,
                Verdict::WrongMetadata,
                format!(
                    "the part's {algorithm} checksum: expected {want:?} for its bytes, got {got:?}"
                ),
            );
        }
        if let Some(value) = got {
            part.set_checksum(algorithm, value.to_string());
        }
    }
    up.parts = [(part_number, part)].into();
    let sse = fixture.sse_for(up.sse_c);
    match fixtures::complete(&ctx.client, &up, sse, None).await {
        Ok(_) => {
            fixture.forget_upload(&up.id);
            read_back(ctx, &up, &bytes, sse, result).await;
        }
        // The copy is unfounded until its bytes are read back: the step that stopped it
        // grades the case.
        Err(e) => find(
            result,
            failure_verdict(&e),
            format!("read-back: completing the upload with this part alone failed: {e:#}"),
        ),
    }
    Ok(())
}

/// A read's body, byte for byte.
fn check_body(
    fixture: &Fixture,
    sent: &Sent,
    selector: &str,
    result: &mut CaseResult,
) -> Result<()> {
    let want = fixture.bytes(selector)?;
    let got = &sent.response.body;
    let expected = want.to_vec();
    if *got != expected {
        let first = got
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(expected.len()));
        let md5 = {
            use md5::Digest;
            hex::encode(md5::Md5::digest(got))
        };
        find(
            result,
            Verdict::DataMismatch,
            format!(
                "the body differs from {selector}: {} bytes (MD5 {md5}), expected {} bytes (MD5 {}); they differ from byte {first} on",
                got.len(),
                want.len(),
                want.md5_hex()
            ),
        );
    }
    Ok(())
}

/// A CopyObject: the new object's ETag (the MD5 of its bytes, a single-part ETag even
/// from a multipart source, except under SSE-C), its checksum, and its bytes read back.
async fn check_object_copy(
    ctx: &RunContext,
    fixture: &Fixture,
    expect: &Expect,
    sent: &Sent,
    selector: &str,
    result: &mut CaseResult,
) -> Result<()> {
    let bytes = fixture.bytes(selector)?;
    let copy = CopyObjectOutput::parse(&sent.response)
        .map_err(|e| anyhow!("CopyObject: {e}"))?
        .copy_object_result
        .unwrap_or_default();
    let text = |member: &str| sent.input.get(member).and_then(Value::as_str);
    let encrypted = text("SSECustomerKey").is_some();
    match copy.e_tag.as_deref() {
        None => find(
            result,
            Verdict::WrongMetadata,
            "no CopyObjectResult.ETag in the answer".into(),
        ),
        Some(_) if encrypted => result
            .notes
            .push("SSE-C: the object's ETag is not compared with the MD5 of the bytes".into()),
        Some(etag) if unquote(etag) != bytes.md5_hex() => find(
            result,
            Verdict::WrongMetadata,
            format!(
                "object ETag {etag} is not the MD5 of the {} bytes of {selector} ({})",
                bytes.len(),
                bytes.md5_hex()
            ),
        ),
        Some(_) => {}
    }
    if let Some(algorithm) = &expect.checksum {
        let want = crate::checksum::of(algorithm, &bytes)?;
        let got = copy.checksum(algorithm);
        if got != Some(want.as_str()) {
            find(
                result,
                Verdict::WrongMetadata,
                format!("CopyObjectResult.Checksum{algorithm}: expected {want:?} for its bytes, got {got:?}"),
            );
        }
    }
    let (Some(bucket), Some(key)) = (text("Bucket"), text("Key")) else {
        return Ok(());
    };
    let sse = encrypted.then_some(&fixture.sse);
    match fixtures::read_back(&ctx.client, bucket, key, sse, &bytes).await {
        Ok(None) => {}
        Ok(Some(d)) => find(result, Verdict::DataMismatch, difference(&bytes, &d)),
        Err(e) => find(
            result,
            failure_verdict(&e),
            format!("read-back: the copy could not be read: {e:#}"),
        ),
    }
    Ok(())
}

/// The object the step wrote, as HeadObject (and GetObjectTagging) show it.
async fn check_stored(
    ctx: &RunContext,
    fixture: &Fixture,
    stored: &Stored,
    sent: &Sent,
    result: &mut CaseResult,
) -> Result<()> {
    let text = |member: &str| sent.input.get(member).and_then(Value::as_str);
    let (Some(bucket), Some(key)) = (text("Bucket"), text("Key")) else {
        return Ok(());
    };
    let sse = text("SSECustomerKey").is_some().then_some(&fixture.sse);
    let head = match fixtures::head_object(&ctx.client, bucket, key, sse, None).await {
        Ok(head) => head,
        Err(e) => {
            find(
                result,
                failure_verdict(&e),
                format!("HeadObject of the written object failed: {e:#}"),
            );
            return Ok(());
        }
    };
    let json = head.to_json();
    for (member, want) in &stored.head {
        let want = fixture.resolve_text(want)?;
        let got = json.get(member).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        if got.as_deref().unwrap_or("") != want {
            let wanted = if want.is_empty() {
                "none".to_string()
            } else {
                format!("{want:?}")
            };
            find(
                result,
                Verdict::WrongMetadata,
                format!("the written object's {member}: expected {wanted}, got {got:?}"),
            );
        }
    }
    if let Some(want) = &stored.metadata {
        let got = head.metadata.clone().unwrap_or_default();
        if &got != want {
            find(
                result,
                Verdict::WrongMetadata,
                format!("the written object's metadata: expected {want:?}, got {got:?}"),
            );
        }
    }
    if let Some(want) = &stored.tags {
        match fixtures::object_tags(&ctx.client, bucket, key).await {
            Ok(got) if &got == want => {}
            Ok(got) => find(
                result,
                Verdict::WrongMetadata,
                format!("the written object's tags: expected {want:?}, got {got:?}"),
            ),
            Err(e) => find(
                result,
                failure_verdict(&e),
                format!("GetObjectTagging of the written object failed: {e:#}"),
            ),
        }
    }
    if let Some(want) = &stored.parts_count {
        match fixtures::head_object(&ctx.client, bucket, key, sse, Some(1)).await {
            Ok(part) => {
                let got = part.parts_count.map(|n| n.to_string()).unwrap_or_default();
                if &got != want {
                    find(
                        result,
                        Verdict::WrongMetadata,
                        format!(
                            "the written object's part count (HeadObject partNumber=1): expected {}, got {}",
                            if want.is_empty() { "none" } else { want },
                            if got.is_empty() { "none" } else { &got }
                        ),
                    );
                }
            }
            Err(e) => find(
                result,
                failure_verdict(&e),
                format!("HeadObject partNumber=1 of the written object failed: {e:#}"),
            ),
        }
    }
    Ok(())
}

/// A Complete: the multipart ETag of the named parts, and the object's bytes.
async fn check_completed(
    ctx: &RunContext,
    fixture: &Fixture,
    sent: &Sent,
    output: &Value,
    selector: &str,
    result: &mut CaseResult,
) -> Result<()> {
    let bytes = fixture.bytes(selector)?;
    let up = upload_of(fixture, sent)?;
    let md5s = fixture.part_md5s(selector)?;
    let multipart_etag = {
        use md5::Digest;
        format!(
            "{}-{}",
            hex::encode(md5::Md5::digest(md5s.concat())),
            md5s.len()
        )
    };
    let etag = output.get("ETag").and_then(Value::as_str).map(unquote);
    if up.sse_c {
        result
            .notes
            .push("SSE-C: the object ETag is not compared with the MD5s of the parts".into());
    } else if etag.as_deref() != Some(multipart_etag.as_str()) {
        find(
            result,
            Verdict::WrongMetadata,
            format!("object ETag {etag:?}, expected the multipart ETag {multipart_etag}"),
        );
    }
    read_back(ctx, &up, &bytes, fixture.sse_for(up.sse_c), result).await;
    Ok(())
}

/// Reads the object back as a stream and compares it with `bytes` as it arrives.
async fn read_back(
    ctx: &RunContext,
    up: &UploadInfo,
    bytes: &Content,
    sse: Option<&SseKey>,
    result: &mut CaseResult,
) {
    match fixtures::read_back(&ctx.client, &up.bucket, &up.key, sse, bytes).await {
        Ok(None) => {}
        Ok(Some(d)) => find(result, Verdict::DataMismatch, difference(bytes, &d)),
        Err(e) => find(
            result,
            failure_verdict(&e),
            format!("read-back: the object could not be read: {e:#}"),
        ),
    }
}

/// Where the bytes read back differ: sizes, MD5s, the first differing offset.
fn difference(expected: &Content, d: &Difference) -> String {
    format!(
        "the bytes read back differ: the object holds {} bytes (MD5 {}), expected {} bytes (MD5 {}); they differ from byte {} on",
        d.received_len,
        d.received_md5,
        expected.len(),
        expected.md5_hex(),
        d.first_difference
    )
}
