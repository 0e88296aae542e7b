//! Generic services: any image in a container, or any command natively —
//! the extra services of a stack (an HTTP API, MinIO, Vault, Grafana, ...).
//!
//! berth knows nothing of what runs; the stack file says how to run it
//! (`image`, `command`, `env`, `volumes`, `ports`) and how to tell it is
//! ready (`ready`: tcp by default, or http, postgres, redis, exec). It
//! exports `host` and `port`, so other services and the env file can name
//! it like any other.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::connection::ConnectionValue;
use super::contract::{
    KindSettings, ParseScope, ServiceContext, ServiceKind, SettingsError, SharedSettings,
};
use super::reading;
use super::ready::Ready;
use crate::client::endpoint::Endpoint;
use crate::client::postgres::{self as pg, Login};
use crate::plan::container::{ContainerLaunch, PortMapping, Volume};
use crate::plan::native::{first_version, Arg, BinarySpec, NativeLaunch, ServerSpec};
use crate::plan::runtime_kind::RuntimeKind;
use crate::plan::stop::StopSignal;
use crate::source::Span;
use crate::template::Template;

pub struct GenericKind;

/// The stack file's keys of a generic service (besides the shared `image`).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    /// The program and its arguments (natively), or the image's command (in
    /// a container); `${service.key}` references and `${NAME}` variables allowed.
    #[cfg_attr(feature = "schema", schemars(with = "Option<Vec<String>>"))]
    command: Option<Spanned<Vec<Spanned<String>>>>,
    /// The port the server listens on inside its container.
    #[cfg_attr(feature = "schema", schemars(with = "Option<u16>"))]
    container_port: Option<Spanned<u16>>,
    /// More ports published on loopback, `"HOST:CONTAINER"`.
    #[cfg_attr(feature = "schema", schemars(with = "Option<Vec<String>>"))]
    ports: Option<Spanned<Vec<String>>>,
    /// Environment variables; `${service.key}` references and `${NAME}` variables (from the environment and `dotenv` files) allowed.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<BTreeMap<String, String>>")
    )]
    env: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    /// Named volumes and bind mounts (containers).
    #[cfg_attr(feature = "schema", schemars(with = "Option<Vec<String>>"))]
    volumes: Option<Spanned<Vec<String>>>,
    /// The readiness probe; default: tcp.
    #[cfg_attr(
        feature = "schema",
        schemars(with = "Option<crate::kind::ready::Ready>")
    )]
    ready: Option<Spanned<toml::Value>>,
}

/// A `${service.key}` template and where it was written.
#[derive(Debug)]
struct Located {
    key: &'static str,
    span: Span,
    template: Template,
}

/// One generic service's settings.
#[derive(Debug)]
pub struct Generic {
    command: Vec<Located>,
    container_port: Option<u16>,
    extra_ports: Vec<PortMapping>,
    env: Vec<(String, Located)>,
    volumes: Vec<Volume>,
    ready: Ready,
}

