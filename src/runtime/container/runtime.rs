//! Running a plan as a container: a container per service on a network of
//! the stack's own, ports published on 127.0.0.1, data in a named volume
//! per persistent service (`down` removes the container and keeps the
//! volume, `reset` removes both). Readiness is the same host-side protocol
//! probe as on the native runtime; the engine health check only serves
//! `docker ps`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bollard::body_full;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, EndpointSettings, HealthConfig, HostConfig,
    Mount, MountType, NetworkCreateRequest, NetworkingConfig, PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, InspectNetworkOptions,
    ListContainersOptionsBuilder, ListVolumesOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder, StartContainerOptions,
    StopContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::engine::{self, not_found, removal_in_progress, service_error, stack_error, Engine};
use super::images::{short_id, Images};
use super::naming::{Naming, LABEL_SERVICE, LABEL_STACK};
use crate::client::endpoint::Endpoint;
use crate::diagnostic::said;
use crate::error::{Error, Result};
use crate::kill_point;
use crate::plan::container::{ContainerFile, ContainerLaunch, VolumeSource};
use crate::plan::service_plan::{ServicePlan, LOOPBACK};
use crate::runtime::contract::{
    ImageStore, Requirement, RunState, Runtime, Server, Started, Tool, EXEC_PROBE_TIMEOUT,
};
use crate::state::StateDir;
use crate::tree_copy::{Copied, Digest};

mod data;
pub mod volume_template;

/// How long to wait for a removal the engine is finishing for a killed
/// berth.
const REMOVAL_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

pub struct ContainerRuntime {
    engine: Arc<Engine>,
    naming: Naming,
    dir: StateDir,
    images: Images,
    /// Whether this command already made sure the stack's network exists
    /// (services start in parallel, and the engine would accept two
    /// networks of one name).
    network_made: Mutex<bool>,
}

impl ContainerRuntime {
    pub fn new(stack: &str, dir: StateDir) -> Result<ContainerRuntime> {
        let engine = Arc::new(Engine::new()?);
        Ok(ContainerRuntime {
            images: Images {
                engine: Arc::clone(&engine),
            },
            engine,
            naming: Naming::new(stack, &dir),
            dir,
            network_made: Mutex::new(false),
        })
    }

    /// Every volume of a service in its current data generation: its data
    /// volume and its named `volumes`, with where each is mounted.
    fn volumes_of(&self, plan: &ServicePlan, launch: &ContainerLaunch) -> Vec<(String, String)> {
        self.volume_bases(launch)
            .into_iter()
            .map(|(name, target)| {
                (
                    self.naming.volume(&plan.service, &name, plan.generation),
                    target,
                )
            })
            .collect()
    }

