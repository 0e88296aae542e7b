//! `berth import compose`: what a compose file's services become.
//!
//! - Images berth knows become kinds, their settings read from the image's
//!   contract: postgres (and pgvector, PostGIS, TimescaleDB images) from
//!   `POSTGRES_USER`/`PASSWORD`/`DB`, `POSTGRES_MULTIPLE_DATABASES` and
//!   `-c` arguments; redis from `redis-server`'s flags; MinIO from
//!   `MINIO_ROOT_USER`/`PASSWORD`. Their data volume sets `persist`.
//! - Everything else becomes a generic service in a container: image,
//!   command, ports, environment, volumes, `depends_on`, its health check
//!   as a `ready` probe.
//! - Kinds run natively (berth's default) unless `--runtime container`, or
//!   a container reaches them by name, which a native service cannot
//!   offer: then they stay in containers too. Such references
//!   (`postgres:5432` in an environment value) become `${postgres.host}`
//!   and `${postgres.port}`, which resolve on either runtime.
//! - A service in compose `profiles` is added by a berth profile of the
//!   same name.
//! - A value that comes from the team's variables (`${DB_PASSWORD}`, an
//!   `env_file`, a bare `KEY` passed from the shell) is never written into
//!   `berth.toml`: a generic service's value stays `${DB_PASSWORD}`, a
//!   kind's secret is named under `[overrides]`, and `dotenv` lists the
//!   files the values are in, which berth reads at each `up` as Compose
//!   does.
//! - What has no equivalent is listed with its line, never dropped
//!   silently.
//!
//! A file written by `berth export compose` carries its stack (`x-berth`),
//! which is taken as it is.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::buckets::{made_by, Bucket};
use super::file::{ComposeFile, ComposeService, EnvOrigin, Finding, Healthcheck};
use super::images::{kind_data, kind_of_image, kind_port, repository, version_of_tag};
use super::relocate::Move;
use super::stack_toml::{ServiceToml, StackToml};
use super::values::{
    names_a_host, names_service, pieces_of_raw, replace_host_port, single_variable, RawPiece,
};
use crate::error::{Error, Result};

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep every service in a container (`--runtime container`).
    pub containers: bool,
    /// Where the stack file goes (a directory), when not beside the
    /// compose file: the paths it names are written as seen from there.
    pub stack_dir: Option<PathBuf>,
}

/// The stack file to write, and what the user should know.
#[derive(Debug)]
pub struct Imported {
    pub toml: String,
    pub report: Report,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub services: Vec<ReportService>,
    /// What did not carry over, in file order.
    pub not_carried: Vec<ReportItem>,
    /// Values made references to other services (`db:5432` →
    /// `${db.host}:${db.port}`), in file order.
    pub references: Vec<ReportItem>,
    /// Values that stay the team's variables, and where their values are
    /// (`.env`, an `env_file`, the environment), in file order.
    pub variables: Vec<ReportItem>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportService {
    /// Its name in the compose file.
    pub compose: String,
    /// Its name in `berth.toml`.
    pub service: String,
    pub kind: String,
    pub runtime: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportItem {
    pub line: usize,
    pub key: String,
    pub note: String,
}

/// A valid berth service name for a compose one (the rules are a stack
/// name's).
fn service_name(name: &str) -> String {
    crate::config::names::from_directory(name)
}

struct Importer<'a> {
    file: &'a ComposeFile,
    notes: Vec<Finding>,
    /// Values made references to other services.
    references: Vec<Finding>,
    /// compose name → berth name.
    names: BTreeMap<String, String>,
    /// Values kept as variables, for the report.
    variables: Vec<Finding>,
    /// `dotenv`: the files the variables are in, in order.
    dotenv: Vec<String>,
    /// `[overrides]`: a variable and the values it sets.
    overrides: Vec<(String, Vec<String>)>,
    /// Each `env_file` variable's value and file, to tell where two
    /// files disagree (berth reads one value per name).
    env_file_values: BTreeMap<String, (String, String)>,
    /// The compose file's directory, and the stack file's (absolute).
    compose_dir: PathBuf,
    stack_dir: PathBuf,
    /// Buckets the file makes by hand, by the s3 service they are on.
    buckets: BTreeMap<String, Vec<Bucket>>,
    /// One-shot containers whose whole job (making buckets) is berth's:
    /// not imported, and a dependency on one is on the store instead.
    absorbed: BTreeMap<String, String>,
}

pub fn import(file: &ComposeFile, options: &Options) -> Result<Imported> {
    if let Some(carried) = &file.carried {
        return carried_stack(file, carried, options);
    }
    let mut importer = Importer {
        file,
        notes: file.findings.clone(),
        references: Vec::new(),
        names: berth_names(file),
        variables: Vec::new(),
        dotenv: Vec::new(),
        overrides: Vec::new(),
        env_file_values: BTreeMap::new(),
        compose_dir: compose_dir(file),
        stack_dir: options
            .stack_dir
            .clone()
            .unwrap_or_else(|| compose_dir(file)),
        buckets: BTreeMap::new(),
        absorbed: BTreeMap::new(),
    };
    importer.find_buckets();
    let mut report = Vec::new();
    let mut built: Vec<(ServiceToml, &ComposeService, &'static str)> = Vec::new();
    for svc in &file.services {
        let name = importer.names[&svc.name].clone();
        if name != svc.name {
            importer.note(&svc.span, format!("services.{}", svc.name), format!("named `{name}` in berth.toml (berth's names are lower-case letters, digits, `-` and `_`)"));
        }
        let Some(image) = &svc.image else {
            importer.note(&svc.span, format!("services.{}", svc.name), "has no `image`; berth runs images only, so it is written commented out: build the image and name it");
            continue;
        };
        if importer.absorbed.contains_key(&svc.name) {
            continue;
        }
        let kind = kind_of_image(image).unwrap_or("generic");
        let toml = match kind {
            "generic" => importer.generic(svc, &name, image),
            kind => importer.kind(svc, &name, image, kind),
        };
        built.push((toml, svc, kind));
    }

    if built.is_empty() {
        let names: Vec<&str> = file.services.iter().map(|s| s.name.as_str()).collect();
        return Err(Error::Config {
            message: format!(
                "`{}` has no service berth can run: {}",
                file_name(file),
                match names.as_slice() {
                    [one] => format!("`{one}` is built from source (`build`) and names no `image`"),
                    _ => format!(
                        "{} are built from source (`build`) and name no `image`",
                        crate::suggest::list(&names)
                    ),
                }
            ),
            location: None,
            hint: Some("build the images (`docker build -t NAME ...`), name each with `image`, and import again".into()),
        });
    }

    // A container that reaches a kind by name needs it on the stack's
    // network: the kind stays in a container too.
    // What the stack file says, and the values as the containers get
    // them: a variable or an `env_file` may name a service too
    // (Mastodon's `DB_HOST=db`, a URL in `.env`).
    let generic_texts: Vec<String> = built
        .iter()
        .filter(|(_, _, k)| *k == "generic")
        .flat_map(|(t, _, _)| t.keys.iter().map(|(_, v)| v.to_string()))
        .collect();
    let generic_values: Vec<(&str, &str)> = built
        .iter()
        .filter(|(_, _, k)| *k == "generic")
        .flat_map(|(_, svc, _)| {
            let env = svc
                .environment
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()));
            let args = svc.command.iter().flatten().map(|a| ("", a.as_str()));
            env.chain(args)
        })
        .collect();
    for (toml, svc, kind) in &mut built {
        if *kind == "generic" || options.containers {
            continue;
        }
        let reached = generic_texts
            .iter()
            .any(|t| t.contains(&format!("${{{}.", toml.name)))
            || generic_values.iter().any(|(key, value)| {
                names_service(value, &svc.name, kind_port(kind), names_a_host(key))
            });
        if reached {
            let at = usize::from(toml.get("kind").is_some());
            toml.keys.insert(at, ("runtime".into(), "container".into()));
            importer.note(&svc.span, format!("services.{}", svc.name), "runs in a container: a container reaches it by name, which a native service cannot offer");
        }
    }

