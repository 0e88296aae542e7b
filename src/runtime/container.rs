//! The container runtime: a kind's [`ContainerLaunch`] run through the
//! Docker Engine API (Docker, or Podman's compatible socket; `DOCKER_HOST`
//! is honoured) with the `bollard` client — never the docker CLI.
//!
//! Everything berth creates is named `berth-<stack>-...` and labelled with
//! the stack and service, and only objects carrying this stack's label are
//! ever stopped or removed: another project's containers and volumes, or
//! ones made by hand, are never touched. Ports are published on 127.0.0.1.
//! Data lives in a named volume per persistent service; `down` removes the
//! container and keeps the volume, `reset` removes both. Readiness is the
//! same host-side protocol probe as on the native runtime; the engine
//! health check only serves `docker ps`.
//!
//! bollard is async; this runtime owns a small tokio runtime and blocks on
//! it, since the lifecycle is synchronous.

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::models::{
    ContainerCreateBody, HealthConfig, HostConfig, Mount, MountType, NetworkCreateRequest,
    PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListContainersOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
    StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use super::{Requirement, RunState, Runtime, Started};
use crate::error::{Error, Result};
use crate::kind::{ContainerLaunch, StopSignal};
use crate::stack::{ServiceSpec, LOOPBACK};
use crate::state::StateDir;

const LABEL_STACK: &str = "berth.stack";
const LABEL_SERVICE: &str = "berth.service";
const LABEL_VERSION: &str = "berth.version";

pub struct ContainerRuntime {
    stack: String,
    dir: StateDir,
    rt: tokio::runtime::Runtime,
    /// Connected lazily: a stack that only runs natively never needs an engine.
    docker: std::sync::OnceLock<std::result::Result<Docker, String>>,
    network_lock: std::sync::Mutex<()>,
}

impl ContainerRuntime {
    pub fn new(stack: &str, dir: StateDir) -> Result<ContainerRuntime> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| Error::io("could not start the container engine client", e))?;
        Ok(ContainerRuntime {
            stack: stack.to_string(),
            dir,
            rt,
            docker: std::sync::OnceLock::new(),
            network_lock: std::sync::Mutex::new(()),
        })
    }

    fn docker(&self, service: &str) -> Result<&Docker> {
        let connected = self.docker.get_or_init(|| {
            self.rt.block_on(async {
                let docker = Docker::connect_with_defaults().map_err(|e| e.to_string())?;
                // Agree on an API version the engine speaks (Docker 20.10
                // stops at 1.41, newer clients start above it).
                let docker = docker
                    .negotiate_version()
                    .await
                    .map_err(|e| e.to_string())?;
                docker.ping().await.map_err(|e| e.to_string())?;
                Ok(docker)
            })
        });
        connected.as_ref().map_err(|e| Error::Preflight {
            service: Some(service.to_string()),
            message: format!("no container engine answers: {e}"),
            hint: Some(
                "start Docker (or Podman's socket: `systemctl --user start podman.socket`), or point `DOCKER_HOST` at it"
                    .into(),
            ),
        })
    }

    fn container_name(&self, svc: &ServiceSpec) -> String {
        format!("berth-{}-{}", self.stack, svc.name)
    }

    fn volume_name(&self, service: &str) -> String {
        format!("berth-{}-{}-data", self.stack, service)
    }

    fn network_name(&self) -> String {
        format!("berth-{}", self.stack)
    }

    fn labels(&self, service: Option<&str>) -> HashMap<String, String> {
        let mut labels = HashMap::from([
            (LABEL_STACK.to_string(), self.stack.clone()),
            (
                LABEL_VERSION.to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
        ]);
        if let Some(s) = service {
            labels.insert(LABEL_SERVICE.to_string(), s.to_string());
        }
        labels
    }

    fn image(&self, svc: &ServiceSpec, launch: &ContainerLaunch) -> String {
        svc.config
            .image
            .clone()
            .unwrap_or_else(|| launch.default_image.clone())
    }

    /// The container, if it exists and is this stack's.
    fn inspect(
        &self,
        svc: &ServiceSpec,
    ) -> Result<Option<bollard::models::ContainerInspectResponse>> {
        let docker = self.docker(&svc.name)?;
        let name = self.container_name(svc);
        let found = self.rt.block_on(docker.inspect_container(
            &name,
            None::<bollard::query_parameters::InspectContainerOptions>,
        ));
        match found {
            Ok(c) => {
                let ours = c
                    .config
                    .as_ref()
                    .and_then(|c| c.labels.as_ref())
                    .and_then(|l| l.get(LABEL_STACK))
                    == Some(&self.stack);
                if !ours {
                    return Err(Error::Preflight {
                        service: Some(svc.name.clone()),
                        message: format!("a container named `{name}` exists but berth did not create it for stack `{}`", self.stack),
                        hint: Some("rename or remove that container (berth never touches containers it did not create), or rename the stack".into()),
                    });
                }
                Ok(Some(c))
            }
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(self.engine_error(svc, "could not inspect its container", e)),
        }
    }

    fn volume_exists(&self, svc: &ServiceSpec) -> Result<bool> {
        let docker = self.docker(&svc.name)?;
        match self
            .rt
            .block_on(docker.inspect_volume(&self.volume_name(&svc.name)))
        {
            Ok(_) => Ok(true),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(false),
            Err(e) => Err(self.engine_error(svc, "could not inspect its volume", e)),
        }
    }

    fn engine_error(&self, svc: &ServiceSpec, what: &str, e: bollard::errors::Error) -> Error {
        Error::Service {
            service: svc.name.clone(),
            message: format!("{what}: {e}"),
            hint: None,
        }
    }

    /// Pull `image` when the engine does not have it.
    fn ensure_image(&self, svc: &ServiceSpec, image: &str) -> Result<String> {
        let docker = self.docker(&svc.name)?;
        if let Ok(found) = self.rt.block_on(docker.inspect_image(image)) {
            return Ok(found.id.unwrap_or_default());
        }
        let options = CreateImageOptionsBuilder::default()
            .from_image(image)
            .build();
        let pulled: std::result::Result<(), String> = self.rt.block_on(async {
            let mut stream = docker.create_image(Some(options), None, None);
            while let Some(step) = stream.next().await {
                step.map_err(|e| e.to_string())?;
            }
            Ok(())
        });
        if let Err(e) = pulled {
            return Err(Error::Preflight {
                service: Some(svc.name.clone()),
                message: format!("image `{image}` is not on this machine and could not be pulled: {e}"),
                hint: Some(format!(
                    "load or build it (`docker load`, `docker build -t {image} ...`), or name one this machine has with `image = \"...\"` in `[services.{}]`",
                    svc.name
                )),
            });
        }
        let found = self
            .rt
            .block_on(docker.inspect_image(image))
            .map_err(|e| self.engine_error(svc, "could not inspect the pulled image", e))?;
        Ok(found.id.unwrap_or_default())
    }

    /// The stack's network, created once: services start in parallel, and
    /// the engine would accept two networks of one name.
    fn ensure_network(&self, svc: &ServiceSpec) -> Result<String> {
        let docker = self.docker(&svc.name)?;
        let name = self.network_name();
        let _guard = self.network_lock.lock().unwrap_or_else(|p| p.into_inner());
        let inspect = bollard::query_parameters::InspectNetworkOptions::default();
        match self
            .rt
            .block_on(docker.inspect_network(&name, Some(inspect)))
        {
            Ok(_) => return Ok(name),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => {
                return Err(self.engine_error(svc, "could not inspect the stack's network", e))
            }
        }
        self.rt
            .block_on(docker.create_network(NetworkCreateRequest {
                name: name.clone(),
                labels: Some(self.labels(None)),
                ..Default::default()
            }))
            .map_err(|e| self.engine_error(svc, "could not create the stack's network", e))?;
        Ok(name)
    }

    fn logs_text(&self, svc: &ServiceSpec) -> Option<String> {
        let docker = self.docker(&svc.name).ok()?;
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail("500")
            .build();
        self.rt.block_on(async {
            let mut stream = docker.logs(&self.container_name(svc), Some(options));
            let mut text = String::new();
            while let Some(Ok(chunk)) = stream.next().await {
                text.push_str(&chunk.to_string());
            }
            Some(text)
        })
    }

    fn remove_container(&self, svc_name: &str, name: &str) -> Result<()> {
        let docker = self.docker(svc_name)?;
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self
            .rt
            .block_on(docker.remove_container(name, Some(options)))
        {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(e) => Err(Error::Service {
                service: svc_name.to_string(),
                message: format!("could not remove container `{name}`: {e}"),
                hint: None,
            }),
        }
    }

    fn stop_container(&self, svc_name: &str, name: &str) -> Result<()> {
        let docker = self.docker(svc_name)?;
        let options = StopContainerOptionsBuilder::default().t(10).build();
        match self.rt.block_on(docker.stop_container(name, Some(options))) {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304 | 404,
                ..
            }) => Ok(()),
            Err(e) => Err(Error::Service {
                service: svc_name.to_string(),
                message: format!("could not stop container `{name}`: {e}"),
                hint: None,
            }),
        }
    }
}

