//! The JuiceFS S3 gateway (MinIO's gateway code) on a local file store.

use super::Ctx;
use crate::endpoint::process::{run_step, Group};
use anyhow::Result;
use std::process::Command;
use std::time::Duration;

/// `juicefs format` on SQLite metadata and a file store, then its S3 gateway.
pub fn launch(ctx: &mut Ctx, group: &mut Group) -> Result<()> {
    let juicefs = &ctx.bin;
    let meta = format!("sqlite3://{}", ctx.data.join("meta.db").display());
    let blobs = format!("{}/", ctx.path("blobs")?.display());
    let mut format = Command::new(juicefs);
    format
        .args(["format", "--storage", "file", "--bucket", &blobs])
        .args(["--trash-days", "0", &meta, "mpc"]);
    run_step(format, Duration::from_secs(60), &ctx.log, false)?;
    let mut cmd = Command::new(juicefs);
    // --multi-buckets makes CreateBucket work; --keep-etag keeps MD5 ETags; --object-meta
    // and --object-tag turn on user metadata, Content-Type and tagging, which the gateway
    // leaves off by default (without them CopyObject's directives cannot be judged). No
    // pprof agent on :6060, and metrics on a free port instead of the fixed 9567.
    cmd.args(["--no-agent", "gateway", "--metrics"])
        .arg(format!("127.0.0.1:{}", ctx.other_ports(1)?[0]))
        .args([
            "--multi-buckets",
            "--keep-etag",
            "--object-meta",
            "--object-tag",
        ])
        .arg("--no-usage-report")
        .arg("--cache-dir")
        .arg(ctx.path("cache")?)
        .arg(&meta)
        .arg(format!("127.0.0.1:{}", ctx.port))
        .env("MINIO_ROOT_USER", &ctx.access_key)
        .env("MINIO_ROOT_PASSWORD", &ctx.secret_key);
    group.spawn("juicefs gateway", cmd)
}