    let mut stack = StackToml {
        header: vec![
            format!(
                "Imported from `{}` by `berth import compose`.",
                file_name(file)
            ),
            "What did not carry over is listed by the import (again with `--json`).".into(),
        ],
        name: file.name.clone(),
        runtime: options.containers.then(|| "container".to_string()),
        dotenv: importer.dotenv.clone(),
        overrides: importer.overrides.clone(),
        // The team's `.env` is read, never written: berth's own file
        // takes another name.
        env_file: importer
            .dotenv
            .iter()
            .any(|f| *f == importer.path(".env"))
            .then(|| ".env.berth".to_string()),
        ..StackToml::default()
    };
    // Each compose service without profiles is always on; one with
    // profiles is added by each of them.
    let mut by_profile: BTreeMap<String, Vec<ServiceToml>> = BTreeMap::new();
    for (toml, svc, kind) in built {
        let runtime = if options.containers || kind == "generic" || toml.get("runtime").is_some() {
            "container"
        } else {
            "native"
        };
        report.push(ReportService {
            compose: svc.name.clone(),
            service: toml.name.clone(),
            kind: kind.to_string(),
            runtime: runtime.to_string(),
            profiles: svc.profiles.clone(),
        });
        if svc.profiles.is_empty() {
            stack.services.push(toml);
        } else {
            for p in &svc.profiles {
                by_profile.entry(p.clone()).or_default().push(toml.clone());
            }
        }
    }
    stack.profiles = by_profile.into_iter().collect();
    let mut toml = stack.render();
    // Services that could not be imported, commented out, so nothing
    // vanishes from the user's view.
    for svc in file.services.iter().filter(|s| s.image.is_none()) {
        toml.push_str(&format!(
            "\n# [services.{}]  # from {}:{}: no image (it is built); build it, then:\n# image = \"...\"\n",
            importer.names[&svc.name],
            file_name(file),
            line_of(file, &svc.span)
        ));
    }
    let items = |found: &[Finding]| {
        let mut items: Vec<ReportItem> = found
            .iter()
            .map(|n| ReportItem {
                line: line_of(file, &n.span),
                key: n.key.clone(),
                note: n.note.clone(),
            })
            .collect();
        items.sort_by_key(|i| i.line);
        items
    };
    Ok(Imported {
        toml,
        report: Report {
            services: report,
            not_carried: items(&importer.notes),
            references: items(&importer.references),
            variables: items(&importer.variables),
        },
    })
}

