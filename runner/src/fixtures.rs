//! What a case sets up, the names it gives those things, and their removal.
//!
//! Every bucket, object, version and upload a case creates is recorded in `Created` the
//! moment the server confirms it, so that cleanup removes exactly that — and nothing the
//! case did not create — even when the case failed or ran out of time.

use crate::client::Client;
pub use crate::content::Content;
use anyhow::{anyhow, bail, Context, Result};
use base64::Engine;
use contract::placeholder::{self, Offset, Placeholder};
use contract::Step;
use generated::operations::*;
use generated::shapes::{
    CompletedMultipartUpload, CompletedPart, CreateBucketConfiguration, VersioningConfiguration,
};
use md5::Digest;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use wire::{encode, encode_greedy, OperationInput, SseCustomer, ToJson};

/// Bytes nobody can predict: run ids and customer keys.
pub fn random_bytes(n: usize) -> Vec<u8> {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        let mut h = RandomState::new().build_hasher();
        h.write_u128(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        h.write_usize(out.len());
        out.extend_from_slice(&h.finish().to_le_bytes());
    }
    out.truncate(n);
    out
}

/// An SSE-C customer key, base64, with its MD5. Made fresh for every case and never
/// written to a report.
#[derive(Clone)]
pub struct SseKey {
    pub key: String,
    pub key_md5: String,
}

impl SseKey {
    pub fn random() -> SseKey {
        let raw = random_bytes(32);
        let b64 = base64::engine::general_purpose::STANDARD;
        SseKey {
            key: b64.encode(&raw),
            key_md5: b64.encode(md5::Md5::digest(&raw)),
        }
    }
}

impl std::fmt::Debug for SseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SseKey(redacted)")
    }
}

/// What a write answered, before the object is recorded.
struct Written {
    bucket: String,
    key: String,
    etag: Option<String>,
    version_id: Option<String>,
    data: Content,
}

#[derive(Debug, Clone)]
pub struct ObjectInfo {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub version_id: Option<String>,
    /// The delete marker a delete-object step put over this version.
    pub delete_marker: Option<String>,
    pub last_modified: Option<SystemTime>,
    /// What the object holds, described (see [`content`]).
    pub data: Content,
}

#[derive(Debug, Clone)]
pub struct UploadInfo {
    pub bucket: String,
    pub key: String,
    pub id: String,
    pub sse_c: bool,
    /// Parts uploaded by setup, as a Complete request names them.
    pub parts: BTreeMap<i64, CompletedPart>,
}

/// Everything a case created on the target, for cleanup.
#[derive(Debug, Default)]
pub struct Created {
    pub buckets: Vec<String>,
    /// Keys per bucket that exist or may exist because of the case.
    pub keys: BTreeMap<String, BTreeSet<String>>,
    pub versioned: BTreeSet<String>,
    /// Open uploads: (bucket, key, upload id).
    pub uploads: Vec<(String, String, String)>,
}

pub type SharedCreated = Arc<Mutex<Created>>;

/// The names a case's setup gives things, and how to reach the target.
pub struct Fixture {
    pub client: Client,
    pub region: String,
    /// The case's main bucket: `{bucket.name}`.
    pub bucket: String,
    /// A name prefix no case creates: `{missing.*}`.
    pub missing_prefix: String,
    pub buckets: BTreeMap<String, String>,
    pub objects: BTreeMap<String, ObjectInfo>,
    pub uploads: BTreeMap<String, UploadInfo>,
    /// `{sse.key}` and `{sse.other_key}`.
    pub sse: SseKey,
    pub other_sse: SseKey,
    pub created: SharedCreated,
}

/// Sends an operation's input and reads its output, naming the operation in errors.
async fn call<I: OperationInput>(client: &Client, input: &I) -> Result<I::Output> {
    let what = I::OPERATION;
    let request = input.build().map_err(|e| anyhow!("{what}: {e}"))?;
    let response = client
        .send(&request)
        .await
        .map_err(|e| anyhow::Error::new(e).context(what))?;
    I::parse_output(&response).map_err(|e| anyhow!("{what}: {e}"))
}

/// Bodies at least this large are streamed from the generator and signed with
/// UNSIGNED-PAYLOAD; smaller ones are sent whole with their SHA-256, as before.
pub const STREAM_FROM: u64 = 1 << 20;

