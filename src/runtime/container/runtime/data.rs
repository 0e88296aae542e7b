//! A service's volumes in and out, through the engine's API only: a helper
//! container of the service's own image (never started) mounts a volume,
//! and the engine's archive endpoints read its files out as a tar stream
//! or put them back in — with owners and modes, which a server such as
//! PostgreSQL insists on.

use std::io::{Read, Write};
use std::path::Path;

use bollard::body_try_stream;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder,
    RemoveContainerOptionsBuilder, StartContainerOptions, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::ContainerRuntime;
use crate::client::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::plan::service_plan::ServicePlan;
use crate::runtime::container::engine::service_error;
use crate::runtime::contract::{Server, Tool};
use crate::tree_copy::Copied;

impl ContainerRuntime {
    pub(super) fn server_of(&self, plan: &ServicePlan) -> Result<Server> {
        let launch = plan.container()?;
        let id = self.images.find(&plan.service, launch.image_to_run())?;
        Ok(Server {
            image: Some(launch.image.clone()),
            image_id: id,
            ..Server::default()
        })
    }

    pub(super) fn data_exists(&self, plan: &ServicePlan) -> Result<bool> {
        let launch = plan.container()?;
        for (volume, _) in self.volumes_of(plan, launch) {
            if self.volume_exists(&plan.service, &volume)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Each volume of the current generation into `dest/<name>.tar`.
    pub(super) fn save_volumes(&self, plan: &ServicePlan, dest: &Path) -> Result<Copied> {
        let launch = plan.container()?;
        let service = plan.service.as_str();
        crate::fsutil::create_dir(dest, 0o700)?;
        // Each volume is one archive: written, never cloned.
        let mut copied = Copied::default();
        for (name, target) in self.volume_bases(launch) {
            let volume = self.naming.volume(service, &name, plan.generation);
            if !self.volume_exists(service, &volume)? {
                continue;
            }
            let helper = self.helper(plan, &volume, &target)?;
            let file = dest.join(format!("{name}.tar"));
            let result = self.download(service, &helper, &target, &file);
            self.remove_helper(service, &helper);
            copied.bytes += result?;
            copied.files += 1;
        }
        Ok(copied)
    }

    /// Generation `generation` of each volume, from `from/<name>.tar`.
    pub(super) fn load_volumes(
        &self,
        plan: &ServicePlan,
        from: &Path,
        generation: u32,
    ) -> Result<()> {
        let launch = plan.container()?;
        let service = plan.service.as_str();
        for (name, target) in self.volume_bases(launch) {
            let file = from.join(format!("{name}.tar"));
            if !file.is_file() {
                continue;
            }
            let volume = self.naming.volume(service, &name, generation);
            // What an earlier attempt left of this generation.
            if self.volume_exists(service, &volume)? {
                self.remove_volume(service, &volume)?;
            }
            self.create_volume(service, &volume)?;
            let helper = self.helper(plan, &volume, &target)?;
            let result = self
                .upload(service, &helper, &target, &file)
                .and_then(|()| self.restore_owner(service, &helper, &target, &file));
            self.remove_helper(service, &helper);
            result?;
        }
        Ok(())
    }

    /// Give the unpacked files the owner the archive records: Podman
    /// unpacks everything as root, and a server such as PostgreSQL then
    /// cannot read its own data. (Docker keeps owners; this changes
    /// nothing there.)
    fn restore_owner(
        &self,
        service: &str,
        container: &str,
        target: &str,
        archive: &Path,
    ) -> Result<()> {
        // By name where the archive has one (Podman writes the names and
        // 0 for the numbers), resolved by the image's own user database.
        let owner = (|| -> std::io::Result<Option<String>> {
            let mut tar = tar::Archive::new(std::fs::File::open(archive)?);
            let mut entries = tar.entries()?;
            let Some(entry) = entries.next() else {
                return Ok(None);
            };
            let header = entry?.header().clone();
            let user = match header.username().ok().flatten().filter(|u| !u.is_empty()) {
                Some(name) => name.to_string(),
                None => header.uid()?.to_string(),
            };
            let group = match header.groupname().ok().flatten().filter(|g| !g.is_empty()) {
                Some(name) => name.to_string(),
                None => header.gid()?.to_string(),
            };
            Ok(Some(format!("{user}:{group}")))
        })()
        .map_err(|e| Error::io(format!("could not read `{}`", archive.display()), e))?;
        let Some(owner) = owner else {
            return Ok(());
        };
        let docker = self.engine.docker(Some(service))?;
        let argv = vec!["chown".to_string(), "-R".into(), owner, target.to_string()];
        let code = self.engine.block_on(async {
            let exec = docker
                .create_exec(
                    container,
                    CreateExecOptions {
                        cmd: Some(argv.clone()),
                        user: Some("0".to_string()),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        ..Default::default()
                    },
                )
                .await?;
            if let StartExecResults::Attached { mut output, .. } =
                docker.start_exec(&exec.id, None).await?
            {
                while output.next().await.is_some() {}
            }
            Ok::<_, bollard::errors::Error>(docker.inspect_exec(&exec.id).await?.exit_code)
        });
        match code {
            Ok(Some(0)) => Ok(()),
            Ok(other) => Err(Error::Service {
                service: service.to_string(),
                message: format!(
                    "could not give the restored files their owner (`chown` ended with {})",
                    other.map_or("no exit code".into(), |c| c.to_string())
                ),
                hint: None,
                source: None,
            }),
            Err(e) => Err(service_error(
                service,
                "could not give the restored files their owner",
                e,
            )),
        }
    }

    /// A container of the service's image with `volume` at `target`,
    /// idling (a shell waiting on a stdin nobody writes to: no server
    /// starts, and no program but `sh` is needed); its name. Running,
    /// because Podman reads and writes a volume through the archive
    /// endpoints only while its container runs.
    fn helper(&self, plan: &ServicePlan, volume: &str, target: &str) -> Result<String> {
        let launch = plan.container()?;
        let service = plan.service.as_str();
        let docker = self.engine.docker(Some(service))?;
        let name = format!("{}-copy", self.naming.container(service));
        // One left by a command cut short.
        self.remove_helper(service, &name);
        let body = ContainerCreateBody {
            image: Some(launch.image_to_run().to_string()),
            entrypoint: Some(vec!["sh".into(), "-c".into(), "read -r _".into()]),
            cmd: Some(Vec::new()),
            open_stdin: Some(true),
            user: Some("0".into()),
            labels: Some(self.naming.labels(Some(service))),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                mounts: Some(vec![Mount {
                    target: Some(target.to_string()),
                    source: Some(volume.to_string()),
                    typ: Some(MountType::VOLUME),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        self.engine
            .block_on(docker.create_container(Some(options), body))
            .map_err(|e| {
                service_error(service, "could not create a container to copy its data", e)
            })?;
        if let Err(e) = self
            .engine
            .block_on(docker.start_container(&name, None::<StartContainerOptions>))
        {
            self.remove_helper(service, &name);
            return Err(Error::Service {
                service: service.to_string(),
                message: "could not start a container of its image to copy its data (the image needs `sh`)".into(),
                hint: None,
                source: crate::error::cause(e),
            });
        }
        Ok(name)
    }

    fn remove_helper(&self, service: &str, name: &str) {
        let Ok(docker) = self.engine.docker(Some(service)) else {
            return;
        };
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        // Gone already, or left for the next command to remove.
        let _ = self
            .engine
            .block_on(docker.remove_container(name, Some(options)));
    }

    /// The tar stream of `path` in the container into `file`; its size.
    fn download(&self, service: &str, container: &str, path: &str, file: &Path) -> Result<u64> {
        let docker = self.engine.docker(Some(service))?;
        let mut out = std::fs::File::create(file)
            .map_err(|e| Error::io(format!("could not create `{}`", file.display()), e))?;
        let options = DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let size = self.engine.block_on(async {
            let mut stream = docker.download_from_container(container, Some(options));
            let mut size = 0u64;
            while let Some(chunk) = stream.next().await {
                let bytes =
                    chunk.map_err(|e| service_error(service, "could not read its volume", e))?;
                out.write_all(&bytes)
                    .map_err(|e| Error::io(format!("could not write `{}`", file.display()), e))?;
                size += bytes.len() as u64;
            }
            Ok::<u64, Error>(size)
        })?;
        out.sync_all()
            .map_err(|e| Error::io(format!("could not write `{}`", file.display()), e))?;
        Ok(size)
    }

    /// `file` (a tar stream of `path`, as [`Self::download`] wrote it)
    /// unpacked into the container at `path`'s parent.
    fn upload(&self, service: &str, container: &str, path: &str, file: &Path) -> Result<()> {
        let docker = self.engine.docker(Some(service))?;
        let parent = Path::new(path)
            .parent()
            .map(|p| p.display().to_string())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".into());
        let mut reader = std::fs::File::open(file)
            .map_err(|e| Error::io(format!("could not read `{}`", file.display()), e))?;
        let chunks = futures_util::stream::iter(std::iter::from_fn(move || {
            let mut buf = vec![0u8; 1 << 20];
            match reader.read(&mut buf) {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some(Ok(bytes::Bytes::from(buf)))
                }
                Err(e) => Some(Err(e)),
            }
        }));
        let options = UploadToContainerOptionsBuilder::default()
            .path(&parent)
            .build();
        self.engine
            .block_on(docker.upload_to_container(container, Some(options), body_try_stream(chunks)))
            .map_err(|e| service_error(service, "could not put the data into its volume", e))
    }
}

impl ContainerRuntime {
    /// Run `tool` inside the service's running container.
    pub(super) fn tool_in_container(
        &self,
        plan: &ServicePlan,
        tool: &Tool,
        out: &mut dyn std::io::Write,
    ) -> Result<()> {
        let service = plan.service.as_str();
        let docker = self.engine.docker(Some(service))?;
        let name = self.naming.container(service);
        let mut argv = tool.argv.clone();
        let staged = match tool.input {
            Some(input) => {
                // A name of its own: the removal of the one before, which
                // is not waited for, must not take this one.
                static STAGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                let n = STAGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let inside = format!("/tmp/berth-input-{}-{n}", std::process::id());
                self.put_file(service, &name, input, &inside)?;
                for a in &mut argv {
                    *a = a.replace("{input}", &inside);
                }
                Some(inside)
            }
            None => None,
        };
        let env: Vec<String> = tool.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut errors = String::new();
        let code = self.engine.block_on(async {
            let exec = docker
                .create_exec(
                    &name,
                    CreateExecOptions {
                        cmd: Some(argv.clone()),
                        env: Some(env),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        ..Default::default()
                    },
                )
                .await
                .map_err(|e| {
                    service_error(
                        service,
                        format!("could not run `{}` in its container", argv[0]),
                        e,
                    )
                })?;
            if let StartExecResults::Attached { mut output, .. } =
                docker.start_exec(&exec.id, None).await.map_err(|e| {
                    service_error(
                        service,
                        format!("could not run `{}` in its container", argv[0]),
                        e,
                    )
                })?
            {
                while let Some(chunk) = output.next().await {
                    match chunk.map_err(|e| {
                        service_error(service, format!("`{}` broke off", argv[0]), e)
                    })? {
                        LogOutput::StdOut { message } => out.write_all(&message).map_err(|e| {
                            Error::io(format!("could not write the output of `{}`", argv[0]), e)
                        })?,
                        other => errors.push_str(&other.to_string()),
                    }
                }
            }
            let inspected = docker
                .inspect_exec(&exec.id)
                .await
                .map_err(|e| service_error(service, "could not read how the tool ended", e))?;
            Ok::<_, Error>(inspected.exit_code)
        })?;
        if let Some(inside) = staged {
            // The input (a dump) does not stay in the container.
            let _ = self.engine.block_on(async {
                let exec = docker
                    .create_exec(
                        &name,
                        CreateExecOptions::<String> {
                            cmd: Some(vec!["rm".into(), "-f".into(), inside]),
                            ..Default::default()
                        },
                    )
                    .await?;
                docker.start_exec(&exec.id, None).await.map(drop)
            });
        }
        if code != Some(0) {
            return Err(Error::CommandFailed {
                service: service.to_string(),
                program: argv[0].clone(),
                status: code.map_or("no exit code".into(), |c| format!("exit status: {c}")),
                output_tail: crate::fsutil::last_lines(&errors, 10),
            });
        }
        Ok(())
    }

    /// Copy the host file `from` into the container as `inside`.
    fn put_file(&self, service: &str, container: &str, from: &Path, inside: &str) -> Result<()> {
        let inside = Path::new(inside);
        let (dir, name) = match (inside.parent(), inside.file_name()) {
            (Some(d), Some(n)) => (d.display().to_string(), n.to_string_lossy().into_owned()),
            _ => {
                return Err(Error::Internal {
                    message: format!("`{}` is not a file path", inside.display()),
                })
            }
        };
        let archive = self
            .dir
            .root
            .join(format!(".upload-{}.tar", std::process::id()));
        {
            let file = std::fs::File::create(&archive)
                .map_err(|e| Error::io(format!("could not create `{}`", archive.display()), e))?;
            let mut tar = tar::Builder::new(file);
            tar.append_path_with_name(from, &name)
                .and_then(|_| tar.finish())
                .map_err(|e| Error::io(format!("could not pack `{}`", from.display()), e))?;
        }
        let result = self.upload(service, container, &format!("{dir}/{name}"), &archive);
        let _ = std::fs::remove_file(&archive);
        result
    }

    pub(super) fn tool_endpoint_of(&self, plan: &ServicePlan) -> Result<Endpoint> {
        Ok(Endpoint::new("127.0.0.1", plan.container()?.port))
    }

    pub(super) fn tool_data_dir_of(&self, plan: &ServicePlan) -> Result<String> {
        plan.container()?
            .data_path
            .map(str::to_string)
            .ok_or_else(|| Error::Internal {
                message: format!("service `{}` keeps no data in its container", plan.service),
            })
    }

    /// Generation `generation` of the data volume, holding `files`.
    pub(super) fn load_loose_files(
        &self,
        plan: &ServicePlan,
        files: &[(String, std::path::PathBuf)],
        generation: u32,
    ) -> Result<()> {
        let service = plan.service.as_str();
        let data_path = self.tool_data_dir_of(plan)?;
        let root = Path::new(&data_path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "data".into());
        // The archive the engine unpacks at the data path's parent: its
        // first entry is the data directory itself.
        let archive = self
            .dir
            .root
            .join(format!(".files-{}.tar", std::process::id()));
        let packed = (|| -> std::io::Result<()> {
            let file = std::fs::File::create(&archive)?;
            let mut tar = tar::Builder::new(file);
            let mut dir = tar::Header::new_gnu();
            dir.set_entry_type(tar::EntryType::Directory);
            dir.set_mode(0o755);
            dir.set_size(0);
            dir.set_cksum();
            tar.append_data(&mut dir, &root, std::io::empty())?;
            for (relative, source) in files {
                let mut parents = Vec::new();
                let mut p = Path::new(relative).parent();
                while let Some(parent) = p.filter(|p| !p.as_os_str().is_empty()) {
                    parents.push(parent.to_path_buf());
                    p = parent.parent();
                }
                for parent in parents.into_iter().rev() {
                    let mut d = tar::Header::new_gnu();
                    d.set_entry_type(tar::EntryType::Directory);
                    d.set_mode(0o755);
                    d.set_size(0);
                    d.set_cksum();
                    tar.append_data(&mut d, Path::new(&root).join(&parent), std::io::empty())?;
                }
                tar.append_path_with_name(source, Path::new(&root).join(relative))?;
            }
            tar.finish()
        })();
        let result = packed
            .map_err(|e| Error::io("could not pack the data's files", e))
            .and_then(|()| {
                let volume = self.naming.volume(service, "data", generation);
                if self.volume_exists(service, &volume)? {
                    self.remove_volume(service, &volume)?;
                }
                self.create_volume(service, &volume)?;
                let helper = self.helper(plan, &volume, &data_path)?;
                let uploaded = self.upload(service, &helper, &data_path, &archive);
                self.remove_helper(service, &helper);
                uploaded
            });
        let _ = std::fs::remove_file(&archive);
        result
    }
}
