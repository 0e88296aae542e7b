//! A compose file read into what berth can carry over: each service's
//! image, command, environment, ports, volumes, dependencies, health check
//! and profiles, in both the short and the long syntax, interpolated as
//! Compose interpolates. Everything else is kept as a [`Finding`] with its
//! place in the file, for the import report: nothing is dropped silently.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::yaml::{self, Node, Value};
use crate::error::Result;
use crate::source::{SourceFile, Span};
use crate::suggest::did_you_mean;
use crate::variables::dotenv;
use crate::variables::interpolate::interpolate;

/// The names Compose looks for, in its order.
pub const CANDIDATES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
    "podman-compose.yaml",
    "podman-compose.yml",
];

/// The compose file in `dir`, found the way Compose finds it (podman-compose
/// adds its own names).
pub fn discover(dir: &Path) -> Option<PathBuf> {
    CANDIDATES
        .iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

#[derive(Debug)]
pub struct ComposeFile {
    pub source: SourceFile,
    pub name: Option<String>,
    pub services: Vec<ComposeService>,
    /// What berth has no place for, with where it is written.
    pub findings: Vec<Finding>,
    /// The stack a `berth export compose` carried along (`x-berth`).
    pub carried: Option<Carried>,
    /// The variables it uses that were not set when it was read.
    pub unset: Vec<String>,
}

/// What `berth export compose` writes under `x-berth`: the effective
/// `berth.toml`, and the configured secrets it left out, with the
/// variables that hold them (in the `.env` the export wrote).
#[derive(Debug, Clone)]
pub struct Carried {
    pub stack_toml: String,
    /// (service, key, variable).
    pub secrets: Vec<(String, String, String)>,
}

/// Something of the compose file that berth does not carry over (or
/// carries over differently), for the report.
#[derive(Debug, Clone)]
pub struct Finding {
    pub span: Span,
    /// Where in the file, like `services.api.build`.
    pub key: String,
    pub note: String,
}

#[derive(Debug, Default)]
pub struct ComposeService {
    pub name: String,
    pub span: Span,
    pub image: Option<String>,
    pub command: Option<Vec<String>>,
    /// `entrypoint`, which berth does not set, kept to read what it does
    /// (a `mc mb` that makes buckets).
    pub entrypoint: Option<Vec<String>>,
    /// In order; an `env_file`'s variables first, `environment` over them.
    /// A bare `KEY` is here with an empty value (its origin says so).
    pub environment: Vec<(String, String)>,
    /// Where an environment value came from, by key.
    pub env_origins: BTreeMap<String, EnvOrigin>,
    /// Where `environment:` and `env_file:` are written.
    pub environment_span: Option<Span>,
    pub env_file_span: Option<Span>,
    /// The command's arguments as written, before interpolation (when
    /// they can be told apart).
    pub command_raw: Option<Vec<String>>,
    pub ports: Vec<PortSpec>,
    pub volumes: Vec<VolumeSpec>,
    pub depends_on: Vec<Dependency>,
    pub healthcheck: Option<Healthcheck>,
    /// Where `healthcheck:` is written.
    pub healthcheck_span: Option<Span>,
    pub profiles: Vec<String>,
}

/// Where an environment value comes from: the import keeps values that
/// come from the team's variables (often secrets) out of `berth.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvOrigin {
    /// Written in the compose file; `raw` is the text as written when it
    /// uses variables (`${DB_PASSWORD}`), which Compose fills at each `up`.
    File { raw: Option<String> },
    /// From an `env_file`: its path as the compose file writes it.
    EnvFile(String),
    /// A bare `KEY`: Compose passes the shell's value at each `up`.
    Shell,
}