/// A file `berth export compose` wrote: its stack, with the configured
/// secrets named under `[overrides]` by the variables that hold them, and
/// the `.env` the export wrote beside it (which holds their values and
/// those of the stack's own variables) listed under `dotenv`: the values
/// stay there, never in `berth.toml`.
fn carried_stack(
    file: &ComposeFile,
    carried: &super::file::Carried,
    options: &Options,
) -> Result<Imported> {
    let mut table: toml::Table = toml::from_str(&carried.stack_toml).map_err(|e| Error::Config {
        message: format!("the `x-berth` stack of `{}` is not valid TOML: {}", file_name(file), e.message()),
        location: None,
        hint: Some("it is written by `berth export compose`; export again, or remove `x-berth` to import the services as Compose describes them".into()),
    })?;
    let mut overrides = toml::Table::new();
    for (service, key, var) in &carried.secrets {
        let target = toml::Value::String(format!("{service}.{key}"));
        match overrides.get_mut(var) {
            Some(toml::Value::Array(targets)) => targets.push(target),
            Some(one) => *one = toml::Value::Array(vec![one.clone(), target]),
            None => {
                overrides.insert(var.clone(), target);
            }
        }
    }
    if !overrides.is_empty() {
        table.insert("overrides".into(), toml::Value::Table(overrides));
    }
    table.insert(
        "dotenv".into(),
        toml::Value::Array(vec![toml::Value::String(".env".into())]),
    );
    let from = compose_dir(file);
    let to = options.stack_dir.clone().unwrap_or_else(|| from.clone());
    super::relocate::rebase(
        &mut table,
        &Move {
            from: &from,
            to: &to,
        },
    );
    // The `.env` beside the file is the export's: berth's env file takes
    // another name.
    if let Some(toml::Value::Table(env)) = table.get_mut("env") {
        if env.get("file").and_then(|f| f.as_str()) == Some(".env") {
            env.insert("file".into(), toml::Value::String(".env.berth".into()));
        }
    }
    let services = table
        .get("services")
        .and_then(|s| s.as_table())
        .map(|s| {
            s.iter()
                .map(|(name, v)| ReportService {
                    compose: name.clone(),
                    service: name.clone(),
                    kind: v
                        .get("kind")
                        .and_then(|k| k.as_str())
                        .unwrap_or(name)
                        .to_string(),
                    runtime: v
                        .get("runtime")
                        .and_then(|k| k.as_str())
                        .unwrap_or("native")
                        .to_string(),
                    profiles: Vec::new(),
                })
                .collect()
        })
        .unwrap_or_default();
    let body = toml::to_string(&table).map_err(|e| Error::Internal {
        message: format!("could not write the carried stack: {e}"),
    })?;
    Ok(Imported {
        toml: format!(
            "# Imported from `{}` by `berth import compose`: the stack `berth export compose` carried in it.\n\n{body}",
            file_name(file)
        ),
        report: Report {
            services,
            not_carried: Vec::new(),
            references: Vec::new(),
            variables: Vec::new(),
        },
    })
}

