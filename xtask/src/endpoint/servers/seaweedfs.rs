//! SeaweedFS: master, volume server, filer and S3 gateway in one `weed server`.

use super::Ctx;
use crate::endpoint::process::Group;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::Command;

/// `weed server` with a filer and S3, every port on 127.0.0.1 and chosen here.
pub fn launch(ctx: &mut Ctx, group: &mut Group) -> Result<()> {
    let config = write_config(ctx)?;
    let dir = ctx.path("weed")?;
    let mut cmd = Command::new(&ctx.bin);
    // master.toml is read from the working directory; gRPC sockets go to TMPDIR.
    cmd.current_dir(&ctx.data)
        .env("TMPDIR", ctx.path("tmp")?)
        .arg("server")
        // -ip alone still binds elsewhere: both are needed.
        .args([
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
        ])
        .arg(format!("-dir={}", dir.display()))
        .args(["-filer", "-s3", "-s3.port.iceberg=0", "-s3.port.lance=0"])
        .arg(format!("-s3.port={}", ctx.port))
        .arg(format!("-s3.config={}", config.display()))
        .arg(format!(
            "-s3.localSocket={}",
            ctx.data.join("s3.sock").display()
        ))
        .arg(format!(
            "-filer.localSocket={}",
            ctx.data.join("filer.sock").display()
        ))
        .args(["-master.volumeSizeLimitMB=256", "-volume.max=100"])
        // Else the volume server waits 10 s after SIGTERM before it stops.
        .arg("-volume.preStopSeconds=0");
    // Every other port explicit too: the defaults (and port + 10000 for gRPC) may be taken.
    let flags = [
        "master.port",
        "master.port.grpc",
        "volume.port",
        "volume.port.grpc",
        "filer.port",
        "filer.port.grpc",
        "s3.port.grpc",
    ];
    for (flag, port) in flags.into_iter().zip(ctx.other_ports(flags.len())?) {
        cmd.arg(format!("-{flag}={port}"));
        // gRPC also listens on /tmp/seaweedfs-<server>-grpc-<port>.sock, whatever TMPDIR says.
        if let Some(server) = flag.strip_suffix(".port.grpc") {
            let socket = format!("/tmp/seaweedfs-{server}-grpc-{port}.sock");
            ctx.leftovers.push(PathBuf::from(socket));
        }
    }
    group.spawn("weed server", cmd)
}

/// The S3 identities (s3.json) and master.toml, in the data folder; returns s3.json.
fn write_config(ctx: &Ctx) -> Result<PathBuf> {
    let config = ctx.data.join("s3.json");
    let identities = serde_json::json!({ "identities": [{
        "name": "mpc",
        "credentials": [{ "accessKey": ctx.access_key, "secretKey": ctx.secret_key }],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]});
    std::fs::write(&config, serde_json::to_vec_pretty(&identities)?)
        .with_context(|| format!("cannot write {}", config.display()))?;
    // S3 makes each bucket a collection of its own, and weed grows 7 volumes for each by
    // default, 8 at most: a second bucket then fails with 500. One volume per bucket.
    let master_toml =
        "[master.volume_growth]\ncopy_1 = 1\ncopy_2 = 2\ncopy_3 = 3\ncopy_other = 1\n";
    std::fs::write(ctx.data.join("master.toml"), master_toml)
        .with_context(|| format!("cannot write {}", ctx.data.display()))?;
    Ok(config)
}