impl Runtime for ContainerRuntime {
    fn name(&self) -> &'static str {
        "container"
    }

    fn check(&self, svc: &ServiceSpec) -> Result<Requirement> {
        let launch = svc.kind.container(svc);
        let image = self.image(svc, &launch);
        let id = self.ensure_image(svc, &image)?;
        Ok(Requirement {
            found: format!("image `{image}` ({})", id.get(..19).unwrap_or(&id)),
        })
    }

    fn state(&self, svc: &ServiceSpec) -> Result<RunState> {
        if let Some(c) = self.inspect(svc)? {
            let state = c.state.unwrap_or_default();
            if state.running == Some(true) {
                return Ok(RunState::Running {
                    pid: state.pid.unwrap_or(0) as i32,
                });
            }
        }
        if svc.persist && self.volume_exists(svc)? {
            Ok(RunState::Stopped)
        } else {
            Ok(RunState::Absent)
        }
    }

    fn clear_leftovers(&self, svc: &ServiceSpec) -> Result<()> {
        // A stopped or crashed container of ours is replaced on start; its
        // data is in the volume.
        if self.inspect(svc)?.is_some() {
            self.remove_container(&svc.name, &self.container_name(svc))?;
        }
        Ok(())
    }

    fn start(&self, svc: &ServiceSpec, on_init: &dyn Fn()) -> Result<Started> {
        let docker = self.docker(&svc.name)?;
        let launch = svc.kind.container(svc);
        let image = self.image(svc, &launch);
        let network = self.ensure_network(svc)?;
        let mut mounts = Vec::new();
        let started = if svc.persist {
            let existed = self.volume_exists(svc)?;
            if !existed {
                self.rt
                    .block_on(docker.create_volume(VolumeCreateRequest {
                        name: Some(self.volume_name(&svc.name)),
                        labels: Some(self.labels(Some(&svc.name))),
                        ..Default::default()
                    }))
                    .map_err(|e| self.engine_error(svc, "could not create its volume", e))?;
            }
            mounts.push(Mount {
                target: Some(launch.data_path.to_string()),
                source: Some(self.volume_name(&svc.name)),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            });
            if existed {
                Started::Restarted
            } else {
                Started::Initialized
            }
        } else {
            Started::Initialized
        };
        if started == Started::Initialized {
            on_init();
        }
        let port_key = format!("{}/tcp", launch.port);
        let body = ContainerCreateBody {
            image: Some(image),
            cmd: Some(launch.args.clone()),
            env: Some(launch.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(self.labels(Some(&svc.name))),
            exposed_ports: Some(vec![port_key.clone()]),
            stop_signal: Some(
                match launch.stop_signal {
                    StopSignal::Interrupt => "SIGINT",
                    StopSignal::Terminate => "SIGTERM",
                }
                .to_string(),
            ),
            healthcheck: Some(HealthConfig {
                test: Some(vec!["CMD-SHELL".into(), launch.health.clone()]),
                interval: Some(5_000_000_000),
                timeout: Some(3_000_000_000),
                retries: Some(3),
                start_period: Some(1_000_000_000),
                start_interval: None,
            }),
            host_config: Some(HostConfig {
                port_bindings: Some(HashMap::from([(
                    port_key,
                    Some(vec![PortBinding {
                        host_ip: Some(LOOPBACK.to_string()),
                        host_port: Some(svc.port.to_string()),
                    }]),
                )])),
                mounts: Some(mounts),
                network_mode: Some(network),
                ..Default::default()
            }),
            ..Default::default()
        };
        let name = self.container_name(svc);
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        self.rt
            .block_on(docker.create_container(Some(options), body))
            .map_err(|e| self.engine_error(svc, "could not create its container", e))?;
        self.rt
            .block_on(docker.start_container(
                &name,
                None::<bollard::query_parameters::StartContainerOptions>,
            ))
            .map_err(|e| self.engine_error(svc, "could not start its container", e))?;
        Ok(started)
    }

    fn ensure_alive(&self, svc: &ServiceSpec) -> Result<()> {
        let state = self.inspect(svc)?.and_then(|c| c.state).unwrap_or_default();
        if state.running == Some(true) {
            return Ok(());
        }
        let log = self.log_file(svc);
        Err(Error::ServiceExited {
            service: svc.name.clone(),
            status: match state.exit_code {
                Some(code) => format!("exit code {code}"),
                None => "its container is gone".into(),
            },
            log_tail: crate::fsutil::tail_lines(&log, 15),
            log,
        })
    }

    fn stop(&self, svc: &ServiceSpec) -> Result<()> {
        if self.inspect(svc)?.is_none() {
            return Ok(());
        }
        let name = self.container_name(svc);
        // Keep its last words for `berth logs` before the container goes.
        let _ = self.log_file(svc);
        self.stop_container(&svc.name, &name)?;
        self.remove_container(&svc.name, &name)
    }

    fn wipe(&self, svc: &ServiceSpec) -> Result<()> {
        let docker = self.docker(&svc.name)?;
        if !self.volume_exists(svc)? {
            return Ok(());
        }
        let volume = self.volume_name(&svc.name);
        let ours = self
            .rt
            .block_on(docker.inspect_volume(&volume))
            .ok()
            .and_then(|v| v.labels.get(LABEL_STACK).cloned())
            == Some(self.stack.clone());
        if !ours {
            return Ok(());
        }
        self.rt
            .block_on(
                docker.remove_volume(&volume, Some(RemoveVolumeOptionsBuilder::default().build())),
            )
            .map_err(|e| self.engine_error(svc, "could not remove its volume", e))
    }

    fn log_file(&self, svc: &ServiceSpec) -> PathBuf {
        // The engine keeps the log; a copy in the state directory serves
        // `berth logs` and error messages alike.
        let path = self.dir.log_file(&svc.name);
        if let Some(text) = self.logs_text(svc) {
            let _ = std::fs::create_dir_all(self.dir.root.join("logs"));
            let _ = std::fs::write(&path, text);
        }
        path
    }

    fn stop_unlisted(&self, listed: &[&str]) -> Result<Vec<String>> {
        // No engine, nothing of ours can run on it.
        let Ok(docker) = self.docker("-") else {
            return Ok(Vec::new());
        };
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{LABEL_STACK}={}", self.stack)],
        )]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let containers = self
            .rt
            .block_on(docker.list_containers(Some(options)))
            .map_err(|e| Error::Service {
                service: "-".into(),
                message: format!("could not list the stack's containers: {e}"),
                hint: None,
            })?;
        let mut stopped = Vec::new();
        for c in containers {
            let Some(service) = c
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_SERVICE))
                .cloned()
            else {
                continue;
            };
            if listed.contains(&service.as_str()) {
                continue;
            }
            let name = format!("berth-{}-{service}", self.stack);
            self.stop_container(&service, &name)?;
            self.remove_container(&service, &name)?;
            stopped.push(service);
        }
        Ok(stopped)
    }

    fn release_stack(&self) -> Result<()> {
        let Ok(docker) = self.docker("-") else {
            return Ok(());
        };
        let name = self.network_name();
        let inspect = bollard::query_parameters::InspectNetworkOptions::default();
        let Ok(network) = self
            .rt
            .block_on(docker.inspect_network(&name, Some(inspect)))
        else {
            return Ok(());
        };
        let ours = network.labels.as_ref().and_then(|l| l.get(LABEL_STACK)) == Some(&self.stack);
        let in_use = network.containers.as_ref().is_some_and(|c| !c.is_empty());
        if ours && !in_use {
            let _ = self.rt.block_on(docker.remove_network(&name));
        }
        Ok(())
    }
}
