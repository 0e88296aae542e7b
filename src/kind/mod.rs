//! Service kinds: *what* runs.
//!
//! A kind knows its defaults, how to run natively (binaries, initialization,
//! server arguments, see [`launch`]), how to probe readiness over its own
//! protocol from the host, what connection values it exports and what it
//! sets up once ready (databases, roles, extensions). It never knows where it
//! runs: runtimes consume its descriptions, and the shared lifecycle calls its
//! probe against whatever endpoint the runtime published.

mod generic;
pub mod launch;
mod postgres;
mod redis;

use crate::config::ServiceConfig;
use crate::error::Result;
use crate::stack::ServiceSpec;

pub use launch::{
    Arg, BinarySpec, ContainerLaunch, InitStep, NativeLaunch, ServerSpec, StopSignal,
};
pub(crate) use postgres::quote_ident;

/// Where a service answers, as seen from the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// One connection value a service exports (`host`, `port`, `url`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionValue {
    pub key: &'static str,
    pub value: String,
    /// The same value with secrets replaced by `****`, for display.
    pub masked: String,
    /// Whether the value holds a secret (blanked in `.env.example`).
    pub secret: bool,
}

pub trait ServiceKind: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    /// Stack-file keys that make sense for this kind, beyond the ones every
    /// service has (`kind`, `runtime`, `port`, `ready_timeout`, `depends_on`).
    fn keys(&self) -> &'static [&'static str];

    /// The connection values this kind exports, usable as `${service.key}`.
    fn connection_keys(&self) -> &'static [&'static str];

    /// Whether the service is persistent unless `persist` says otherwise.
    fn persists_by_default(&self) -> bool;

    /// Whether a password is generated when none is configured.
    fn uses_password(&self) -> bool;

    /// Check kind-specific rules the schema cannot express; returns the
    /// offending key and what is wrong.
    fn validate(&self, _svc: &ServiceConfig) -> Result<(), (&'static str, String)> {
        Ok(())
    }

    /// The connection values for a running service at `endpoint`.
    fn connection(&self, svc: &ServiceSpec, endpoint: &Endpoint) -> Vec<ConnectionValue>;

    /// One readiness attempt over the service's own protocol. `Err` carries
    /// what the probe saw, shown if the wait times out.
    fn probe(&self, svc: &ServiceSpec, endpoint: &Endpoint) -> Result<(), String>;

    /// A readiness command to run where the service runs (inside its
    /// container, or on the host), instead of [`ServiceKind::probe`].
    fn exec_probe(&self, _svc: &ServiceSpec) -> Option<Vec<String>> {
        None
    }

    /// Idempotent setup once the service answers: databases, roles,
    /// extensions.
    fn provision(&self, _svc: &ServiceSpec, _endpoint: &Endpoint) -> Result<()> {
        Ok(())
    }

    /// For kinds that take SQL migrations: the user berth logs in as and
    /// the application database that migrations and seeds apply to.
    fn sql_login(&self, _svc: &ServiceSpec) -> Option<(String, String)> {
        None
    }

    /// How to run the service as host processes.
    fn native(&self, svc: &ServiceSpec) -> NativeLaunch;

    /// How to run the service as a container.
    fn container(&self, svc: &ServiceSpec) -> ContainerLaunch;
}

static KINDS: &[&dyn ServiceKind] = &[&postgres::Postgres, &redis::Redis, &generic::Generic];

pub fn lookup(name: &str) -> Option<&'static dyn ServiceKind> {
    KINDS.iter().copied().find(|k| k.name() == name)
}

pub fn names() -> impl Iterator<Item = &'static str> {
    KINDS.iter().map(|k| k.name())
}

/// The user and database migrations run with, for kinds that take them.
pub fn sql_login(svc: &ServiceSpec) -> Option<(String, String)> {
    svc.kind.sql_login(svc)
}

/// Keys every service accepts whatever its kind.
pub const COMMON_KEYS: &[&str] = &[
    "kind",
    "runtime",
    "image",
    "port",
    "ready_timeout",
    "depends_on",
];

/// Percent-encode a URL userinfo component (user or password).
pub(crate) fn url_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) const MASK: &str = "****";
