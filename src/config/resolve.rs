//! From the file's text to a [`StackConfig`]: parse, apply the profile, apply
//! environment overrides, validate. Each check reports the first problem at
//! its source position, with a suggestion where a name looks misspelt.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::Spanned;

use super::generic::{PortMapping, Ready, Volume};
use super::schema::{PortSetting, RawEnv, RawService, RawStack, ENV_KEYS, KEYS};
use super::suggest::did_you_mean;
use super::template::Template;
use super::{
    duration, error_at, EnvConfig, LoadOptions, Role, ServiceConfig, SourceFile, Span, SqlDir,
    StackConfig, DEFAULT_READY_TIMEOUT, RUNTIMES,
};
use crate::error::{Error, Result};
use crate::kind;

pub(super) fn resolve(
    source: Arc<SourceFile>,
    options: &LoadOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<StackConfig> {
    let raw: RawStack = toml::from_str(&source.text).map_err(|e| toml_error(&source, e))?;
    let root = source
        .path
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));

    // Layer 1 and 2: the file, then the profile.
    let mut services: Vec<(Spanned<String>, RawService)> = raw.services.into_iter().collect();
    let mut name = raw.name;
    let mut default_runtime = raw.runtime;
    let mut env_section = raw.env.unwrap_or_default();
    let mut profile_name = None;
    if let Some(wanted) = &options.profile {
        let mut profiles = raw.profiles;
        let key = profiles.keys().find(|k| k.get_ref() == wanted).cloned();
        let Some(key) = key else {
            let known: Vec<&str> = profiles.keys().map(|k| k.get_ref().as_str()).collect();
            let hint = did_you_mean(wanted, known.iter().copied()).or_else(|| {
                Some(if known.is_empty() {
                    format!(
                        "`{}` defines no profiles; add a `[profiles.{wanted}]` table",
                        source.path.display()
                    )
                } else {
                    format!("the profiles are: {}", list(&known))
                })
            });
            return Err(Error::Config {
                message: format!("no profile `{wanted}` in `{}`", source.path.display()),
                location: None,
                hint,
            });
        };
        let profile = profiles.remove(&key).unwrap_or_default();
        if profile.name.is_some() {
            name = profile.name;
        } else if let Some(base) = &name {
            let span = base.span();
            name = Some(Spanned::new(span, format!("{}-{wanted}", base.get_ref())));
        }
        if profile.runtime.is_some() {
            default_runtime = profile.runtime;
        }
        for (svc_name, over) in profile.services {
            match services.iter_mut().find(|(n, _)| n == &svc_name) {
                Some((_, base)) => base.overlay(over),
                None => services.push((svc_name, over)),
            }
        }
        if let Some(env) = profile.env {
            env_section = overlay_env(env_section, env);
        }
        profile_name = Some(wanted.clone());
    }
    // Services in the order the file lists them.
    services.sort_by_key(|(n, _)| n.span().start);

    // Layer 3: environment variables.
    let mut origins: HashMap<(String, &'static str), String> = HashMap::new();
    for (svc_name, svc) in services.iter_mut() {
        for key in ENV_KEYS {
            let var = generic_var(svc_name.get_ref(), key);
            if let Some(value) = env(&var) {
                set_from_env(svc, key, &var, &value)?;
                origins.insert((svc_name.get_ref().clone(), key), var);
            }
        }
    }
    let mut overrides = Vec::new();
    for (var, target) in &raw.overrides {
        let (svc_name, key) = parse_override_target(&source, target, &services)?;
        overrides.push((var.get_ref().clone(), svc_name.clone(), key.to_string()));
        if let Some(value) = env(var.get_ref()) {
            let svc = &mut services
                .iter_mut()
                .find(|(n, _)| n.get_ref() == &svc_name)
                .unwrap()
                .1;
            set_from_env(svc, key, var.get_ref(), &value)?;
            origins.insert((svc_name, key), var.get_ref().clone());
        }
    }

    let own_name = match name {
        Some(n) => {
            check_stack_name(n.get_ref()).map_err(|m| error_at(&source, &n.span(), m, None))?;
            n.into_inner()
        }
        None => {
            let dir = root.file_name().and_then(|d| d.to_str()).unwrap_or("stack");
            let derived = sanitize_name(dir);
            match &profile_name {
                Some(p) => format!("{derived}-{p}"),
                None => derived,
            }
        }
    };
    // `--name` other than the file's own: a separate instance of the stack.
    let instance = match options.name.clone() {
        Some(n) if n != own_name => {
            check_stack_name(&n).map_err(|m| Error::usage(m, None))?;
            Some(n)
        }
        _ => None,
    };
    let name = instance.clone().unwrap_or(own_name);
    let forced_runtime = match &options.runtime {
        Some(r) => {
            check_runtime(r).map_err(|(message, hint)| Error::Config {
                message: format!("{message} (from --runtime or BERTH_RUNTIME)"),
                location: None,
                hint,
            })?;
            Some(r.clone())
        }
        None => None,
    };
    let default_runtime = match (&forced_runtime, default_runtime) {
        (Some(forced), _) => forced.clone(),
        (None, Some(r)) => {
            check_runtime(r.get_ref()).map_err(|(m, h)| error_at(&source, &r.span(), m, h))?;
            r.into_inner()
        }
        (None, None) => "native".to_string(),
    };

    let checker = Checker {
        root: &root,
        source: &source,
        origins: &origins,
        kinds: &[],
        forced_runtime: forced_runtime.is_some(),
    };
    let names: Vec<String> = services.iter().map(|(n, _)| n.get_ref().clone()).collect();
    let kinds: Vec<(String, String)> = services
        .iter()
        .filter_map(|(n, raw)| {
            let kind = match &raw.kind {
                Some(k) => Some(k.get_ref().clone()),
                None => implied_kind(n.get_ref(), raw).map(String::from),
            };
            kind.map(|k| (n.get_ref().clone(), k))
        })
        .collect();
    let checker = Checker {
        kinds: &kinds,
        ..checker
    };
    let mut resolved = Vec::new();
    for (svc_name, raw) in services {
        resolved.push(checker.service(svc_name, raw, &default_runtime, &names)?);
    }
    check_reachable(&resolved)?;
    let mut env = checker.env(env_section)?;
    if let Some(instance) = &instance {
        // An instance runs beside the file's own stack and other instances:
        // the file's ports would collide, so each is chosen free once and
        // kept for this instance (unless set from the environment), and the
        // env file carries the instance's name.
        for svc in &mut resolved {
            if !origins.contains_key(&(svc.name.clone(), "port")) {
                svc.port = PortSetting::Auto;
            }
        }
        let mut file_name = env.file.as_os_str().to_os_string();
        file_name.push(format!(".{instance}"));
        env.file = PathBuf::from(file_name);
    }

    let config = StackConfig {
        name,
        profile: profile_name,
        file: source.path.clone(),
        root,
        services: resolved,
        env,
        overrides,
        source,
    };
    crate::stack::check_cycles(&config)?;
    Ok(config)
}

