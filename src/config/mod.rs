//! `berth.toml`: the stack file.
//!
//! Loading is three layers, each winning over the one before: the file's
//! top-level values, the selected profile (`[profiles.NAME]`), then
//! environment variables — the generic `BERTH_<SERVICE>_<KEY>` scheme and the
//! explicit names the file lists under `[overrides]` (`TILEMUD_PG_PORT =
//! "postgres.port"`). Every error points at the file, line and column of the
//! offending text, or names the environment variable it came from.

pub mod duration;
pub mod generic;
mod resolve;
pub mod schema;
mod source;
pub mod suggest;
pub mod template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use generic::{PortMapping, Ready, Volume, VolumeSource};
pub use resolve::generic_var;
pub use schema::PortSetting;
pub use source::{SourceFile, SourceLocation, Span};
pub use template::Template;

use crate::error::{Error, IoContext, Result};

/// The stack file's conventional name.
pub const FILE_NAME: &str = "berth.toml";

/// The fully resolved stack file.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// Prefix of everything berth creates for this stack.
    pub name: String,
    pub profile: Option<String>,
    /// The stack file.
    pub file: PathBuf,
    /// The directory holding the stack file; relative paths start here.
    pub root: PathBuf,
    pub services: Vec<ServiceConfig>,
    pub env: EnvConfig,
    /// `[overrides]`: (variable, service, key).
    pub overrides: Vec<(String, String, String)>,
    pub source: Arc<SourceFile>,
}

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub name: String,
    pub kind: String,
    pub runtime: String,
    /// The container image (container runtime); default: the kind's.
    pub image: Option<String>,
    pub version: Option<semver::VersionReq>,
    pub version_text: Option<String>,
    pub port: PortSetting,
    pub user: Option<String>,
    pub password: Option<String>,
    pub database: Option<String>,
    pub databases: Vec<String>,
    pub extensions: Vec<String>,
    pub roles: Vec<Role>,
    pub persist: Option<bool>,
    pub appendonly: Option<bool>,
    pub maxmemory: Option<String>,
    pub settings: BTreeMap<String, String>,
    pub ready_timeout: Duration,
    /// SQL migrations, for kinds that take them (postgres).
    pub migrations: Option<SqlDir>,
    /// SQL seed data, for kinds that take it (postgres).
    pub seeds: Option<SqlDir>,
    pub depends_on: Vec<toml::Spanned<String>>,
    /// Generic services: the program and its arguments (natively), or the
    /// image's command (in a container); `${service.key}` references allowed.
    pub command: Vec<Template>,
    /// Generic services: the port the server listens on in its container.
    pub container_port: Option<u16>,
    /// Generic services: extra ports published on loopback.
    pub extra_ports: Vec<PortMapping>,
    /// Generic services: environment variables, `${service.key}` allowed.
    pub env: Vec<(String, Template)>,
    /// Generic services in containers: named volumes and bind mounts.
    pub volumes: Vec<Volume>,
    /// Generic services: the readiness probe (default: tcp).
    pub ready: Option<Ready>,
    /// Where the service's table starts, for errors about the service.
    pub span: Span,
}

/// A directory of SQL files, absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlDir {
    pub path: PathBuf,
    /// Named in the stack file or the environment. A configured directory
    /// that does not exist is an error; a missing default one means none.
    pub configured: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub password: Option<String>,
    pub login: bool,
    pub superuser: bool,
}

#[derive(Debug, Clone)]
pub struct EnvConfig {
    /// The env file, relative to the stack's root.
    pub file: PathBuf,
    /// Variable name and template, in file order; `None` means the default
    /// `<SERVICE>_<KEY>` variables for every connection value.
    pub vars: Option<Vec<(String, Template)>>,
}

/// What selects and overrides a stack, besides the file itself.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub profile: Option<String>,
    /// Replaces the stack name (for parallel instances of one file).
    pub name: Option<String>,
    /// Runs every service on this runtime, whatever the file says
    /// (`--runtime`, `BERTH_RUNTIME`).
    pub runtime: Option<String>,
}

pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);
pub const RUNTIMES: &[&str] = &["native", "container"];

/// Read and resolve a stack file. `env` looks up environment variables (the
/// process environment in the CLI; tests pass their own).
pub fn load(
    file: &Path,
    options: &LoadOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<StackConfig> {
    let text = std::fs::read_to_string(file)
        .context(|| format!("could not read the stack file `{}`", file.display()))?;
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    parse(&file, text, options, env)
}

/// Resolve stack-file text as if read from `file`.
pub fn parse(
    file: &Path,
    text: String,
    options: &LoadOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<StackConfig> {
    let source = Arc::new(SourceFile::new(file, text));
    resolve::resolve(source, options, env)
}

/// Find the stack file: `berth.toml` in `dir` or the nearest ancestor.
pub fn discover(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

/// A config error pointing at `span` in `source`.
pub(crate) fn error_at(
    source: &SourceFile,
    span: &Span,
    message: impl Into<String>,
    hint: Option<String>,
) -> Error {
    Error::Config {
        message: message.into(),
        location: Some(Box::new(source.locate(span))),
        hint,
    }
}

impl StackConfig {
    pub fn service(&self, name: &str) -> Option<&ServiceConfig> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The `[overrides]` variable that sets `service.key`, if any.
    pub fn explicit_override(&self, service: &str, key: &str) -> Option<&str> {
        self.overrides
            .iter()
            .find(|(_, s, k)| s == service && k == key)
            .map(|(v, _, _)| v.as_str())
    }

    pub fn env_file(&self) -> PathBuf {
        self.root.join(&self.env.file)
    }
}
