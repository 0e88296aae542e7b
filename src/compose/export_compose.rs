//! `berth export compose`: the stack as a compose file that docker compose
//! v2, docker-compose 1.29 and podman-compose all run — each service's
//! container as berth runs it (image, environment, arguments, ports on
//! 127.0.0.1, data in named volumes, configuration files bind-mounted),
//! health checks from berth's probes, `depends_on` with
//! `service_healthy` where the dependency has a health check.
//!
//! Secrets go to `.env` beside the compose file (mode 0600), which Compose
//! reads for `${...}`; the file itself holds references only. The effective
//! `berth.toml` travels along as `x-berth`, so `berth import compose` gives
//! the same stack back.

use std::path::{Path, PathBuf};

use super::emit::{self, Yaml};
use super::relocate;
use super::secrets;
use super::stack_toml::StackToml;
use crate::config::model::StackConfig;
use crate::error::{Error, Result};
use crate::image_lock::ImageLock;
use crate::stack::resolved::Pins;
use crate::state::{State, StateDir};

/// The first line of the secrets file, by which a later export knows it
/// may replace it.
pub const SECRETS_HEADER: &str =
    "# Secrets for the compose file beside it, written by `berth export compose`";

/// A file of the export, relative to the compose file's directory.
#[derive(Debug, Clone)]
pub struct Output {
    pub path: PathBuf,
    pub text: String,
    pub mode: u32,
}

/// The compose file (named `file_name`), its `.env` and the files it mounts.
/// `config` runs every service in a container; `carried` is the stack as
/// its file has it, which the compose file carries along.
pub fn export(
    config: &StackConfig,
    carried: &StackConfig,
    dir: &StateDir,
    state: &State,
    lock: Option<&ImageLock>,
    out_dir: &Path,
    file_name: &str,
) -> Result<Vec<Output>> {
    let resolved = secrets::resolve(config, dir, state, &Pins::new());
    let compose_ref = |var: &str| format!("${{{var}}}");
    // Compose reads `$` as the start of a variable: a literal one is `$$`.
    let text = |s: &str| resolved.refer(&s.replace('$', "$$"), &compose_ref);
    let mut outputs = Vec::new();
    let mut services = Yaml::map();
    let mut volumes = Yaml::map();
    for (svc, real) in resolved.marked.services.iter().zip(&resolved.real.services) {
        let launch = svc.plan.container().map_err(|_| Error::Internal {
            message: format!("service `{}` was not resolved for containers", svc.name),
        })?;
        let real_launch = real.plan.container().map_err(|_| Error::Internal {
            message: format!("service `{}` was not resolved for containers", svc.name),
        })?;
        let mut service =
            Yaml::map().with("image", Yaml::str(image(lock, &svc.name, &launch.image)));
        if !launch.env.is_empty() {
            service.set(
                "environment",
                Yaml::Map(
                    launch
                        .env
                        .iter()
                        .map(|(k, v)| (k.clone(), Yaml::str(text(v))))
                        .collect(),
                ),
            );
        }
        if !launch.args.is_empty() {
            service.set(
                "command",
                Yaml::List(launch.args.iter().map(|a| Yaml::str(text(a))).collect()),
            );
        }
        let mut ports = Vec::new();
        if launch.port != 0 {
            ports.push(format!("127.0.0.1:{}:{}", svc.port, launch.port));
        }
        ports.extend(
            launch
                .extra_ports
                .iter()
                .map(|p| format!("127.0.0.1:{}:{}", p.host, p.container)),
        );
        if !ports.is_empty() {
            service.set("ports", Yaml::strs(&ports));
        }
        let mut mounts = Vec::new();
        if let (Some(path), true) = (launch.data_path, svc.persist) {
            let volume = format!("{}-data", svc.name);
            mounts.push(format!("{volume}:{path}"));
            volumes.set(&volume, Yaml::map());
        }
        for v in &launch.volumes {
            let mode = if v.read_only { ":ro" } else { "" };
            match &v.source {
                crate::plan::container::VolumeSource::Named(name) => {
                    mounts.push(format!("{name}:{}{mode}", v.target));
                    volumes.set(name, Yaml::map());
                }
                crate::plan::container::VolumeSource::Bind(path) => {
                    mounts.push(format!("{}:{}{mode}", path.display(), v.target));
                }
            }
        }
        let init = real.init_files();
        for file in real_launch.files.iter().chain(&init) {
            let name = std::path::Path::new(&file.path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "file".into());
            let local = PathBuf::from("files").join(&svc.name).join(&name);
            mounts.push(format!("./{}:{}:ro", local.display(), file.path));
            outputs.push(Output {
                path: local,
                text: file.contents.clone(),
                mode: file.mode,
            });
        }
        if !mounts.is_empty() {
            service.set("volumes", Yaml::strs(&mounts));
        }
        if let Some(test) = &launch.health {
            service.set(
                "healthcheck",
                Yaml::map()
                    .with(
                        "test",
                        Yaml::List(test.iter().map(|t| Yaml::str(text(t))).collect()),
                    )
                    .with("interval", Yaml::str("5s"))
                    .with("timeout", Yaml::str("3s"))
                    .with("retries", Yaml::Int(10))
                    .with("start_period", Yaml::str("5s")),
            );
        }
        if !svc.depends_on.is_empty() {
            let mut deps = Yaml::map();
            for dep in &svc.depends_on {
                let healthy = resolved
                    .marked
                    .service(dep)
                    .and_then(|d| d.plan.container().ok())
                    .is_some_and(|l| l.health.is_some());
                let condition = if healthy {
                    "service_healthy"
                } else {
                    "service_started"
                };
                deps.set(dep, Yaml::map().with("condition", Yaml::str(condition)));
            }
            service.set("depends_on", deps);
        }
        service.set("stop_signal", Yaml::str(launch.stop_signal.engine_name()));
        service.set("restart", Yaml::str("unless-stopped"));
        services.set(&svc.name, service);
    }

    // The stack as a file beside the export: its paths seen from there.
    let stack_toml = StackToml::of(carried, &resolved.configured()).render();
    let mut table: toml::Table = toml::from_str(&stack_toml).map_err(|e| Error::Internal {
        message: format!("the carried stack does not read back: {e}"),
    })?;
    relocate::rebase(
        &mut table,
        &relocate::Move {
            from: &config.root,
            to: out_dir,
        },
    );
    let stack_toml = toml::to_string(&table).map_err(|e| Error::Internal {
        message: format!("could not write the carried stack: {e}"),
    })?;
    let mut carried = Yaml::map().with("berth.toml", Yaml::Block(stack_toml));
    // A variable may hold several services' secrets (`[overrides]` with
    // a list): each variable once, with every value it sets.
    let mut targets: Vec<(String, Vec<String>)> = Vec::new();
    for s in resolved.secrets.iter().filter(|s| s.configured) {
        let target = format!("{}.{}", s.service, s.name);
        match targets.iter_mut().find(|(v, _)| *v == s.var) {
            Some((_, list)) => list.push(target),
            None => targets.push((s.var.clone(), vec![target])),
        }
    }
    let configured: Vec<(String, Yaml)> = targets
        .into_iter()
        .map(|(var, list)| match list.as_slice() {
            [one] => (var, Yaml::str(one.clone())),
            _ => (var, Yaml::strs(&list)),
        })
        .collect();
    if !configured.is_empty() {
        carried.set("secrets", Yaml::Map(configured));
    }
    // No top-level `name`: docker-compose 1.29 refuses it. The project is
    // named by the directory, or `-p`.
    let mut doc = Yaml::map().with("services", services);
    if let Yaml::Map(v) = &volumes {
        if !v.is_empty() {
            doc.set("volumes", volumes);
        }
    }
    doc.set("x-berth", carried);
    let header = format!(
        "# Written by `berth export compose` from `{}` (stack `{}`); edit that file and export again.\n\
         # Runs on docker compose v2, docker-compose 1.29 and podman-compose. Secrets are in `.env`\n\
         # beside this file, which Compose reads for the ${{...}} below; keep it out of version control.\n",
        config.file_name(),
        config.name
    );
    outputs.insert(
        0,
        Output {
            path: PathBuf::from(file_name),
            text: format!("{header}{}", emit::render(&doc)),
            mode: 0o644,
        },
    );
    let mut env = format!("{SECRETS_HEADER}\n");
    for (var, value) in resolved.variables() {
        env.push_str(&format!("{var}={}\n", env_quote(&value)));
    }
    outputs.insert(
        1,
        Output {
            path: PathBuf::from(".env"),
            text: env,
            mode: 0o600,
        },
    );
    Ok(outputs)
}