/// Sends a setup request whose body is `content` (streamed when large), as [`call`] does.
async fn call_with_body<I: OperationInput>(
    client: &Client,
    input: &I,
    content: &Content,
) -> Result<I::Output> {
    let what = I::OPERATION;
    let mut request = input.build().map_err(|e| anyhow!("{what}: {e}"))?;
    let response = if content.len() >= STREAM_FROM {
        client.send_content(&request, content).await
    } else {
        request.body = content.to_vec();
        client.send(&request).await
    }
    .map_err(|e| anyhow::Error::new(e).context(what))?;
    I::parse_output(&response).map_err(|e| anyhow!("{what}: {e}"))
}

/// Gives an input the customer key, when there is one.
fn with_key<I: SseCustomer>(mut input: I, key: Option<&SseKey>) -> I {
    if let Some(k) = key {
        input.set_sse_customer("AES256", &k.key, &k.key_md5);
    }
    input
}

fn completed_part(number: i64, etag: String) -> Result<CompletedPart> {
    Ok(CompletedPart {
        part_number: Some(i32::try_from(number).context("part number out of range")?),
        e_tag: Some(etag),
        ..Default::default()
    })
}

impl Fixture {
    pub fn new(client: Client, region: &str, bucket: String, created: SharedCreated) -> Fixture {
        Fixture {
            client,
            region: region.to_string(),
            missing_prefix: format!("{bucket}-missing"),
            bucket,
            buckets: BTreeMap::new(),
            objects: BTreeMap::new(),
            uploads: BTreeMap::new(),
            sse: SseKey::random(),
            other_sse: SseKey::random(),
            created,
        }
    }

    fn note<F: FnOnce(&mut Created)>(&self, f: F) {
        if let Ok(mut c) = self.created.lock() {
            f(&mut c);
        }
    }

    /// The version id a setup read of a just-written object names: only in a bucket the
    /// case made versioned. Some servers (moto) answer `x-amz-version-id: null` in an
    /// unversioned bucket and then refuse `HEAD ?versionId=null` with a bare 400 (AWS sends
    /// no version id there), which would fail the setup rather than grade the case.
    fn version_to_read(&self, bucket: &str, version: &Option<String>) -> Option<String> {
        let versioned = self
            .created
            .lock()
            .map(|c| c.versioned.contains(bucket))
            .unwrap_or(true);
        version.clone().filter(|_| versioned)
    }

    fn note_key(&self, bucket: &str, key: &str) {
        self.note(|c| {
            c.keys
                .entry(bucket.to_string())
                .or_default()
                .insert(key.to_string());
        });
    }

    /// An upload that a Complete or Abort has ended needs no cleanup.
    pub fn forget_upload(&self, id: &str) {
        self.note(|c| c.uploads.retain(|(_, _, i)| i != id));
    }

    fn bucket_named(&self, name: &str) -> Result<String> {
        if name == "bucket" {
            return Ok(self.bucket.clone());
        }
        self.buckets
            .get(name)
            .cloned()
            .with_context(|| format!("no bucket named {name:?} was set up"))
    }

    fn upload(&self, name: &str) -> Result<&UploadInfo> {
        self.uploads
            .get(name)
            .with_context(|| format!("no upload named {name:?}"))
    }

    /// The customer key of an SSE-C object or upload, for requests that read or add to it.
    pub fn sse_for(&self, sse_c: bool) -> Option<&SseKey> {
        sse_c.then_some(&self.sse)
    }

    pub async fn create_bucket(&mut self, bucket: &str) -> Result<()> {
        let mut input = CreateBucketInput {
            bucket: Some(bucket.to_string()),
            ..Default::default()
        };
        // Outside us-east-1, S3 wants the region named in the body.
        if self.region != "us-east-1" {
            input.create_bucket_configuration = Some(CreateBucketConfiguration {
                location_constraint: Some(self.region.clone()),
                ..Default::default()
            });
        }
        call(&self.client, &input).await?;
        self.note(|c| c.buckets.push(bucket.to_string()));
        Ok(())
    }

