//! The harness's side of `cargo xtask clients` (see clients/README.md): the client flows'
//! source data, their read-back check and their cleanup, with the runner's own client and
//! content generator, so that a client's bytes are judged by code that is not the client.
//!
//!   client-check serve                 the embedded s3s-fs as a process: one JSON line
//!                                      {url, region, access_key, secret_key} on stdout,
//!                                      then serves until stdin closes
//!   client-check data DIR SIZE         writes DIR/a and DIR/b, SIZE bytes each
//!   client-check check SPEC            reads SPEC's object back, compares it with its
//!                                      segments of a and b, removes what the flow made;
//!                                      prints {"read_back": …, "cleanup": […]}
//!
//! `check` takes --endpoint and --region from SPEC, the keys from AWS_ACCESS_KEY_ID and
//! AWS_SECRET_ACCESS_KEY.

use anyhow::{anyhow, bail, Context, Result};
use contract::Dialect;
use generated::operations::*;
use runner::client::{Addressing, Client, Endpoint};
use runner::content::Content;
use runner::embedded::EmbeddedServer;
use runner::fixtures::{cleanup, read_back, Created};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::time::Duration;
use wire::OperationInput;

/// The names the data files' bytes are generated from (the runner's generator).
const DATA: [&str; 2] = ["a", "b"];

fn data_content(name: &str, size: u64) -> Content {
    Content::generated(&format!("client-flow-{name}"), size)
}

#[derive(Deserialize)]
struct Spec {
    endpoint: String,
    region: String,
    size: u64,
    bucket: String,
    key: String,
    /// What the object should hold, in order; `None`: the flow failed, only clean up.
    expect: Option<Vec<Segment>>,
    buckets: Vec<String>,
    keys: Vec<String>,
    #[serde(default)]
    versioned: Vec<String>,
}

#[derive(Deserialize)]
struct Segment {
    data: String,
    first: u64,
    last: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["serve"] => runtime.block_on(serve()),
        ["data", dir, size] => write_data(Path::new(dir), size),
        ["check", spec] => runtime.block_on(check(Path::new(spec))),
        _ => Err(anyhow!(
            "usage: client-check serve | data DIR SIZE | check SPEC"
        )),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}

async fn serve() -> Result<()> {
    let server = EmbeddedServer::start().await?;
    let line = serde_json::json!({
        "url": server.url(),
        "region": "us-east-1",
        "access_key": server.access_key,
        "secret_key": server.secret_key,
    });
    println!("{line}");
    // Until the parent closes stdin (or kills this process).
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    server.stop().await;
    Ok(())
}

fn write_data(dir: &Path, size: &str) -> Result<()> {
    let size: u64 = size.parse().context("SIZE is a number of bytes")?;
    if size == 0 || size > 64 << 20 {
        bail!("SIZE must be between 1 and 64 MiB");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for name in DATA {
        let path = dir.join(name);
        std::fs::write(&path, data_content(name, size).to_vec())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn expected(spec: &Spec, segments: &[Segment]) -> Result<Content> {
    let mut content = Content::default();
    for s in segments {
        if !DATA.contains(&s.data.as_str()) {
            bail!("unknown data file {:?}", s.data);
        }
        let part = data_content(&s.data, spec.size)
            .range(s.first, s.last)
            .ok_or_else(|| anyhow!("bytes {}-{} are outside {}", s.first, s.last, s.data))?;
        content.append(&part);
    }
    Ok(content)
}

async fn check(path: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let spec: Spec = serde_json::from_str(&text).context("bad check spec")?;
    let key = |name: &str| std::env::var(name).with_context(|| format!("{name} is not set"));
    let endpoint = Endpoint {
        url: spec.endpoint.trim_end_matches('/').to_string(),
        region: spec.region.clone(),
        access_key: key("AWS_ACCESS_KEY_ID")?,
        secret_key: key("AWS_SECRET_ACCESS_KEY")?,
        session_token: None,
        addressing: Addressing::Path,
        dialect: Dialect::Aws,
    };
    let client = Client::new(endpoint, Duration::from_secs(60), false)?;
    let read = match &spec.expect {
        None => serde_json::Value::Null,
        Some(segments) => {
            let want = expected(&spec, segments)?;
            match read_back(&client, &spec.bucket, &spec.key, None, &want).await {
                Ok(None) => serde_json::json!({"matches": true}),
                Ok(Some(d)) => serde_json::json!({
                    "matches": false,
                    "error": format!(
                        "the object differs from what was copied: {} bytes (expected {}), md5 {}, first difference at byte {}",
                        d.received_len, want.len(), d.received_md5, d.first_difference
                    ),
                }),
                Err(e) => serde_json::json!({"matches": false, "error": format!("{e:#}")}),
            }
        }
    };
    let mut created = Created {
        buckets: spec.buckets.clone(),
        versioned: spec.versioned.iter().cloned().collect(),
        keys: BTreeMap::new(),
        uploads: Vec::new(),
    };
    for bucket in &spec.buckets {
        created.keys.insert(
            bucket.clone(),
            spec.keys.iter().cloned().collect::<BTreeSet<_>>(),
        );
        // A flow that stopped half-way may leave its upload open.
        for (key, id) in open_uploads(&client, bucket).await {
            created.uploads.push((bucket.clone(), key, id));
        }
    }
    let failures: Vec<String> = cleanup(&client, &created)
        .await
        .into_iter()
        .map(|f| f.line)
        // A bucket the flow never got to create.
        .filter(|line| !line.contains("NoSuchBucket"))
        .collect();
    println!(
        "{}",
        serde_json::json!({"read_back": read, "cleanup": failures})
    );
    Ok(())
}

/// The uploads ListMultipartUploads shows in a bucket (one page; none when it fails).
async fn open_uploads(client: &Client, bucket: &str) -> Vec<(String, String)> {
    let input = ListMultipartUploadsInput {
        bucket: Some(bucket.to_string()),
        ..Default::default()
    };
    let Ok(request) = input.build() else {
        return Vec::new();
    };
    let Ok(response) = client.send(&request).await else {
        return Vec::new();
    };
    let Ok(output) = ListMultipartUploadsInput::parse_output(&response) else {
        return Vec::new();
    };
    output
        .uploads
        .unwrap_or_default()
        .into_iter()
        .filter_map(|u| Some((u.key?, u.upload_id?)))
        .collect()
}
