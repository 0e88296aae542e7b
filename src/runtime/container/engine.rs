//! The connection to the container engine.
//!
//! bollard is async; the runtime owns a small tokio runtime and blocks on
//! it, since the lifecycle is synchronous.

use std::future::Future;
use std::sync::OnceLock;

use bollard::Docker;

use crate::error::{cause, Error, Result};

pub struct Engine {
    rt: tokio::runtime::Runtime,
    /// Connected lazily, once.
    docker: OnceLock<std::result::Result<Docker, String>>,
}

impl Engine {
    pub fn new() -> Result<Engine> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| Error::io("could not start the container engine client", e))?;
        Ok(Engine {
            rt,
            docker: OnceLock::new(),
        })
    }

    /// The engine's client; the error says no engine answers (for
    /// `service`, when a service needed it).
    pub fn docker(&self, service: Option<&str>) -> Result<&Docker> {
        let connected = self.docker.get_or_init(|| {
            self.rt.block_on(async {
                let docker = Docker::connect_with_defaults().map_err(|e| e.to_string())?;
                // Agree on an API version the engine speaks (Docker 20.10
                // stops at 1.41, newer clients start above it). This asks
                // the engine, so it also proves the engine answers.
                docker.negotiate_version().await.map_err(|e| e.to_string())
            })
        });
        connected.as_ref().map_err(|e| Error::Preflight {
            service: service.map(str::to_string),
            message: format!("no container engine answers: {e}"),
            hint: Some(
                "start Docker (or Podman's socket: `systemctl --user start podman.socket`), or point `DOCKER_HOST` at it"
                    .into(),
            ),
        })
    }

    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.rt.block_on(future)
    }

    /// Which engine answers, its version and address, or why none does.
    pub fn describe(&self) -> std::result::Result<String, String> {
        let docker = self.docker(None).map_err(|e| match e.hint() {
            Some(hint) => format!("{e} (hint: {hint})"),
            None => e.to_string(),
        })?;
        let v = self
            .block_on(docker.version())
            .map_err(|e| format!("the container engine did not say its version: {e}"))?;
        // Docker calls its server component `Engine`, Podman `Podman
        // Engine`; the platform name is free text (often empty).
        let component = v
            .components
            .and_then(|c| c.into_iter().next())
            .map(|c| c.name)
            .filter(|n| !n.trim().is_empty());
        let name = match component.as_deref() {
            Some("Engine") => "Docker Engine".to_string(),
            Some(other) => other.to_string(),
            None => v
                .platform
                .map(|p| p.name)
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "container engine".into()),
        };
        Ok(format!(
            "{name} {} (API {}) at {}",
            v.version.unwrap_or_else(|| "?".into()),
            v.api_version.unwrap_or_else(|| "?".into()),
            std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
        ))
    }
}

/// Whether the engine answered "no such object".
pub fn not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// The engine is already removing it: a berth killed mid-removal left the
/// engine to finish (Docker answers 409 until it has).
pub fn removal_in_progress(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            message,
        } if message.contains("already in progress")
    )
}

/// Whether the engine's words (lower case) say host port `port` was taken
/// when it started a container: by its port allocator (another container
/// holds it) or its userland proxy's bind (another program does). Both
/// name the address, `127.0.0.1:<port>`.
pub fn lost_port(said: &str, port: u16) -> bool {
    (said.contains("port is already allocated") || said.contains("address already in use"))
        && said.contains(&format!(":{port}"))
}

/// An engine error about one service, with the engine's words as cause.
pub fn service_error(service: &str, what: impl Into<String>, e: bollard::errors::Error) -> Error {
    Error::Service {
        service: service.to_string(),
        message: what.into(),
        hint: None,
        source: cause(e),
    }
}

/// An engine error about the stack as a whole.
pub fn stack_error(what: impl Into<String>, e: bollard::errors::Error) -> Error {
    Error::Engine {
        message: what.into(),
        source: cause(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The engine's words, as CI printed them.
    const PROXY: &str = "docker responded with status code 500: driver failed programming external connectivity on endpoint berth-race-cache (60540e41): error starting userland proxy: listen tcp4 127.0.0.1:40341: bind: address already in use";
    const ALLOCATOR: &str = "docker responded with status code 500: driver failed programming external connectivity on endpoint berth-race-cache (60540e41): bind for 127.0.0.1:24809 failed: port is already allocated";

    #[test]
    fn a_taken_host_port_is_told_from_the_engines_words() {
        assert!(lost_port(PROXY, 40341));
        assert!(lost_port(ALLOCATOR, 24809));
        // Another of the container's ports (a fixed extra one), or
        // another failure: not the service's own port to move.
        assert!(!lost_port(ALLOCATOR, 24808));
        assert!(!lost_port("no such image: berth-test/redis:7", 24809));
    }
}
