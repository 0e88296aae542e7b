//! `berth export kubernetes`: manifests for one namespace (the stack's
//! name) that run the stack as berth runs its containers.
//!
//! - A persistent service with data is a StatefulSet whose claim holds the
//!   data; any other a Deployment. Each gets a Service of its name, so the
//!   others reach it as `db:5432`, as on berth's container network.
//! - Secrets (generated or configured) are one Secret, in a file of its own
//!   (`secret.yaml`, mode 0600): containers take them through
//!   `secretKeyRef`, and arguments and other values refer to them as
//!   `$(VAR)`. Configuration files are a ConfigMap, mounted file by file.
//! - Readiness and liveness probes are berth's health commands where the
//!   kind has one, else a TCP check of the port; dependencies start first
//!   through init containers that wait for their port.
//! - Resource requests follow berth's baseline for a stack (1 GiB of
//!   memory, 2 CPUs) shared out by kind.
//! - `kustomization.yaml` lists it all: `kubectl apply -k DIR`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::emit::{self, Yaml};
use super::export_compose::Output;
use super::secrets::{self, Resolved};
use crate::config::model::StackConfig;
use crate::error::{Error, Result};
use crate::image_lock::ImageLock;
use crate::plan::container::{ContainerFile, ContainerLaunch, VolumeSource};
use crate::stack::resolved::Pins;
use crate::state::{State, StateDir};

/// The image the init containers wait with (it has `nc`).
const WAIT_IMAGE: &str = "busybox:1.36";
const SECRET_NAME: &str = "berth-secrets";

/// Requests by kind: memory, CPU, and the data claim's size.
fn requests(kind: &str) -> (&'static str, &'static str, &'static str) {
    match kind {
        "postgres" => ("256Mi", "250m", "1Gi"),
        "redis" => ("64Mi", "50m", "256Mi"),
        "s3" => ("256Mi", "100m", "1Gi"),
        "pgbouncer" => ("32Mi", "50m", "64Mi"),
        _ => ("128Mi", "100m", "1Gi"),
    }
}

pub fn export(
    config: &StackConfig,
    dir: &StateDir,
    state: &State,
    lock: Option<&ImageLock>,
) -> Result<Vec<Output>> {
    // Kubernetes names objects (and services reach each other) by DNS
    // labels, which have no `_`.
    for name in std::iter::once(&config.name).chain(config.services.iter().map(|s| &s.name)) {
        if name.contains('_') || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(Error::usage(
                format!("`{name}` is not a name Kubernetes accepts (lower-case letters, digits and `-`, starting with a letter)"),
                Some("rename it in the stack file (`name`, or the service's table), then export again".into()),
            ));
        }
    }
    let resolved = secrets::resolve(config, dir, state, &Pins::new());
    let namespace = config.name.clone();
    let mut outputs = Vec::new();
    let mut resources = vec!["namespace.yaml".to_string()];
    let namespace_object = Yaml::map()
        .with("apiVersion", Yaml::str("v1"))
        .with("kind", Yaml::str("Namespace"))
        .with(
            "metadata",
            Yaml::map()
                .with("name", Yaml::str(&namespace))
                .with("labels", labels(&config.name, None)),
        );
    outputs.push(Output {
        path: "namespace.yaml".into(),
        text: header(config) + &emit::render(&namespace_object),
        mode: 0o644,
    });
    if !resolved.secrets.is_empty() {
        let data = Yaml::Map(
            resolved
                .variables()
                .into_iter()
                .map(|(var, value)| (var, Yaml::str(value)))
                .collect(),
        );
        let secret = object("v1", "Secret", SECRET_NAME, Some(&namespace))
            .with("type", Yaml::str("Opaque"))
            .with("stringData", data);
        outputs.push(Output {
            path: "secret.yaml".into(),
            text: format!(
                "{}# Keep this file out of version control.\n{}",
                header(config),
                emit::render(&secret)
            ),
            mode: 0o600,
        });
        resources.push("secret.yaml".into());
    }
    for (svc, real) in resolved.marked.services.iter().zip(&resolved.real.services) {
        let (launch, real_launch) = match (svc.plan.container(), real.plan.container()) {
            (Ok(l), Ok(r)) => (l, r),
            _ => {
                return Err(Error::Internal {
                    message: format!("service `{}` was not resolved for containers", svc.name),
                })
            }
        };
        let mut docs = Vec::new();
        let mut files: Vec<ContainerFile> = real_launch
            .files
            .iter()
            .cloned()
            .chain(real.init_files())
            .collect();
        files.extend(bind_mounted(&svc.name, launch)?);
        if !files.is_empty() {
            let data = Yaml::Map(
                files
                    .iter()
                    .map(|f| (file_key(&f.path), Yaml::Block(f.contents.clone())))
                    .collect(),
            );
            docs.push(
                object(
                    "v1",
                    "ConfigMap",
                    &format!("{}-files", svc.name),
                    Some(&namespace),
                )
                .with("data", data),
            );
        }
        docs.push(workload(
            config, &resolved, svc, launch, &files, lock, &namespace,
        )?);
        if let Some(service) = service_object(&config.name, &svc.name, launch, &namespace) {
            docs.push(service);
        }
        let file = format!("{}.yaml", svc.name);
        outputs.push(Output {
            path: PathBuf::from(&file),
            text: header(config) + &emit::render_all(&docs),
            mode: 0o644,
        });
        resources.push(file);
    }
    let kustomization = Yaml::map()
        .with("apiVersion", Yaml::str("kustomize.config.k8s.io/v1beta1"))
        .with("kind", Yaml::str("Kustomization"))
        .with("namespace", Yaml::str(&namespace))
        .with("resources", Yaml::strs(&resources));
    outputs.push(Output {
        path: "kustomization.yaml".into(),
        text: header(config) + &emit::render(&kustomization),
        mode: 0o644,
    });
    Ok(outputs)
}