impl ServiceKind for GenericKind {
    fn name(&self) -> &'static str {
        "generic"
    }

    fn keys(&self) -> &'static [&'static str] {
        reading::fields::<Keys>()
    }

    #[cfg(feature = "schema")]
    fn keys_schema(&self, generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <Keys as schemars::JsonSchema>::json_schema(generator)
    }

    fn parse(
        &self,
        table: Spanned<DeValue<'_>>,
        scope: &ParseScope,
    ) -> Result<Arc<dyn KindSettings>, SettingsError> {
        let keys: Keys = reading::read(table)?;
        let template = |key: &'static str, value: &Spanned<String>, text: &str| {
            let template = Template::parse(text).map_err(|e| {
                SettingsError::at(value.span(), format!("in `{text}`: {}", e.message))
            })?;
            template
                .check_variables(scope.variable, scope.searched)
                .map_err(|(_, _, failure)| {
                    let error = SettingsError::at(value.span(), failure.message);
                    match failure.hint {
                        Some(hint) => error.hint(hint),
                        None => error,
                    }
                })?;
            Ok::<_, SettingsError>(Located {
                key,
                span: value.span(),
                template,
            })
        };
        let mut command = Vec::new();
        if let Some(given) = &keys.command {
            if given.get_ref().is_empty() {
                return Err(SettingsError::at(given.span(), "`command` is empty").hint(
                    "write the program and its arguments, like `[\"python3\", \"-m\", \"http.server\"]`",
                ));
            }
            for (i, arg) in given.get_ref().iter().enumerate() {
                let mut text = arg.get_ref().clone();
                // A program given as a relative path is found from the stack file.
                if i == 0 && (text.starts_with("./") || text.starts_with("../")) {
                    let relative = text.strip_prefix("./").unwrap_or(&text);
                    text = scope.root.join(relative).display().to_string();
                }
                command.push(template("command", arg, &text)?);
            }
        }
        let container_port = match &keys.container_port {
            Some(p) if *p.get_ref() == 0 => {
                return Err(SettingsError::at(
                    p.span(),
                    "`container_port` must be from 1 to 65535",
                ))
            }
            Some(p) => Some(*p.get_ref()),
            None => None,
        };
        let mut extra_ports = Vec::new();
        if let Some(ports) = &keys.ports {
            for text in ports.get_ref() {
                extra_ports.push(
                    PortMapping::parse(text).map_err(|m| SettingsError::at(ports.span(), m))?,
                );
            }
        }
        let mut env = Vec::new();
        if let Some(vars) = &keys.env {
            for (var, value) in vars.get_ref() {
                if !valid_process_env_name(var) {
                    return Err(SettingsError::at(
                        vars.span(),
                        format!("`{var}` is not a valid environment variable name"),
                    )
                    .hint("a name has no `=` and is not empty"));
                }
                env.push((var.clone(), template("env", value, value.get_ref())?));
            }
        }
        let mut volumes = Vec::new();
        if let Some(given) = &keys.volumes {
            for text in given.get_ref() {
                volumes.push(
                    Volume::parse(text, scope.root)
                        .map_err(|m| SettingsError::at(given.span(), m))?,
                );
            }
        }
        let ready = match &keys.ready {
            Some(r) => Ready::parse(r.get_ref()).map_err(|m| SettingsError::at(r.span(), m))?,
            None => Ready::Tcp,
        };
        Ok(Arc::new(Generic {
            command,
            container_port,
            extra_ports,
            env,
            volumes,
            ready,
        }))
    }
}

/// A name a shell and the engines accept for an environment variable.
/// A name a process's environment can hold, as Compose and the engines
/// take it: Elasticsearch's `cluster.routing.allocation.disk.threshold_enabled`,
/// `JAVA-OPTS`. Only an env file's names are held to [`valid_env_name`]'s
/// shell-safe form.
pub fn valid_process_env_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(['=', '\0'])
}

pub fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Generic {
    fn command(&self, ctx: &ServiceContext) -> Vec<String> {
        self.command
            .iter()
            .map(|c| ctx.render(&c.template))
            .collect()
    }

    fn env(&self, ctx: &ServiceContext) -> Vec<(String, String)> {
        self.env
            .iter()
            .map(|(k, v)| (k.clone(), ctx.render(&v.template)))
            .collect()
    }

    fn env_value(&self, ctx: &ServiceContext, var: &str) -> Option<String> {
        self.env
            .iter()
            .find(|(k, _)| k == var)
            .map(|(_, v)| ctx.render(&v.template))
    }

    /// Whether readiness is a probe of its port from the host.
    fn probes_a_port(&self) -> bool {
        !matches!(self.ready, Ready::Exec { .. } | Ready::Running)
    }
}

