//! The servers that start with one command: moto, LocalBucket, nanio, s3s-fs and s3rver.

use super::Ctx;
use crate::endpoint::process::Group;
use anyhow::Result;
use std::process::Command;

pub fn moto(ctx: &mut Ctx, group: &mut Group) -> Result<()> {
    let mut cmd = Command::new(&ctx.bin);
    cmd.args(["-H", "127.0.0.1", "-p", &ctx.port.to_string()]);
    group.spawn("moto_server", cmd)
}

/// It checks no credentials: any keys do.
pub fn localbucket(ctx: &mut Ctx, group: &mut Group) -> Result<()> {
    let mut cmd = Command::new(&ctx.bin);
    cmd.args(["--host", "127.0.0.1", "--port", &ctx.port.to_string()])
        .arg(ctx.path("buckets")?);
    group.spawn("localbucket", cmd)
}

pub fn nanio(ctx: &mut Ctx, group: &mut Group) -> Result<()> {
    let mut cmd = Command::new(&ctx.bin);
    cmd.args([
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        &ctx.port.to_string(),
    ])
    .args(["--region", &ctx.region, "--data-dir"])
    .arg(ctx.path("buckets")?)
    .env("NANIO_ACCESS_KEY", &ctx.access_key)
    .env("NANIO_SECRET_KEY", &ctx.secret_key);
    group.spawn("nanio", cmd)
}

pub fn s3s_fs(ctx: &mut Ctx, group: &mut Group) -> Result<()> {
    let mut cmd = Command::new(&ctx.bin);
    cmd.args(["--host", "127.0.0.1", "--port", &ctx.port.to_string()])
        .args(["--access-key", &ctx.access_key])
        .args(["--secret-key", &ctx.secret_key])
        .arg(ctx.path("buckets")?);
    group.spawn("s3s-fs", cmd)
}

/// It only knows its fixed key pair (S3RVER/S3RVER, set in its record).
pub fn s3rver(ctx: &mut Ctx, group: &mut Group) -> Result<()> {
    let mut cmd = Command::new(&ctx.bin);
    cmd.arg("-d").arg(ctx.path("buckets")?).args([
        "-a",
        "127.0.0.1",
        "-p",
        &ctx.port.to_string(),
        "--no-vhost-buckets",
    ]);
    group.spawn("s3rver", cmd)
}