/// `text` as written, when it uses a variable (`$$` alone does not).
pub fn raw_with_variables(text: &str) -> Option<String> {
    let used = std::cell::Cell::new(false);
    let lookup = |_: &str| {
        used.set(true);
        None
    };
    let _ = interpolate(text, &lookup, &mut Vec::new());
    used.get().then(|| text.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// On the host (none: Compose picks one).
    pub published: Option<u16>,
    pub target: u16,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    /// A named volume, a host path (`./data`), or none (anonymous).
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub service: String,
    /// `service_started`, `service_healthy`, `service_completed_successfully`.
    pub condition: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Healthcheck {
    /// `["CMD", ...]` or `["CMD-SHELL", "..."]` as a command to run.
    Command(Vec<String>, Span),
    Disabled,
}

/// Reads values, interpolating them; collects the variables left unset.
struct Reader<'a> {
    file: &'a SourceFile,
    dir: PathBuf,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    unset: Vec<(String, Span)>,
    findings: Vec<Finding>,
}

impl Reader<'_> {
    fn error(
        &self,
        span: &Span,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> crate::error::Error {
        yaml::error(self.file, span.clone(), message, hint)
    }

    /// A scalar's text, interpolated.
    fn text(&mut self, node: &Node, what: &str) -> Result<String> {
        let Some(raw) = node.text() else {
            return Err(self.error(
                &node.span,
                format!(
                    "{what} must be a single value, and this is {}",
                    node.describe()
                ),
                None,
            ));
        };
        let mut unset = Vec::new();
        let value = interpolate(raw, self.lookup, &mut unset)
            .map_err(|f| self.error(&node.span, f.message, f.hint))?;
        for name in unset {
            if !self.unset.iter().any(|(n, _)| *n == name) {
                self.unset.push((name, node.span.clone()));
            }
        }
        Ok(value)
    }

    /// A list of scalars, or one scalar as a list of one.
    fn texts(&mut self, node: &Node, what: &str) -> Result<Vec<String>> {
        match node.seq() {
            Some(items) => items.iter().map(|i| self.text(i, what)).collect(),
            None => Ok(vec![self.text(node, what)?]),
        }
    }

    fn note(&mut self, span: &Span, key: String, note: impl Into<String>) {
        self.findings.push(Finding {
            span: span.clone(),
            key,
            note: note.into(),
        });
    }
}

/// Read and interpolate the compose file at `path`. Variables come from
/// `lookup` (the environment), then the `.env` file beside the compose
/// file, as Compose takes them.
pub fn read(path: &Path, lookup: &dyn Fn(&str) -> Option<String>) -> Result<ComposeFile> {
    let source = yaml::read(path)?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let dotenv = match dir.join(".env") {
        p if p.is_file() => dotenv::read(&p, lookup)?,
        _ => Vec::new(),
    };
    let lookup = |name: &str| {
        lookup(name).or_else(|| {
            dotenv
                .iter()
                .rev()
                .find(|e| e.key == name)
                .map(|e| e.value.clone())
        })
    };
    let root = yaml::parse(&source)?;
    let mut reader = Reader {
        file: &source,
        dir,
        lookup: &lookup,
        unset: Vec::new(),
        findings: Vec::new(),
    };
    let Some(entries) = root.map() else {
        return Err(reader.error(
            &root.span,
            format!(
                "a compose file is a mapping with `services`, and this is {}",
                root.describe()
            ),
            None,
        ));
    };
    let mut name = None;
    let mut services = Vec::new();
    let mut saw_services = false;
    let mut carried = None;
    for (key, value) in entries {
        let k = key.text().unwrap_or_default();
        match k {
            "services" => {
                saw_services = true;
                let Some(list) = value.map() else {
                    return Err(reader.error(&value.span, "`services` must be a mapping of service names", None));
                };
                for (svc_key, svc) in list {
                    services.push(read_service(&mut reader, svc_key, svc)?);
                }
            }
            "name" => name = Some(reader.text(value, "`name`")?),
            // Obsolete in the Compose Specification, and meaningless here.
            "version" => {}
            "volumes" => volumes(&mut reader, value),
            "networks" => {
                for (net, _) in value.map().unwrap_or_default() {
                    let n = net.text().unwrap_or_default();
                    if n != "default" {
                        reader.note(&net.span, format!("networks.{n}"), "berth gives each stack one network; services reach each other by name on it");
                    }
                }
            }
            "x-berth" => carried = Some(read_carried(&mut reader, value)?),
            _ if k.starts_with("x-") => {}
            "secrets" | "configs" | "include" | "models" => reader.note(&key.span, k.to_string(), match k {
                "include" => "include the services of the other file in this one, then import",
                "models" => "berth has no equivalent",
                _ => "berth keeps secrets in its state directory and writes them to the env file; put files a service reads in `volumes`",
            }),
            unknown => {
                let known = ["version", "name", "services", "networks", "volumes", "secrets", "configs", "include", "models"];
                let hint = did_you_mean(unknown, known.iter().copied())
                    .unwrap_or_else(|| "the top-level keys are `services`, `volumes`, `networks`, `secrets`, `configs`, `name` and `x-...` extensions".into());
                return Err(reader.error(&key.span, format!("`{unknown}` is not a top-level key of a compose file"), Some(hint)));
            }
        }
    }
    check_cycles(&reader, &services)?;
    if !saw_services {
        return Err(reader.error(
            &root.span,
            "this compose file has no `services`",
            Some("a compose file lists its containers under `services:`".into()),
        ));
    }
    let mut unset = Vec::new();
    for (var, span) in std::mem::take(&mut reader.unset) {
        unset.push(var.clone());
        reader.note(
            &span,
            format!("${{{var}}}"),
            format!("variable `{var}` is not set; it was read as empty, as Compose does"),
        );
    }
    let findings = reader.findings;
    Ok(ComposeFile {
        source: source.clone(),
        name,
        services,
        findings,
        carried,
        unset,
    })
}

fn read_carried(reader: &mut Reader, node: &Node) -> Result<Carried> {
    let stack_toml = match node.get("berth.toml").and_then(Node::text) {
        Some(text) => text.to_string(),
        None => {
            return Err(reader.error(
                &node.span,
                "`x-berth` holds no `berth.toml`",
                Some("it is written by `berth export compose`; remove it to import the services as Compose describes them".into()),
            ))
        }
    };
    let mut secrets = Vec::new();
    for (var, targets) in node.get("secrets").and_then(Node::map).unwrap_or_default() {
        let var_name = var.text().unwrap_or_default();
        // One value, or a list of those the variable sets alike.
        let list = match targets.seq() {
            Some(items) => items.to_vec(),
            None => vec![targets.clone()],
        };
        for target in list {
            let target_text = target.text().unwrap_or_default();
            let Some((service, key)) = target_text.split_once('.') else {
                return Err(reader.error(
                    &target.span,
                    format!("`{target_text}` is not `service.key`"),
                    None,
                ));
            };
            secrets.push((service.to_string(), key.to_string(), var_name.to_string()));
        }
    }
    Ok(Carried {
        stack_toml,
        secrets,
    })
}

/// Every key a service may have in the Compose Specification.
const SERVICE_KEYS: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "driver_opts",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "labels",
    "label_file",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "provider",
    "pull_policy",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
];

