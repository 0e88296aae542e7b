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

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount, MountType,
    NetworkCreateRequest, NetworkingConfig, PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListContainersOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
    StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

use super::{ImageId, Requirement, RunState, Runtime, Started};
use crate::config::VolumeSource;
use crate::error::{Error, Result};
use crate::kind::{ContainerLaunch, StopSignal};
use crate::stack::{ServiceSpec, LOOPBACK};
use crate::state::StateDir;

const LABEL_STACK: &str = "berth.stack";
const LABEL_SERVICE: &str = "berth.service";
const LABEL_VERSION: &str = "berth.version";
/// The state directory of the stack that made a container: two checkouts
/// may use one stack name on one engine.
const LABEL_STATE_DIR: &str = "berth.state-dir";

pub struct ContainerRuntime {
    stack: String,
    dir: StateDir,
    rt: tokio::runtime::Runtime,
    /// Connected lazily: a stack that only runs natively never needs an engine.
    docker: std::sync::OnceLock<std::result::Result<Docker, String>>,
    /// Whether this command already made sure the stack's network exists
    /// (services start in parallel, and the engine would accept two
    /// networks of one name).
    network_made: std::sync::Mutex<bool>,
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
            network_made: std::sync::Mutex::new(false),
        })
    }

    fn docker(&self, service: &str) -> Result<&Docker> {
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
            labels.insert(
                LABEL_STATE_DIR.to_string(),
                self.dir.root.display().to_string(),
            );
        }
        labels
    }

    /// The image as the stack names it (tag).
    fn tag(&self, svc: &ServiceSpec, launch: &ContainerLaunch) -> String {
        svc.config
            .image
            .clone()
            .unwrap_or_else(|| launch.default_image.clone())
    }

    /// What the container runs: the image `berth.lock` pins, else the tag.
    fn image_to_run(&self, svc: &ServiceSpec, launch: &ContainerLaunch) -> String {
        svc.pinned_image
            .clone()
            .unwrap_or_else(|| self.tag(svc, launch))
    }

    /// Every volume name of a service: its data volume and named `volumes`.
    fn volumes_of(&self, svc: &ServiceSpec, launch: &ContainerLaunch) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(path) = launch.data_path {
            out.push((self.volume_name(&svc.name), path.to_string()));
        }
        for v in &launch.volumes {
            if let VolumeSource::Named(name) = &v.source {
                out.push((
                    format!("berth-{}-{}-{name}", self.stack, svc.name),
                    v.target.clone(),
                ));
            }
        }
        out
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
                let labels = c.config.as_ref().and_then(|c| c.labels.as_ref());
                let ours = labels.and_then(|l| l.get(LABEL_STACK)) == Some(&self.stack);
                let elsewhere = labels
                    .and_then(|l| l.get(LABEL_STATE_DIR))
                    .filter(|d| **d != self.dir.root.display().to_string());
                if let (true, Some(other)) = (ours, elsewhere) {
                    // Its ports and passwords are the other checkout's:
                    // probing it from here could only time out.
                    return Err(Error::Preflight {
                        service: Some(svc.name.clone()),
                        message: format!(
                            "container `{name}` belongs to stack `{}` of another checkout (state in `{other}`)",
                            self.stack
                        ),
                        hint: Some(
                            "run `berth down` there, or give this stack another name (`name` in the stack file, or `--name`)"
                                .into(),
                        ),
                    });
                }
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

    /// The volumes of this stack's service, found by label (so a volume the
    /// stack file no longer names is still found, and nobody else's is).
    fn labelled_volumes(&self, service: &str) -> Result<Vec<String>> {
        let docker = self.docker(service)?;
        let filters = HashMap::from([(
            "label".to_string(),
            vec![
                format!("{LABEL_STACK}={}", self.stack),
                format!("{LABEL_SERVICE}={service}"),
            ],
        )]);
        let options = bollard::query_parameters::ListVolumesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let listed = self
            .rt
            .block_on(docker.list_volumes(Some(options)))
            .map_err(|e| Error::Service {
                service: service.to_string(),
                message: format!("could not list its volumes: {e}"),
                hint: None,
            })?;
        Ok(listed
            .volumes
            .unwrap_or_default()
            .into_iter()
            .filter(|v| self.is_ours(Some(&v.labels), Some(service)))
            .map(|v| v.name)
            .collect())
    }

    /// Whether labels mark an object as this stack's (and `service`'s).
    /// Checked on every object a filtered listing returns, because engines
    /// differ on filters: Podman 4 ORs two `label` filters where Docker ANDs
    /// them, which would hand over another stack's volumes.
    fn is_ours(&self, labels: Option<&HashMap<String, String>>, service: Option<&str>) -> bool {
        let Some(labels) = labels else {
            return false;
        };
        labels.get(LABEL_STACK) == Some(&self.stack)
            && service.is_none_or(|s| labels.get(LABEL_SERVICE).map(String::as_str) == Some(s))
    }

    fn volume_exists(&self, svc: &ServiceSpec, name: &str) -> Result<bool> {
        let docker = self.docker(&svc.name)?;
        match self.rt.block_on(docker.inspect_volume(name)) {
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

    /// The image's id, when the engine has it.
    fn find_image(&self, svc: &ServiceSpec, image: &str) -> Result<Option<String>> {
        let docker = self.docker(&svc.name)?;
        match self.rt.block_on(docker.inspect_image(image)) {
            Ok(found) => Ok(Some(found.id.unwrap_or_default())),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(self.engine_error(svc, &format!("could not inspect image `{image}`"), e)),
        }
    }

    fn missing_image(&self, svc: &ServiceSpec, image: &str, why: &str) -> Error {
        Error::Preflight {
            service: Some(svc.name.clone()),
            message: format!("image `{image}` is not on this machine{why}"),
            hint: Some(format!(
                "load or build it (`docker load`, `docker build -t {image} ...`), or name one this machine has with `image = \"...\"` in `[services.{}]`",
                svc.name
            )),
        }
    }

    /// Pull `image`, reporting bytes done and total across its layers.
    fn pull(&self, svc: &ServiceSpec, image: &str, progress: &dyn Fn(u64, u64)) -> Result<()> {
        self.try_pull(svc, image, progress)?
            .map_err(|e| self.missing_image(svc, image, &format!(" and could not be pulled: {e}")))
    }

    /// Pull `image`; the inner error is the engine's reason it could not.
    fn try_pull(
        &self,
        svc: &ServiceSpec,
        image: &str,
        progress: &dyn Fn(u64, u64),
    ) -> Result<std::result::Result<(), String>> {
        let docker = self.docker(&svc.name)?;
        let options = CreateImageOptionsBuilder::default()
            .from_image(image)
            .build();
        let pulled: std::result::Result<(), String> = self.rt.block_on(async {
            let mut stream = docker.create_image(Some(options), None, None);
            let mut layers: HashMap<String, (u64, u64)> = HashMap::new();
            while let Some(step) = stream.next().await {
                let info = step.map_err(|e| e.to_string())?;
                if let Some(e) = info.error_detail.and_then(|d| d.message) {
                    return Err(e);
                }
                if let (Some(id), Some(detail)) = (info.id, info.progress_detail) {
                    if let (Some(current), Some(total)) = (detail.current, detail.total) {
                        layers.insert(id, (current.max(0) as u64, total.max(0) as u64));
                        let (done, total) = layers
                            .values()
                            .fold((0, 0), |(d, t), (ld, lt)| (d + ld, t + lt));
                        progress(done, total);
                    }
                }
            }
            Ok(())
        });
        Ok(pulled)
    }

    /// The stack's network, created once: services start in parallel, and
    /// the engine would accept two networks of one name.
    fn ensure_network(&self, service: &str) -> Result<String> {
        let docker = self.docker(service)?;
        let name = self.network_name();
        let mut made = self.network_made.lock().unwrap_or_else(|p| p.into_inner());
        if *made {
            return Ok(name);
        }
        let failed = |what: &str, e: bollard::errors::Error| Error::Service {
            service: service.to_string(),
            message: format!("{what}: {e}"),
            hint: None,
        };
        let inspect = bollard::query_parameters::InspectNetworkOptions::default();
        match self
            .rt
            .block_on(docker.inspect_network(&name, Some(inspect)))
        {
            Ok(_) => {}
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {
                self.rt
                    .block_on(docker.create_network(NetworkCreateRequest {
                        name: name.clone(),
                        labels: Some(self.labels(None)),
                        ..Default::default()
                    }))
                    .map_err(|e| failed("could not create the stack's network", e))?;
            }
            Err(e) => return Err(failed("could not inspect the stack's network", e)),
        }
        *made = true;
        Ok(name)
    }

    fn logs_text(&self, svc: &ServiceSpec) -> Option<String> {
        let docker = self.docker(&svc.name).ok()?;
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail("all")
            .build();
        self.rt.block_on(async {
            let mut stream = docker.logs(&self.container_name(svc), Some(options));
            let mut text = String::new();
            while let Some(chunk) = stream.next().await {
                // No container (any more): keep the copy we have.
                text.push_str(&chunk.ok()?.to_string());
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
        let image = self.image_to_run(svc, &launch);
        let Some(id) = self.find_image(svc, &image)? else {
            return Err(self.missing_image(svc, &image, ""));
        };
        let shown = self.tag(svc, &launch);
        Ok(Requirement {
            found: format!("image `{shown}` ({})", short_id(&id)),
        })
    }

    fn fetch(&self, svc: &ServiceSpec, progress: &dyn Fn(&str, u64, u64)) -> Result<()> {
        let launch = svc.kind.container(svc);
        let image = self.image_to_run(svc, &launch);
        if self.find_image(svc, &image)?.is_some() {
            return Ok(());
        }
        if svc.pinned_image.is_some() {
            // An image id cannot be pulled; the tag it was locked from can,
            // and must come back with the same id.
            let tag = self.tag(svc, &launch);
            let pulled = self.try_pull(svc, &tag, &|done, total| progress(&tag, done, total))?;
            if pulled.is_ok() && self.find_image(svc, &image)?.is_some() {
                return Ok(());
            }
            let now = match self.find_image(svc, &tag)? {
                Some(id) => format!("`{tag}` here is {}", short_id(&id)),
                None => format!("`{tag}` is not here either"),
            };
            let pull = match pulled {
                Ok(()) => "pulling it gave another image".to_string(),
                Err(e) => format!("it could not be pulled ({e})"),
            };
            return Err(Error::Preflight {
                service: Some(svc.name.clone()),
                message: format!(
                    "{} pins `{tag}` to {}, which is not on this machine; {now}, and {pull}",
                    crate::image_lock::FILE_NAME,
                    short_id(&image)
                ),
                hint: Some(format!(
                    "`berth lock` accepts the image `{tag}` names now; or load the locked image and tag it `{tag}`"
                )),
            });
        }
        self.pull(svc, &image, &|done, total| progress(&image, done, total))
    }

    fn image(&self, svc: &ServiceSpec) -> Option<String> {
        Some(self.tag(svc, &svc.kind.container(svc)))
    }

    fn engine(&self) -> Option<std::result::Result<String, String>> {
        let docker = match self.docker("") {
            Ok(d) => d,
            Err(e) => {
                return Some(Err(match e.hint() {
                    Some(hint) => format!("{e} (hint: {hint})"),
                    None => e.to_string(),
                }))
            }
        };
        let found = self.rt.block_on(docker.version()).map(|v| {
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
            format!(
                "{name} {} (API {}) at {}",
                v.version.unwrap_or_else(|| "?".into()),
                v.api_version.unwrap_or_else(|| "?".into()),
                std::env::var("DOCKER_HOST")
                    .unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
            )
        });
        Some(found.map_err(|e| format!("the container engine did not say its version: {e}")))
    }

    fn image_id(&self, svc: &ServiceSpec) -> Result<Option<ImageId>> {
        let launch = svc.kind.container(svc);
        let image = self.tag(svc, &launch);
        let docker = self.docker(&svc.name)?;
        match self.rt.block_on(docker.inspect_image(&image)) {
            Ok(found) => Ok(Some(ImageId {
                image,
                id: found.id.unwrap_or_default(),
                repo_digest: found.repo_digests.unwrap_or_default().into_iter().next(),
            })),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(self.engine_error(svc, &format!("could not inspect image `{image}`"), e)),
        }
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
        if svc.persist && !self.labelled_volumes(&svc.name)?.is_empty() {
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
        let image = self.image_to_run(svc, &launch);
        let network = self.ensure_network(&svc.name)?;
        let mut mounts = Vec::new();
        let mut created_any = false;
        if svc.persist {
            for (volume, target) in self.volumes_of(svc, &launch) {
                if !self.volume_exists(svc, &volume)? {
                    self.rt
                        .block_on(docker.create_volume(VolumeCreateRequest {
                            name: Some(volume.clone()),
                            labels: Some(self.labels(Some(&svc.name))),
                            ..Default::default()
                        }))
                        .map_err(|e| self.engine_error(svc, "could not create its volume", e))?;
                    created_any = true;
                }
                mounts.push(Mount {
                    target: Some(target),
                    source: Some(volume),
                    typ: Some(MountType::VOLUME),
                    ..Default::default()
                });
            }
        }
        for v in &launch.volumes {
            if let VolumeSource::Bind(path) = &v.source {
                if !path.exists() {
                    return Err(Error::Preflight {
                        service: Some(svc.name.clone()),
                        message: format!("the bind mount `{}` does not exist", path.display()),
                        hint: Some(format!(
                            "create it, or correct `volumes` in `[services.{}]`",
                            svc.name
                        )),
                    });
                }
                mounts.push(Mount {
                    target: Some(v.target.clone()),
                    source: Some(path.display().to_string()),
                    typ: Some(MountType::BIND),
                    read_only: Some(v.read_only),
                    ..Default::default()
                });
            }
        }
        // Without a volume there is nothing kept: every start initializes.
        let started = if !svc.persist
            || created_any
            || mounts.iter().all(|m| m.typ != Some(MountType::VOLUME))
        {
            Started::Initialized
        } else {
            Started::Restarted
        };
        // Only a service with data to set up says so (not a plain web app).
        if started == Started::Initialized && (launch.data_path.is_some() || created_any) {
            on_init();
        }
        let mut bindings = vec![(launch.port, svc.port)];
        bindings.extend(launch.extra_ports.iter().map(|p| (p.container, p.host)));
        let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = bindings
            .iter()
            .map(|(inside, host)| {
                (
                    format!("{inside}/tcp"),
                    Some(vec![PortBinding {
                        host_ip: Some(LOOPBACK.to_string()),
                        host_port: Some(host.to_string()),
                    }]),
                )
            })
            .collect();
        let body = ContainerCreateBody {
            image: Some(image),
            cmd: (!launch.args.is_empty()).then(|| launch.args.clone()),
            env: Some(launch.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(self.labels(Some(&svc.name))),
            exposed_ports: Some(port_bindings.keys().cloned().collect()),
            stop_signal: Some(
                match launch.stop_signal {
                    StopSignal::Interrupt => "SIGINT",
                    StopSignal::Terminate => "SIGTERM",
                }
                .to_string(),
            ),
            healthcheck: launch.health.clone().map(|test| HealthConfig {
                test: Some(test),
                interval: Some(5_000_000_000),
                timeout: Some(3_000_000_000),
                retries: Some(3),
                start_period: Some(1_000_000_000),
                start_interval: None,
            }),
            host_config: Some(HostConfig {
                port_bindings: Some(port_bindings),
                mounts: Some(mounts),
                network_mode: Some(network.clone()),
                ..Default::default()
            }),
            // Other containers of the stack reach this one by service name.
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network,
                    EndpointSettings {
                        aliases: Some(vec![svc.name.clone()]),
                        ..Default::default()
                    },
                )])),
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

    fn exec(
        &self,
        svc: &ServiceSpec,
        command: &[String],
    ) -> Result<std::result::Result<(), String>> {
        let docker = self.docker(&svc.name)?;
        let name = self.container_name(svc);
        // The timer is made inside the runtime: tokio's timers need one.
        let ran = self.rt.block_on(async {
            tokio::time::timeout(super::EXEC_PROBE_TIMEOUT, async {
                let exec = docker
                    .create_exec(
                        &name,
                        CreateExecOptions {
                            cmd: Some(command.to_vec()),
                            attach_stdout: Some(true),
                            attach_stderr: Some(true),
                            ..Default::default()
                        },
                    )
                    .await?;
                let mut text = String::new();
                if let StartExecResults::Attached { mut output, .. } =
                    docker.start_exec(&exec.id, None).await?
                {
                    while let Some(Ok(chunk)) = output.next().await {
                        text.push_str(&chunk.to_string());
                    }
                }
                let inspected = docker.inspect_exec(&exec.id).await?;
                Ok::<_, bollard::errors::Error>((inspected.exit_code, text))
            })
            .await
        });
        match ran {
            Err(_) => Ok(Err(format!(
                "`{}` did not finish within {}",
                command.join(" "),
                crate::fmt_duration(super::EXEC_PROBE_TIMEOUT)
            ))),
            Ok(Ok((Some(0), _))) => Ok(Ok(())),
            Ok(Ok((code, text))) => {
                let last = text.lines().last().unwrap_or("").trim().to_string();
                Ok(Err(format!(
                    "`{}` exited with {}{}",
                    command.join(" "),
                    code.map_or("no code".to_string(), |c| c.to_string()),
                    if last.is_empty() {
                        String::new()
                    } else {
                        format!(": {last}")
                    }
                )))
            }
            // Not running yet, or the program is missing: report, keep waiting.
            Ok(Err(e)) => Ok(Err(e.to_string())),
        }
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
        self.stop_container(&svc.name, &name)?;
        // Keep its last words for `berth logs` before the container goes.
        let _ = self.log_file(svc);
        self.remove_container(&svc.name, &name)
    }

    fn wipe(&self, svc: &ServiceSpec) -> Result<()> {
        let docker = self.docker(&svc.name)?;
        // Only volumes labelled as this stack's service: a volume made by
        // hand, or another stack's, is never removed.
        for volume in self.labelled_volumes(&svc.name)? {
            self.rt
                .block_on(
                    docker.remove_volume(
                        &volume,
                        Some(RemoveVolumeOptionsBuilder::default().build()),
                    ),
                )
                .map_err(|e| {
                    self.engine_error(svc, &format!("could not remove its volume `{volume}`"), e)
                })?;
        }
        Ok(())
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
            if !self.is_ours(c.labels.as_ref(), None) {
                continue;
            }
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

    fn prepare_stack(&self) -> Result<()> {
        self.ensure_network("-").map(drop)
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
            *self.network_made.lock().unwrap_or_else(|p| p.into_inner()) = false;
        }
        Ok(())
    }
}

/// `sha256:0123456789ab` from a full image id.
fn short_id(id: &str) -> &str {
    id.get(..19).unwrap_or(id)
}
