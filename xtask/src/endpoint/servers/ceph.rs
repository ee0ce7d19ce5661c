//! Ceph RADOS Gateway from Debian's packages, on a one-OSD cluster in memory.

use super::{retry, Ctx, STEP_LIMIT};
use crate::endpoint::process::{self, run_step, Group};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The Ceph release the committed ceph-rgw baseline was recorded with.
const CEPH_BASELINE_RELEASE: &str = "16.2.";

/// One mon and one OSD on memstore (no mgr), then radosgw with beast on 127.0.0.1.
pub fn launch(ctx: &mut Ctx, group: &mut Group) -> Result<()> {
    warn_unless_baseline_release();
    let d = ctx.data.clone();
    for sub in ["mon", "osd", "run", "rgw", "crash", "log"] {
        ctx.path(sub)?;
    }
    let mon_port = ctx.other_ports(1)?[0];
    let fsid = uuid()?;
    let conf = d.join("ceph.conf");
    let text = config(&d, &fsid, mon_port, ctx.port);
    std::fs::write(&conf, text).with_context(|| format!("cannot write {}", conf.display()))?;
    let cluster = Cluster {
        conf,
        log: ctx.log.clone(),
    };
    // With only `mon host`, mkfs names the monitor noname-a, which then never finds itself.
    let monmap = d.join("monmap");
    let mut create = Command::new("monmaptool");
    create
        .args(["--create", "--fsid", &fsid, "--addv", "a"])
        .arg(format!("[v2:127.0.0.1:{mon_port}]"))
        .arg(&monmap);
    cluster.step(create)?;
    let mut mkfs = cluster.cmd("ceph-mon", &["--mkfs", "-i", "a", "--monmap"]);
    mkfs.arg(&monmap);
    cluster.step(mkfs)?;
    group.spawn("ceph-mon", cluster.cmd("ceph-mon", &["-f", "-i", "a"]))?;
    start_osd(ctx, group, &cluster)?;
    // The user is created once the OSD serves the pools radosgw-admin creates.
    let access_key = format!("--access-key={}", ctx.access_key);
    let secret = format!("--secret={}", ctx.secret_key);
    let user = ["user", "create", "--uid=mpc", "--display-name=mpc"];
    retry(ctx, group, Duration::from_secs(120), || {
        let mut cmd = cluster.cmd("radosgw-admin", &user);
        cmd.args([&access_key, &secret]);
        cluster.step(cmd)
    })?;
    group.spawn(
        "radosgw",
        cluster.cmd("radosgw", &["-f", "-n", "client.rgw"]),
    )
}

/// The cluster's config file and the log its setup steps write to.
struct Cluster {
    conf: PathBuf,
    log: PathBuf,
}

impl Cluster {
    /// A Ceph program with the cluster's config.
    fn cmd(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.arg("-c").arg(&self.conf).args(args);
        cmd
    }

    /// Runs a setup step; returns its output.
    fn step(&self, cmd: Command) -> Result<String> {
        run_step(cmd, STEP_LIMIT, &self.log, true)
    }
}

/// Registers an OSD once the monitor answers, makes its store and starts it.
fn start_osd(ctx: &Ctx, group: &mut Group, cluster: &Cluster) -> Result<()> {
    let osd_uuid = uuid()?;
    let osd = retry(ctx, group, Duration::from_secs(60), || {
        cluster.step(cluster.cmd(
            "ceph",
            &["--connect-timeout", "10", "osd", "new", &osd_uuid],
        ))
    })?;
    let osd = osd.trim().to_string();
    // memstore's mkfs writes its fsid file there and asserts when it cannot.
    ctx.path(&format!("osd/ceph-{osd}"))?;
    cluster.step(cluster.cmd("ceph-osd", &["-i", &osd, "--mkfs", "--osd-uuid", &osd_uuid]))?;
    group.spawn("ceph-osd", cluster.cmd("ceph-osd", &["-f", "-i", &osd]))
}

/// Another Ceph release (Debian 13 ships 18) behaves otherwise: say so before the run is
/// compared with a baseline recorded on 16.2.
fn warn_unless_baseline_release() {
    if let Ok(out) = Command::new("radosgw").arg("--version").output() {
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !version.contains(&format!("version {CEPH_BASELINE_RELEASE}")) {
            eprintln!(
                "warning: {version:?} is not Ceph {CEPH_BASELINE_RELEASE}x, which \
                 reports/ceph-rgw/baseline.toml was recorded with"
            );
        }
    }
}

/// ceph.conf of the one-node cluster, everything under the data folder `d`.
fn config(d: &Path, fsid: &str, mon_port: u16, port: u16) -> String {
    format!(
        "[global]
fsid = {fsid}
mon host = [v2:127.0.0.1:{mon_port}]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
# Without it radosgw loops on 'get_initial_auth_request returned -13'.
ms mon client mode = crc secure
keyring = {d}/keyring
run dir = {d}/run
admin socket = {d}/run/$cluster-$name.asok
pid file = {d}/run/$cluster-$name.pid
crash dir = {d}/crash
log to file = false
log to stderr = true
err to stderr = true
debug rocksdb = 0/0
mon cluster log to file = false
mon cluster log file = {d}/log/cluster.log
mon data = {d}/mon/$cluster-$id
osd data = {d}/osd/$cluster-$id
rgw data = {d}/rgw/$cluster-$id
osd objectstore = memstore
memstore device bytes = 4294967296
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:{port}
rgw run sync thread = false
",
        d = d.display(),
    )
}

/// A random UUID (version 4), as ceph wants for fsid and OSDs.
fn uuid() -> Result<String> {
    let mut b = process::random_bytes(16)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}