/// `depends_on` must not go round in a circle (Compose refuses it too).
fn check_cycles(reader: &Reader, services: &[ComposeService]) -> Result<()> {
    fn visit<'a>(
        name: &'a str,
        services: &'a [ComposeService],
        path: &mut Vec<&'a str>,
        done: &mut Vec<&'a str>,
    ) -> Option<(Vec<&'a str>, Span)> {
        if done.contains(&name) {
            return None;
        }
        let svc = services.iter().find(|s| s.name == name)?;
        for dep in &svc.depends_on {
            if let Some(at) = path.iter().position(|p| *p == dep.service) {
                let mut cycle = path[at..].to_vec();
                cycle.push(name);
                cycle.push(&dep.service);
                return Some((cycle, dep.span.clone()));
            }
            if dep.service == name {
                return Some((vec![name, name], dep.span.clone()));
            }
            path.push(name);
            let found = visit(&dep.service, services, path, done);
            path.pop();
            if found.is_some() {
                return found;
            }
        }
        done.push(name);
        None
    }
    for svc in services {
        for dep in &svc.depends_on {
            if !services.iter().any(|s| s.name == dep.service) {
                let hint = did_you_mean(&dep.service, services.iter().map(|s| s.name.as_str()))
                    .unwrap_or_else(|| "name a service of this file".into());
                return Err(reader.error(
                    &dep.span,
                    format!(
                        "service `{}` depends on `{}`, which this file does not define",
                        svc.name, dep.service
                    ),
                    Some(hint),
                ));
            }
        }
    }
    let mut done = Vec::new();
    for svc in services {
        if let Some((cycle, span)) = visit(&svc.name, services, &mut Vec::new(), &mut done) {
            let shown: Vec<String> = cycle.iter().map(|c| format!("`{c}`")).collect();
            return Err(reader.error(
                &span,
                format!("`depends_on` goes round in a circle: {}", shown.join(" → ")),
                Some("remove one of these dependencies".into()),
            ));
        }
    }
    Ok(())
}

