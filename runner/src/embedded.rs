//! The embedded target: a real s3s-fs server served in-process on 127.0.0.1 with an
//! ephemeral port, generated keys and a temporary data folder, stopped when dropped.

use anyhow::{Context, Result};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub struct EmbeddedServer {
    pub addr: SocketAddr,
    pub access_key: String,
    pub secret_key: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    data: tempfile::TempDir,
}

/// Keys for one run: not secret beyond the run, but still never printed.
fn random_hex(bytes: usize) -> String {
    hex::encode(crate::fixtures::random_bytes(bytes))
}

pub fn run_id() -> String {
    random_hex(4)
}

impl EmbeddedServer {
    /// With keys made for this run.
    pub async fn start() -> Result<EmbeddedServer> {
        let access_key = format!("AK{}", random_hex(8).to_uppercase());
        EmbeddedServer::start_with_keys(&access_key, &random_hex(20)).await
    }

    /// With the keys given (tests that look for them in what the runner writes).
    pub async fn start_with_keys(access_key: &str, secret_key: &str) -> Result<EmbeddedServer> {
        let (access_key, secret_key) = (access_key.to_string(), secret_key.to_string());
        let data = tempfile::tempdir().context("cannot create a data folder for s3s-fs")?;
        let fs = s3s_fs::FileSystem::new(data.path())
            .map_err(|e| anyhow::anyhow!("cannot start s3s-fs: {e:?}"))?;
        let service = {
            let mut b = S3ServiceBuilder::new(fs);
            b.set_auth(SimpleAuth::from_single(
                access_key.clone(),
                secret_key.clone(),
            ));
            b.build()
        };
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            let graceful = hyper_util::server::graceful::GracefulShutdown::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((socket, _)) = accepted else { continue };
                        let conn = http.serve_connection(TokioIo::new(socket), service.clone());
                        let conn = graceful.watch(conn.into_owned());
                        tokio::spawn(async move {
                            let _ = conn.await;
                        });
                    }
                    _ = &mut stopped => break,
                }
            }
            tokio::select! {
                () = graceful.shutdown() => {}
                () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
            }
        });
        Ok(EmbeddedServer {
            addr,
            access_key,
            secret_key,
            stop: Some(stop),
            task: Some(task),
            data,
        })
    }

    /// Where s3s-fs keeps buckets (folders) and open uploads (`.upload-*` files).
    pub fn data_dir(&self) -> &std::path::Path {
        self.data.path()
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}