    async fn put_object(
        &mut self,
        name: &str,
        key: Option<&String>,
        bucket: &str,
        size: u64,
        sse_c: bool,
    ) -> Result<()> {
        let bucket = self.bucket_named(bucket)?;
        let key = key.cloned().unwrap_or_else(|| name.to_string());
        let data = Content::generated(name, size);
        let sse = self.sse_for(sse_c).cloned();
        let input = PutObjectInput {
            bucket: Some(bucket.clone()),
            key: Some(key.clone()),
            ..Default::default()
        };
        let input = with_key(input, sse.as_ref());
        self.note_key(&bucket, &key);
        let out = call_with_body(&self.client, &input, &data).await?;
        let written = Written {
            bucket,
            key,
            etag: out.e_tag,
            version_id: out.version_id,
            data,
        };
        self.record_written(name, "PutObject", written, sse.as_ref())
            .await
    }

    /// An object the server has just written: a HEAD tells when (and its ETag, when the
    /// write did not say), then it is named for the case's expectations.
    async fn record_written(
        &mut self,
        name: &str,
        operation: &str,
        written: Written,
        sse: Option<&SseKey>,
    ) -> Result<()> {
        let head = HeadObjectInput {
            bucket: Some(written.bucket.clone()),
            key: Some(written.key.clone()),
            version_id: self.version_to_read(&written.bucket, &written.version_id),
            ..Default::default()
        };
        let head = with_key(head, sse);
        let head = call(&self.client, &head).await?;
        let etag = written
            .etag
            .or(head.e_tag)
            .with_context(|| format!("{operation}: no ETag in the response"))?;
        self.objects.insert(
            name.to_string(),
            ObjectInfo {
                bucket: written.bucket,
                key: written.key,
                etag,
                version_id: written.version_id,
                delete_marker: None,
                last_modified: head
                    .last_modified
                    .as_deref()
                    .and_then(|t| httpdate::parse_http_date(t).ok()),
                data: written.data,
            },
        );
        Ok(())
    }

    async fn create_upload(
        &mut self,
        name: &str,
        key: Option<&String>,
        bucket: &str,
        sse_c: bool,
        checksum: Option<&String>,
    ) -> Result<()> {
        let bucket = self.bucket_named(bucket)?;
        let key = key.cloned().unwrap_or_else(|| name.to_string());
        let input = CreateMultipartUploadInput {
            bucket: Some(bucket.clone()),
            key: Some(key.clone()),
            checksum_algorithm: checksum.cloned(),
            ..Default::default()
        };
        let input = with_key(input, self.sse_for(sse_c));
        // Completing the upload creates the key: note it before the server can.
        self.note_key(&bucket, &key);
        let out = call(&self.client, &input).await?;
        let id = out
            .upload_id
            .context("CreateMultipartUpload: no UploadId in the response")?;
        self.note(|c| c.uploads.push((bucket.clone(), key.clone(), id.clone())));
        self.uploads.insert(
            name.to_string(),
            UploadInfo {
                bucket,
                key,
                id,
                sse_c,
                parts: BTreeMap::new(),
            },
        );
        Ok(())
    }

    async fn upload_part(
        &mut self,
        upload: &str,
        number: i64,
        size: u64,
        name: &str,
    ) -> Result<()> {
        let data = Content::generated(name, size);
        let up = self.upload(upload)?;
        let input = UploadPartInput {
            bucket: Some(up.bucket.clone()),
            key: Some(up.key.clone()),
            upload_id: Some(up.id.clone()),
            part_number: Some(i32::try_from(number).context("part number out of range")?),
            ..Default::default()
        };
        let input = with_key(input, self.sse_for(up.sse_c));
        let out = call_with_body(&self.client, &input, &data).await?;
        let etag = out.e_tag.context("UploadPart: no ETag in the response")?;
        self.record_part(upload, number, name, etag, data)
    }

    /// A part the server confirmed: listed for Complete, and named like an object so that
    /// expectations can name its bytes.
    fn record_part(
        &mut self,
        upload: &str,
        number: i64,
        name: &str,
        etag: String,
        data: Content,
    ) -> Result<()> {
        let part = completed_part(number, etag.clone())?;
        let up = self
            .uploads
            .get_mut(upload)
            .with_context(|| format!("no upload named {upload:?}"))?;
        up.parts.insert(number, part);
        let (bucket, key) = (up.bucket.clone(), up.key.clone());
        self.objects.insert(
            name.to_string(),
            ObjectInfo {
                bucket,
                key,
                etag,
                version_id: None,
                delete_marker: None,
                last_modified: None,
                data,
            },
        );
        Ok(())
    }

