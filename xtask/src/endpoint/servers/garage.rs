//! Garage: a Rust geo-distributed store, run as a single node on SQLite.

use super::{retry, Ctx, STEP_LIMIT};
use crate::endpoint::process::{self, run_step, Group};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A one-node cluster: config file, `garage server`, a layout, then its own key pair.
pub fn launch(ctx: &mut Ctx, group: &mut Group) -> Result<()> {
    let garage = ctx.bin.clone();
    let config = write_config(ctx)?;
    let cli = |args: &[&str]| {
        let mut cmd = Command::new(&garage);
        cmd.arg("-c").arg(&config).args(args);
        cmd
    };
    group.spawn("garage server", cli(&["server"]))?;
    // The CLI talks to the server over RPC: wait until it answers.
    let node = retry(ctx, group, Duration::from_secs(30), || {
        run_step(cli(&["node", "id", "-q"]), STEP_LIMIT, &ctx.log, true)
    })?;
    let node = node
        .trim()
        .split('@')
        .next()
        .unwrap_or_default()
        .to_string();
    let step = |args: &[&str]| run_step(cli(args), STEP_LIMIT, &ctx.log, true);
    step(&["layout", "assign", "-z", "dc1", "-c", "1G", &node])?;
    step(&["layout", "apply", "--version", "1"])?;
    // Garage's key format: GK + 24 hex digits, and a 64-hex-digit secret.
    ctx.access_key = format!("GK{}", process::random_hex(12)?);
    ctx.secret_key = process::random_hex(32)?;
    step(&[
        "key",
        "import",
        "--yes",
        "-n",
        "mpc",
        &ctx.access_key,
        &ctx.secret_key,
    ])?;
    step(&["key", "allow", "--create-bucket", &ctx.access_key])?;
    Ok(())
}

/// garage.toml in the data folder: SQLite, one replica, S3 and RPC on 127.0.0.1.
fn write_config(ctx: &Ctx) -> Result<PathBuf> {
    let rpc = ctx.other_ports(1)?[0];
    let secret = process::random_hex(32)?;
    let config = ctx.data.join("garage.toml");
    let toml = format!(
        r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "{region}"
api_bind_addr = "127.0.0.1:{port}"
root_domain = ".s3.garage.localhost"
"#,
        meta = ctx.path("meta")?.display(),
        data = ctx.path("data")?.display(),
        region = ctx.region,
        port = ctx.port,
    );
    std::fs::write(&config, toml).with_context(|| format!("cannot write {}", config.display()))?;
    Ok(config)
}
