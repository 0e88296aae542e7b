//! What a kind provides: a parser for its keys ([`ServiceKind`]) and, per
//! service, settings that know how the kind behaves ([`KindSettings`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use toml::de::DeValue;
use toml::Spanned;

use super::connection::ConnectionValue;
use crate::client::endpoint::Endpoint;
use crate::error::Result;
use crate::migrate::files::SqlDir;
use crate::plan::container::{ContainerFile, ContainerLaunch};
use crate::plan::native::NativeLaunch;
use crate::plan::runtime_kind::RuntimeKind;
use crate::source::Span;
use crate::template::Template;

/// A kind as the registry knows it.
pub trait ServiceKind: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    /// This kind's own stack-file keys, beyond the ones every service has;
    /// read from its settings type, so a key is declared once.
    fn keys(&self) -> &'static [&'static str];

    /// The JSON Schema of this kind's own keys (an object), from the same
    /// settings type, for `berth schema`.
    #[cfg(feature = "schema")]
    fn keys_schema(&self, generator: &mut schemars::SchemaGenerator) -> schemars::Schema;

    /// Read one service's keys of this kind. `table` holds only those (the
    /// shared keys were taken out); every value keeps its span.
    fn parse(
        &self,
        table: Spanned<DeValue<'_>>,
        scope: &ParseScope,
    ) -> Result<Arc<dyn KindSettings>, SettingsError>;
}

/// Where the service being parsed is.
pub struct ParseScope<'a> {
    pub service: &'a str,
    /// The stack file's directory: relative paths start here.
    pub root: &'a Path,
    /// A `${NAME}` variable's value, and where they were looked for (for
    /// the error when one is not set).
    pub variable: &'a dyn Fn(&str) -> Option<String>,
    pub searched: &'a str,
}

/// A problem with a kind's keys: what, where (the span of the offending
/// value, when there is one) and how to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub span: Option<Span>,
    /// The key at fault, when the problem has no span of its own.
    pub key: Option<&'static str>,
    pub message: String,
    pub hint: Option<String>,
}

impl SettingsError {
    pub fn at(span: Span, message: impl Into<String>) -> SettingsError {
        SettingsError {
            span: Some(span),
            key: None,
            message: message.into(),
            hint: None,
        }
    }

    pub fn key(key: &'static str, message: impl Into<String>) -> SettingsError {
        SettingsError {
            span: None,
            key: Some(key),
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> SettingsError {
        self.hint = Some(hint.into());
        self
    }
}

/// The shared keys a kind's rules may depend on.
#[derive(Debug, Clone, Copy)]
pub struct SharedSettings<'a> {
    /// The service's name.
    pub service: &'a str,
    pub runtime: RuntimeKind,
    pub persist: Option<bool>,
    /// The port, when the stack file fixes it.
    pub fixed_port: Option<u16>,
    pub image: Option<&'a str>,
}

/// A secret a kind needs: set in the stack file, or generated once and kept
/// in the stack's state (mode 0600).
#[derive(Debug, Clone)]
pub struct Secret {
    pub name: &'static str,
    /// What the stack file sets, if anything.
    pub configured: Option<String>,
    pub form: SecretForm,
}

/// What a generated secret looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretForm {
    /// 24 letters and digits: safe in URLs, shells and config files.
    Password,
    /// 20 upper-case letters and digits, like an S3 access key id.
    AccessKey,
    /// 16 random bytes, base64 (a salt).
    Salt,
}

/// A service's secrets, by name.
pub type Secrets = BTreeMap<&'static str, String>;

/// A service a kind works with (a pooler's upstream database): named by a
/// key of the stack file, or the stack's only service of `kind`.
#[derive(Debug, Clone)]
pub struct Link {
    pub key: &'static str,
    /// The service the stack file names, with where.
    pub named: Option<(String, Span)>,
    /// The kind the linked service must be.
    pub kind: &'static str,
}

/// Linked services' names, by key.
pub type Links = BTreeMap<&'static str, String>;

