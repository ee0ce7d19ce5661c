//! The step under test: the request built from the case's input, changed as `raw` says,
//! signed and sent once; the answer reduced to what grading needs.

use super::RunContext;
use crate::content::Content;
use crate::fixtures::Fixture;
use anyhow::{anyhow, Result};
use contract::results::{Observed, Reproduction};
use contract::Case;
use generated::operations::Operation;
use serde_json::Value;
use wire::{HttpResponse, ResponseError};

/// What was sent and what came back.
pub struct Sent {
    pub operation: Operation,
    /// The input with its placeholders resolved.
    pub input: Value,
    pub response: HttpResponse,
    /// The answer read as the operation's output (JSON by model member names), or why not.
    pub parsed: Result<Value, ResponseError>,
    pub observed: Observed,
    pub reproduction: Reproduction,
}

pub async fn send(ctx: &RunContext, case: &Case, fixture: &mut Fixture) -> Result<Sent> {
    let operation: Operation = case.operation.parse().map_err(|e: String| anyhow!(e))?;
    // The step's own payload, named so that the input and expectations can refer to it.
    let payload = case.body.as_ref().map(|b| {
        let content = Content::generated(&b.name, b.size);
        fixture.name_bytes(&b.name, content.clone());
        content
    });
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
    if let Some(content) = &payload {
        request.body = content.to_vec();
    }
    let reproduction = crate::reproduce::reproduction(
        &case.operation,
        &input,
        &request,
        !case.raw.is_empty(),
        &ctx.client.endpoint().url,
    );
    let response = match &case.raw.streaming {
        Some(spec) => {
            let body = std::mem::take(&mut request.body);
            ctx.client.send_streaming(&request, &body, spec).await
        }
        None => {
            ctx.client
                .send_signed(&request, case.raw.signing.as_ref())
                .await
        }
    }
    .map_err(|e| anyhow::Error::new(e).context(format!("{}: transport failure", case.operation)))?;
    let parsed = operation.parse_response(&response);
    note_created(fixture, operation, &input, &parsed);
    if parsed.is_ok() && operation.ends_upload() {
        if let Some(id) = input.get("UploadId").and_then(Value::as_str) {
            fixture.forget_upload(id);
        }
    }
    let observed = observe(&response, &parsed);
    Ok(Sent {
        operation,
        input,
        response,
        parsed,
        observed,
        reproduction,
    })
}

/// The step under test may create what cleanup must remove: the key it names (in a bucket
/// of the case: cleanup only empties those), and an upload it started.
fn note_created(
    fixture: &Fixture,
    operation: Operation,
    input: &Value,
    parsed: &Result<Value, ResponseError>,
) {
    let text = |v: &Value, member: &str| v.get(member).and_then(Value::as_str).map(str::to_string);
    let (Some(bucket), Some(key)) = (text(input, "Bucket"), text(input, "Key")) else {
        return;
    };
    let upload = match parsed {
        Ok(output) if operation.starts_upload() => text(output, "UploadId"),
        _ => None,
    };
    fixture.note_step_created(&bucket, &key, upload.as_deref());
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
