//! A new data volume as a copy of one the image initialized once: a cold
//! `up` of a PostgreSQL container then costs a copy and a warm start
//! instead of the image's `initdb` (about half the time; CHANGELOG).
//!
//! The template is a volume of the engine's, `berth-template-<key>`, where
//! the key digests what makes the image initialize it differently: the
//! image id, the data path and the environment (with a throwaway secret).
//! Everything about it lives in the engine, so Docker and Podman each have
//! their own, and two berth processes (of any checkout) agree on it:
//! - it is built by a container named after it, whose creation the engine
//!   grants to one process; the others wait for that container to go (one
//!   left by a killed berth names its dead process in a label, and goes);
//! - the image initializes it with the throwaway secret, which is then set
//!   to NULL (no password logs in), and a marker file written last says
//!   it is whole; a copy checks for the marker, and a template without it
//!   is removed and built again;
//! - an image that would not leave it as it leaves any new volume (init
//!   scripts of its own) gets an empty template labelled unusable, so the
//!   next `up` does not try again.
//!
//! A new volume of a stack is marked pending in the state directory before
//! the copy, and unmarked once its server has the stack's own secret: a
//! berth killed in between leaves a pending volume, which the next `up`
//! removes and makes again (nothing of the user's is in it yet).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, ListVolumesOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptions, StartContainerOptions,
    StopContainerOptionsBuilder, WaitContainerOptions,
};
use futures_util::StreamExt;

use super::ContainerRuntime;
use crate::error::{Error, Result};
use crate::kill_point;
use crate::plan::container::{ContainerLaunch, VolumeTemplate};
use crate::plan::service_plan::ServicePlan;
use crate::runtime::container::engine::{not_found, service_error, stack_error, Engine};

/// On every template volume, its key.
pub const LABEL_TEMPLATE: &str = "berth.template";
/// The image and environment it was made for (without the secret).
const LABEL_IMAGE: &str = "berth.template.image";
const LABEL_ENV: &str = "berth.template.env";
/// On a template the image cannot have (empty, never used).
const LABEL_UNUSABLE: &str = "berth.template.unusable";
/// On the container building one: the building berth's pid.
const LABEL_BUILDER: &str = "berth.template.builder";
/// Written into the template last: it is whole.
const COMPLETE: &str = ".berth-template-complete";
/// How long the image may take to initialize a template, and how long
/// another process waits for one being built.
const BUILD_TIMEOUT: Duration = Duration::from_secs(120);

/// Where a template's copy comes from, inside the copying container.
const SOURCE: &str = "/berth-template";
/// Every template's name begins so.
const PREFIX: &str = "berth-template-";

/// A template volume, as `berth cache` shows it.
#[derive(Debug, serde::Serialize)]
pub struct TemplateVolume {
    pub volume: String,
    /// The image as named when it was made.
    pub image: String,
    /// The environment it was initialized with, without the secret.
    pub env: String,
    /// False for the empty marker of an image that cannot have one.
    pub usable: bool,
}

/// The engine's template volumes (found by name: a process that lost a
/// race may have made one without labels).
pub fn list(engine: &Engine) -> Result<Vec<TemplateVolume>> {
    let docker = engine.docker(None)?;
    let filters = HashMap::from([("name".to_string(), vec![PREFIX.to_string()])]);
    let options = ListVolumesOptionsBuilder::default()
        .filters(&filters)
        .build();
    let listed = engine
        .block_on(docker.list_volumes(Some(options)))
        .map_err(|e| stack_error("could not list the volume templates", e))?;
    let mut found: Vec<TemplateVolume> = listed
        .volumes
        .unwrap_or_default()
        .into_iter()
        .filter(|v| v.name.starts_with(PREFIX))
        .map(|v| TemplateVolume {
            image: v.labels.get(LABEL_IMAGE).cloned().unwrap_or_default(),
            env: v.labels.get(LABEL_ENV).cloned().unwrap_or_default(),
            usable: !v.labels.contains_key(LABEL_UNUSABLE),
            volume: v.name,
        })
        .collect();
    found.sort_by(|a, b| a.volume.cmp(&b.volume));
    Ok(found)
}

