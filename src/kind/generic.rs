//! Generic services: any image in a container, or any command natively —
//! the extra services of a stack (an HTTP API, MinIO, Vault, Grafana, ...).
//!
//! berth knows nothing of what runs; the stack file says how to run it
//! (`image`, `command`, `env`, `volumes`, `ports`) and how to tell it is
//! ready (`ready`: tcp by default, or http, postgres, redis, exec). It
//! exports `host` and `port`, so other services and the env file can name
//! it like any other.

use super::launch::first_version;
use super::{
    BinarySpec, ConnectionValue, ContainerLaunch, Endpoint, NativeLaunch, ServerSpec, ServiceKind,
    StopSignal,
};
use crate::config::{PortSetting, Ready, ServiceConfig};
use crate::kind::Arg;
use crate::stack::ServiceSpec;

pub struct Generic;

impl Generic {
    fn env<'a>(svc: &'a ServiceSpec, var: &str) -> Option<&'a str> {
        svc.env
            .iter()
            .find(|(k, _)| k == var)
            .map(|(_, v)| v.as_str())
    }
}

impl ServiceKind for Generic {
    fn name(&self) -> &'static str {
        "generic"
    }

    fn keys(&self) -> &'static [&'static str] {
        &[
            "command",
            "container_port",
            "ports",
            "env",
            "volumes",
            "ready",
            "persist",
        ]
    }

    fn connection_keys(&self) -> &'static [&'static str] {
        &["host", "port"]
    }

    fn persists_by_default(&self) -> bool {
        true
    }

    fn uses_password(&self) -> bool {
        false
    }

    fn validate(&self, svc: &ServiceConfig) -> Result<(), (&'static str, String)> {
        match svc.runtime.as_str() {
            "container" => {
                if svc.image.is_none() {
                    return Err((
                        "runtime",
                        format!("service `{}` runs in a container but names no `image`; add `image = \"...\"`", svc.name),
                    ));
                }
                if svc.container_port.is_none() && !matches!(svc.port, PortSetting::Fixed(_)) {
                    return Err((
                        "port",
                        format!("say which port `{}` listens on inside its container: add `container_port = ...`", svc.name),
                    ));
                }
            }
            _ => {
                if svc.command.is_empty() {
                    return Err((
                        "runtime",
                        format!("service `{}` runs natively but has no `command`; add `command = [\"program\", \"arg\"]`, or run it with `runtime = \"container\"`", svc.name),
                    ));
                }
                if !svc.volumes.is_empty() {
                    return Err((
                        "volumes",
                        "`volumes` apply to containers; a native command reads host paths directly"
                            .into(),
                    ));
                }
                if !svc.extra_ports.is_empty() {
                    return Err((
                        "ports",
                        "`ports` publishes container ports; a native command listens on host ports itself".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    fn connection(&self, _svc: &ServiceSpec, endpoint: &Endpoint) -> Vec<ConnectionValue> {
        let plain = |key, value: String| ConnectionValue {
            key,
            masked: value.clone(),
            value,
            secret: false,
        };
        vec![
            plain("host", endpoint.host.clone()),
            plain("port", endpoint.port.to_string()),
        ]
    }

    fn probe(&self, svc: &ServiceSpec, endpoint: &Endpoint) -> Result<(), String> {
        match svc.config.ready.as_ref().unwrap_or(&Ready::Tcp) {
            Ready::Tcp => crate::probe::tcp(endpoint),
            Ready::Http { path } => crate::probe::http::probe(endpoint, path),
            Ready::Postgres => {
                // The official image's contract: the login it was set up with.
                let user = Self::env(svc, "POSTGRES_USER").unwrap_or("postgres");
                let login = crate::probe::postgres::Login {
                    user,
                    password: Self::env(svc, "POSTGRES_PASSWORD"),
                    database: Self::env(svc, "POSTGRES_DB").unwrap_or(user),
                };
                crate::probe::postgres::probe(endpoint, &login)
            }
            Ready::Redis => crate::probe::redis::probe(endpoint, Self::env(svc, "REDIS_PASSWORD")),
            Ready::Exec { .. } => Err("an exec probe runs through the runtime".into()),
        }
    }

    fn exec_probe(&self, svc: &ServiceSpec) -> Option<Vec<String>> {
        match &svc.config.ready {
            Some(Ready::Exec { command }) => Some(command.clone()),
            _ => None,
        }
    }

    fn native(&self, svc: &ServiceSpec) -> NativeLaunch {
        let program = svc.command.first().cloned().unwrap_or_default();
        let mut env = svc.env.clone();
        // The port berth chose, for commands that read it from the
        // environment rather than from `${service.port}` in `command`.
        if !env.iter().any(|(k, _)| k == "PORT") {
            env.push(("PORT".into(), svc.port.to_string()));
        }
        NativeLaunch {
            binary: BinarySpec {
                program: program.clone(),
                companions: &[],
                version_args: &[],
                parse_version: first_version,
                search_dirs: &[],
                locator: None,
                version_req: None,
                install_hint: format!(
                    "install `{program}`, or correct `command` in `[services.{}]`",
                    svc.name
                ),
            },
            init: Vec::new(),
            server: ServerSpec {
                program,
                args: svc.command.iter().skip(1).map(Arg::text).collect(),
                env,
                cwd: Some(svc.root.clone()),
                files: Vec::new(),
                stop_signal: StopSignal::Terminate,
            },
        }
    }

    fn container(&self, svc: &ServiceSpec) -> ContainerLaunch {
        let port = svc.config.container_port.unwrap_or(match svc.config.port {
            PortSetting::Fixed(p) => p,
            PortSetting::Auto => 0,
        });
        ContainerLaunch {
            default_image: svc.config.image.clone().unwrap_or_default(),
            env: svc.env.clone(),
            args: svc.command.clone(),
            port,
            extra_ports: svc.config.extra_ports.clone(),
            data_path: None,
            volumes: svc.config.volumes.clone(),
            stop_signal: StopSignal::Terminate,
            health: self
                .exec_probe(svc)
                .map(|command| std::iter::once("CMD".to_string()).chain(command).collect()),
        }
    }
}