    async fn copy_part(
        &mut self,
        upload: &str,
        number: i64,
        source: &str,
        range: Option<&str>,
        name: &str,
    ) -> Result<()> {
        let src = self
            .objects
            .get(source)
            .with_context(|| format!("no object named {source:?}"))?;
        let up = self.upload(upload)?;
        let input = UploadPartCopyInput {
            bucket: Some(up.bucket.clone()),
            key: Some(up.key.clone()),
            upload_id: Some(up.id.clone()),
            part_number: Some(i32::try_from(number).context("part number out of range")?),
            copy_source: Some(format!(
                "{}/{}",
                encode(&src.bucket),
                encode_greedy(&src.key)
            )),
            copy_source_range: range.map(|r| format!("bytes={r}")),
            ..Default::default()
        };
        let input = with_key(input, self.sse_for(up.sse_c));
        let out = call(&self.client, &input).await?;
        let etag = out
            .copy_part_result
            .and_then(|r| r.e_tag)
            .context("UploadPartCopy: no CopyPartResult.ETag in the response")?;
        let selector = match range {
            Some(r) => format!("{source}[{r}]"),
            None => source.to_string(),
        };
        let data = self.bytes(&selector)?;
        self.record_part(upload, number, name, etag, data)
    }

    /// Runs one setup step.
    pub async fn run_step(&mut self, step: &Step) -> Result<()> {
        match step {
            Step::CreateBucket { name } => {
                let bucket = format!("{}-{}", self.bucket, sanitize(name));
                self.create_bucket(&bucket).await?;
                self.buckets.insert(name.clone(), bucket);
            }
            Step::EnableVersioning { bucket } => {
                let bucket = self.bucket_named(bucket)?;
                enable_versioning(&self.client, &bucket).await?;
                self.note(|c| {
                    c.versioned.insert(bucket.clone());
                });
            }
            Step::PutObject {
                name,
                key,
                bucket,
                size,
                sse_c,
            } => {
                self.put_object(name, key.as_ref(), bucket, *size, *sse_c)
                    .await?;
            }
            Step::PutMultipartObject {
                name,
                key,
                bucket,
                parts,
            } => {
                let upload = format!("{name}#upload");
                self.create_upload(
                    &upload,
                    Some(key.as_ref().unwrap_or(name)),
                    bucket,
                    false,
                    None,
                )
                .await?;
                let mut data = Content::default();
                for (i, size) in parts.iter().enumerate() {
                    let part = format!("{name}#part{}", i + 1);
                    self.upload_part(&upload, i as i64 + 1, *size, &part)
                        .await?;
                    if let Some(o) = self.objects.remove(&part) {
                        data.append(&o.data);
                    }
                }
                let up = self.uploads.remove(&upload).context("upload vanished")?;
                let out = complete(&self.client, &up, None).await?;
                self.forget_upload(&up.id);
                let written = Written {
                    bucket: up.bucket,
                    key: up.key,
                    etag: out.e_tag,
                    version_id: out.version_id,
                    data,
                };
                self.record_written(name, "CompleteMultipartUpload", written, None)
                    .await?;
            }
            Step::DeleteObject { name } => {
                let object = self
                    .objects
                    .get(name)
                    .with_context(|| format!("no object named {name:?}"))?;
                let input = DeleteObjectInput {
                    bucket: Some(object.bucket.clone()),
                    key: Some(object.key.clone()),
                    ..Default::default()
                };
                let out = call(&self.client, &input).await?;
                if let Some(o) = self.objects.get_mut(name) {
                    o.delete_marker = out.version_id;
                }
            }
            Step::CreateUpload {
                name,
                key,
                bucket,
                sse_c,
                checksum_algorithm,
            } => {
                self.create_upload(
                    name,
                    key.as_ref(),
                    bucket,
                    *sse_c,
                    checksum_algorithm.as_ref(),
                )
                .await?;
            }
            Step::UploadPart {
                upload,
                number,
                size,
                name,
            } => {
                self.upload_part(upload, *number, *size, name).await?;
            }
            Step::CopyPart {
                upload,
                number,
                source,
                range,
                name,
            } => {
                self.copy_part(upload, *number, source, range.as_deref(), name)
                    .await?;
            }
            Step::CompleteUpload { upload } => {
                let up = self.upload(upload)?;
                complete(&self.client, up, self.sse_for(up.sse_c)).await?;
                self.forget_upload(&up.id);
            }
            Step::AbortUpload { upload } => {
                let up = self.upload(upload)?;
                let input = AbortMultipartUploadInput {
                    bucket: Some(up.bucket.clone()),
                    key: Some(up.key.clone()),
                    upload_id: Some(up.id.clone()),
                    ..Default::default()
                };
                call(&self.client, &input).await?;
                self.forget_upload(&up.id);
            }
        }
        Ok(())
    }

