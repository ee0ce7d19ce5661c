//! LocalStack: the closest stand-in for AWS, `localstack-core` run from its venv.

use super::Ctx;
use crate::endpoint::process::Group;
use anyhow::{Context, Result};
use std::process::Command;

/// The S3 provider alone, its gateway on hypercorn (which honours the listen address), with
/// everything it writes under the data folder. Its keys are `test`/`test`.
pub fn launch(ctx: &mut Ctx, group: &mut Group) -> Result<()> {
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
    let mut cmd = Command::new(&ctx.bin);
    cmd.args(["-c", main])
        .arg(ctx.path("s3-storage")?)
        .env("SERVICES", "s3")
        // The default gateway binds 0.0.0.0; hypercorn honours the listen address. (twisted, bound
        // to 127.0.0.1, ran the suite ~25 % faster, but it drops a keep-alive connection when
        // LocalStack's GetObject body iterator fails after the last byte, "seek of closed file"
        // once the case's cleanup deleted the object, and a case that reuses it fails about one
        // run in five.)
        .env("GATEWAY_SERVER", "hypercorn")
        .env("GATEWAY_LISTEN", format!("127.0.0.1:{}", ctx.port))
        .env("LOCALSTACK_HOST", format!("127.0.0.1:{}", ctx.port))
        .env("DNS_ADDRESS", "0")
        // It takes this sandbox for a container and would write to /var/lib/localstack.
        .env("OVERRIDE_IN_DOCKER", "0")
        .env("FILESYSTEM_ROOT", &root)
        .env("LOCALSTACK_VOLUME_DIR", ctx.path("volume")?)
        .env("PERSISTENCE", "0")
        // Warnings and errors (tracebacks included) only: a line per request costs it ~7 % of
        // a run's CPU (py-spy, a full run), and the run's own reports record every answer.
        .env("LS_LOG", "warn")
        // Nothing may reach the internet: no analytics, no certificate download.
        .env("DISABLE_EVENTS", "1")
        .env("SKIP_SSL_CERT_DOWNLOAD", "1");
    group.spawn("localstack", cmd)
}