fn header(config: &StackConfig) -> String {
    format!(
        "# Written by `berth export kubernetes` from `{}` (stack `{}`); edit that file and export again.\n",
        config.file_name(),
        config.name
    )
}

fn labels(stack: &str, service: Option<&str>) -> Yaml {
    let mut l = Yaml::map();
    if let Some(service) = service {
        l.set("app.kubernetes.io/name", Yaml::str(service));
    }
    l.with("app.kubernetes.io/part-of", Yaml::str(stack))
        .with("app.kubernetes.io/managed-by", Yaml::str("berth"))
}

fn object(api: &str, kind: &str, name: &str, namespace: Option<&str>) -> Yaml {
    let mut meta = Yaml::map().with("name", Yaml::str(name));
    if let Some(ns) = namespace {
        meta.set("namespace", Yaml::str(ns));
    }
    Yaml::map()
        .with("apiVersion", Yaml::str(api))
        .with("kind", Yaml::str(kind))
        .with("metadata", meta)
}

/// `object` with the service's labels in its metadata.
fn labelled(mut object: Yaml, stack: &str, service: &str) -> Yaml {
    if let Yaml::Map(entries) = &mut object {
        if let Some((_, meta)) = entries.iter_mut().find(|(k, _)| k == "metadata") {
            meta.set("labels", labels(stack, Some(service)));
        }
    }
    object
}

