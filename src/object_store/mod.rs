//! berth's own S3 server: what the native runtime runs for an `s3` service
//! when MinIO's server is not installed (`berth object-store serve`, a
//! hidden command). berth itself is the program, so nothing has to be
//! installed for it, and it takes its keys from its environment (MinIO's
//! `MINIO_ROOT_USER` and `MINIO_ROOT_PASSWORD`), never from its command
//! line, where `ps` would show them to every user of the machine.
//!
//! S3's protocol (SigV4 and presigned authentication, routing, XML) is the
//! `s3s` crate's; the objects are kept by `s3s-fs` under the data
//! directory, behind the rules of [`guarded`] where it would lose data;
//! bucket policies and CORS rules are berth's ([`bucket_config`]), and anonymous reads
//! are let through where one allows them ([`public_read`]); conditional GETs
//! and HEADs are answered by [`conditional`], and the one version of each
//! object is listed as such by [`versions`].
//! MinIO's health endpoints and browsers' CORS preflights are answered
//! before S3's routing ([`routes`], with the bucket's rules: [`cors`]).

mod bucket_config;
mod conditional;
mod cors;
mod guarded;
mod public_read;
mod routes;
mod sidecars;
mod versions;

use std::net::SocketAddr;
use std::path::Path;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

use crate::error::{Error, Result};

/// The variables the keys are read from: MinIO's, so that either server
/// runs from the same environment.
pub const ACCESS_KEY_VAR: &str = "MINIO_ROOT_USER";
pub const SECRET_KEY_VAR: &str = "MINIO_ROOT_PASSWORD";

/// Serve the objects under `data` on `address` until SIGTERM or SIGINT,
/// letting requests in progress finish.
pub fn serve(data: &Path, address: SocketAddr) -> Result<()> {
    let key = |var: &str| {
        std::env::var(var).ok().filter(|v| !v.is_empty()).ok_or_else(|| {
            Error::usage(
                format!("the object store's keys are read from `{ACCESS_KEY_VAR}` and `{SECRET_KEY_VAR}`, and `{var}` is not set"),
                Some("set both; berth sets them when it runs the server for a stack".into()),
            )
        })
    };
    let (access_key, secret_key) = (key(ACCESS_KEY_VAR)?, key(SECRET_KEY_VAR)?);
    crate::fsutil::create_dir(data, 0o700)?;
    let root = data
        .canonicalize()
        .map_err(|e| Error::io(format!("could not open `{}`", data.display()), e))?;
    let store = s3s_fs::FileSystem::new(&root).map_err(|e| Error::Internal {
        message: format!(
            "the object store could not open `{}`: {e:?}",
            root.display()
        ),
    })?;
    let service = {
        let config = bucket_config::BucketConfig::under(&root);
        let mut builder = S3ServiceBuilder::new(guarded::Guarded::new(store, root, config.clone()));
        builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
        builder.set_access(public_read::PublicRead {
            config: config.clone(),
        });
        builder.set_route(routes::Routes { config });
        builder.build()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("could not start the object store's runtime", e))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| Error::io(format!("could not listen on {address}"), e))?;
        let connections = ConnBuilder::new(TokioExecutor::new());
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut terminate = signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut interrupt = signal(tokio::signal::unix::SignalKind::interrupt())?;
        loop {
            let socket = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((socket, _)) => socket,
                    // A connection that failed before it was accepted
                    // (reset, out of descriptors): the next one may not.
                    Err(_) => continue,
                },
                _ = terminate.recv() => break,
                _ = interrupt.recv() => break,
            };
            let connection = connections
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
        // Requests in progress finish (a PUT is written whole or not at
        // all either way); a stuck client does not hold the stop up.
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
        }
        Ok(())
    })
}

fn signal(kind: tokio::signal::unix::SignalKind) -> Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind).map_err(|e| Error::io("could not watch for signals", e))
}