/// Remove every template volume the engine has: the names removed, and
/// those in use this moment (a copy running) that were left.
pub fn remove_all(engine: &Engine) -> Result<(Vec<String>, Vec<String>)> {
    let docker = engine.docker(None)?;
    let (mut removed, mut in_use) = (Vec::new(), Vec::new());
    for template in list(engine)? {
        match engine.block_on(docker.remove_volume(&template.volume, None::<RemoveVolumeOptions>)) {
            Ok(()) => removed.push(template.volume),
            Err(e) if not_found(&e) => {}
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => in_use.push(template.volume),
            Err(e) => return Err(stack_error("could not remove a volume template", e)),
        }
    }
    Ok((removed, in_use))
}

/// One service's template: what builds it, copies it and names it.
struct TemplateJob<'a> {
    service: &'a str,
    launch: &'a ContainerLaunch,
    template: &'a VolumeTemplate,
    /// The template volume's name (and its builder container's).
    name: String,
    /// Where the image keeps its data, in every container of the job.
    data_path: &'a str,
}

impl ContainerRuntime {
    /// Fill the data volume `volume` (just created, mounted at `data_path`)
    /// from the launch's template. Whether it was filled: if not, the
    /// image initializes the empty volume as always. When filled, the
    /// container must be given its secret ([`Self::give_secret`]) before
    /// the volume is the stack's.
    pub(super) fn fill_from_template(
        &self,
        plan: &ServicePlan,
        launch: &ContainerLaunch,
        template: &VolumeTemplate,
        volume: &str,
        data_path: &str,
    ) -> Result<bool> {
        let service = plan.service.as_str();
        let Some(image_id) = self.images.find(service, launch.image_to_run())? else {
            return Ok(false);
        };
        let job = TemplateJob {
            service,
            launch,
            template,
            name: template_name(&image_id, data_path, template),
            data_path,
        };
        // From here until the secret is set, the volume is not the
        // stack's: a berth killed meanwhile leaves it for the next `up`
        // to discard.
        self.mark_pending(service)?;
        let filled = self.copy_from(&job, volume)?;
        if !filled {
            // Still empty: the image initializes it, and it is the stack's.
            self.clear_pending(service);
        }
        Ok(filled)
    }

    /// Copy the job's template (built if need be) into `volume`; whether
    /// it was.
    fn copy_from(&self, job: &TemplateJob, volume: &str) -> Result<bool> {
        let service = job.service;
        // A template damaged (no marker) is built again, once.
        for _ in 0..2 {
            let Some(source) = self.template_volume(job)? else {
                return Ok(false);
            };
            match self.copy_template(job, &source, volume)? {
                Copy::Done => {
                    kill_point::reached(|| format!("{service}:volume filled"));
                    return Ok(true);
                }
                // The copy stopped before writing anything.
                Copy::Incomplete => {
                    let _ = self.remove_volume(service, &source);
                }
            }
        }
        Ok(false)
    }

    /// Give the server of a volume filled from the template the stack's
    /// secret, once it answers: until then no password logs in.
    pub(super) fn give_secret(&self, plan: &ServicePlan, template: &VolumeTemplate) -> Result<()> {
        let service = plan.service.as_str();
        let container = self.naming.container(service);
        self.wait_inside(service, &container, &template.ready)?;
        self.exec_in(service, &container, &template.set_secret)?
            .map_err(|why| template_error(service, "could not set its password", why))?;
        kill_point::reached(|| format!("{service}:secret set"));
        let _ = std::fs::remove_file(self.pending_file(service));
        Ok(())
    }

    /// Whether the service's data volume is one a killed berth left
    /// between copying the template and setting its secret.
    pub(super) fn pending(&self, service: &str) -> bool {
        self.pending_file(service).exists()
    }

