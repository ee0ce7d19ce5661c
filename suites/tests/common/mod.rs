// Each test crate uses part of this module.
#![allow(dead_code)]

//! What the integration tests share: a real s3s-fs server on 127.0.0.1 with known keys,
//! started and stopped by the test, and a look at what it holds on disk.

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::time::timeout;

pub const ACCESS_KEY: &str = "AKTESTSERVER00000001";
pub const SECRET_KEY: &str = "test-server-secret-SENTINEL-7f3a9c";

/// No connection to the test server lives longer than this.
const CONNECTION_LIMIT: Duration = Duration::from_secs(30);

/// s3s-fs on 127.0.0.1 with known keys; it stops with the test's runtime.
pub struct S3sFs {
    pub addr: SocketAddr,
    pub root: tempfile::TempDir,
}

pub async fn start_s3s_fs() -> S3sFs {
    let root = tempfile::tempdir().unwrap();
    let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
    let service = {
        let mut b = S3ServiceBuilder::new(fs);
        b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        b.build()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        while let Ok((socket, _)) = listener.accept().await {
            let conn = http
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            tokio::spawn(async move {
                let _ = timeout(CONNECTION_LIMIT, conn).await;
            });
        }
    });
    S3sFs { addr, root }
}

/// Buckets are directories under the s3s-fs root: the `mpc-*` ones still there.
pub fn leftover_buckets(root: &Path) -> Vec<String> {
    let mut left: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("mpc-"))
        .collect();
    left.sort();
    left
}

/// Open uploads are `.upload-<id>.json` files at the s3s-fs root.
pub fn leftover_uploads(root: &Path) -> Vec<String> {
    let mut left: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".upload-"))
        .collect();
    left.sort();
    left
}

/// The runner binary writing its reports under `reports`, with no credentials, session
/// token or step summary from the environment of whoever runs the tests.
pub fn runner(reports: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_conformance"));
    command
        .arg("--reports-dir")
        .arg(reports)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("GITHUB_STEP_SUMMARY");
    command
}
