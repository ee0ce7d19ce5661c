//! Finds out, once a run, what the target supports, so that a case needing a missing
//! capability is `skipped` with the reason instead of failing. Capabilities come from
//! what the server does, never from a list of vendors.

use crate::client::Client;
use crate::fixtures::{self, Created, Fixture};
use anyhow::{Context, Result};
use contract::Step;
use generated::operations::{
    CreateMultipartUploadInput, CreateMultipartUploadOutput, GetObjectInput, GetObjectOutput,
    PutObjectInput,
};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// Probes in a bucket of its own, removed afterwards. An error means the target is not
/// usable at all (it could not even create a bucket).
pub async fn probe(client: &Client, region: &str, run_id: &str) -> Result<BTreeSet<String>> {
    let bucket = format!("mpc-{run_id}-probe");
    let created = Arc::new(Mutex::new(Created::default()));
    let mut fixture = Fixture::new(client.clone(), region, bucket.clone(), created.clone());
    fixture.create_bucket(&bucket).await.context(
        "CreateBucket failed (is the endpoint an S3 server, and are the credentials right?)",
    )?;
    let mut capabilities = BTreeSet::new();
    if versioning(&mut fixture).await.unwrap_or(false) {
        capabilities.insert("versioning".to_string());
    }
    if sse_c(&mut fixture).await.unwrap_or(false) {
        capabilities.insert("sse-c".to_string());
    }
    if checksums(&mut fixture).await.unwrap_or(false) {
        capabilities.insert("checksums".to_string());
    }
    if checksum_types(&mut fixture).await.unwrap_or(false) {
        capabilities.insert("checksum-types".to_string());
    }
    if conditional_writes(&mut fixture).await.unwrap_or(false) {
        capabilities.insert("conditional-writes".to_string());
    }
    if streaming(&mut fixture).await.unwrap_or(false) {
        capabilities.insert("streaming".to_string());
    }
    let snapshot = std::mem::take(&mut *created.lock().unwrap_or_else(|p| p.into_inner()));
    for failure in fixtures::cleanup(client, &snapshot).await {
        eprintln!("cleanup after probing: {}", failure.line);
    }
    Ok(capabilities)
}

fn put(name: &str, sse_c: bool) -> Step {
    Step::PutObject {
        name: name.into(),
        key: None,
        bucket: "bucket".into(),
        size: 16,
        sse_c,
        checksum_algorithm: None,
        input: Default::default(),
    }
}

/// Versioning works when a write to a versioned bucket gets a real version id.
async fn versioning(fixture: &mut Fixture) -> Result<bool> {
    fixture
        .run_step(&Step::EnableVersioning {
            bucket: "bucket".into(),
        })
        .await?;
    fixture.run_step(&put("versioned", false)).await?;
    let version = fixture
        .objects
        .get("versioned")
        .and_then(|o| o.version_id.clone());
    Ok(version.is_some_and(|v| !v.is_empty() && v != "null"))
}