/// Named volumes are made by berth; `external` ones are not berth's.
fn volumes(reader: &mut Reader, value: &Node) {
    for (name, spec) in value.map().unwrap_or_default() {
        let n = name.text().unwrap_or_default().to_string();
        for (key, _) in spec.map().unwrap_or_default() {
            let k = key.text().unwrap_or_default();
            let note = match k {
                "external" => {
                    "berth makes and owns the stack's volumes; an external one is not carried over"
                }
                "driver" | "driver_opts" => "berth's volumes use the engine's default driver",
                "name" => "berth names volumes `berth-<stack>-...`",
                _ => continue,
            };
            reader.note(&key.span, format!("volumes.{n}.{k}"), note);
        }
    }
}

fn read_service(reader: &mut Reader, key: &Node, node: &Node) -> Result<ComposeService> {
    let name = key.text().unwrap_or_default().to_string();
    let mut svc = ComposeService {
        name: name.clone(),
        span: key.span.clone(),
        ..ComposeService::default()
    };
    let Some(entries) = node.map() else {
        if node.is_null() {
            return Ok(svc);
        }
        return Err(reader.error(
            &node.span,
            format!("service `{name}` must be a mapping"),
            None,
        ));
    };
    let mut environment: Vec<(String, String, EnvOrigin)> = Vec::new();
    let mut from_files: Vec<(String, String, String)> = Vec::new();
    for (k, v) in entries {
        let field = k.text().unwrap_or_default();
        let at = format!("services.{name}.{field}");
        match field {
            "image" => svc.image = Some(reader.text(v, "`image`")?),
            "command" => {
                svc.command = Some(command(reader, v)?);
                svc.command_raw = command_raw(v);
            }
            "environment" => {
                environment = environment_of(reader, v)?;
                svc.environment_span = Some(k.span.clone());
            }
            "env_file" => {
                from_files = env_files(reader, v)?;
                svc.env_file_span = Some(k.span.clone());
            }
            "ports" => {
                for p in v.seq().unwrap_or_default() {
                    if let Some(port) = port(reader, p, &at)? {
                        svc.ports.push(port);
                    }
                }
            }
            "expose" => reader.note(&k.span, at, "on the stack's network every port of a service is reachable: nothing to declare"),
            "volumes" => {
                for item in v.seq().unwrap_or_default() {
                    if let Some(volume) = volume(reader, item, &at)? {
                        svc.volumes.push(volume);
                    }
                }
            }
            "depends_on" => svc.depends_on = depends_on(reader, v, &at)?,
            "healthcheck" => {
                svc.healthcheck = healthcheck(reader, v, &at)?;
                svc.healthcheck_span = Some(k.span.clone());
                if matches!(svc.healthcheck, Some(Healthcheck::Disabled)) {
                    reader.note(&k.span, at, "berth runs no image's own health check, so there is none to turn off: it probes the service itself (`ready`)");
                }
            }
            "profiles" => svc.profiles = reader.texts(v, "a profile")?,
            // Supervision and naming are berth's own.
            "restart" | "container_name" | "hostname" | "stop_grace_period" | "init" | "pull_policy" | "tty" | "stdin_open" => {
                reader.note(&k.span, at, match field {
                    "restart" => "berth supervises its services itself; `up` restarts what stopped",
                    "container_name" => "berth names containers `berth-<stack>-<service>`",
                    "hostname" => "on the stack's network a service is reached by its name",
                    _ => "berth has no equivalent",
                });
            }
            "build" => reader.note(&k.span, at, "berth runs images and builds none: build it (`docker build -t NAME ...`) and name it with `image`"),
            "entrypoint" => {
                svc.entrypoint = Some(command(reader, v)?);
                reader.note(&k.span, at, "berth sets no entrypoint: make it part of the image, or put it in front of `command`");
            }
            "networks" | "network_mode" => {
                let default_only = v.seq().is_some_and(|n| n.iter().all(|i| i.text() == Some("default")));
                if !default_only {
                    reader.note(&k.span, at, "berth gives each stack one network; services reach each other by name on it");
                }
            }
            "deploy" => reader.note(&k.span, at, "deployment settings belong to the orchestrator: `berth export compose` / `kubernetes` write them"),
            _ if field.starts_with("x-") => {}
            known if SERVICE_KEYS.contains(&known) => reader.note(&k.span, at, "berth has no equivalent"),
            unknown => {
                let hint = did_you_mean(unknown, SERVICE_KEYS.iter().copied())
                    .unwrap_or_else(|| "see the Compose Specification for a service's keys".into());
                return Err(reader.error(&k.span, format!("`{unknown}` is not a key of a compose service"), Some(hint)));
            }
        }
    }
    // `environment` wins over `env_file`, as in Compose.
    for (key, value, file) in from_files {
        if !environment.iter().any(|(k, _, _)| *k == key) {
            svc.env_origins
                .insert(key.clone(), EnvOrigin::EnvFile(file));
            svc.environment.push((key, value));
        }
    }
    for (key, value, origin) in environment {
        svc.env_origins.insert(key.clone(), origin);
        svc.environment.push((key, value));
    }
    Ok(svc)
}