impl Importer<'_> {
    /// Buckets made by `mc mb` in a one-shot container, or by `mkdir` in
    /// the store's data directory, become the store's `buckets` (with one
    /// s3 service there is no doubt which store they are on).
    fn find_buckets(&mut self) {
        let file = self.file;
        let stores: Vec<&ComposeService> = file
            .services
            .iter()
            .filter(|s| s.image.as_deref().and_then(kind_of_image) == Some("s3"))
            .collect();
        let [store] = stores.as_slice() else {
            return;
        };
        let store_name = self.names[&store.name].clone();
        let words = |s: &ComposeService| -> Vec<String> {
            s.entrypoint
                .iter()
                .flatten()
                .chain(s.command.iter().flatten())
                .cloned()
                .collect()
        };
        let mut found: Vec<Bucket> = made_by(&words(store), kind_data("s3")).buckets;
        for svc in file
            .services
            .iter()
            .filter(|s| s.image.is_some() && s.name != store.name)
        {
            let made = made_by(&words(svc), kind_data("s3"));
            if made.buckets.is_empty() || !made.only_that {
                continue;
            }
            let list = made
                .buckets
                .iter()
                .map(|b| format!("`{}`", b.name))
                .collect::<Vec<_>>()
                .join(", ");
            // Its entrypoint is read, not dropped.
            let prefix = format!("services.{}.", svc.name);
            let waited_for = format!(".depends_on.{}", svc.name);
            self.notes
                .retain(|n| !n.key.starts_with(&prefix) && !n.key.ends_with(&waited_for));
            self.note(&svc.span, format!("services.{}", svc.name), format!("makes the buckets {list} and nothing else: berth makes them on `{store_name}` at each `up` (its `buckets`), so this container is not imported, and a dependency on it is on `{store_name}`"));
            self.absorbed.insert(svc.name.clone(), store.name.clone());
            for b in made.buckets {
                match found.iter_mut().find(|f| f.name == b.name) {
                    Some(f) => f.public |= b.public,
                    None => found.push(b),
                }
            }
        }
        if !found.is_empty() {
            self.buckets.insert(store.name.clone(), found);
        }
    }

    /// From the compose file's directory to the stack file's.
    fn moved(&self) -> Move<'_> {
        Move {
            from: &self.compose_dir,
            to: &self.stack_dir,
        }
    }

    /// A path of the compose file's (relative to its directory) as the
    /// stack file names it.
    fn path(&self, path: &str) -> String {
        self.moved().path(path)
    }

    /// List `file` under `dotenv` (once, in the order first needed).
    fn read_variables_from(&mut self, file: &str) {
        let file = self.path(file);
        if !self.dotenv.contains(&file) {
            self.dotenv.push(file);
        }
    }

    /// Name `var` under `[overrides]` as setting `target` (`db.password`).
    fn override_with(&mut self, var: &str, target: String) {
        match self.overrides.iter_mut().find(|(v, _)| v == var) {
            Some((_, targets)) => targets.push(target),
            None => self.overrides.push((var.to_string(), vec![target])),
        }
    }

    fn kept_variable(&mut self, svc: &ComposeService, key: String, note: String) {
        self.kept_variable_at(svc.span.clone(), key, note);
    }

    fn kept_variable_at(&mut self, span: crate::source::Span, key: String, note: String) {
        self.variables.push(Finding { span, key, note });
    }

    /// Where a kind's secret from the environment is written.
    fn env_span(svc: &ComposeService, key: &str) -> crate::source::Span {
        let span = match svc.env_origins.get(key) {
            Some(EnvOrigin::EnvFile(_)) => svc.env_file_span.clone(),
            _ => svc.environment_span.clone(),
        };
        span.unwrap_or_else(|| svc.span.clone())
    }

    /// A kind's secret (`setting`, from the environment value `env_key`,
    /// which reads `value`): written when the compose file writes it,
    /// else named under `[overrides]` so that its value stays where the
    /// team keeps it (`.env`, an `env_file`, the environment).
    fn secret(
        &mut self,
        svc: &ComposeService,
        t: &mut ServiceToml,
        env_key: &str,
        setting: &str,
        value: &str,
    ) {
        let origin = svc
            .env_origins
            .get(env_key)
            .cloned()
            .unwrap_or(EnvOrigin::File { raw: None });
        let target = format!("{}.{setting}", t.name);
        let at = self.at(svc, &format!("environment.{env_key}"));
        match origin {
            // An empty key is no key: MinIO would not start with one.
            EnvOrigin::File { raw: None } if value.is_empty() => self.note(&Self::env_span(svc, env_key), at, format!("empty, which the server refuses: berth generates `{target}` and writes it to the env file")),
            EnvOrigin::File { raw: None } => t.set(setting, value),
            EnvOrigin::File { raw: Some(raw) } => match single_variable(&raw) {
                Some((var, default)) => {
                    // The compose file's default is its own text, not a
                    // secret kept elsewhere: it stays the value when the
                    // variable is unset.
                    if let Some(default) = default.filter(|d| !d.is_empty()) {
                        t.set(setting, default);
                    }
                    self.read_variables_from(".env");
                    self.override_with(&var, target.clone());
                    self.kept_variable_at(Self::env_span(svc, env_key), at, format!("`{raw}`: `{target}` is set from `{var}` (`[overrides]`), read from the environment or `.env` at each `up`; its value is not written"));
                }
                None => self.note(&Self::env_span(svc, env_key), at, format!("`{raw}` is made of several variables, which berth cannot name for one value: berth generates `{target}` (set it with `[overrides]` or `BERTH_*`)")),
            },
            EnvOrigin::EnvFile(file) => {
                self.read_variables_from(&file);
                self.override_with(env_key, target.clone());
                self.kept_variable_at(Self::env_span(svc, env_key), at, format!("`{target}` is set from `{env_key}` (`[overrides]`), read from `{file}` at each `up`; its value is not written"));
            }
            EnvOrigin::Shell => {
                self.read_variables_from(".env");
                self.override_with(env_key, target.clone());
                self.kept_variable_at(Self::env_span(svc, env_key), at, format!("`{target}` is set from `{env_key}` (`[overrides]`), from the environment (or `.env`) at each `up`, as Compose passes it; berth generates one when it is unset"));
            }
        }
    }

    /// A generic service's environment value as a template: its
    /// variables kept (`${DB_PASSWORD}`), references to other services
    /// made (`db:5432`), the rest literal; and where its value stays, when
    /// it is not written.
    fn env_value(
        &mut self,
        svc: &ComposeService,
        key: &str,
        value: &str,
    ) -> (String, Option<Kept>) {
        let at = format!("{}.{key}", self.at(svc, "environment"));
        let origin = svc
            .env_origins
            .get(key)
            .cloned()
            .unwrap_or(EnvOrigin::File { raw: None });
        match origin {
            EnvOrigin::File { raw: None } => {
                (self.rewrite(value, (svc, at), names_a_host(key)), None)
            }
            EnvOrigin::File { raw: Some(raw) } => {
                self.read_variables_from(".env");
                let template = self.rewrite_raw(&raw, (svc, at), names_a_host(key));
                (template, Some(Kept::Variables))
            }
            // A host in an env file (`DB_HOST=db`) is no secret: it
            // becomes the reference, which resolves on either runtime.
            EnvOrigin::EnvFile(_)
                if names_a_host(key)
                    && self
                        .file
                        .services
                        .iter()
                        .any(|s| s.image.is_some() && s.name == value) =>
            {
                (self.rewrite(value, (svc, at), true), None)
            }
            EnvOrigin::EnvFile(file) => {
                self.read_variables_from(&file);
                if let Some((other, other_file)) = self.env_file_values.get(key) {
                    if other != value && *other_file != file {
                        let span = svc.env_file_span.clone().unwrap_or(svc.span.clone());
                        self.note(&span, at, format!("`{key}` has one value in `{other_file}` and another in `{file}`: berth reads one value per name from its `dotenv` files (the later file's)"));
                    }
                }
                self.env_file_values
                    .insert(key.to_string(), (value.to_string(), file.clone()));
                (format!("${{{key}}}"), Some(Kept::EnvFile(file)))
            }
            EnvOrigin::Shell => {
                self.read_variables_from(".env");
                (format!("${{{key}:-}}"), Some(Kept::Shell))
            }
        }
    }

    /// One report item for the values of a service's environment that
    /// stay where the team keeps them, by where that is.
    fn kept_values(&mut self, svc: &ComposeService, kept: Vec<(Kept, Vec<String>)>) {
        for (how, names) in kept {
            let names = names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let (span, key, note) = match how {
                Kept::Variables => (
                    svc.environment_span.clone(),
                    self.at(svc, "environment"),
                    format!("{names} keep their variables (`${{NAME}}`), read from the environment or `.env` at each `up`; their values are not written"),
                ),
                Kept::EnvFile(file) => (
                    svc.env_file_span.clone(),
                    self.at(svc, "env_file"),
                    format!("{names} from `{file}` are `${{NAME}}`, read from it (`dotenv`) at each `up`; their values are not written"),
                ),
                Kept::Shell => (
                    svc.environment_span.clone(),
                    self.at(svc, "environment"),
                    format!("{names} come from the environment (or `.env`) at each `up`, as Compose passes them (`${{NAME:-}}`: empty when unset, where Compose leaves it out)"),
                ),
            };
            self.kept_variable_at(span.unwrap_or(svc.span.clone()), key, note);
        }
    }

    fn note(&mut self, span: &crate::source::Span, key: String, note: impl Into<String>) {
        self.notes.push(Finding {
            span: span.clone(),
            key,
            note: note.into(),
        });
    }

    fn at(&self, svc: &ComposeService, field: &str) -> String {
        format!("services.{}.{field}", svc.name)
    }

    fn origin(&self, svc: &ComposeService) -> String {
        format!(
            "From {}:{} ({}).",
            file_name(self.file),
            line_of(self.file, &svc.span),
            svc.image.as_deref().unwrap_or("no image")
        )
    }

    /// The berth names of its dependencies: those berth can wait for, and
    /// imports (a service without an image is not imported).
    /// A dependency only some profiles add is kept only where each of
    /// the service's own profiles adds it too (otherwise the service would
    /// wait for a service its stack may not have), and reported where not.
    fn depends_on(&mut self, svc: &ComposeService) -> Vec<String> {
        let mut names = Vec::new();
        for d in &svc.depends_on {
            // A bucket job berth does itself: wait for the store instead.
            if let Some(store) = self.absorbed.get(&d.service) {
                let name = self.names[store].clone();
                if !names.contains(&name) && store != &svc.name {
                    names.push(name);
                }
                continue;
            }
            if d.condition == "service_completed_successfully" {
                continue;
            }
            let Some(dep) = self
                .file
                .services
                .iter()
                .find(|s| s.name == d.service && s.image.is_some())
            else {
                continue;
            };
            let always_there = dep.profiles.is_empty()
                || (!svc.profiles.is_empty()
                    && svc.profiles.iter().all(|p| dep.profiles.contains(p)));
            if !always_there {
                let at = self.at(svc, "depends_on");
                self.note(
                    &svc.span,
                    at,
                    format!(
                        "`{}` is only in the profile(s) {}: berth waits for it only where it is there, so this dependency is left out",
                        d.service,
                        dep.profiles.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
                    ),
                );
                continue;
            }
            if let Some(name) = self.names.get(&d.service) {
                names.push(name.clone());
            }
        }
        names
    }

    /// A service of a kind berth knows.
    fn kind(
        &mut self,
        svc: &ComposeService,
        name: &str,
        image: &str,
        kind: &'static str,
    ) -> ServiceToml {
        let mut t = ServiceToml {
            name: name.to_string(),
            comments: vec![self.origin(svc)],
            keys: Vec::new(),
        };
        if name != kind {
            t.set("kind", kind);
        }
        t.set("image", image);
        let valkey = repository(image) == "valkey/valkey";
        if let Some(v) = version_of_tag(image).filter(|_| kind != "s3" && !valkey) {
            t.set("version", v);
        }
        if valkey {
            self.note(&svc.span, self.at(svc, "image"), "Valkey serves Redis's protocol and commands: natively berth runs the machine's `redis-server` for it (its version is Redis's, not Valkey's); in a container, this image");
        }
        let inside = kind_port(kind);
        for p in &svc.ports {
            match (p.target == inside, p.published) {
                (true, Some(published)) if t.get("port").is_none() => {
                    t.set("port", published as i64)
                }
                (true, None) => {}
                _ => self.note(
                    &p.span,
                    self.at(svc, "ports"),
                    format!(
                        "port {} is not {kind}'s: berth publishes the server's port only",
                        p.target
                    ),
                ),
            }
        }
        let mut persist = false;
        for v in &svc.volumes {
            if v.target == kind_data(kind)
                || (kind == "postgres" && v.target == "/var/lib/postgresql")
            {
                // An anonymous volume is new after each `down`, as berth's
                // data is without `persist`.
                if v.source.is_none() {
                    self.note(&v.span, self.at(svc, "volumes"), format!("an anonymous volume at `{}`: its data is gone after `down`, as with berth's `persist = false`; name the volume to keep it", v.target));
                    continue;
                }
                persist = true;
                if v.source
                    .as_deref()
                    .is_some_and(|s| s.starts_with('.') || s.starts_with('/'))
                {
                    self.note(&v.span, self.at(svc, "volumes"), "berth keeps the data in a volume of its own, not in this directory; `berth backup` and `restore` move data");
                }
            } else if kind == "postgres"
                && v.target.trim_end_matches('/') == "/docker-entrypoint-initdb.d"
            {
                match v.source.as_deref().filter(|s| s.starts_with('.') || s.starts_with('/')) {
                    // berth runs the directory's scripts as the image does.
                    Some(dir) => t.set("init", self.path(dir)),
                    None => self.note(&v.span, self.at(svc, "volumes"), "init scripts come from a directory of the project (`init = \"DIR\"`), not from a named volume"),
                }
            } else {
                self.note(&v.span, self.at(svc, "volumes"), format!("`{}` is not where {kind} keeps its data; berth mounts nothing else into it", v.target));
            }
        }
        let env: BTreeMap<&str, &str> = svc
            .environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut used: Vec<&str> = Vec::new();
        let mut take = |key: &'static str| {
            used.push(key);
            env.get(key).map(|v| v.to_string())
        };
        match kind {
            "postgres" => {
                // An empty user is the image's default, as unset.
                let user = take("POSTGRES_USER").filter(|u| !u.is_empty());
                if let Some(user) = &user {
                    t.set("user", user.as_str());
                }
                let password = take("POSTGRES_PASSWORD");
                // The official image's default database is the user's name.
                let database = take("POSTGRES_DB")
                    .or(user)
                    .unwrap_or_else(|| "postgres".into());
                t.set("database", database);
                if let Some(list) = take("POSTGRES_MULTIPLE_DATABASES") {
                    let dbs: Vec<toml::Value> = list
                        .split(',')
                        .map(str::trim)
                        .filter(|d| !d.is_empty())
                        .map(|d| toml::Value::String(d.to_string()))
                        .collect();
                    t.set("databases", toml::Value::Array(dbs));
                }
                if let Some(password) = password {
                    self.postgres_password(svc, &mut t, &password);
                }
                let settings = self.postgres_settings(svc);
                if !settings.is_empty() {
                    t.set("settings", toml::Value::Table(settings));
                }
            }
            "redis" => {
                let kept = persist;
                self.redis_flags(svc, &mut t, &mut persist);
                if persist && !kept {
                    let at = self.at(svc, "command");
                    self.note(&svc.span, at, "`--appendonly yes` without a data volume: Compose loses the file with the container, berth keeps an append-only file only for data it keeps (`persist = true`)");
                }
                // A Redis the compose file runs without a password stays
                // so: its clients were never given one.
                if t.get("password").is_none() {
                    t.set("password", "");
                }
            }
            "s3" => {
                // The current names, then the ones older MinIO releases read.
                let (root_user, access_key) = (take("MINIO_ROOT_USER"), take("MINIO_ACCESS_KEY"));
                let (root_password, secret_key) =
                    (take("MINIO_ROOT_PASSWORD"), take("MINIO_SECRET_KEY"));
                let (region, site_region) = (take("MINIO_REGION"), take("MINIO_SITE_REGION"));
                let user_key = if root_user.is_some() {
                    "MINIO_ROOT_USER"
                } else {
                    "MINIO_ACCESS_KEY"
                };
                if let Some(user) = root_user.or(access_key) {
                    self.secret(svc, &mut t, user_key, "access_key", &user);
                }
                let secret_env = if root_password.is_some() {
                    "MINIO_ROOT_PASSWORD"
                } else {
                    "MINIO_SECRET_KEY"
                };
                if let Some(secret) = root_password.or(secret_key) {
                    self.secret(svc, &mut t, secret_env, "secret_key", &secret);
                }
                if let Some(region) = region.or(site_region) {
                    t.set("region", region);
                }
                if let Some(buckets) = self.buckets.get(&svc.name) {
                    let list = buckets
                        .iter()
                        .map(|b| match b.public {
                            false => toml::Value::String(b.name.clone()),
                            true => {
                                let mut t = toml::Table::new();
                                t.insert("name".into(), b.name.clone().into());
                                t.insert("public".into(), true.into());
                                toml::Value::Table(t)
                            }
                        })
                        .collect();
                    t.set("buckets", toml::Value::Array(list));
                }
                if let Some(cmd) = &svc.command {
                    let console = cmd.iter().any(|a| a == "--console-address");
                    if console {
                        self.note(
                            &svc.span,
                            self.at(svc, "command"),
                            "berth runs MinIO's S3 API only: its web console is not published",
                        );
                    }
                }
            }
            _ => {}
        }
        for (key, _) in &svc.environment {
            if !used.contains(&key.as_str()) {
                self.note(
                    &Self::env_span(svc, key),
                    self.at(svc, &format!("environment.{key}")),
                    format!("`{key}` is not part of berth's {kind} settings"),
                );
            }
        }
        if matches!(svc.healthcheck, Some(Healthcheck::Command(..))) {
            // One note for the whole check: its timings go with it.
            let prefix = format!("services.{}.healthcheck.", svc.name);
            self.notes.retain(|n| !n.key.starts_with(&prefix));
            let at = svc.healthcheck_span.clone().unwrap_or(svc.span.clone());
            self.note(&at, self.at(svc, "healthcheck"), format!("berth's own {kind} probe (a real login or request from the host) decides readiness"));
        }
        // Without a volume, Compose loses the data with the container.
        t.set("persist", persist);
        let deps = self.depends_on(svc);
        if !deps.is_empty() {
            t.set(
                "depends_on",
                toml::Value::Array(deps.into_iter().map(toml::Value::String).collect()),
            );
        }
        t
    }

    /// `POSTGRES_PASSWORD`: an empty one is not a password the image
    /// starts with, so it is not carried as one.
    fn postgres_password(&mut self, svc: &ComposeService, t: &mut ServiceToml, password: &str) {
        let written = matches!(
            svc.env_origins.get("POSTGRES_PASSWORD"),
            None | Some(EnvOrigin::File { raw: None })
        );
        if written && password.is_empty() {
            let at = self.at(svc, "environment.POSTGRES_PASSWORD");
            self.note(&svc.span, at, "an empty password, with which the image does not start (unless `POSTGRES_HOST_AUTH_METHOD=trust`): berth generates one and writes it to the env file, where the app reads it");
            return;
        }
        self.secret(svc, t, "POSTGRES_PASSWORD", "password", password);
    }

    /// `postgres -c key=value ...` as settings; other arguments reported.
    fn postgres_settings(&mut self, svc: &ComposeService) -> toml::Table {
        let mut settings = toml::Table::new();
        let Some(cmd) = &svc.command else {
            return settings;
        };
        let mut args = cmd.iter().peekable();
        if args.peek().map(|a| a.as_str()) == Some("postgres") {
            args.next();
        }
        while let Some(arg) = args.next() {
            let pair = match arg.as_str() {
                "-c" => args.next().cloned(),
                a if a.starts_with("--") && a.contains('=') => Some(a[2..].to_string()),
                _ => None,
            };
            match pair.as_deref().and_then(|p| p.split_once('=')) {
                Some((k, v)) => {
                    settings.insert(k.replace('-', "_"), toml::Value::String(v.to_string()));
                }
                None => self.note(
                    &svc.span,
                    self.at(svc, "command"),
                    format!("`{arg}` is not a `-c key=value` setting berth can carry over"),
                ),
            }
        }
        settings
    }

    /// `redis-server --appendonly yes --requirepass X ...` as settings.
    fn redis_flags(&mut self, svc: &ComposeService, t: &mut ServiceToml, persist: &mut bool) {
        let Some(cmd) = &svc.command else {
            return;
        };
        // Each argument with its text as written, when it uses variables.
        let raws: Vec<Option<String>> = match &svc.command_raw {
            Some(raw) if raw.len() == cmd.len() => raw
                .iter()
                .map(|r| super::file::raw_with_variables(r))
                .collect(),
            _ => vec![None; cmd.len()],
        };
        let mut args = cmd.iter().zip(raws).peekable();
        if args
            .peek()
            .is_some_and(|(a, _)| a.ends_with("redis-server") || a.ends_with("valkey-server"))
        {
            args.next();
        }
        // Flags berth has no key of its own for, passed on (`settings`).
        let mut settings = toml::Table::new();
        while let Some((arg, _)) = args.next() {
            let Some(flag) = arg.strip_prefix("--") else {
                self.note(
                    &svc.span,
                    self.at(svc, "command"),
                    format!("`{arg}`: berth writes redis's configuration itself"),
                );
                continue;
            };
            let (mut value, raw) = args.next().map(|(v, r)| (v.clone(), r)).unwrap_or_default();
            // A flag takes every word up to the next flag (`--save 60 1`).
            while let Some((more, _)) = args.next_if(|(a, _)| !a.starts_with("--")) {
                value = format!("{value} {more}");
            }
            match flag {
                "appendonly" => {
                    let on = value == "yes";
                    t.set("appendonly", on);
                    if on {
                        // berth keeps an append-only file only for data it keeps.
                        *persist = true;
                    }
                }
                "requirepass" => match raw {
                    // The password a variable holds stays the team's.
                    Some(raw) => match single_variable(&raw) {
                        Some((var, default)) => {
                            if let Some(default) = default.filter(|d| !d.is_empty()) {
                                t.set("password", default);
                            }
                            self.read_variables_from(".env");
                            let target = format!("{}.password", t.name);
                            self.override_with(&var, target.clone());
                            let at = self.at(svc, "command");
                            self.kept_variable(svc, at, format!("`--requirepass {raw}`: `{target}` is set from `{var}` (`[overrides]`), read from the environment or `.env` at each `up`; its value is not written"));
                        }
                        None => {
                            let at = self.at(svc, "command");
                            self.note(&svc.span, at, format!("`--requirepass {raw}` is made of several variables, which berth cannot name for one value: berth generates the password"));
                        }
                    },
                    None => t.set("password", value),
                },
                "maxmemory" => t.set("maxmemory", value),
                "maxmemory-policy" => t.set("maxmemory_policy", value),
                "save" | "port" | "bind" | "protected-mode" => self.note(
                    &svc.span,
                    self.at(svc, "command"),
                    format!("`--{flag} {value}`: berth sets `{flag}` itself (snapshots where the data persists, its port, loopback or the stack's network)"),
                ),
                // Where the server's files and sockets are is berth's.
                "dir" | "dbfilename" | "appendfilename" | "appenddirname" | "logfile"
                | "pidfile" | "unixsocket" | "unixsocketperm" | "daemonize" | "supervised"
                | "include" | "aclfile" => self.note(
                    &svc.span,
                    self.at(svc, "command"),
                    format!("`--{flag}`: berth decides where the server keeps its files and how it runs"),
                ),
                // Any other flag of one word goes to the server as it is.
                other if !value.is_empty() && !value.contains(' ') => {
                    settings.insert(other.to_string(), toml::Value::String(value));
                }
                other => self.note(
                    &svc.span,
                    self.at(svc, "command"),
                    format!("`--{other} {value}` is not among berth's redis settings"),
                ),
            }
        }
        if !settings.is_empty() {
            t.set("settings", toml::Value::Table(settings));
        }
    }

    /// Any other image, as a generic service in a container.
    fn generic(&mut self, svc: &ComposeService, name: &str, image: &str) -> ServiceToml {
        let mut t = ServiceToml {
            name: name.to_string(),
            comments: vec![self.origin(svc)],
            keys: Vec::new(),
        };
        // A service named like a kind (`redis` running `valkey/valkey`)
        // would otherwise become that kind: the kind comes from the
        // image, never from the name.
        if crate::kind::registry::lookup(name).is_some_and(|k| k.name() != "generic") {
            t.set("kind", "generic");
        }
        t.set("runtime", "container");
        t.set("image", image);
        if let Some(cmd) = &svc.command {
            let at = self.at(svc, "command");
            let raws: Vec<Option<String>> = match &svc.command_raw {
                Some(raw) if raw.len() == cmd.len() => raw
                    .iter()
                    .map(|r| super::file::raw_with_variables(r))
                    .collect(),
                _ => vec![None; cmd.len()],
            };
            let mut args = Vec::new();
            for (arg, raw) in cmd.iter().zip(raws) {
                let text = match raw {
                    Some(raw) => {
                        self.read_variables_from(".env");
                        let template = self.rewrite_raw(&raw, (svc, at.clone()), false);
                        self.kept_variable(svc, at.clone(), format!("`{template}`: its variables are read from the environment or `.env` at each `up`; their values are not written"));
                        template
                    }
                    None => self.rewrite(arg, (svc, at.clone()), false),
                };
                args.push(toml::Value::String(text));
            }
            t.set("command", toml::Value::Array(args));
        }
        let mut extra = Vec::new();
        for (i, p) in svc.ports.iter().enumerate() {
            if i == 0 {
                t.set("container_port", p.target as i64);
                if let Some(published) = p.published {
                    t.set("port", published as i64);
                }
            } else if let Some(published) = p.published {
                extra.push(toml::Value::String(format!("{published}:{}", p.target)));
            } else {
                self.note(&p.span, self.at(svc, "ports"), format!("port {} is published on a port of Compose's choosing; berth publishes fixed ports only", p.target));
            }
        }
        if !extra.is_empty() {
            t.set("ports", toml::Value::Array(extra));
        }
        if !svc.environment.is_empty() {
            let mut env = toml::Table::new();
            let mut kept: Vec<(Kept, Vec<String>)> = Vec::new();
            for (k, v) in &svc.environment {
                let (value, how) = self.env_value(svc, k, v);
                env.insert(k.clone(), toml::Value::String(value));
                if let Some(how) = how {
                    match kept.iter_mut().find(|(h, _)| *h == how) {
                        Some((_, names)) => names.push(k.clone()),
                        None => kept.push((how, vec![k.clone()])),
                    }
                }
            }
            self.kept_values(svc, kept);
            t.set("env", toml::Value::Table(env));
        }
        let mut volumes = Vec::new();
        for v in &svc.volumes {
            match &v.source {
                Some(source) => {
                    let ro = if v.read_only { ":ro" } else { "" };
                    // A bind mount's directory, as the stack file sees it.
                    let source = if source.starts_with('.') {
                        self.moved().mount(source)
                    } else {
                        source.clone()
                    };
                    volumes.push(toml::Value::String(format!("{source}:{}{ro}", v.target)));
                }
                None => self.note(&v.span, self.at(svc, "volumes"), format!("an anonymous volume at `{}` is not carried over: name it (`name:{}`) to keep its data", v.target, v.target)),
            }
        }
        if !volumes.is_empty() {
            t.set("volumes", toml::Value::Array(volumes));
        }
        match &svc.healthcheck {
            Some(Healthcheck::Command(command, _)) => {
                let mut exec = toml::Table::new();
                exec.insert(
                    "exec".into(),
                    toml::Value::Array(
                        command
                            .iter()
                            .map(|c| toml::Value::String(c.clone()))
                            .collect(),
                    ),
                );
                t.set("ready", toml::Value::Table(exec));
            }
            _ if svc.ports.is_empty() => t.set("ready", "running"),
            _ => {}
        }
        let deps = self.depends_on(svc);
        if !deps.is_empty() {
            t.set(
                "depends_on",
                toml::Value::Array(deps.into_iter().map(toml::Value::String).collect()),
            );
        }
        t
    }

    /// A compose value as written, with variables: each variable kept as
    /// berth's `${NAME...}`, references to other services made in the
    /// literal text between them.
    fn rewrite_raw(&mut self, raw: &str, at: (&ComposeService, String), host_key: bool) -> String {
        pieces_of_raw(raw)
            .into_iter()
            .map(|piece| match piece {
                RawPiece::Text(text) => self.rewrite(&text, (at.0, at.1.clone()), host_key),
                RawPiece::Variable(var) => {
                    // Unset as the file is read, Compose makes it empty
                    // (with a warning): so does berth, where a bare
                    // `${NAME}` would stop `up` until it is set.
                    let bare = var.strip_prefix("${").and_then(|v| v.strip_suffix('}'));
                    match bare {
                        Some(name) if self.file.unset.iter().any(|u| u == name) => {
                            format!("${{{name}:-}}")
                        }
                        _ => var,
                    }
                }
            })
            .collect()
    }

    /// A value with references to other services (`db:5432`, a whole value
    /// `db`) made into berth's `${db.host}` and `${db.port}`, which
    /// resolve on whichever runtime each side runs; a literal `$` doubled.
    ///
    /// A whole value equal to a service's name is a host only under a
    /// name that says so (`DB_HOST`, `REDIS_ADDR`; `host_key`): Gitea's
    /// `DB_PASSWD: gitea` stays the password it is. Each reference made
    /// is reported (`at`: the key it is under).
    fn rewrite(&mut self, value: &str, at: (&ComposeService, String), host_key: bool) -> String {
        let mut out = value.replace('$', "$$");
        // Only a service berth runs can be named: one built from source
        // is not imported, and is reported so.
        for svc in self
            .file
            .services
            .iter()
            .filter(|s| s.image.is_some() && !self.absorbed.contains_key(&s.name))
        {
            let berth = &self.names[&svc.name];
            let inside = match svc.image.as_deref().and_then(kind_of_image) {
                Some(kind) => kind_port(kind),
                None => svc.ports.first().map(|p| p.target).unwrap_or(0),
            };
            if out == svc.name {
                if host_key {
                    out = format!("${{{berth}.host}}");
                }
                break;
            }
            if inside != 0 {
                out = replace_host_port(&out, &svc.name, inside, berth);
            }
        }
        if out != value.replace('$', "$$") {
            self.references.push(Finding {
                span: at.0.span.clone(),
                key: at.1,
                note: format!("`{value}` is `{out}`: the service it names, wherever it runs"),
            });
        }
        out
    }
}