/// A value for a `.env` file: single quotes (taken literally by every
/// Compose), or double quotes for a value holding a single quote.
fn env_quote(value: &str) -> String {
    if value.contains('\'') {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        format!("'{value}'")
    }
}

/// The image to run: the registry digest `berth.lock` pinned, when the
/// image came from a registry; else the name as the stack gives it.
fn image(lock: Option<&ImageLock>, service: &str, image: &str) -> String {
    lock.and_then(|l| l.services.get(service))
        .filter(|locked| locked.image == image)
        .and_then(|locked| locked.repo_digest.clone())
        .unwrap_or_else(|| image.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image_lock::LockedImage;

    #[test]
    fn images_are_pinned_to_the_registry_digests_berth_lock_holds() {
        let mut lock = ImageLock {
            version: 1,
            services: Default::default(),
        };
        lock.services.insert(
            "db".into(),
            LockedImage {
                image: "postgres:16".into(),
                id: "sha256:aaa".into(),
                repo_digest: Some("postgres@sha256:bbb".into()),
            },
        );
        lock.services.insert(
            "local".into(),
            LockedImage {
                image: "berth-test/postgres:15".into(),
                id: "sha256:ccc".into(),
                repo_digest: None,
            },
        );
        assert_eq!(
            image(Some(&lock), "db", "postgres:16"),
            "postgres@sha256:bbb"
        );
        assert_eq!(
            image(Some(&lock), "db", "postgres:17"),
            "postgres:17",
            "the file names another image now"
        );
        assert_eq!(
            image(Some(&lock), "local", "berth-test/postgres:15"),
            "berth-test/postgres:15",
            "built here: no registry digest"
        );
        assert_eq!(image(None, "db", "postgres:16"), "postgres:16");
    }
}
