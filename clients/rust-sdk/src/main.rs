//! The AWS SDK for Rust's flow (see clients/README.md for the protocol): CreateMultipartUpload,
//! UploadPart with the SDK's default checksums, UploadPartCopy with CopySourceRange and
//! CopySourceIfMatch, CompleteMultipartUpload. Every exchange is recorded by an
//! interceptor; the report goes to $FLOW_REPORT as JSON.

use aws_sdk_s3::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};
use aws_sdk_s3::error::{BoxError, ProvideErrorMetadata};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MIB: u64 = 1 << 20;
/// The version Cargo.toml pins (`=`), reported with the results.
const SDK_VERSION: &str = "1.157.0";

/// What the flow did, step by step, and every HTTP exchange it made.
#[derive(Debug, Default)]
struct Record {
    step: String,
    steps: Vec<Value>,
    exchanges: Vec<Value>,
}

type Shared = Arc<Mutex<Record>>;

fn lock(record: &Shared) -> std::sync::MutexGuard<'_, Record> {
    record.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug)]
struct Recorder(Shared);

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "flow-recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let uri: http_uri::Uri = request.uri().parse().unwrap_or_default();
        let headers: Vec<Value> = request
            .headers()
            .iter()
            .map(|(k, v)| json!([k, v]))
            .collect();
        let mut record = lock(&self.0);
        let step = record.step.clone();
        record.exchanges.push(json!({
            "step": step,
            "method": request.method(),
            "path": uri.path,
            "query": uri.query,
            "headers": headers,
        }));
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let status = response.status().as_u16();
        let body = response
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(&b[..b.len().min(4096)]).into_owned());
        let mut record = lock(&self.0);
        if let Some(last) = record.exchanges.last_mut() {
            last["status"] = json!(status);
            if status >= 300 {
                if let Some(body) = body {
                    last["body"] = json!(body);
                }
            }
        }
        Ok(())
    }
}

/// The path and query of a URI, without another crate.
mod http_uri {
    #[derive(Default)]
    pub struct Uri {
        pub path: String,
        pub query: String,
    }

    impl std::str::FromStr for Uri {
        type Err = ();
        fn from_str(s: &str) -> Result<Uri, ()> {
            let rest = s.split_once("://").map_or(s, |(_, r)| r);
            let path_and_query = rest.find('/').map_or("/", |i| &rest[i..]);
            let (path, query) = path_and_query
                .split_once('?')
                .unwrap_or((path_and_query, ""));
            Ok(Uri {
                path: path.to_string(),
                query: query.to_string(),
            })
        }
    }
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

struct Flow {
    s3: aws_sdk_s3::Client,
    record: Shared,
}

impl Flow {
    fn start(&self, step: &str) {
        lock(&self.record).step = step.to_string();
    }

    fn done(&self, step: &str) {
        lock(&self.record)
            .steps
            .push(json!({"name": step, "ok": true}));
    }

    fn failed(&self, step: &str, error: String) {
        lock(&self.record)
            .steps
            .push(json!({"name": step, "ok": false, "error": error}));
    }
}

/// An SDK error as one line: the service's code and message, or the SDK's own words.
fn describe<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    e: &aws_sdk_s3::error::SdkError<E, R>,
) -> String {
    match e.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("no code"),
            service.message().unwrap_or("no message")
        ),
        None => format!("{}", aws_sdk_s3::error::DisplayErrorContext(e)),
    }
}

/// Runs one step; on failure records it and stops the flow.
macro_rules! step {
    ($flow:expr, $name:expr, $call:expr) => {{
        $flow.start($name);
        match $call.await {
            Ok(out) => {
                $flow.done($name);
                out
            }
            Err(e) => {
                $flow.failed($name, describe(&e));
                return Ok(());
            }
        }
    }};
}