/// What the stack settled for one service, and how it sees the others.
pub struct ServiceContext<'a> {
    pub name: &'a str,
    /// On the host's loopback (0 before the first `up` chose it).
    pub port: u16,
    /// The secret named `password`, for kinds that log in with one.
    pub password: Option<&'a str>,
    /// Every secret of the service (see [`KindSettings::secrets`]).
    pub secrets: &'a Secrets,
    /// The services it is linked to (see [`KindSettings::links`]).
    pub links: &'a Links,
    pub persist: bool,
    /// The stack file's directory.
    pub root: &'a Path,
    /// Another service's connection value as this service reaches it.
    pub lookup: &'a (dyn Fn(&str, &str) -> Option<String> + Sync),
    /// A `${NAME}` variable's value (see `crate::variables::sources`).
    pub variable: &'a (dyn Fn(&str) -> Option<String> + Sync),
}

impl ServiceContext<'_> {
    pub fn secret(&self, name: &str) -> Option<&str> {
        self.secrets.get(name).map(String::as_str)
    }

    /// A connection value of the service linked as `link`, as this service
    /// reaches it.
    pub fn linked(&self, link: &str, key: &str) -> Option<String> {
        (self.lookup)(self.links.get(link)?, key)
    }

    /// A template with its `${service.key}` references and `${NAME}`
    /// variables filled in.
    pub fn render(&self, template: &Template) -> String {
        template.render(|service, key| (self.lookup)(service, key), self.variable)
    }
}

/// How migrations and test databases reach a kind that speaks SQL.
#[derive(Debug, Clone)]
pub struct SqlAccess {
    pub user: String,
    /// The application database: migrations and seeds apply here.
    pub database: String,
    pub migrations: SqlDir,
    pub seeds: SqlDir,
}

/// How the testing library reaches a kind that speaks the Redis protocol.
#[derive(Debug, Clone)]
pub struct KeyValueAccess {
    pub password: Option<String>,
}

/// How the testing library reaches a kind that speaks S3.
#[derive(Debug, Clone)]
pub struct ObjectStoreAccess {
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
}

/// Running a server's own tools where it runs, for backups (`pg_dump`
/// beside the server natively, inside its container otherwise).
pub trait Tools {
    /// Run `argv` (`{input}` in it standing for where `input` can be read),
    /// its output into `out`.
    fn run(
        &self,
        argv: &[String],
        env: &[(String, String)],
        input: Option<&Path>,
        out: &mut dyn std::io::Write,
    ) -> Result<()>;

    /// Where such a tool reaches the server.
    fn endpoint(&self) -> &Endpoint;

    /// The server's data directory as such a tool sees it.
    fn data_dir(&self) -> &str;
}

/// One file of a service's backup.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackupFile {
    /// Its name in the service's part of the archive.
    pub file: String,
    /// The database it holds, for kinds with several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// How a kind restores its backup.
pub enum Restore {
    /// Into the running server, which it did.
    Done,
    /// As new data: these files (a path in the data directory, a file to
    /// copy there) make the service's next data generation, which it
    /// starts on.
    NewData(Vec<(String, PathBuf)>),
}

/// One service's kind-specific settings, and what the kind does with them.
pub trait KindSettings: Send + Sync + std::fmt::Debug {
    /// The kind's name (`postgres`).
    fn kind(&self) -> &'static str;