/// A command's arguments before interpolation, paired with the
/// interpolated ones when they split alike.
fn command_raw(node: &Node) -> Option<Vec<String>> {
    match node.seq() {
        Some(items) => items.iter().map(|i| i.text().map(str::to_string)).collect(),
        None => split_words(node.text()?),
    }
}

/// A command: a list, or a string split the way a shell splits words.
fn command(reader: &mut Reader, node: &Node) -> Result<Vec<String>> {
    if node.seq().is_some() {
        return reader.texts(node, "an argument");
    }
    let text = reader.text(node, "`command`")?;
    split_words(&text).ok_or_else(|| {
        reader.error(
            &node.span,
            "`command` has a quote that is not closed",
            Some("close it, or write the command as a list".into()),
        )
    })
}

/// Words as a POSIX shell splits them (quotes and backslashes; no
/// expansions, which Compose does not do either).
pub fn split_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => word.push(chars.next()?),
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next()?);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

/// `environment`: a mapping, or a list of `KEY=value`, each with where
/// its value comes from. A bare `KEY` is passed by Compose from the shell
/// that runs it, at each `up`: its value in the importing shell is not
/// read (it may be a secret, and it is not the file's).
fn environment_of(reader: &mut Reader, node: &Node) -> Result<Vec<(String, String, EnvOrigin)>> {
    let mut out = Vec::new();
    if let Some(entries) = node.map() {
        for (k, v) in entries {
            let key = k.text().unwrap_or_default().to_string();
            if v.is_null() {
                out.push((key, String::new(), EnvOrigin::Shell));
                continue;
            }
            let raw = v.text().and_then(raw_with_variables);
            out.push((
                key,
                reader.text(v, "an environment value")?,
                EnvOrigin::File { raw },
            ));
        }
    } else {
        for item in node.seq().unwrap_or_default() {
            let text = reader.text(item, "an environment entry")?;
            let raw = item.text().and_then(|t| t.split_once('=')).map(|(_, v)| v);
            match text.split_once('=') {
                Some((k, v)) => out.push((
                    k.to_string(),
                    v.to_string(),
                    EnvOrigin::File {
                        raw: raw.and_then(raw_with_variables),
                    },
                )),
                None => out.push((text, String::new(), EnvOrigin::Shell)),
            }
        }
    }
    Ok(out)
}

