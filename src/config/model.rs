//! The stack file, resolved: every layer applied, every value typed and
//! checked.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::kind::contract::{KindSettings, Links};
use crate::plan::runtime_kind::RuntimeKind;
use crate::source::{SourceFile, Span};
use crate::template::Template;

/// The stack file's conventional name.
pub const FILE_NAME: &str = "berth.toml";

pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Automatic snapshots kept when the stack file does not say.
pub const DEFAULT_SNAPSHOTS_KEPT: u32 = 5;

#[derive(Debug, Clone)]
pub struct StackConfig {
    /// Prefix of everything berth creates for this stack.
    pub name: String,
    pub profile: Option<String>,
    /// The stack file.
    pub file: PathBuf,
    /// The directory holding the stack file; relative paths start here.
    pub root: PathBuf,
    /// In the order the file lists them.
    pub services: Vec<ServiceConfig>,
    pub env: EnvConfig,
    /// `[overrides]`: explicit variable names for single values.
    pub overrides: Vec<Override>,
    /// How many automatic snapshots to keep (`[snapshots] keep`).
    pub snapshots_kept: u32,
    /// `dotenv`: files of variables, relative to `root`, as listed.
    pub dotenv: Vec<PathBuf>,
    /// The `${NAME}` variables the stack uses that have a value, with it
    /// (from the environment or a `dotenv` file).
    pub variables: BTreeMap<String, String>,
    pub source: Arc<SourceFile>,
}

/// One service: the keys every service has, and its kind's settings.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub name: String,
    pub runtime: RuntimeKind,
    /// The image the stack file names (for the container runtime).
    pub image: Option<String>,
    pub port: PortSetting,
    /// Whether the data outlives `down` (the kind's default unless set).
    pub persist: bool,
    pub ready_timeout: Duration,
    /// The services this one waits for, with where each is named.
    pub depends_on: Vec<(String, Span)>,
    pub settings: Arc<dyn KindSettings>,
    /// The services its kind works with, by link key (resolved and checked).
    pub links: Links,
    /// Where the service's table starts, for errors about the service.
    pub span: Span,
    /// The environment variable that set `port`, if one did.
    pub port_from_env: Option<String>,
    /// Where `port` is set, when it is.
    pub port_span: Option<Span>,
    /// The service's keys with the profile and the environment applied,
    /// as a table: what an export writes back as `berth.toml`.
    pub keys: toml::Table,
}

impl ServiceConfig {
    pub fn kind(&self) -> &'static str {
        self.settings.kind()
    }

    /// The image to run on a runtime with images: the one named, else the
    /// kind's default.
    pub fn image(&self) -> Option<String> {
        if !self.runtime.uses_images() {
            return None;
        }
        self.image.clone().or_else(|| self.settings.default_image())
    }
}

#[derive(Debug, Clone)]
pub struct EnvConfig {
    /// The env file, relative to the stack's root.
    pub file: PathBuf,
    /// Variable name and template, in file order; `None` means the default
    /// `<SERVICE>_<KEY>` variables for every connection value.
    pub vars: Option<Vec<(String, Template)>>,
}

/// `TILEMUD_PG_PORT = "postgres.port"`: a variable of the user's own naming
/// that sets one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub var: String,
    pub service: String,
    pub key: String,
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

/// `port = 5438` or `port = "auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PortSetting {
    Fixed(u16),
    Auto,
}

impl PortSetting {
    pub fn parse(text: &str) -> Option<PortSetting> {
        if text.trim() == "auto" {
            return Some(PortSetting::Auto);
        }
        match text.trim().parse::<u16>() {
            Ok(0) | Err(_) => None,
            Ok(port) => Some(PortSetting::Fixed(port)),
        }
    }

    pub fn fixed(self) -> Option<u16> {
        match self {
            PortSetting::Fixed(p) => Some(p),
            PortSetting::Auto => None,
        }
    }
}

impl<'de> Deserialize<'de> for PortSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = PortSetting;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a port number from 1 to 65535, or \"auto\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PortSetting, E> {
                match u16::try_from(v) {
                    Ok(p) if p > 0 => Ok(PortSetting::Fixed(p)),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Signed(v), &self)),
                }
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PortSetting, E> {
                match u16::try_from(v) {
                    Ok(p) if p > 0 => Ok(PortSetting::Fixed(p)),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Unsigned(v), &self)),
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PortSetting, E> {
                PortSetting::parse(v)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(Visitor)
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
            .find(|o| o.service == service && o.key == key)
            .map(|o| o.var.as_str())
    }

    pub fn env_file(&self) -> PathBuf {
        self.root.join(&self.env.file)
    }

    /// The stack file's name, for messages (`berth.toml`).
    pub fn file_name(&self) -> String {
        self.file
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| FILE_NAME.to_string())
    }
}