async fn part_copy(flow: &Flow) -> Result<(), String> {
    let src_bucket = env("FLOW_SOURCE_BUCKET")?;
    let dst_bucket = env("FLOW_DEST_BUCKET")?;
    let src_key = env("FLOW_SOURCE_KEY")?;
    let dst_key = env("FLOW_DEST_KEY")?;
    let data_a = std::fs::read(env("FLOW_DATA_A")?).map_err(|e| e.to_string())?;
    let data_b = std::fs::read(env("FLOW_DATA_B")?).map_err(|e| e.to_string())?;
    let size = data_a.len() as u64;
    if size < 6 * MIB || (data_b.len() as u64) < 5 * MIB {
        return Err("the data files are too small for this flow".into());
    }
    let s3 = &flow.s3;
    for (name, bucket) in [
        ("create-source-bucket", &src_bucket),
        ("create-destination-bucket", &dst_bucket),
    ] {
        step!(
            flow,
            name,
            s3.create_bucket().bucket(bucket.as_str()).send()
        );
    }
    let put = step!(
        flow,
        "put-source",
        s3.put_object()
            .bucket(&src_bucket)
            .key(&src_key)
            .body(ByteStream::from(data_a))
            .send()
    );
    let etag = put.e_tag().unwrap_or_default().to_string();
    let created = step!(
        flow,
        "create-multipart-upload",
        s3.create_multipart_upload()
            .bucket(&dst_bucket)
            .key(&dst_key)
            .send()
    );
    let upload_id = created.upload_id().unwrap_or_default().to_string();
    let part1 = step!(
        flow,
        "upload-part",
        s3.upload_part()
            .bucket(&dst_bucket)
            .key(&dst_key)
            .upload_id(&upload_id)
            .part_number(1)
            .body(ByteStream::from(data_b[..(5 * MIB) as usize].to_vec()))
            .send()
    );
    let range = format!("bytes={}-{}", MIB, size - 1);
    let part2 = step!(
        flow,
        "upload-part-copy",
        s3.upload_part_copy()
            .bucket(&dst_bucket)
            .key(&dst_key)
            .upload_id(&upload_id)
            .part_number(2)
            .copy_source(format!("{src_bucket}/{src_key}"))
            .copy_source_range(&range)
            .copy_source_if_match(&etag)
            .send()
    );
    let parts = vec![
        CompletedPart::builder()
            .part_number(1)
            .e_tag(part1.e_tag().unwrap_or_default())
            .build(),
        CompletedPart::builder()
            .part_number(2)
            .e_tag(
                part2
                    .copy_part_result()
                    .and_then(|r| r.e_tag())
                    .unwrap_or_default(),
            )
            .build(),
    ];
    step!(
        flow,
        "complete-multipart-upload",
        s3.complete_multipart_upload()
            .bucket(&dst_bucket)
            .key(&dst_key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build()
            )
            .send()
    );
    Ok(())
}

/// What the destination should hold once the flow succeeded: B's first 5 MiB, then A from
/// 1 MiB to its end.
fn expected(size: u64) -> Value {
    json!([
        {"data": "b", "first": 0, "last": 5 * MIB - 1},
        {"data": "a", "first": MIB, "last": size - 1},
    ])
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rust-sdk flow: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), String> {
    let flow_name = std::env::args().nth(1).unwrap_or_default();
    if flow_name != "part-copy" {
        return Err(format!("unknown flow {flow_name:?} (known: part-copy)"));
    }
    let record: Shared = Arc::default();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(env("FLOW_ENDPOINT")?)
        .region(Region::new(env("FLOW_REGION")?))
        .credentials_provider(Credentials::new(
            env("AWS_ACCESS_KEY_ID")?,
            env("AWS_SECRET_ACCESS_KEY")?,
            None,
            None,
            "flow",
        ))
        .force_path_style(true)
        // No retries, as in the harness: a retry would hide what the server did.
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        )
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .interceptor(Recorder(record.clone()))
        .build();
    let flow = Flow {
        s3: aws_sdk_s3::Client::from_conf(config),
        record: record.clone(),
    };
    part_copy(&flow).await?;
    let size = std::fs::metadata(env("FLOW_DATA_A")?)
        .map_err(|e| e.to_string())?
        .len();
    let record = lock(&record);
    let report = json!({
        "client": "aws-sdk-s3",
        "version": SDK_VERSION,
        "steps": record.steps,
        "exchanges": record.exchanges,
        "expect": expected(size),
    });
    let path = env("FLOW_REPORT")?;
    std::fs::write(&path, report.to_string()).map_err(|e| format!("{path}: {e}"))
}