    /// The names (`data`, or a `volumes` entry's) of a service's volumes,
    /// with where each is mounted.
    fn volume_bases(&self, launch: &ContainerLaunch) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(path) = launch.data_path {
            out.push(("data".to_string(), path.to_string()));
        }
        for v in &launch.volumes {
            if let VolumeSource::Named(name) = &v.source {
                out.push((name.clone(), v.target.clone()));
            }
        }
        out
    }

    /// The service's container, if it exists and is this stack's.
    fn inspect(&self, service: &str) -> Result<Option<ContainerInspectResponse>> {
        let docker = self.engine.docker(Some(service))?;
        let name = self.naming.container(service);
        let found = self
            .engine
            .block_on(docker.inspect_container(&name, None::<InspectContainerOptions>));
        let c = match found {
            Ok(c) => c,
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(service_error(service, "could not inspect its container", e)),
        };
        let labels = c.config.as_ref().and_then(|c| c.labels.as_ref());
        if !self.naming.is_ours(labels, None) {
            return Err(Error::Preflight {
                service: Some(service.to_string()),
                message: format!(
                    "a container named `{name}` exists but berth did not create it for stack `{}`",
                    self.naming.stack
                ),
                hint: Some("rename or remove that container (berth never touches containers it did not create), or rename the stack".into()),
            });
        }
        if let Some(other) = self.naming.other_checkout(labels) {
            // Its ports and passwords are the other checkout's: probing it
            // from here could only time out.
            let hint = if Path::new(other).exists() {
                "run `berth down` there, or give this stack another name (`name` in the stack file, or `--name`)".to_string()
            } else {
                // Its checkout is gone, and with it the passwords: only
                // the user can say whether the data in its volumes matters.
                format!(
                    "that directory no longer exists; if its data is not wanted, remove the container and its volumes (`docker rm -f -v {name}`, then `docker volume ls --filter label={}={}`), or give this stack another name (`name` in the stack file, or `--name`)",
                    LABEL_STACK,
                    self.naming.stack
                )
            };
            return Err(Error::Preflight {
                service: Some(service.to_string()),
                message: format!(
                    "container `{name}` belongs to stack `{}` of another checkout (state in `{other}`, not `{}`)",
                    self.naming.stack, self.naming.state_dir
                ),
                hint: Some(hint),
            });
        }
        Ok(Some(c))
    }

    /// The volumes of this stack's service, found by label (so a volume the
    /// stack file no longer names is still found, and nobody else's is).
    fn labelled_volumes(&self, service: &str) -> Result<Vec<String>> {
        let docker = self.engine.docker(Some(service))?;
        let filters = HashMap::from([(
            "label".to_string(),
            vec![
                format!("{LABEL_STACK}={}", self.naming.stack),
                format!("{LABEL_SERVICE}={service}"),
            ],
        )]);
        let options = ListVolumesOptionsBuilder::default()
            .filters(&filters)
            .build();
        let listed = self
            .engine
            .block_on(docker.list_volumes(Some(options)))
            .map_err(|e| service_error(service, "could not list its volumes", e))?;
        Ok(listed
            .volumes
            .unwrap_or_default()
            .into_iter()
            .filter(|v| self.naming.is_ours(Some(&v.labels), Some(service)))
            .map(|v| v.name)
            .collect())
    }

    fn remove_volume(&self, service: &str, volume: &str) -> Result<()> {
        let docker = self.engine.docker(Some(service))?;
        self.engine
            .block_on(
                docker.remove_volume(volume, Some(RemoveVolumeOptionsBuilder::default().build())),
            )
            .map_err(|e| {
                service_error(
                    service,
                    format!("could not remove its volume `{volume}`"),
                    e,
                )
            })
    }

    fn volume_exists(&self, service: &str, name: &str) -> Result<bool> {
        let docker = self.engine.docker(Some(service))?;
        match self.engine.block_on(docker.inspect_volume(name)) {
            Ok(_) => Ok(true),
            Err(e) if not_found(&e) => Ok(false),
            Err(e) => Err(service_error(service, "could not inspect its volume", e)),
        }
    }

    /// The stack's network, created once: services start in parallel, and
    /// the engine would accept two networks of one name.
    fn ensure_network(&self, service: Option<&str>) -> Result<String> {
        let docker = self.engine.docker(service)?;
        let name = self.naming.network();
        let mut made = self.network_made.lock().unwrap_or_else(|p| p.into_inner());
        if *made {
            return Ok(name);
        }
        let inspect = InspectNetworkOptions::default();
        match self
            .engine
            .block_on(docker.inspect_network(&name, Some(inspect)))
        {
            Ok(_) => {}
            Err(e) if not_found(&e) => {
                self.engine
                    .block_on(docker.create_network(NetworkCreateRequest {
                        name: name.clone(),
                        labels: Some(self.naming.labels(None)),
                        ..Default::default()
                    }))
                    .map_err(|e| stack_error("could not create the stack's network", e))?;
            }
            Err(e) => return Err(stack_error("could not inspect the stack's network", e)),
        }
        *made = true;
        Ok(name)
    }

    fn logs_text(&self, service: &str) -> Option<String> {
        let docker = self.engine.docker(Some(service)).ok()?;
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail("all")
            .build();
        self.engine.block_on(async {
            let mut stream = docker.logs(&self.naming.container(service), Some(options));
            let mut text = String::new();
            while let Some(chunk) = stream.next().await {
                // No container (any more): keep the copy we have.
                text.push_str(&chunk.ok()?.to_string());
            }
            Some(text)
        })
    }

    fn remove_container(&self, service: &str) -> Result<()> {
        let docker = self.engine.docker(Some(service))?;
        let name = self.naming.container(service);
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self
            .engine
            .block_on(docker.remove_container(&name, Some(options)))
        {
            Ok(()) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) if removal_in_progress(&e) => self.wait_until_removed(service, &name, e),
            Err(e) => Err(service_error(
                service,
                format!("could not remove container `{name}`"),
                e,
            )),
        }
    }

    /// Wait for the engine to finish a removal another berth started (and
    /// was killed during); `e` is what the engine said, should it not end.
    fn wait_until_removed(
        &self,
        service: &str,
        name: &str,
        e: bollard::errors::Error,
    ) -> Result<()> {
        let docker = self.engine.docker(Some(service))?;
        let began = std::time::Instant::now();
        while began.elapsed() < REMOVAL_WAIT {
            let found = self
                .engine
                .block_on(docker.inspect_container(name, None::<InspectContainerOptions>));
            if matches!(&found, Err(e) if not_found(e)) {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Err(service_error(
            service,
            format!(
                "could not remove container `{name}`: the engine's removal of it did not end within {}s",
                REMOVAL_WAIT.as_secs()
            ),
            e,
        ))
    }

    fn stop_container(&self, service: &str) -> Result<()> {
        let docker = self.engine.docker(Some(service))?;
        let name = self.naming.container(service);
        let options = StopContainerOptionsBuilder::default().t(10).build();
        match self
            .engine
            .block_on(docker.stop_container(&name, Some(options)))
        {
            Ok(()) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304 | 404,
                ..
            }) => Ok(()),
            Err(e) => Err(service_error(
                service,
                format!("could not stop container `{name}`"),
                e,
            )),
        }
    }

    /// Run `command` in container `name` (of `service`): whether it
    /// succeeded, or what it said when it did not.
    fn exec_in(
        &self,
        service: &str,
        name: &str,
        command: &[String],
    ) -> Result<std::result::Result<(), String>> {
        let docker = self.engine.docker(Some(service))?;
        // The timer is made inside the runtime: tokio's timers need one.
        let ran = self.engine.block_on(async {
            tokio::time::timeout(EXEC_PROBE_TIMEOUT, async {
                let exec = docker
                    .create_exec(
                        name,
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
                crate::time::fmt_duration(EXEC_PROBE_TIMEOUT)
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

    /// The mounts of a service's container, creating its volumes when
    /// persistent. Returns them and the volumes created now.
    fn mounts(
        &self,
        plan: &ServicePlan,
        launch: &ContainerLaunch,
    ) -> Result<(Vec<Mount>, Vec<String>)> {
        let service = plan.service.as_str();
        let mut mounts = Vec::new();
        let mut created = Vec::new();
        if plan.persist {
            for (volume, target) in self.volumes_of(plan, launch) {
                if !self.volume_exists(service, &volume)? {
                    self.create_volume(service, &volume)?;
                    created.push(volume.clone());
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
                        service: Some(service.to_string()),
                        message: format!("the bind mount `{}` does not exist", path.display()),
                        hint: Some(format!(
                            "create it, or correct `volumes` in `[services.{service}]`"
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
        Ok((mounts, created))
    }

    /// Create a volume of the service's, labelled as such.
    fn create_volume(&self, service: &str, volume: &str) -> Result<()> {
        self.create_volume_labelled(service, volume, self.naming.labels(Some(service)))
    }

    fn create_volume_labelled(
        &self,
        service: &str,
        volume: &str,
        labels: HashMap<String, String>,
    ) -> Result<()> {
        let docker = self.engine.docker(Some(service))?;
        self.engine
            .block_on(docker.create_volume(VolumeCreateRequest {
                name: Some(volume.to_string()),
                labels: Some(labels),
                ..Default::default()
            }))
            .map_err(|e| {
                service_error(service, format!("could not create volume `{volume}`"), e)
            })?;
        Ok(())
    }

    /// The service's data volume in its current generation, with where it
    /// is mounted.
    fn data_volume(
        &self,
        plan: &ServicePlan,
        launch: &ContainerLaunch,
    ) -> Option<(String, String)> {
        let path = launch.data_path?;
        self.volumes_of(plan, launch)
            .into_iter()
            .find(|(_, target)| target == path)
    }

    /// Fill the data volume created now from the image's template, when
    /// the kind has one. Whether it was filled; a copy that failed leaves
    /// the volume empty again, for the image to initialize.
    fn fill_new_volume(
        &self,
        plan: &ServicePlan,
        launch: &ContainerLaunch,
        created: &[String],
    ) -> Result<bool> {
        let (Some(template), Some((volume, target))) =
            (&launch.template, self.data_volume(plan, launch))
        else {
            return Ok(false);
        };
        if !created.contains(&volume) {
            return Ok(false);
        }
        let service = plan.service.as_str();
        match self.fill_from_template(plan, launch, template, &volume, &target) {
            Ok(filled) => Ok(filled),
            Err(_) => {
                // Slower, not wrong: the image initializes it as always.
                self.remove_volume(service, &volume)?;
                self.create_volume(service, &volume)?;
                self.clear_pending(service);
                Ok(false)
            }
        }
    }
}

impl Runtime for ContainerRuntime {
    fn check(&self, plan: &ServicePlan) -> Result<Requirement> {
        let launch = plan.container()?;
        let Some(id) = self.images.find(&plan.service, launch.image_to_run())? else {
            return Err(self
                .images
                .missing(&plan.service, launch.image_to_run(), ""));
        };
        Ok(Requirement {
            found: format!("image `{}` ({})", launch.image, short_id(&id)),
        })
    }

    fn images(&self) -> Option<&dyn ImageStore> {
        Some(&self.images)
    }

    fn engine(&self) -> Option<std::result::Result<String, String>> {
        Some(self.engine.describe())
    }

    fn state(&self, plan: &ServicePlan) -> Result<RunState> {
        if let Some(c) = self.inspect(&plan.service)? {
            let state = c.state.unwrap_or_default();
            // A server whose volume a killed berth left between the
            // template's copy and the stack's secret is not the stack's:
            // the next `up` replaces both (`clear_leftovers`).
            if state.running == Some(true) && !self.pending(&plan.service) {
                return Ok(RunState::Running {
                    pid: state.pid.unwrap_or(0) as i32,
                });
            }
        }
        if plan.persist && !self.labelled_volumes(&plan.service)?.is_empty() {
            Ok(RunState::Stopped)
        } else {
            Ok(RunState::Absent)
        }
    }

    /// The engine's one-shot stats: the container's cgroup, so every
    /// process in it.
    fn usage(&self, plan: &ServicePlan) -> Option<crate::process::Usage> {
        let docker = self.engine.docker(Some(&plan.service)).ok()?;
        let name = self.naming.container(&plan.service);
        let options = bollard::query_parameters::StatsOptions {
            stream: false,
            one_shot: true,
        };
        let stats = self
            .engine
            .block_on(async { docker.stats(&name, Some(options)).next().await })?
            .ok()?;
        let cpu_ns = stats.cpu_stats?.cpu_usage?.total_usage?;
        let memory = stats.memory_stats?.usage?;
        Some(crate::process::Usage {
            cpu_seconds: cpu_ns as f64 / 1e9,
            memory_bytes: memory,
        })
    }

    fn clear_leftovers(&self, plan: &ServicePlan) -> Result<()> {
        // A stopped or crashed container of ours is replaced on start; its
        // data is in the volume.
        if self.inspect(&plan.service)?.is_some() {
            self.remove_container(&plan.service)?;
        }
        // A volume a killed berth left halfway from the template.
        if self.pending(&plan.service) {
            self.discard_pending(plan)?;
        }
        // The service's volumes in other data generations: what a restore
        // (or one cut short) left behind.
        let launch = plan.container()?;
        let bases: Vec<String> = self
            .volume_bases(launch)
            .into_iter()
            .map(|(name, _)| self.naming.volume(&plan.service, &name, 0))
            .collect();
        for volume in self.labelled_volumes(&plan.service)? {
            if bases
                .iter()
                .any(|base| Naming::is_other_generation(&volume, base, plan.generation))
            {
                self.remove_volume(&plan.service, &volume)?;
            }
        }
        Ok(())
    }

    fn start(&self, plan: &ServicePlan, on_init: &dyn Fn()) -> Result<Started> {
        let launch = plan.container()?;
        let service = plan.service.as_str();
        let docker = self.engine.docker(Some(service))?;
        let network = self.ensure_network(Some(service))?;
        let (mounts, created) = self.mounts(plan, launch)?;
        let created_any = !created.is_empty();
        kill_point::reached(|| format!("{service}:volumes"));
        let filled = self.fill_new_volume(plan, launch, &created)?;
        // Without a volume there is nothing kept: every start initializes.
        let started = if !plan.persist
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
        // A service with no port (a worker) publishes none.
        let mut bindings: Vec<(u16, u16)> = Vec::new();
        if launch.port != 0 {
            bindings.push((launch.port, plan.port));
        }
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
            image: Some(launch.image_to_run().to_string()),
            cmd: (!launch.args.is_empty()).then(|| launch.args.clone()),
            env: Some(launch.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(self.naming.labels(Some(service))),
            exposed_ports: Some(port_bindings.keys().cloned().collect()),
            stop_signal: Some(launch.stop_signal.engine_name().to_string()),
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
                        aliases: Some(vec![service.to_string()]),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        let name = self.naming.container(service);
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        self.engine
            .block_on(docker.create_container(Some(options), body))
            .map_err(|e| service_error(service, "could not create its container", e))?;
        if !launch.files.is_empty() {
            let archive = files_archive(&launch.files).map_err(|e| {
                Error::io(
                    format!("could not pack the files of service `{service}`"),
                    e,
                )
            })?;
            let options = UploadToContainerOptionsBuilder::default().path("/").build();
            self.engine
                .block_on(docker.upload_to_container(
                    &name,
                    Some(options),
                    body_full(archive.into()),
                ))
                .map_err(|e| {
                    service_error(service, "could not put its files into its container", e)
                })?;
        }
        kill_point::reached(|| format!("{service}:container created"));
        self.engine
            .block_on(docker.start_container(&name, None::<StartContainerOptions>))
            .map_err(|e| service_error(service, "could not start its container", e))?;
        if filled {
            if let Some(template) = &launch.template {
                self.give_secret(plan, template)?;
            }
        }
        Ok(started)
    }

    fn exec(
        &self,
        plan: &ServicePlan,
        command: &[String],
    ) -> Result<std::result::Result<(), String>> {
        self.exec_in(
            &plan.service,
            &self.naming.container(&plan.service),
            command,
        )
    }

    fn lost_port(&self, plan: &ServicePlan, error: &Error) -> bool {
        engine::lost_port(&said(error), plan.port)
    }

    fn ensure_alive(&self, plan: &ServicePlan) -> Result<()> {
        let state = self
            .inspect(&plan.service)?
            .and_then(|c| c.state)
            .unwrap_or_default();
        if state.running == Some(true) {
            return Ok(());
        }
        let log = self.log_file(&plan.service);
        Err(Error::ServiceExited {
            service: plan.service.clone(),
            status: match state.exit_code {
                Some(code) => format!("exit code {code}"),
                None => "its container is gone".into(),
            },
            log_tail: crate::fsutil::tail_lines(&log, 15),
            log,
        })
    }

    fn stop(&self, plan: &ServicePlan) -> Result<()> {
        if self.inspect(&plan.service)?.is_none() {
            return Ok(());
        }
        self.stop_container(&plan.service)?;
        kill_point::reached(|| format!("{}:container stopped", plan.service));
        // Keep its last words for `berth logs` before the container goes.
        let _ = self.log_file(&plan.service);
        self.remove_container(&plan.service)
    }

    fn wipe(&self, plan: &ServicePlan) -> Result<()> {
        // Only volumes labelled as this stack's service: a volume made by
        // hand, or another stack's, is never removed.
        for volume in self.labelled_volumes(&plan.service)? {
            self.remove_volume(&plan.service, &volume)?;
        }
        Ok(())
    }

    fn server(&self, plan: &ServicePlan) -> Result<Server> {
        self.server_of(plan)
    }

    fn has_data(&self, plan: &ServicePlan) -> Result<bool> {
        self.data_exists(plan)
    }

    fn save_data(
        &self,
        plan: &ServicePlan,
        dest: &Path,
        digest: bool,
    ) -> Result<(Copied, Option<Digest>)> {
        let copied = self.save_volumes(plan, dest)?;
        // The archives were just written: read back from memory.
        let digest = if digest {
            Some(crate::tree_copy::digest(dest)?)
        } else {
            None
        };
        Ok((copied, digest))
    }

    fn load_data(&self, plan: &ServicePlan, from: &Path, generation: u32) -> Result<()> {
        self.load_volumes(plan, from, generation)
    }

    fn run_tool(
        &self,
        plan: &ServicePlan,
        tool: &Tool,
        out: &mut dyn std::io::Write,
    ) -> Result<()> {
        self.tool_in_container(plan, tool, out)
    }

    fn tool_endpoint(&self, plan: &ServicePlan) -> Result<Endpoint> {
        self.tool_endpoint_of(plan)
    }

    fn tool_data_dir(&self, plan: &ServicePlan) -> Result<String> {
        self.tool_data_dir_of(plan)
    }

    fn load_files(
        &self,
        plan: &ServicePlan,
        files: &[(String, PathBuf)],
        generation: u32,
    ) -> Result<()> {
        self.load_loose_files(plan, files, generation)
    }

    fn log_file(&self, service: &str) -> PathBuf {
        // The engine keeps the log; a copy in the state directory serves
        // `berth logs` and error messages alike.
        let path = self.dir.log_file(service);
        if let Some(text) = self.logs_text(service) {
            let _ = crate::fsutil::create_dir(&self.dir.root.join("logs"), 0o700)
                .and_then(|()| crate::fsutil::overwrite(&path, text.as_bytes(), 0o600));
        }
        path
    }

    fn stop_unlisted(&self, listed: &[&str]) -> Result<Vec<String>> {
        // No engine, nothing of ours can run on it.
        let Ok(docker) = self.engine.docker(None) else {
            return Ok(Vec::new());
        };
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{LABEL_STACK}={}", self.naming.stack)],
        )]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let containers = self
            .engine
            .block_on(docker.list_containers(Some(options)))
            .map_err(|e| stack_error("could not list the stack's containers", e))?;
        let mut stopped = Vec::new();
        for c in containers {
            if !self.naming.is_ours(c.labels.as_ref(), None) {
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
            self.stop_container(&service)?;
            self.remove_container(&service)?;
            stopped.push(service);
        }
        Ok(stopped)
    }

    fn prepare_stack(&self) -> Result<()> {
        self.ensure_network(None).map(drop)
    }

    fn release_stack(&self) -> Result<()> {
        let Ok(docker) = self.engine.docker(None) else {
            return Ok(());
        };
        let name = self.naming.network();
        let inspect = InspectNetworkOptions::default();
        let Ok(network) = self
            .engine
            .block_on(docker.inspect_network(&name, Some(inspect)))
        else {
            return Ok(());
        };
        let ours = self.naming.is_ours(network.labels.as_ref(), None);
        let in_use = network.containers.as_ref().is_some_and(|c| !c.is_empty());
        if ours && !in_use {
            let _ = self.engine.block_on(docker.remove_network(&name));
            *self.network_made.lock().unwrap_or_else(|p| p.into_inner()) = false;
        }
        Ok(())
    }
}

/// A tar archive of `files`, with their directories, to unpack at `/`.
fn files_archive(files: &[ContainerFile]) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut dirs: Vec<&std::path::Path> = Vec::new();
    for file in files {
        let path = std::path::Path::new(file.path.trim_start_matches('/'));
        for dir in path
            .ancestors()
            .skip(1)
            .filter(|d| !d.as_os_str().is_empty())
        {
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
    }
    dirs.sort();
    for dir in dirs {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        header.set_cksum();
        tar.append_data(&mut header, dir, std::io::empty())?;
    }
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_mode(file.mode);
        header.set_size(file.contents.len() as u64);
        header.set_cksum();
        tar.append_data(
            &mut header,
            file.path.trim_start_matches('/'),
            file.contents.as_bytes(),
        )?;
    }
    tar.into_inner()
}