    /// Resolves `{name.attribute}` placeholders in every string of a value. A string that
    /// is exactly `{upload.parts}` becomes the part list of a Complete request.
    pub fn resolve(&self, value: &Value) -> Result<Value> {
        Ok(match value {
            Value::String(s) => {
                if let Some(upload) = s.strip_prefix('{').and_then(|r| r.strip_suffix(".parts}")) {
                    let up = self.upload(upload)?;
                    let parts: Vec<Value> = up.parts.values().map(|p| p.to_json()).collect();
                    return Ok(json!({ "Parts": parts }));
                }
                Value::String(self.resolve_text(s)?)
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.resolve(v))
                    .collect::<Result<_>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
                    .collect::<Result<_>>()?,
            ),
            other => other.clone(),
        })
    }

    pub fn resolve_text(&self, text: &str) -> Result<String> {
        placeholder::substitute(text, |p| self.placeholder(p))
    }

    fn placeholder(&self, p: &Placeholder) -> Result<String> {
        let (name, attr) = (p.name, p.attribute);
        let value = match (name, attr) {
            ("bucket", "name") => self.bucket.clone(),
            ("missing", "bucket") => self.missing_prefix.clone(),
            ("missing", "key") => "no-such-key".to_string(),
            // Shaped like the ids most servers issue, issued by none.
            ("missing", "upload_id") => "00000000-0000-4000-8000-00000000dead".to_string(),
            ("missing", "version_id") => "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY".to_string(),
            ("sse", "key") => self.sse.key.clone(),
            ("sse", "key_md5") => self.sse.key_md5.clone(),
            ("sse", "other_key") => self.other_sse.key.clone(),
            ("sse", "other_key_md5") => self.other_sse.key_md5.clone(),
            _ if self.buckets.contains_key(name) && attr == "name" => self.buckets[name].clone(),
            _ if self.objects.contains_key(name) => {
                let o = &self.objects[name];
                let copy_source = format!("{}/{}", encode(&o.bucket), encode_greedy(&o.key));
                let version =
                    |v: &Option<String>| v.clone().context("the server gave no version id");
                match attr {
                    "bucket" => o.bucket.clone(),
                    "key" => o.key.clone(),
                    "copy_source" => copy_source,
                    "copy_source_version" => format!(
                        "{copy_source}?versionId={}",
                        encode(&version(&o.version_id)?)
                    ),
                    "copy_source_delete_marker" => {
                        format!(
                            "{copy_source}?versionId={}",
                            encode(&version(&o.delete_marker)?)
                        )
                    }
                    "etag" => o.etag.clone(),
                    "etag_unquoted" => o.etag.trim_matches('"').to_string(),
                    "version_id" => version(&o.version_id)?,
                    "delete_marker" => version(&o.delete_marker)?,
                    "size" => {
                        let shift = match p.offset {
                            Some(Offset::Bytes(n)) => n,
                            _ => 0,
                        };
                        (o.data.len() as i64 + shift).to_string()
                    }
                    "last_modified" => httpdate::fmt_http_date(self.time(o, p.offset)?),
                    "last_modified_rfc3339" => {
                        humantime::format_rfc3339_seconds(self.time(o, p.offset)?).to_string()
                    }
                    _ => bail!("an object has no attribute {attr:?}"),
                }
            }
            _ if self.uploads.contains_key(name) => {
                let u = &self.uploads[name];
                match attr {
                    "bucket" => u.bucket.clone(),
                    "key" => u.key.clone(),
                    "id" => u.id.clone(),
                    _ => bail!("an upload has no attribute {attr:?}"),
                }
            }
            _ => bail!("placeholder {{{name}.{attr}}} names nothing the setup made"),
        };
        Ok(value)
    }

    fn time(&self, o: &ObjectInfo, offset: Option<Offset>) -> Result<SystemTime> {
        let t = o
            .last_modified
            .context("the object's Last-Modified is unknown")?;
        match offset {
            Some(o) => o.shift(t).map_err(|e| anyhow!(e)),
            None => Ok(t),
        }
    }

    /// The bytes a selector names: `src`, `src[2-5]`, `p1+p2`; placeholders are resolved
    /// first, so `src[{src.size-1}-{src.size-1}]` is the last byte. A description, not bytes.
    pub fn bytes(&self, selector: &str) -> Result<Content> {
        let selector = self.resolve_text(selector)?;
        let mut out = Content::default();
        for part in selector.split('+') {
            out.append(&self.selected(part)?);
        }
        Ok(out)
    }

    /// One `name` or `name[first-last]` of a selector, resolved.
    fn selected(&self, part: &str) -> Result<Content> {
        let (name, range) = match part.split_once('[') {
            Some((n, r)) => (n, Some(r.strip_suffix(']').context("selector: missing ]")?)),
            None => (part, None),
        };
        let data = &self
            .objects
            .get(name)
            .with_context(|| format!("selector names no object {name:?}"))?
            .data;
        match range {
            None => Ok(data.clone()),
            Some(r) => {
                let (first, last) = r.split_once('-').context("selector range is first-last")?;
                let (first, last): (u64, u64) = (first.parse()?, last.parse()?);
                // `n-(n-1)` is the empty range, as a slice would have it.
                if first == last + 1 && first <= data.len() {
                    return Ok(Content::default());
                }
                data.range(first, last)
                    .context("selector range past the data")
            }
        }
    }

    /// The MD5 of each part a selector names (`p1+src[0-9]`), for the multipart ETag.
    pub fn part_md5s(&self, selector: &str) -> Result<Vec<[u8; 16]>> {
        self.resolve_text(selector)?
            .split('+')
            .map(|part| Ok(self.selected(part)?.md5()))
            .collect()
    }
}