/// Where a value the import does not write stays.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kept {
    /// In the variables it names (`.env`, the environment).
    Variables,
    /// In an `env_file`.
    EnvFile(String),
    /// In the environment: a bare `KEY`.
    Shell,
}

/// Each compose service's berth name: two that berth spells alike (`db`
/// and `DB`) are told apart by a number (`db-2`).
fn berth_names(file: &ComposeFile) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    let mut taken: Vec<String> = Vec::new();
    for s in &file.services {
        let base = service_name(&s.name);
        let mut name = base.clone();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        taken.push(name.clone());
        names.insert(s.name.clone(), name);
    }
    names
}

/// The compose file's directory, absolute.
fn compose_dir(file: &ComposeFile) -> PathBuf {
    let dir = file
        .source
        .path
        .parent()
        .unwrap_or(std::path::Path::new(""));
    let dir = if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        dir
    };
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

fn file_name(file: &ComposeFile) -> String {
    file.source
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn line_of(file: &ComposeFile, span: &crate::source::Span) -> usize {
    file.source.locate(span).line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_names_become_berths() {
        assert_eq!(service_name("Redis.Cache"), "redis-cache");
        assert_eq!(service_name("_x"), "x");
    }

    #[test]
    fn values_compose_passes_on_and_berth_refuses_are_pointed_at_in_the_compose_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("compose.yaml");
        let no_env = |_: &str| None;
        let outcome = |text: &str| {
            std::fs::write(&path, text).unwrap();
            let read = super::super::file::read(&path, &no_env).unwrap();
            let imported = import(&read, &Options::default()).unwrap();
            let checked = super::super::loads::check(
                &read,
                &imported,
                &imported.toml,
                &dir.path().join("berth.toml"),
                &no_env,
            );
            (imported, checked)
        };
        // Spelt alike by berth, told apart.
        let (imported, checked) =
            outcome("services:\n  db:\n    image: postgres:16\n  DB:\n    image: postgres:16\n");
        assert!(checked.is_ok(), "{checked:?}");
        assert!(
            imported.toml.contains("[services.db-2]"),
            "{}",
            imported.toml
        );
        // Empty: the image's defaults, or a generated key, reported.
        let (imported, checked) = outcome(
            "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_USER: \"\"\n  s3:\n    image: minio/minio\n    environment:\n      MINIO_ROOT_USER: \"\"\n",
        );
        assert!(checked.is_ok(), "{checked:?}");
        assert!(imported
            .report
            .not_carried
            .iter()
            .any(|n| n.key == "services.s3.environment.MINIO_ROOT_USER"));
        // A value berth refuses: exit 2 at the service, not a defect.
        let (_, checked) = outcome(
            "services:\n  cache:\n    image: redis:7\n    command: redis-server --maxmemory lots\n",
        );
        let e = checked.unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        let shown = crate::diagnostic::render(&e, &crate::diagnostic::plain);
        assert!(
            shown.starts_with("error: service `cache`: `lots` is not a memory size"),
            "{shown}"
        );
        assert!(shown.contains("compose.yaml:2:3"), "{shown}");
    }
}