/// A ConfigMap key for a file path, unique within the service:
/// `/etc/pgbouncer/pgbouncer.ini` → `etc-pgbouncer-pgbouncer.ini`.
fn file_key(path: &str) -> String {
    path.trim_start_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The StatefulSet or Deployment of one service.
fn workload(
    config: &StackConfig,
    resolved: &Resolved,
    svc: &crate::stack::service::Service,
    launch: &ContainerLaunch,
    files: &[ContainerFile],
    lock: Option<&ImageLock>,
    namespace: &str,
) -> Result<Yaml> {
    let kind = svc.kind();
    let (memory, cpu, storage) = requests(kind);
    let image = lock
        .and_then(|l| l.services.get(&svc.name))
        .filter(|l| l.image == launch.image)
        .and_then(|l| l.repo_digest.clone())
        .unwrap_or_else(|| launch.image.clone());
    // `$(` is Kubernetes' reference syntax: a literal one is `$$(`.
    let text = |s: &str, alias: &BTreeMap<String, String>| {
        resolved.refer(&s.replace("$(", "$$("), &|var| {
            format!("$({})", alias.get(var).map(String::as_str).unwrap_or(var))
        })
    };
    // Secrets first (a `$(VAR)` sees only variables defined before it):
    // an environment value that is exactly a secret takes it directly.
    let mut env_from_secrets = Vec::new();
    let mut alias: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &launch.env {
        if let Some(s) = resolved.whole(v) {
            env_from_secrets.push(secret_env(k, &s.var));
            alias.insert(s.var.clone(), k.clone());
        }
    }
    let everything: Vec<&String> = launch
        .env
        .iter()
        .map(|(_, v)| v)
        .chain(&launch.args)
        .collect();
    let mut needed: Vec<String> = Vec::new();
    for value in everything {
        for (var, _) in resolved.used_in(value) {
            if !alias.contains_key(&var) && !needed.contains(&var) {
                needed.push(var);
            }
        }
    }
    for var in &needed {
        env_from_secrets.push(secret_env(var, var));
    }
    let mut env = env_from_secrets;
    for (k, v) in &launch.env {
        if resolved.whole(v).is_none() {
            env.push(
                Yaml::map()
                    .with("name", Yaml::str(k))
                    .with("value", Yaml::str(text(v, &alias))),
            );
        }
    }

    let mut container = Yaml::map()
        .with("name", Yaml::str(&svc.name))
        .with("image", Yaml::str(&image));
    if !launch.args.is_empty() {
        container.set(
            "args",
            Yaml::List(
                launch
                    .args
                    .iter()
                    .map(|a| Yaml::str(text(a, &alias)))
                    .collect(),
            ),
        );
    }
    if !env.is_empty() {
        container.set("env", Yaml::List(env));
    }
    let mut ports = Vec::new();
    if launch.port != 0 {
        ports.push(Yaml::map().with("containerPort", Yaml::Int(launch.port.into())));
    }
    for p in &launch.extra_ports {
        ports.push(Yaml::map().with("containerPort", Yaml::Int(p.container.into())));
    }
    if !ports.is_empty() {
        container.set("ports", Yaml::List(ports));
    }
    if let Some(probe) = probe(launch, &alias, resolved) {
        container.set(
            "readinessProbe",
            probe
                .clone()
                .with("periodSeconds", Yaml::Int(5))
                .with("failureThreshold", Yaml::Int(3)),
        );
        container.set(
            "livenessProbe",
            probe
                .with("initialDelaySeconds", Yaml::Int(30))
                .with("periodSeconds", Yaml::Int(10))
                .with("failureThreshold", Yaml::Int(6)),
        );
    }
    container.set(
        "resources",
        Yaml::map().with(
            "requests",
            Yaml::map()
                .with("memory", Yaml::str(memory))
                .with("cpu", Yaml::str(cpu)),
        ),
    );

    let mut mounts = Vec::new();
    let mut volumes = Vec::new();
    let mut claims = Vec::new();
    let claim = |name: &str| {
        Yaml::map()
            .with("metadata", Yaml::map().with("name", Yaml::str(name)))
            .with(
                "spec",
                Yaml::map()
                    .with("accessModes", Yaml::strs(&["ReadWriteOnce"]))
                    .with(
                        "resources",
                        Yaml::map()
                            .with("requests", Yaml::map().with("storage", Yaml::str(storage))),
                    ),
            )
    };
    if let (Some(path), true) = (launch.data_path, svc.persist) {
        // A directory inside the claim: a fresh volume's root holds
        // `lost+found`, which servers that want an empty data directory
        // (PostgreSQL's initdb) refuse.
        mounts.push(
            Yaml::map()
                .with("name", Yaml::str("data"))
                .with("mountPath", Yaml::str(path))
                .with("subPath", Yaml::str("data")),
        );
        claims.push(claim("data"));
    }
    for v in &launch.volumes {
        match &v.source {
            VolumeSource::Named(name) => {
                let claim_name = dns_label(name);
                mounts.push(
                    Yaml::map()
                        .with("name", Yaml::str(&claim_name))
                        .with("mountPath", Yaml::str(&v.target))
                        .with("readOnly", Yaml::Bool(v.read_only)),
                );
                claims.push(claim(&claim_name));
            }
            // Its files are in the ConfigMap (see `bind_mounted`).
            VolumeSource::Bind(_) => {}
        }
    }
    if !files.is_empty() {
        volumes.push(Yaml::map().with("name", Yaml::str("files")).with(
            "configMap",
            Yaml::map().with("name", Yaml::str(format!("{}-files", svc.name))),
        ));
        for f in files {
            mounts.push(
                Yaml::map()
                    .with("name", Yaml::str("files"))
                    .with("mountPath", Yaml::str(&f.path))
                    .with("subPath", Yaml::str(file_key(&f.path)))
                    .with("readOnly", Yaml::Bool(true)),
            );
        }
    }
    if !mounts.is_empty() {
        container.set("volumeMounts", Yaml::List(mounts));
    }

    // Each dependency's port must answer before the service starts.
    let mut init = Vec::new();
    for dep in &svc.depends_on {
        let Some(port) = resolved
            .marked
            .service(dep)
            .and_then(|d| d.plan.container().ok())
            .map(|l| l.port)
            .filter(|p| *p != 0)
        else {
            continue;
        };
        init.push(
            Yaml::map()
                .with("name", Yaml::str(format!("wait-for-{dep}")))
                .with("image", Yaml::str(WAIT_IMAGE))
                .with(
                    "command",
                    Yaml::strs(&[
                        "sh",
                        "-c",
                        &format!(
                            "until nc -z {dep} {port}; do echo waiting for {dep}; sleep 1; done"
                        ),
                    ]),
                )
                .with(
                    "resources",
                    Yaml::map().with(
                        "requests",
                        Yaml::map()
                            .with("memory", Yaml::str("8Mi"))
                            .with("cpu", Yaml::str("10m")),
                    ),
                ),
        );
    }

    let selector = Yaml::map().with("app.kubernetes.io/name", Yaml::str(&svc.name));
    let mut pod_spec = Yaml::map();
    if !init.is_empty() {
        pod_spec.set("initContainers", Yaml::List(init));
    }
    pod_spec.set("containers", Yaml::List(vec![container]));
    if !volumes.is_empty() {
        pod_spec.set("volumes", Yaml::List(volumes));
    }
    let template = Yaml::map()
        .with(
            "metadata",
            Yaml::map().with("labels", labels(&config.name, Some(&svc.name))),
        )
        .with("spec", pod_spec);
    let stateful = !claims.is_empty();
    let mut spec = Yaml::map()
        .with("replicas", Yaml::Int(1))
        .with("selector", Yaml::map().with("matchLabels", selector));
    if stateful {
        spec.set("serviceName", Yaml::str(&svc.name));
    }
    spec.set("template", template);
    if stateful {
        spec.set("volumeClaimTemplates", Yaml::List(claims));
    }
    let (api, kind_name) = if stateful {
        ("apps/v1", "StatefulSet")
    } else {
        ("apps/v1", "Deployment")
    };
    let object = labelled(
        object(api, kind_name, &svc.name, Some(namespace)),
        &config.name,
        &svc.name,
    );
    Ok(object.with("spec", spec))
}

fn secret_env(name: &str, key: &str) -> Yaml {
    Yaml::map().with("name", Yaml::str(name)).with(
        "valueFrom",
        Yaml::map().with(
            "secretKeyRef",
            Yaml::map()
                .with("name", Yaml::str(SECRET_NAME))
                .with("key", Yaml::str(key)),
        ),
    )
}

/// The files a service's bind mounts give it, for its ConfigMap: a
/// cluster has no host directories. A mounted file is one entry; a
/// directory, each file in it. A tree, or anything not text, is refused.
fn bind_mounted(service: &str, launch: &ContainerLaunch) -> Result<Vec<ContainerFile>> {
    let refuse = |path: &std::path::Path, why: &str| {
        Error::usage(
            format!("service `{service}` mounts `{}`, {why}", path.display()),
            Some("bake the files into its image, or use a named volume, then export again".into()),
        )
    };
    let mut files = Vec::new();
    for v in &launch.volumes {
        let VolumeSource::Bind(path) = &v.source else {
            continue;
        };
        let mut read = |host: &std::path::Path, target: String| -> Result<()> {
            let contents = std::fs::read_to_string(host)
                .map_err(|_| refuse(host, "which is not a readable text file (a cluster gets mounted files from a ConfigMap)"))?;
            files.push(ContainerFile {
                path: target,
                contents,
                mode: 0o644,
            });
            Ok(())
        };
        if path.is_dir() {
            let mut entries: Vec<_> = std::fs::read_dir(path)
                .map_err(|_| refuse(path, "which cannot be read"))?
                .flatten()
                .collect();
            entries.sort_by_key(|e| e.file_name());
            for entry in entries {
                if entry.path().is_dir() {
                    return Err(refuse(
                        path,
                        "a directory tree, which a ConfigMap cannot hold",
                    ));
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                read(
                    &entry.path(),
                    format!("{}/{name}", v.target.trim_end_matches('/')),
                )?;
            }
        } else {
            read(path, v.target.clone())?;
        }
    }
    Ok(files)
}

/// berth's health command, or a TCP check of the port; none for a service
/// with neither.
fn probe(
    launch: &ContainerLaunch,
    alias: &BTreeMap<String, String>,
    resolved: &Resolved,
) -> Option<Yaml> {
    if let Some(test) = &launch.health {
        let command: Vec<String> = match test.first().map(String::as_str) {
            Some("CMD-SHELL") => vec!["sh".into(), "-c".into(), test[1..].join(" ")],
            Some("CMD") => test[1..].to_vec(),
            _ => test.clone(),
        };
        let command: Vec<String> = command
            .iter()
            .map(|c| {
                resolved.refer(c, &|var| {
                    alias.get(var).cloned().unwrap_or_else(|| var.to_string())
                })
            })
            .collect();
        return Some(
            Yaml::map()
                .with("exec", Yaml::map().with("command", Yaml::strs(&command)))
                .with("timeoutSeconds", Yaml::Int(3)),
        );
    }
    (launch.port != 0).then(|| {
        Yaml::map()
            .with(
                "tcpSocket",
                Yaml::map().with("port", Yaml::Int(launch.port.into())),
            )
            .with("timeoutSeconds", Yaml::Int(3))
    })
}

/// The Service that gives a service its name in the namespace.
fn service_object(
    stack: &str,
    name: &str,
    launch: &ContainerLaunch,
    namespace: &str,
) -> Option<Yaml> {
    let mut ports: Vec<Yaml> = Vec::new();
    if launch.port != 0 {
        ports.push(port_entry("main", launch.port));
    }
    for p in &launch.extra_ports {
        ports.push(port_entry(&format!("port-{}", p.container), p.container));
    }
    if ports.is_empty() {
        return None;
    }
    let object = labelled(object("v1", "Service", name, Some(namespace)), stack, name);
    Some(
        object.with(
            "spec",
            Yaml::map()
                .with(
                    "selector",
                    Yaml::map().with("app.kubernetes.io/name", Yaml::str(name)),
                )
                .with("ports", Yaml::List(ports)),
        ),
    )
}

fn port_entry(name: &str, port: u16) -> Yaml {
    Yaml::map()
        .with("name", Yaml::str(name))
        .with("port", Yaml::Int(port.into()))
        .with("targetPort", Yaml::Int(port.into()))
}

/// A name Kubernetes accepts for a volume: lower-case letters, digits and
/// `-`.
fn dns_label(name: &str) -> String {
    let label: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    label.trim_matches('-').chars().take(63).collect()
}