    /// The connection values this kind exports, usable as `${service.key}`.
    fn connection_keys(&self) -> &'static [&'static str];

    /// Whether the service keeps its data unless `persist` says otherwise.
    fn persists_by_default(&self) -> bool;

    /// The secrets the kind needs (a `password` is what it logs in with).
    fn secrets(&self) -> Vec<Secret> {
        Vec::new()
    }

    /// The services it works with; each must exist and be of its kind, and
    /// starts first.
    fn links(&self) -> Vec<Link> {
        Vec::new()
    }

    /// Rules across the kind's keys and the shared ones (the runtime, the
    /// port, persistence).
    fn validate(&self, _shared: &SharedSettings) -> Result<(), SettingsError> {
        Ok(())
    }

    /// The `${service.key}` templates among the settings, with the key and
    /// span they came from, for checking the names they use.
    fn templates(&self) -> Vec<(&'static str, Span, &Template)> {
        Vec::new()
    }

    /// The image when the stack file names none (`postgres:17`); `None`
    /// for a kind that has no default.
    fn default_image(&self) -> Option<String>;

    /// The port the server listens on inside its container.
    fn container_port(&self, ctx: &ServiceContext) -> u16;

    /// The connection values for the service reached at `at`.
    fn connection(&self, ctx: &ServiceContext, at: &Endpoint) -> Vec<ConnectionValue>;

    /// One readiness attempt over the kind's protocol, from the host. `Err`
    /// carries what the probe saw, shown if the wait times out.
    fn probe(&self, ctx: &ServiceContext, at: &Endpoint) -> Result<(), String>;

    /// A readiness command to run where the service runs (inside its
    /// container, or on the host), instead of [`KindSettings::probe`].
    fn exec_probe(&self) -> Option<Vec<String>> {
        None
    }

    /// Idempotent setup once the service answers (databases, roles,
    /// extensions); safe to repeat after a crash at any point of it.
    fn provision(&self, _ctx: &ServiceContext, _at: &Endpoint) -> Result<()> {
        Ok(())
    }

    /// What provisioning sets up, as canonical text: provisioning runs again
    /// when it changes.
    fn provisioning(&self) -> String {
        String::new()
    }

    /// Load seed data other than SQL (which the migration runner loads):
    /// files into buckets, say. Like SQL seeds, they load once into what
    /// is new to berth (the kind marks what it seeded, in the data itself,
    /// so a run cut short loads them next time), and again on `berth seed`
    /// (`again`). Returns what was loaded, for people.
    fn seed(&self, _ctx: &ServiceContext, _at: &Endpoint, _again: bool) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Where the seed files [`KindSettings::seed`] loads are, for kinds
    /// that have them.
    fn seed_dir(&self) -> Option<&Path> {
        None
    }

    /// Whether the kind makes portable backups ([`KindSettings::backup`]).
    fn backs_up(&self) -> bool {
        false
    }

    /// A portable backup of the running service into the directory
    /// `dest`: logical dumps where the kind has them. Empty for a kind with
    /// nothing to back up this way.
    fn backup(
        &self,
        _ctx: &ServiceContext,
        _at: &Endpoint,
        _tools: &dyn Tools,
        _dest: &Path,
    ) -> Result<Vec<BackupFile>> {
        Ok(Vec::new())
    }

    /// Restore `files` (each with where it is, checked) into the running
    /// service: in place, replacing what they replace only once all of
    /// it loaded, or as new data. `scratch` is a directory for files the
    /// kind writes on the way.
    fn restore(
        &self,
        _ctx: &ServiceContext,
        _at: &Endpoint,
        _tools: &dyn Tools,
        _files: &[(BackupFile, PathBuf)],
        _scratch: &Path,
    ) -> Result<Restore> {
        Ok(Restore::Done)
    }

    /// The team's own one-time setup scripts (postgres's `init`: what the
    /// official image runs from `/docker-entrypoint-initdb.d`), in the
    /// order they run: when the service's data is first made, after
    /// provisioning, before migrations.
    fn init_scripts(&self) -> Result<Vec<PathBuf>> {
        Ok(Vec::new())
    }

    /// Run one of [`KindSettings::init_scripts`] against the running
    /// server, with the server's own tools where it runs.
    fn run_init_script(
        &self,
        _ctx: &ServiceContext,
        _tools: &dyn Tools,
        _script: &Path,
    ) -> Result<()> {
        Ok(())
    }

    /// Files that set the server up the way provisioning does, for a
    /// server berth does not start (an exported stack): put into its
    /// container before its first start.
    fn init_files(&self, _ctx: &ServiceContext) -> Vec<ContainerFile> {
        Vec::new()
    }

    /// For kinds that take SQL migrations: the login and directories.
    fn sql(&self, _ctx: &ServiceContext) -> Option<SqlAccess> {
        None
    }

    /// For kinds that speak the Redis protocol: how tests reach them.
    fn key_value(&self, _ctx: &ServiceContext) -> Option<KeyValueAccess> {
        None
    }

    /// For kinds that speak S3: how tests reach them.
    fn object_store(&self, _ctx: &ServiceContext) -> Option<ObjectStoreAccess> {
        None
    }

    /// How to run the service as host processes.
    fn native(&self, ctx: &ServiceContext) -> NativeLaunch;

    /// How to run the service as a container (the image is the default;
    /// the stack chooses the one to run).
    fn container(&self, ctx: &ServiceContext) -> ContainerLaunch;
}