/// Lowercase letters, digits and '-' only, as bucket names want.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

pub async fn enable_versioning(client: &Client, bucket: &str) -> Result<()> {
    let input = PutBucketVersioningInput {
        bucket: Some(bucket.to_string()),
        versioning_configuration: Some(VersioningConfiguration {
            status: Some("Enabled".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    call(client, &input).await?;
    Ok(())
}

/// Completes an upload with the parts recorded for it.
pub async fn complete(
    client: &Client,
    up: &UploadInfo,
    sse: Option<&SseKey>,
) -> Result<CompleteMultipartUploadOutput> {
    let input = CompleteMultipartUploadInput {
        bucket: Some(up.bucket.clone()),
        key: Some(up.key.clone()),
        upload_id: Some(up.id.clone()),
        multipart_upload: Some(CompletedMultipartUpload {
            parts: Some(up.parts.values().cloned().collect()),
        }),
        ..Default::default()
    };
    let input = with_key(input, sse.filter(|_| up.sse_c));
    call(client, &input).await
}

/// Reads an object (with the customer key when it is SSE-C encrypted).
pub async fn get_object(
    client: &Client,
    bucket: &str,
    key: &str,
    sse: Option<&SseKey>,
) -> Result<GetObjectOutput> {
    let input = GetObjectInput {
        bucket: Some(bucket.to_string()),
        key: Some(key.to_string()),
        ..Default::default()
    };
    let input = with_key(input, sse);
    call(client, &input).await
}

/// Reads an object (with the customer key when it is SSE-C encrypted) and compares it, as
/// it arrives, with what it should hold: `None` when it holds exactly that.
pub async fn read_back(
    client: &Client,
    bucket: &str,
    key: &str,
    sse: Option<&SseKey>,
    expected: &Content,
) -> Result<Option<crate::content::Difference>> {
    let input = GetObjectInput {
        bucket: Some(bucket.to_string()),
        key: Some(key.to_string()),
        ..Default::default()
    };
    let input = with_key(input, sse);
    let request = input.build().map_err(|e| anyhow!("GetObject: {e}"))?;
    let (response, difference) = client
        .send_checked(&request, expected)
        .await
        .map_err(|e| anyhow::Error::new(e).context("GetObject"))?;
    GetObjectOutput::parse(&response).map_err(|e| anyhow!("GetObject: {e}"))?;
    Ok(difference)
}

/// Removes what a case created, newest first; returns one line per thing that failed.
/// Only operations every S3 server has are needed; ListObjectVersions is used only on
/// buckets the case itself made versioned.
pub async fn cleanup(client: &Client, created: &Created) -> Vec<String> {
    let mut failures = Vec::new();
    for (bucket, key, id) in created.uploads.iter().rev() {
        let input = AbortMultipartUploadInput {
            bucket: Some(bucket.clone()),
            key: Some(key.clone()),
            upload_id: Some(id.clone()),
            ..Default::default()
        };
        match call(client, &input).await {
            Ok(_) => {}
            // Already gone (the case completed or aborted it): nothing to clean.
            Err(e) if e.to_string().contains("NoSuchUpload") => {}
            // Some servers answer otherwise for an upload they dropped (s3s-fs: AccessDenied
            // after a failed Complete): believe the listing, when the server has one.
            Err(e) => match upload_listed(client, bucket, key, id).await {
                Ok(false) => {}
                _ => failures.push(format!("abort upload in {bucket}: {e}")),
            },
        }
    }
    for bucket in created.buckets.iter().rev() {
        for key in created.keys.get(bucket).into_iter().flatten() {
            let input = DeleteObjectInput {
                bucket: Some(bucket.clone()),
                key: Some(key.clone()),
                ..Default::default()
            };
            if let Err(e) = call(client, &input).await {
                if !e.to_string().contains("NoSuchKey") {
                    failures.push(format!("delete object in {bucket}: {e}"));
                }
            }
        }
        // Last, so that it also takes the delete markers the deletes above left.
        if created.versioned.contains(bucket) {
            if let Err(e) = delete_versions(client, bucket).await {
                failures.push(format!("delete versions in {bucket}: {e}"));
            }
        }
        let input = DeleteBucketInput {
            bucket: Some(bucket.clone()),
            ..Default::default()
        };
        if let Err(e) = call(client, &input).await {
            failures.push(format!("delete bucket {bucket}: {e}"));
        }
    }
    failures
}

/// Whether ListMultipartUploads still shows the upload (bounded: one page).
async fn upload_listed(client: &Client, bucket: &str, key: &str, id: &str) -> Result<bool> {
    let input = ListMultipartUploadsInput {
        bucket: Some(bucket.to_string()),
        prefix: Some(key.to_string()),
        ..Default::default()
    };
    let out = call(client, &input).await?;
    if out.is_truncated == Some(true) {
        bail!("too many uploads to tell");
    }
    Ok(out
        .uploads
        .iter()
        .flatten()
        .any(|u| u.upload_id.as_deref() == Some(id)))
}

/// Deletes every version and delete marker in a bucket the case made versioned
/// (bounded: at most 20 pages).
async fn delete_versions(client: &Client, bucket: &str) -> Result<()> {
    let mut key_marker = None;
    let mut version_marker = None;
    for _ in 0..20 {
        let input = ListObjectVersionsInput {
            bucket: Some(bucket.to_string()),
            key_marker: key_marker.clone(),
            version_id_marker: version_marker.clone(),
            ..Default::default()
        };
        let out = call(client, &input).await?;
        let versions = out
            .versions
            .iter()
            .flatten()
            .map(|v| (v.key.clone(), v.version_id.clone()))
            .chain(
                out.delete_markers
                    .iter()
                    .flatten()
                    .map(|m| (m.key.clone(), m.version_id.clone())),
            );
        for (key, version) in versions {
            let input = DeleteObjectInput {
                bucket: Some(bucket.to_string()),
                key,
                version_id: version,
                ..Default::default()
            };
            call(client, &input).await?;
        }
        if out.is_truncated != Some(true) {
            return Ok(());
        }
        key_marker = out.next_key_marker;
        version_marker = out.next_version_id_marker;
    }
    bail!("more than 20 pages of versions")
}