/// Validation of resolved values, knowing which came from the environment.
struct Checker<'a> {
    root: &'a Path,
    source: &'a SourceFile,
    origins: &'a HashMap<(String, &'static str), String>,
    /// Every service's name and kind, for checking `${service.key}`.
    kinds: &'a [(String, String)],
    /// `--runtime` given: every service runs there, whatever the file says.
    forced_runtime: bool,
}

impl Checker<'_> {
    fn fail(
        &self,
        svc: &str,
        key: &'static str,
        span: Span,
        message: String,
        hint: Option<String>,
    ) -> Error {
        match self.origins.get(&(svc.to_string(), key)) {
            Some(var) => Error::Config {
                message: format!("{message} (set by the environment variable `{var}`)"),
                location: None,
                hint,
            },
            None => error_at(self.source, &span, message, hint),
        }
    }

    fn service(
        &self,
        name: Spanned<String>,
        raw: RawService,
        default_runtime: &str,
        all: &[String],
    ) -> Result<ServiceConfig> {
        let svc = name.get_ref().clone();
        let svc_span = name.span();
        if let Err(m) = check_service_name(&svc) {
            return Err(error_at(self.source, &svc_span, m, None));
        }
        let kind = match &raw.kind {
            Some(k) => k.clone(),
            None => match implied_kind(&svc, &raw) {
                Some(k) => Spanned::new(svc_span.clone(), k.to_string()),
                None => {
                    return Err(error_at(
                        self.source,
                        &svc_span,
                        format!("service `{svc}` has no `kind`"),
                        Some(format!(
                            "add `kind = \"...\"` to `[services.{svc}]`; the kinds are: {}",
                            list(&kind::names().collect::<Vec<_>>())
                        )),
                    ))
                }
            },
        };
        let Some(kind_impl) = kind::lookup(kind.get_ref()) else {
            let hint = did_you_mean(kind.get_ref(), kind::names()).unwrap_or_else(|| {
                format!(
                    "the kinds are: {}",
                    list(&kind::names().collect::<Vec<_>>())
                )
            });
            return Err(error_at(
                self.source,
                &kind.span(),
                format!("unknown service kind `{}`", kind.get_ref()),
                Some(hint),
            ));
        };
        for key in KEYS {
            let applies = kind::COMMON_KEYS.contains(key) || kind_impl.keys().contains(key);
            if let (false, Some(span)) = (applies, raw.span_of(key)) {
                return Err(self.fail(
                    &svc,
                    key,
                    span,
                    format!("`{key}` does not apply to a {} service", kind_impl.name()),
                    Some(format!("remove `{key}` from `[services.{svc}]`")),
                ));
            }
        }

        let runtime = match &raw.runtime {
            _ if self.forced_runtime => default_runtime.to_string(),
            Some(r) => {
                check_runtime(r.get_ref())
                    .map_err(|(m, h)| self.fail(&svc, "runtime", r.span(), m, h))?;
                r.get_ref().clone()
            }
            None => default_runtime.to_string(),
        };
        let (version, version_text) = match &raw.version {
            Some(v) => {
                let req = semver::VersionReq::parse(v.get_ref()).map_err(|e| {
                    self.fail(
                        &svc,
                        "version",
                        v.span(),
                        format!("`{}` is not a version constraint: {e}", v.get_ref()),
                        Some(
                            "write a major version (`\"15\"`) or a range (`\">=14, <17\"`)".into(),
                        ),
                    )
                })?;
                (Some(req), Some(v.get_ref().clone()))
            }
            None => (None, None),
        };
        let ready_timeout = match &raw.ready_timeout {
            Some(t) => duration::parse(t.get_ref()).ok_or_else(|| {
                self.fail(
                    &svc,
                    "ready_timeout",
                    t.span(),
                    format!("`{}` is not a duration", t.get_ref()),
                    Some("write a duration like `\"30s\"`, `\"500ms\"` or `\"2m\"`".into()),
                )
            })?,
            None => DEFAULT_READY_TIMEOUT,
        };
        let mut depends_on = Vec::new();
        for dep in raw.depends_on.clone().unwrap_or_default() {
            if !all.contains(dep.get_ref()) {
                let hint = did_you_mean(dep.get_ref(), all.iter().map(String::as_str))
                    .unwrap_or_else(|| format!("the services are: {}", list(all)));
                return Err(error_at(
                    self.source,
                    &dep.span(),
                    format!(
                        "service `{svc}` depends on unknown service `{}`",
                        dep.get_ref()
                    ),
                    Some(hint),
                ));
            }
            if dep.get_ref() == &svc {
                return Err(error_at(
                    self.source,
                    &dep.span(),
                    format!("service `{svc}` depends on itself"),
                    Some("remove it from its own `depends_on`".into()),
                ));
            }
            depends_on.push(dep);
        }
        // Migrations and seeds: only for kinds that take them, relative to the
        // stack file, by default `migrations/<service>` and `seeds/<service>`.
        let takes_sql = kind_impl.keys().contains(&"migrations");
        let sql_dir = |value: &Option<Spanned<String>>, default: &str| {
            takes_sql.then(|| match value {
                Some(v) => SqlDir {
                    path: self.root.join(v.get_ref()),
                    configured: true,
                },
                None => SqlDir {
                    path: self.root.join(default).join(&svc),
                    configured: false,
                },
            })
        };
        let config = ServiceConfig {
            name: svc.clone(),
            kind: kind.into_inner(),
            runtime,
            version,
            version_text,
            port: raw
                .port
                .as_ref()
                .map_or(PortSetting::Auto, |p| *p.get_ref()),
            user: raw.user.as_ref().map(|v| v.get_ref().clone()),
            password: raw.password.as_ref().map(|v| v.get_ref().clone()),
            database: raw.database.as_ref().map(|v| v.get_ref().clone()),
            databases: raw
                .databases
                .as_ref()
                .map(|v| v.get_ref().clone())
                .unwrap_or_default(),
            extensions: raw
                .extensions
                .as_ref()
                .map(|v| v.get_ref().clone())
                .unwrap_or_default(),
            roles: raw
                .roles
                .as_ref()
                .map(|r| {
                    r.get_ref()
                        .iter()
                        .map(|r| Role {
                            name: r.name.clone(),
                            password: r.password.clone(),
                            login: r.login,
                            superuser: r.superuser,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            persist: raw.persist.as_ref().map(|v| *v.get_ref()),
            appendonly: raw.appendonly.as_ref().map(|v| *v.get_ref()),
            maxmemory: raw.maxmemory.as_ref().map(|v| v.get_ref().clone()),
            settings: raw
                .settings
                .as_ref()
                .map(|s| {
                    s.get_ref()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.0.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            ready_timeout,
            image: raw.image.as_ref().map(|v| v.get_ref().clone()),
            migrations: sql_dir(&raw.migrations, "migrations"),
            seeds: sql_dir(&raw.seeds, "seeds"),
            depends_on,
            command: Vec::new(),
            container_port: None,
            extra_ports: Vec::new(),
            env: Vec::new(),
            volumes: Vec::new(),
            ready: None,
            span: svc_span,
        };
        let mut config = config;
        self.generic_keys(&svc, &raw, &mut config)?;
        if let Err((key, message)) = kind_impl.validate(&config) {
            let span = raw.span_of(key).unwrap_or(config.span.clone());
            return Err(self.fail(&svc, key, span, message, None));
        }
        Ok(config)
    }

    /// `${svc.key}` must name a service and one of its connection values.
    fn check_reference(&self, svc: &str, key: &str) -> Result<(), (String, Option<String>)> {
        let Some((_, kind_name)) = self.kinds.iter().find(|(n, _)| n == svc) else {
            let names: Vec<&str> = self.kinds.iter().map(|(n, _)| n.as_str()).collect();
            let hint = did_you_mean(svc, names.iter().copied())
                .or_else(|| Some(format!("the services are: {}", list(&names))));
            return Err((
                format!("`${{{svc}.{key}}}` names unknown service `{svc}`"),
                hint,
            ));
        };
        let keys = kind::lookup(kind_name)
            .map(|k| k.connection_keys())
            .unwrap_or_default();
        if !keys.contains(&key) {
            let hint = did_you_mean(key, keys.iter().copied())
                .unwrap_or_else(|| format!("a {kind_name} service exports: {}", list(keys)));
            return Err((
                format!("service `{svc}` has no connection value `{key}`"),
                Some(hint),
            ));
        }
        Ok(())
    }

    /// A `command` or `env` value of a generic service as a template whose
    /// references all resolve; errors point at the key's value.
    fn template(&self, svc: &str, key: &'static str, span: &Span, text: &str) -> Result<Template> {
        let template = Template::parse(text).map_err(|e| {
            self.fail(
                svc,
                key,
                span.clone(),
                format!("in `{text}`: {}", e.message),
                None,
            )
        })?;
        for (other, value, _, _) in template.references() {
            if let Err((message, hint)) = self.check_reference(other, value) {
                return Err(self.fail(svc, key, span.clone(), message, hint));
            }
        }
        Ok(template)
    }

    /// The generic-service keys: command, container_port, ports, env,
    /// volumes, ready.
    fn generic_keys(&self, svc: &str, raw: &RawService, config: &mut ServiceConfig) -> Result<()> {
        if let Some(command) = &raw.command {
            if command.get_ref().is_empty() {
                return Err(self.fail(svc, "command", command.span(), "`command` is empty".into(), Some("write the program and its arguments, like `[\"python3\", \"-m\", \"http.server\"]`".into())));
            }
            for (i, arg) in command.get_ref().iter().enumerate() {
                let mut text = arg.clone();
                // A program given as a relative path is found from the stack file.
                if i == 0 && (text.starts_with("./") || text.starts_with("../")) {
                    text = self.root.join(&text).display().to_string();
                }
                config
                    .command
                    .push(self.template(svc, "command", &command.span(), &text)?);
            }
        }
        if let Some(port) = &raw.container_port {
            if *port.get_ref() == 0 {
                return Err(self.fail(
                    svc,
                    "container_port",
                    port.span(),
                    "`container_port` must be from 1 to 65535".into(),
                    None,
                ));
            }
            config.container_port = Some(*port.get_ref());
        }
        if let Some(ports) = &raw.ports {
            for text in ports.get_ref() {
                let mapping = PortMapping::parse(text)
                    .map_err(|m| self.fail(svc, "ports", ports.span(), m, None))?;
                config.extra_ports.push(mapping);
            }
        }
        if let Some(env) = &raw.env {
            for (var, text) in env.get_ref() {
                if !valid_env_name(var) {
                    return Err(self.fail(
                        svc,
                        "env",
                        env.span(),
                        format!("`{var}` is not a valid environment variable name"),
                        Some("use letters, digits and `_`, not starting with a digit".into()),
                    ));
                }
                config
                    .env
                    .push((var.clone(), self.template(svc, "env", &env.span(), text)?));
            }
        }
        if let Some(volumes) = &raw.volumes {
            for text in volumes.get_ref() {
                let volume = Volume::parse(text, self.root)
                    .map_err(|m| self.fail(svc, "volumes", volumes.span(), m, None))?;
                config.volumes.push(volume);
            }
        }
        if let Some(ready) = &raw.ready {
            config.ready = Some(
                Ready::parse(ready.get_ref())
                    .map_err(|m| self.fail(svc, "ready", ready.span(), m, None))?,
            );
        }
        Ok(())
    }

    fn env(&self, raw: RawEnv) -> Result<EnvConfig> {
        let file = match raw.file {
            Some(f) if f.get_ref().trim().is_empty() => {
                return Err(error_at(
                    self.source,
                    &f.span(),
                    "the env file path is empty",
                    None,
                ))
            }
            Some(f) => PathBuf::from(f.into_inner()),
            None => PathBuf::from(".env"),
        };
        let Some(vars) = raw.vars else {
            return Ok(EnvConfig { file, vars: None });
        };
        let mut vars: Vec<_> = vars.into_iter().collect();
        vars.sort_by_key(|(k, _)| k.span().start);
        let mut out = Vec::new();
        for (var, text) in vars {
            if !valid_env_name(var.get_ref()) {
                return Err(error_at(
                    self.source,
                    &var.span(),
                    format!(
                        "`{}` is not a valid environment variable name",
                        var.get_ref()
                    ),
                    Some("use letters, digits and `_`, not starting with a digit".into()),
                ));
            }
            // The span includes the opening quote; references are offsets
            // into the text after it.
            let base = text.span().start + 1;
            let template = Template::parse(text.get_ref()).map_err(|e| {
                error_at(
                    self.source,
                    &(base + e.offset..base + e.offset + 1),
                    e.message,
                    None,
                )
            })?;
            for (svc, key, offset, len) in template.references() {
                let at = base + offset..base + offset + len;
                if let Err((message, hint)) = self.check_reference(svc, key) {
                    return Err(error_at(self.source, &at, message, hint));
                }
            }
            out.push((var.into_inner(), template));
        }
        Ok(EnvConfig {
            file,
            vars: Some(out),
        })
    }
}

/// The kind of a service that names none: a kind's own name (`[services.redis]`),
/// or `generic` for one that names an image or a command.
fn implied_kind(name: &str, raw: &RawService) -> Option<&'static str> {
    if let Some(k) = kind::lookup(name) {
        return Some(k.name());
    }
    (raw.image.is_some() || raw.command.is_some()).then_some("generic")
}

fn overlay_env(mut base: RawEnv, over: RawEnv) -> RawEnv {
    if over.file.is_some() {
        base.file = over.file;
    }
    if let Some(vars) = over.vars {
        base.vars.get_or_insert_with(BTreeMap::new).extend(vars);
    }
    base
}

/// `BERTH_<SERVICE>_<KEY>`, upper-cased, other characters as `_`.
pub fn generic_var(service: &str, key: &str) -> String {
    format!("BERTH_{}_{}", env_word(service), env_word(key))
}

fn env_word(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn set_from_env(svc: &mut RawService, key: &str, var: &str, value: &str) -> Result<()> {
    let bad = |expected: &str| Error::Config {
        message: format!("the environment variable `{var}` is `{value}`, not {expected}"),
        location: None,
        hint: Some(format!("set `{var}` to {expected}, or unset it")),
    };
    let spanned = |v: String| Some(Spanned::new(0..0, v));
    match key {
        "port" => {
            let port = PortSetting::parse(value)
                .ok_or_else(|| bad("a port number from 1 to 65535 or `auto`"))?;
            svc.port = Some(Spanned::new(0..0, port));
        }
        "persist" | "appendonly" => {
            let flag = parse_bool(value).ok_or_else(|| bad("`true` or `false`"))?;
            let slot = if key == "persist" {
                &mut svc.persist
            } else {
                &mut svc.appendonly
            };
            *slot = Some(Spanned::new(0..0, flag));
        }
        "runtime" => svc.runtime = spanned(value.into()),
        "image" => svc.image = spanned(value.into()),
        "version" => svc.version = spanned(value.into()),
        "user" => svc.user = spanned(value.into()),
        "password" => svc.password = spanned(value.into()),
        "database" => svc.database = spanned(value.into()),
        "maxmemory" => svc.maxmemory = spanned(value.into()),
        "ready_timeout" => svc.ready_timeout = spanned(value.into()),
        "migrations" => svc.migrations = spanned(value.into()),
        "seeds" => svc.seeds = spanned(value.into()),
        other => unreachable!("`{other}` is in ENV_KEYS but has no setter"),
    }
    Ok(())
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_override_target(
    source: &SourceFile,
    target: &Spanned<String>,
    services: &[(Spanned<String>, RawService)],
) -> Result<(String, &'static str)> {
    let text = target.get_ref();
    let path = text.strip_prefix("services.").unwrap_or(text);
    let Some((svc, key)) = path.rsplit_once('.') else {
        return Err(error_at(
            source,
            &target.span(),
            format!("`{text}` does not name a service value"),
            Some("write `SERVICE.KEY`, like `\"postgres.port\"`".into()),
        ));
    };
    if !services.iter().any(|(n, _)| n.get_ref() == svc) {
        let hint = did_you_mean(svc, services.iter().map(|(n, _)| n.get_ref().as_str()));
        return Err(error_at(
            source,
            &target.span(),
            format!("`{text}` names unknown service `{svc}`"),
            hint,
        ));
    }
    let Some(key) = ENV_KEYS.iter().copied().find(|k| *k == key) else {
        let hint = did_you_mean(key, ENV_KEYS.iter().copied())
            .unwrap_or_else(|| format!("these can be overridden: {}", list(ENV_KEYS)));
        return Err(error_at(
            source,
            &target.span(),
            format!("`{key}` cannot be set from an environment variable"),
            Some(hint),
        ));
    };
    Ok((svc.to_string(), key))
}

/// A container cannot reach a native service: native servers listen on the
/// host's 127.0.0.1, which inside a container is the container itself.
fn check_reachable(services: &[ServiceConfig]) -> Result<()> {
    let runtime_of = |name: &str| {
        services
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.runtime.as_str())
    };
    for svc in services.iter().filter(|s| s.runtime == "container") {
        let templates = svc
            .command
            .iter()
            .map(|t| ("command", t))
            .chain(svc.env.iter().map(|(_, t)| ("env", t)));
        for (key, template) in templates {
            for (other, value, _, _) in template.references() {
                if runtime_of(other) == Some("native") {
                    return Err(Error::Config {
                        message: format!(
                            "`{}` runs in a container and cannot reach `{other}`, which runs natively on the host's 127.0.0.1 (`${{{other}.{value}}}` in its `{key}`)",
                            svc.name
                        ),
                        location: None,
                        hint: Some(format!(
                            "run both in containers or both natively: `runtime = \"container\"` in `[services.{other}]`, or `--runtime container`"
                        )),
                    });
                }
            }
        }
    }
    Ok(())
}

fn check_runtime(r: &str) -> Result<(), (String, Option<String>)> {
    if RUNTIMES.contains(&r) {
        return Ok(());
    }
    let hint = did_you_mean(r, RUNTIMES.iter().copied())
        .unwrap_or_else(|| format!("the runtimes are: {}", list(RUNTIMES)));
    Err((format!("unknown runtime `{r}`"), Some(hint)))
}

fn check_stack_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 48
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid stack name: use up to 48 lower-case letters, digits, `-` and `_`, starting with a letter or digit"
        ))
    }
}

fn check_service_name(name: &str) -> Result<(), String> {
    check_stack_name(name).map_err(|_| {
        format!("`{name}` is not a valid service name: use lower-case letters, digits, `-` and `_`")
    })
}

fn sanitize_name(dir: &str) -> String {
    let s: String = dir
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches(|c| c == '-' || c == '_').to_string();
    let s: String = s.chars().take(48).collect();
    if s.is_empty() {
        "stack".into()
    } else {
        s
    }
}

fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("`{}`", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Turn a TOML or schema error into a positioned config error, with a
/// suggestion for unknown keys.
fn toml_error(source: &SourceFile, e: toml::de::Error) -> Error {
    let message = e.message().trim().to_string();
    let span = e.span().unwrap_or(0..0);
    let mut hint = None;
    let mut text = message.clone();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((field, expected)) = rest.split_once('`') {
            let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            text = format!("unknown key `{field}`");
            hint = did_you_mean(field, candidates.iter().copied())
                .or_else(|| Some(format!("the keys here are: {}", list(&candidates))));
        }
    }
    error_at(source, &span, text, hint)
}