/// `env_file`: a path, a list of paths, or of `{ path, required }`.
/// Each variable with the file it came from, as the compose file writes it.
fn env_files(reader: &mut Reader, node: &Node) -> Result<Vec<(String, String, String)>> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    let items: Vec<Node> = match node.seq() {
        Some(items) => items.to_vec(),
        None => vec![node.clone()],
    };
    for item in items {
        let (path_node, required) = match item.map() {
            Some(_) => (
                item.get("path").cloned().unwrap_or(item.clone()),
                item.get("required").and_then(Node::as_bool).unwrap_or(true),
            ),
            None => (item.clone(), true),
        };
        let relative = reader.text(&path_node, "an env file")?;
        let path = reader.dir.join(&relative);
        if !path.is_file() {
            if required {
                return Err(reader.error(
                    &path_node.span,
                    format!("env file `{relative}` does not exist"),
                    Some("create it, or mark it `required: false`".into()),
                ));
            }
            continue;
        }
        for entry in dotenv::read(&path, reader.lookup)? {
            out.retain(|(k, _, _)| *k != entry.key);
            out.push((entry.key, entry.value, relative.clone()));
        }
    }
    Ok(out)
}

/// A port: `"8080"`, `"5433:5432"`, `"127.0.0.1:5433:5432"`, or the long
/// form. Ranges and UDP are reported, not carried over.
fn port(reader: &mut Reader, node: &Node, at: &str) -> Result<Option<PortSpec>> {
    let number = |reader: &Reader, text: &str, span: &Span| -> Result<u16> {
        text.trim()
            .parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| reader.error(span, format!("`{text}` is not a port number"), None))
    };
    if node.map().is_some() {
        let target = match node.get("target") {
            Some(t) => {
                let text = reader.text(t, "`target`")?;
                number(reader, &text, &t.span)?
            }
            None => {
                return Err(reader.error(
                    &node.span,
                    "a port in the long form needs its `target`",
                    None,
                ))
            }
        };
        if node
            .get("protocol")
            .and_then(Node::text)
            .is_some_and(|p| p != "tcp")
        {
            reader.note(&node.span, at.to_string(), "berth publishes TCP ports only");
            return Ok(None);
        }
        let published = match node.get("published") {
            Some(p) => {
                let text = reader.text(p, "`published`")?;
                Some(number(reader, &text, &p.span)?)
            }
            None => None,
        };
        for (key, value) in node.map().unwrap_or_default() {
            let note = match key.text().unwrap_or_default() {
                "target" | "published" | "protocol" => continue,
                "host_ip" => match value.text() {
                    Some("127.0.0.1" | "localhost" | "::1") => continue,
                    ip => format!("published on 127.0.0.1 only, not on `{}`: berth's services never listen beyond the machine", ip.unwrap_or_default()),
                },
                "mode" if value.text() == Some("ingress") => continue,
                other => format!("`{other}` of a port is not carried over: berth publishes the port on 127.0.0.1, nothing more"),
            };
            reader.note(
                &key.span,
                format!("{at}.{}", key.text().unwrap_or_default()),
                note,
            );
        }
        return Ok(Some(PortSpec {
            published,
            target,
            span: node.span.clone(),
        }));
    }
    let text = reader.text(node, "a port")?;
    let (text, protocol) = text.split_once('/').unwrap_or((&text, "tcp"));
    if protocol != "tcp" || text.contains('-') {
        reader.note(
            &node.span,
            at.to_string(),
            format!("`{text}/{protocol}`: berth publishes single TCP ports only"),
        );
        return Ok(None);
    }
    // `[IP:][HOST:]CONTAINER`; an IPv6 address is bracketed.
    let parts: Vec<&str> = match text.rfind(']') {
        Some(close) => {
            let rest = text[close + 1..].trim_start_matches(':');
            std::iter::once(&text[..=close])
                .chain(rest.split(':'))
                .collect()
        }
        None => text.split(':').collect(),
    };
    let (host, container) = match parts.as_slice() {
        [c] => (None, *c),
        [h, c] => (Some(*h), *c),
        [ip, h, c] => {
            if !matches!(*ip, "127.0.0.1" | "localhost" | "[::1]") {
                reader.note(
                    &node.span,
                    at.to_string(),
                    format!("`{text}` is published on 127.0.0.1 only, not on `{ip}`: berth's services never listen beyond the machine"),
                );
            }
            (Some(*h), *c)
        }
        _ => {
            return Err(reader.error(
                &node.span,
                format!("`{text}` is not a port mapping"),
                Some("write `CONTAINER`, `HOST:CONTAINER` or `IP:HOST:CONTAINER`".into()),
            ))
        }
    };
    let published = match host {
        Some(h) if !h.is_empty() => Some(number(reader, h, &node.span)?),
        _ => None,
    };
    Ok(Some(PortSpec {
        published,
        target: number(reader, container, &node.span)?,
        span: node.span.clone(),
    }))
}