    /// Forget the pending mark (the volume is whole, or gone), and remove
    /// the copying container a killed berth may have left.
    pub(super) fn clear_pending(&self, service: &str) {
        self.remove_quietly(service, &self.fill_container(service));
        let _ = std::fs::remove_file(self.pending_file(service));
    }

    /// Remove the pending data volume a killed berth left, then its mark.
    pub(super) fn discard_pending(&self, plan: &ServicePlan) -> Result<()> {
        let service = plan.service.as_str();
        // It holds the volume.
        self.remove_quietly(service, &self.fill_container(service));
        if let Some((volume, _)) = self.data_volume(plan, plan.container()?) {
            if self.volume_exists(service, &volume)? {
                self.remove_volume(service, &volume)?;
            }
        }
        self.clear_pending(service);
        Ok(())
    }

    fn fill_container(&self, service: &str) -> String {
        format!("{}-fill", self.naming.container(service))
    }

    fn pending_file(&self, service: &str) -> std::path::PathBuf {
        self.dir.service_dir(service).join("volume-from-template")
    }

    fn mark_pending(&self, service: &str) -> Result<()> {
        let file = self.pending_file(service);
        crate::fsutil::create_dir(self.dir.service_dir(service).as_path(), 0o700)?;
        crate::fsutil::write_atomic(&file, b"", 0o600)
    }