impl KindSettings for Generic {
    fn kind(&self) -> &'static str {
        "generic"
    }

    fn connection_keys(&self) -> &'static [&'static str] {
        &["host", "port"]
    }

    fn persists_by_default(&self) -> bool {
        true
    }

    fn validate(&self, shared: &SharedSettings) -> Result<(), SettingsError> {
        match shared.runtime {
            RuntimeKind::Container => {
                // One host port, one server: `port` and each of `ports`
                // take a host port of their own.
                let mut taken: Vec<u16> = shared.fixed_port.into_iter().collect();
                for mapping in &self.extra_ports {
                    if taken.contains(&mapping.host) {
                        return Err(SettingsError::key(
                            "ports",
                            format!("host port {} is published twice by service `{}` (`port` and `ports`, or twice in `ports`)", mapping.host, shared.service),
                        ));
                    }
                    taken.push(mapping.host);
                }
                if shared.image.is_none() {
                    return Err(SettingsError::key(
                        "runtime",
                        format!("service `{}` runs in a container but names no `image`; add `image = \"...\"`", shared.service),
                    ));
                }
                if self.container_port.is_none()
                    && shared.fixed_port.is_none()
                    && self.probes_a_port()
                {
                    return Err(SettingsError::key(
                        "port",
                        format!("say which port `{}` listens on inside its container: add `container_port = ...`, or `ready = \"running\"` for a service with no port", shared.service),
                    ));
                }
            }
            RuntimeKind::Native => {
                if self.command.is_empty() {
                    return Err(SettingsError::key(
                        "runtime",
                        format!("service `{}` runs natively but has no `command`; add `command = [\"program\", \"arg\"]`, or run it with `runtime = \"container\"`", shared.service),
                    ));
                }
                if !self.volumes.is_empty() {
                    return Err(SettingsError::key(
                        "volumes",
                        "`volumes` apply to containers; a native command reads host paths directly",
                    ));
                }
                if !self.extra_ports.is_empty() {
                    return Err(SettingsError::key(
                        "ports",
                        "`ports` publishes container ports; a native command listens on host ports itself",
                    ));
                }
            }
        }
        Ok(())
    }

    fn templates(&self) -> Vec<(&'static str, Span, &Template)> {
        self.command
            .iter()
            .chain(self.env.iter().map(|(_, v)| v))
            .map(|l| (l.key, l.span.clone(), &l.template))
            .collect()
    }

    fn default_image(&self) -> Option<String> {
        None
    }

    /// 0 for a service with no port (ready when it runs, or by its exec
    /// probe): nothing is published.
    fn container_port(&self, ctx: &ServiceContext) -> u16 {
        match self.container_port {
            Some(port) => port,
            None if self.probes_a_port() => ctx.port,
            None => 0,
        }
    }

    fn connection(&self, _: &ServiceContext, at: &Endpoint) -> Vec<ConnectionValue> {
        vec![
            ConnectionValue::plain("host", at.host.clone()),
            ConnectionValue::plain("port", at.port.to_string()),
        ]
    }

    fn probe(&self, ctx: &ServiceContext, at: &Endpoint) -> Result<(), String> {
        match &self.ready {
            Ready::Tcp => crate::client::tcp::probe(at),
            Ready::Http { path } => crate::client::http::probe(at, path),
            Ready::Postgres => {
                // The official image's contract: the login it was set up with.
                let user = self
                    .env_value(ctx, "POSTGRES_USER")
                    .unwrap_or_else(|| "postgres".into());
                let password = self.env_value(ctx, "POSTGRES_PASSWORD");
                let database = self
                    .env_value(ctx, "POSTGRES_DB")
                    .unwrap_or_else(|| user.clone());
                let login = Login {
                    user: &user,
                    password: password.as_deref(),
                    database: &database,
                };
                pg::probe(at, &login)
            }
            Ready::Redis => {
                let password = self.env_value(ctx, "REDIS_PASSWORD");
                crate::client::redis::probe(at, password.as_deref())
            }
            Ready::Exec { .. } => Err("an exec probe runs through the runtime".into()),
            // The runtime has seen it run.
            Ready::Running => Ok(()),
        }
    }

    fn exec_probe(&self) -> Option<Vec<String>> {
        match &self.ready {
            Ready::Exec { command } => Some(command.clone()),
            _ => None,
        }
    }

    fn native(&self, ctx: &ServiceContext) -> NativeLaunch {
        let mut command = self.command(ctx).into_iter();
        let program = command.next().unwrap_or_default();
        let mut env = self.env(ctx);
        // The port berth chose, for commands that read it from the
        // environment rather than from `${service.port}` in `command`.
        if !env.iter().any(|(k, _)| k == "PORT") {
            env.push(("PORT".into(), ctx.port.to_string()));
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
                    ctx.name
                ),
                provides: None,
            },
            skeleton: None,
            init: Vec::new(),
            server: ServerSpec {
                program,
                args: command.map(Arg::Text).collect(),
                env,
                cwd: Some(ctx.root.to_path_buf()),
                files: Vec::new(),
                stop_signal: StopSignal::Terminate,
            },
            alternative: None,
        }
    }

    fn container(&self, ctx: &ServiceContext) -> ContainerLaunch {
        ContainerLaunch {
            image: String::new(),
            pinned: None,
            env: self.env(ctx),
            args: self.command(ctx),
            port: self.container_port(ctx),
            extra_ports: self.extra_ports.clone(),
            data_path: None,
            volumes: self.volumes.clone(),
            files: Vec::new(),
            stop_signal: StopSignal::Terminate,
            health: self
                .exec_probe()
                .map(|command| std::iter::once("CMD".to_string()).chain(command).collect()),
            template: None,
        }
    }
}