/// A volume: `"name:/path[:ro]"`, `"./dir:/path"`, `"/path"`, or the long
/// form; tmpfs and other types are reported.
fn volume(reader: &mut Reader, node: &Node, at: &str) -> Result<Option<VolumeSpec>> {
    if node.map().is_some() {
        let kind = match node.get("type") {
            Some(t) => reader.text(t, "`type`")?,
            None => "volume".to_string(),
        };
        if kind != "volume" && kind != "bind" {
            reader.note(
                &node.span,
                at.to_string(),
                format!("a `{kind}` mount has no berth equivalent"),
            );
            return Ok(None);
        }
        let target = match node.get("target") {
            Some(t) => reader.text(t, "`target`")?,
            None => {
                return Err(reader.error(
                    &node.span,
                    "a volume in the long form needs its `target`",
                    None,
                ))
            }
        };
        let source = match node.get("source") {
            Some(s) => Some(reader.text(s, "`source`")?),
            None => None,
        };
        let read_only = node
            .get("read_only")
            .and_then(Node::as_bool)
            .unwrap_or(false);
        for (key, _) in node.map().unwrap_or_default() {
            let key_text = key.text().unwrap_or_default();
            if !matches!(key_text, "type" | "source" | "target" | "read_only") {
                reader.note(
                    &key.span,
                    format!("{at}.{key_text}"),
                    format!("`{key_text}` of a mount is not carried over: berth mounts with the engine's defaults"),
                );
            }
        }
        return Ok(Some(VolumeSpec {
            source,
            target,
            read_only,
            span: node.span.clone(),
        }));
    }
    let text = reader.text(node, "a volume")?;
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => (None, *t, ""),
        [s, t] => (Some(*s), *t, ""),
        [s, t, m] => (Some(*s), *t, *m),
        _ => {
            return Err(reader.error(
                &node.span,
                format!("`{text}` is not a volume"),
                Some("write `NAME:/path`, `./dir:/path[:ro]` or `/path`".into()),
            ))
        }
    };
    // `ro` and `rw` carry over; SELinux relabelling (`z`, `Z`) and
    // propagation options do not.
    let dropped: Vec<&str> = mode
        .split(',')
        .filter(|m| !m.is_empty() && *m != "ro" && *m != "rw")
        .collect();
    if !dropped.is_empty() {
        reader.note(
            &node.span,
            at.to_string(),
            format!(
                "`:{}` on `{target}` is not carried over: berth mounts with the engine's defaults",
                dropped.join(",")
            ),
        );
    }
    Ok(Some(VolumeSpec {
        source: source.map(str::to_string),
        target: target.to_string(),
        read_only: mode.split(',').any(|m| m == "ro"),
        span: node.span.clone(),
    }))
}