    /// The template volume, built when there is none; `None` when the
    /// image cannot have one.
    fn template_volume(&self, job: &TemplateJob) -> Result<Option<String>> {
        let (service, name) = (job.service, job.name.as_str());
        let docker = self.engine.docker(Some(service))?;
        let began = Instant::now();
        loop {
            match self.engine.block_on(docker.inspect_volume(name)) {
                Ok(found) if found.labels.contains_key(LABEL_UNUSABLE) => return Ok(None),
                Ok(_) => match self.builder(service, name)? {
                    // Whole or not, the copy tells by the marker.
                    Builder::None => return Ok(Some(name.to_string())),
                    Builder::Removed => continue,
                    Builder::Alive => {}
                },
                Err(e) if not_found(&e) => {
                    if self.build(job)? {
                        continue;
                    }
                }
                Err(e) => return Err(service_error(service, "could not inspect a template", e)),
            }
            // Another berth builds it.
            if began.elapsed() > BUILD_TIMEOUT {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Who builds template `name`; the container a killed berth left is
    /// removed, with what it built.
    fn builder(&self, service: &str, name: &str) -> Result<Builder> {
        let docker = self.engine.docker(Some(service))?;
        let found = self
            .engine
            .block_on(docker.inspect_container(name, None::<InspectContainerOptions>));
        let builder = match found {
            Ok(c) => c
                .config
                .and_then(|c| c.labels)
                .and_then(|l| l.get(LABEL_BUILDER).and_then(|p| p.parse::<i32>().ok())),
            Err(e) if not_found(&e) => return Ok(Builder::None),
            Err(e) => {
                return Err(service_error(
                    service,
                    "could not inspect a template's builder",
                    e,
                ))
            }
        };
        let alive = builder.is_some_and(|pid| {
            // SAFETY: signal 0 sends nothing; it asks whether pid exists.
            pid > 0 && unsafe { libc::kill(pid, 0) } == 0
        });
        if alive {
            return Ok(Builder::Alive);
        }
        self.remove_quietly(service, name);
        let _ = self.remove_volume(service, name);
        Ok(Builder::Removed)
    }

    /// Build the job's template: false when another process is building
    /// it.
    fn build(&self, job: &TemplateJob) -> Result<bool> {
        let TemplateJob {
            service,
            launch,
            template,
            data_path,
            ..
        } = *job;
        let name = job.name.as_str();
        let docker = self.engine.docker(Some(service))?;
        // Made before its builder, which would make it without labels.
        // Docker hands back a volume that exists; Podman refuses (409):
        // another process made it a moment ago, and builds.
        let made = self
            .engine
            .block_on(docker.create_volume(VolumeCreateRequest {
                name: Some(name.to_string()),
                labels: Some(template_labels(launch, template, name)),
                ..Default::default()
            }));
        match made {
            Ok(_) => {}
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => return Ok(false),
            Err(e) => return Err(service_error(service, "could not create a template", e)),
        }
        let mut labels = template_labels(launch, template, name);
        labels.insert(LABEL_BUILDER.into(), std::process::id().to_string());
        let body = ContainerCreateBody {
            image: Some(launch.image_to_run().to_string()),
            env: Some(
                template
                    .env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
            ),
            labels: Some(labels),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                mounts: Some(vec![volume_mount(name, data_path, false)]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(name).build();
        match self
            .engine
            .block_on(docker.create_container(Some(options), body))
        {
            Ok(_) => {}
            // The engine gave the name to another process: it builds.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => return Ok(false),
            Err(e) => {
                return Err(service_error(
                    service,
                    "could not create a template's builder",
                    e,
                ))
            }
        }
        kill_point::reached(|| "template:builder created".to_string());
        let built = self.initialize(job);
        self.remove_quietly(service, name);
        match built {
            Ok(true) => {}
            Ok(false) => {
                // Remembered as unusable, so no later `up` tries again.
                let _ = self.remove_volume(service, name);
                let mut labels = template_labels(launch, template, name);
                labels.insert(LABEL_UNUSABLE.into(), "its usable check failed".into());
                self.create_volume_labelled(service, name, labels)?;
            }
            Err(e) => {
                let _ = self.remove_volume(service, name);
                return Err(e);
            }
        }
        kill_point::reached(|| "template:built".to_string());
        Ok(true)
    }

    /// Start the builder, let the image initialize the template, take the
    /// throwaway secret out, mark it whole and stop the server cleanly.
    /// False when the image cannot have a template.
    fn initialize(&self, job: &TemplateJob) -> Result<bool> {
        let (service, template, name) = (job.service, job.template, job.name.as_str());
        let docker = self.engine.docker(Some(service))?;
        self.engine
            .block_on(docker.start_container(name, None::<StartContainerOptions>))
            .map_err(|e| service_error(service, "could not start a template's builder", e))?;
        // Asked at once, before the image's own initialization goes on
        // (see `VolumeTemplate::usable`).
        if !self.succeeds_inside(service, name, &template.usable)? {
            return Ok(false);
        }
        self.wait_inside(service, name, &template.ready)?;
        self.exec_in(service, name, &template.forget_secret)?
            .map_err(|why| template_error(service, "could not clear a template's password", why))?;
        let mark = vec![
            "sh".to_string(),
            "-c".into(),
            format!("touch \"$0\"/{COMPLETE}"),
            job.data_path.to_string(),
        ];
        self.exec_in(service, name, &mark)?
            .map_err(|why| template_error(service, "could not mark a template whole", why))?;
        let options = StopContainerOptionsBuilder::default().t(30).build();
        self.engine
            .block_on(docker.stop_container(name, Some(options)))
            .map_err(|e| service_error(service, "could not stop a template's builder", e))?;
        Ok(true)
    }

    /// Copy template `source` into `volume`, in a container of the image
    /// that runs `cp` and ends.
    fn copy_template(&self, job: &TemplateJob, source: &str, volume: &str) -> Result<Copy> {
        let TemplateJob {
            service,
            launch,
            data_path,
            ..
        } = *job;
        let docker = self.engine.docker(Some(service))?;
        let name = self.fill_container(service);
        self.remove_quietly(service, &name);
        // Exit 3: no marker, the template is not whole.
        let script = format!(
            "[ -f {SOURCE}/{COMPLETE} ] || exit 3; cp -a {SOURCE}/. \"$0\"/ && rm -f \"$0\"/{COMPLETE}"
        );
        let body = ContainerCreateBody {
            image: Some(launch.image_to_run().to_string()),
            entrypoint: Some(vec!["sh".into(), "-c".into(), script, data_path.into()]),
            cmd: Some(Vec::new()),
            user: Some("0".into()),
            labels: Some(self.naming.labels(Some(service))),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                mounts: Some(vec![
                    volume_mount(source, SOURCE, true),
                    volume_mount(volume, data_path, false),
                ]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let ran = self.engine.block_on(async {
            docker.create_container(Some(options), body).await?;
            docker
                .start_container(&name, None::<StartContainerOptions>)
                .await?;
            let mut waited = docker.wait_container(&name, None::<WaitContainerOptions>);
            match waited.next().await {
                Some(Ok(end)) => Ok(end.status_code),
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => {
                    Ok(code)
                }
                Some(Err(e)) => Err(e),
                None => Ok(-1),
            }
        });
        self.remove_quietly(service, &name);
        match ran {
            Ok(0) => Ok(Copy::Done),
            Ok(3) => Ok(Copy::Incomplete),
            Ok(code) => Err(template_error(
                service,
                "could not copy the template into its volume",
                format!("`cp` ended with {code}"),
            )),
            Err(e) => Err(service_error(
                service,
                "could not copy the template into its volume",
                e,
            )),
        }
    }

    /// Whether `command` succeeds in container `name`, asked a few times
    /// (an exec into a container that has just started can fail for
    /// reasons of the engine's): a command that fails each time fails.
    fn succeeds_inside(&self, service: &str, name: &str, command: &[String]) -> Result<bool> {
        for _ in 0..3 {
            if self.exec_in(service, name, command)?.is_ok() {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(false)
    }

    /// Run `command` in container `name` until it succeeds.
    fn wait_inside(&self, service: &str, name: &str, command: &[String]) -> Result<()> {
        let began = Instant::now();
        loop {
            let why = match self.exec_in(service, name, command)? {
                Ok(()) => return Ok(()),
                Err(why) => why,
            };
            if began.elapsed() > BUILD_TIMEOUT {
                return Err(template_error(
                    service,
                    &format!(
                        "its server did not answer within {}s",
                        BUILD_TIMEOUT.as_secs()
                    ),
                    why,
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn remove_quietly(&self, service: &str, name: &str) {
        let Ok(docker) = self.engine.docker(Some(service)) else {
            return;
        };
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(false)
            .build();
        let _ = self
            .engine
            .block_on(docker.remove_container(name, Some(options)));
    }
}

enum Builder {
    None,
    /// A berth that lives builds it.
    Alive,
    /// A killed berth's builder and template were removed.
    Removed,
}

enum Copy {
    Done,
    /// The template has no marker: built halfway, or damaged.
    Incomplete,
}

/// `berth-template-<key>`: the key digests the image id, the data path
/// and the initializing environment.
fn template_name(image_id: &str, data_path: &str, template: &VolumeTemplate) -> String {
    let mut text = format!("{image_id}\n{data_path}\n");
    for (k, v) in &template.env {
        text.push_str(&format!("{k}={v}\n"));
    }
    format!(
        "berth-template-{}",
        &crate::digest::sha256_hex(text.as_bytes())[..16]
    )
}

fn template_labels(
    launch: &ContainerLaunch,
    template: &VolumeTemplate,
    name: &str,
) -> HashMap<String, String> {
    let env: Vec<String> = template
        .env
        .iter()
        .filter(|(k, _)| k != template.secret_var)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    HashMap::from([
        (LABEL_TEMPLATE.to_string(), name.to_string()),
        (LABEL_IMAGE.to_string(), launch.image.clone()),
        (LABEL_ENV.to_string(), env.join(" ")),
    ])
}

fn volume_mount(volume: &str, target: &str, read_only: bool) -> Mount {
    Mount {
        target: Some(target.to_string()),
        source: Some(volume.to_string()),
        typ: Some(MountType::VOLUME),
        read_only: Some(read_only),
        ..Default::default()
    }
}

fn template_error(service: &str, what: &str, why: String) -> Error {
    Error::Service {
        service: service.to_string(),
        message: format!("{what}: {why}"),
        hint: None,
        source: None,
    }
}