/// SSE-C works when an object written with a customer key cannot be read without it and
/// reads back whole with it.
async fn sse_c(fixture: &mut Fixture) -> Result<bool> {
    fixture.run_step(&put("encrypted", true)).await?;
    let object = fixture
        .objects
        .get("encrypted")
        .context("probe object")?
        .clone();
    let without = GetObjectInput {
        bucket: Some(object.bucket.clone()),
        key: Some(object.key.clone()),
        ..Default::default()
    };
    let response = fixture
        .client
        .send(&without.build()?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if GetObjectOutput::parse(&response).is_ok() {
        return Ok(false);
    }
    let with = fixtures::get_object(
        &fixture.client,
        &object.bucket,
        &object.key,
        Some(&fixture.sse),
    )
    .await?;
    Ok(with.body.as_deref() == Some(object.data.to_vec().as_slice()))
}

/// Checksums work when CreateMultipartUpload takes an algorithm and says so back.
async fn checksums(fixture: &mut Fixture) -> Result<bool> {
    let input = CreateMultipartUploadInput {
        bucket: Some(fixture.bucket.clone()),
        key: Some("checksummed".into()),
        checksum_algorithm: Some("CRC32C".into()),
        ..Default::default()
    };
    let response = fixture
        .client
        .send(&input.build()?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let Ok(out) = CreateMultipartUploadOutput::parse(&response) else {
        return Ok(false);
    };
    if let Some(id) = &out.upload_id {
        // Abort it now: the probe's cleanup only knows uploads made through setup steps.
        let abort = generated::operations::AbortMultipartUploadInput {
            bucket: Some(fixture.bucket.clone()),
            key: Some("checksummed".into()),
            upload_id: Some(id.clone()),
            ..Default::default()
        };
        let _ = fixture.client.send(&abort.build()?).await;
    }
    Ok(out.checksum_algorithm.as_deref() == Some("CRC32C"))
}

/// Sends a CreateMultipartUpload and aborts what it started (the probe's cleanup only knows
/// uploads made through setup steps).
async fn create_and_abort(
    fixture: &mut Fixture,
    input: CreateMultipartUploadInput,
) -> Result<Option<CreateMultipartUploadOutput>> {
    let response = fixture
        .client
        .send(&input.build()?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let Ok(out) = CreateMultipartUploadOutput::parse(&response) else {
        return Ok(None);
    };
    if let Some(id) = &out.upload_id {
        let abort = generated::operations::AbortMultipartUploadInput {
            bucket: input.bucket.clone(),
            key: input.key.clone(),
            upload_id: Some(id.clone()),
            ..Default::default()
        };
        let _ = fixture.client.send(&abort.build()?).await;
    }
    Ok(Some(out))
}

/// Checksum types work when a FULL_OBJECT CRC32 upload is taken and said so back.
async fn checksum_types(fixture: &mut Fixture) -> Result<bool> {
    let input = CreateMultipartUploadInput {
        bucket: Some(fixture.bucket.clone()),
        key: Some("typed".into()),
        checksum_algorithm: Some("CRC32".into()),
        checksum_type: Some("FULL_OBJECT".into()),
        ..Default::default()
    };
    let out = create_and_abort(fixture, input).await?;
    Ok(out.is_some_and(|o| o.checksum_type.as_deref() == Some("FULL_OBJECT")))
}

/// Conditional writes work when a PutObject with `If-None-Match: *` on a key that exists
/// is refused with 412.
async fn conditional_writes(fixture: &mut Fixture) -> Result<bool> {
    fixture.run_step(&put("conditional", false)).await?;
    let input = PutObjectInput {
        bucket: Some(fixture.bucket.clone()),
        key: Some("conditional".into()),
        if_none_match: Some("*".into()),
        ..Default::default()
    };
    let response = fixture
        .client
        .send(&input.build()?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(response.status == 412)
}

/// Streaming uploads work when a PutObject sent as today's SDKs send it (an unsigned
/// aws-chunked body with a trailing CRC32) stores exactly the decoded bytes.
async fn streaming(fixture: &mut Fixture) -> Result<bool> {
    let data = b"streamed as the SDKs stream uploads".to_vec();
    let input = PutObjectInput {
        bucket: Some(fixture.bucket.clone()),
        key: Some("streamed".into()),
        ..Default::default()
    };
    fixture.note_step_created(&fixture.bucket.clone(), "streamed", None);
    let spec = contract::Streaming {
        form: contract::StreamingForm::UnsignedTrailer,
        trailer: Some("CRC32".into()),
        chunk: 65536,
        fault: None,
    };
    let response = fixture
        .client
        .send_streaming(&input.build()?, &data, &spec)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !(200..300).contains(&response.status) {
        return Ok(false);
    }
    let back = fixtures::get_object(&fixture.client, &fixture.bucket, "streamed", None).await?;
    Ok(back.body.as_deref() == Some(data.as_slice()))
}