/// `depends_on`: a list of names, or a mapping with conditions.
fn depends_on(reader: &mut Reader, node: &Node, at: &str) -> Result<Vec<Dependency>> {
    let mut out = Vec::new();
    if let Some(entries) = node.map() {
        for (k, v) in entries {
            let name = k.text().unwrap_or_default();
            for (key, value) in v.map().unwrap_or_default() {
                let note = match (key.text().unwrap_or_default(), value.as_bool()) {
                    ("restart", Some(true)) => "berth does not restart a service when a dependency restarts: `berth restart SERVICE` does",
                    ("required", Some(false)) => "an optional dependency: berth waits for it only where the stack has it (a profile's service), and leaves it out where not",
                    ("condition" | "required" | "restart", _) => continue,
                    _ => "not a key of a dependency berth knows; not carried over",
                };
                reader.note(
                    &key.span,
                    format!("{at}.{name}.{}", key.text().unwrap_or_default()),
                    note,
                );
            }
            let condition = match v.get("condition") {
                Some(c) => reader.text(c, "`condition`")?,
                None => "service_started".to_string(),
            };
            if !matches!(
                condition.as_str(),
                "service_started" | "service_healthy" | "service_completed_successfully"
            ) {
                return Err(reader.error(
                    &v.span,
                    format!("`{condition}` is not a dependency condition"),
                    Some("the conditions are `service_started`, `service_healthy` and `service_completed_successfully`".into()),
                ));
            }
            out.push(Dependency {
                service: k.text().unwrap_or_default().to_string(),
                condition,
                span: k.span.clone(),
            });
        }
    } else {
        for item in node.seq().unwrap_or_default() {
            out.push(Dependency {
                service: reader.text(item, "a service name")?,
                condition: "service_started".into(),
                span: item.span.clone(),
            });
        }
    }
    for d in &out {
        if d.condition == "service_completed_successfully" {
            reader.note(&d.span, format!("{at}.{}", d.service), "berth waits for a service to be ready; a one-shot job that must finish first has no equivalent (a migration belongs in berth's migrations)");
        }
    }
    Ok(out)
}

fn healthcheck(reader: &mut Reader, node: &Node, at: &str) -> Result<Option<Healthcheck>> {
    if node.get("disable").and_then(Node::as_bool) == Some(true) {
        return Ok(Some(Healthcheck::Disabled));
    }
    let Some(test) = node.get("test") else {
        return Ok(None);
    };
    let words: Vec<String> = match &test.value {
        Value::Seq(_) => reader.texts(test, "a health check argument")?,
        _ => vec!["CMD-SHELL".to_string(), reader.text(test, "`test`")?],
    };
    let command =
        match words.first().map(String::as_str) {
            Some("NONE") => return Ok(Some(Healthcheck::Disabled)),
            Some("CMD") => words[1..].to_vec(),
            Some("CMD-SHELL") => vec!["sh".into(), "-c".into(), words[1..].join(" ")],
            _ => return Err(reader.error(
                &test.span,
                "a health check's `test` starts with `CMD`, `CMD-SHELL` or `NONE`",
                Some(
                    "like `[\"CMD\", \"pg_isready\"]` or `[\"CMD-SHELL\", \"curl -f localhost\"]`"
                        .into(),
                ),
            )),
        };
    for (k, _) in node.map().unwrap_or_default() {
        let note = match k.text() {
            Some("interval" | "retries" | "start_interval" | "start_period") => {
                "berth probes as often as it needs and waits up to `ready_timeout` (default 60 s; set it on the service)"
            }
            Some("timeout") => "berth gives each `exec` probe 10 s",
            _ => continue,
        };
        reader.note(
            &k.span,
            format!("{at}.{}", k.text().unwrap_or_default()),
            note,
        );
    }
    Ok(Some(Healthcheck::Command(command, test.span.clone())))
}
