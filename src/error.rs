//! One error type for the whole library.
//!
//! Every variant carries the context a user needs to act (the service, the
//! port, the file and position) and belongs to exactly one failure class,
//! which decides the process exit code. The CLI renders an error as
//! `error:` + optional source snippet + details + `hint:`; the library never
//! prints.

use std::path::PathBuf;
use std::time::Duration;

use crate::source::SourceLocation;

/// The underlying error of one of berth's errors, printed as `Caused by:`
/// (an engine's or a database's error, an I/O error).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Failure classes, each with its own exit code (documented in the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitClass {
    /// Anything without a more specific class.
    Failure = 1,
    /// Bad command line or stack file.
    Usage = 2,
    /// The machine is not ready: a port is taken, a binary is missing,
    /// resources are hopelessly short.
    Preflight = 3,
    /// A service did not become ready in time, or exited while starting.
    Readiness = 4,
    /// A migration's recorded checksum does not match its file.
    MigrationIntegrity = 5,
    /// A locked image digest does not match the image in use.
    DigestDrift = 6,
    /// Another berth command held the stack lock for too long.
    Busy = 7,
    /// Ctrl-C or SIGTERM.
    Interrupted = 130,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{message}")]
    Config {
        message: String,
        location: Option<Box<SourceLocation>>,
        hint: Option<String>,
    },

    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },

    #[error("port {port} for service `{service}` is already in use{}", holder.as_ref().map(|h| format!(" by {h}")).unwrap_or_default())]
    PortInUse {
        service: String,
        port: u16,
        holder: Option<String>,
        hint: String,
    },

    #[error("{message}")]
    Preflight {
        service: Option<String>,
        message: String,
        hint: Option<String>,
    },

    #[error("service `{service}` did not become ready within {}", crate::time::fmt_duration(*waited))]
    ReadinessTimeout {
        service: String,
        waited: Duration,
        last_probe: String,
        log: PathBuf,
        log_tail: Vec<String>,
    },

    #[error("service `{service}` exited while starting ({status})")]
    ServiceExited {
        service: String,
        status: String,
        log: PathBuf,
        log_tail: Vec<String>,
    },

    #[error("`{program}` failed for service `{service}` ({status})")]
    CommandFailed {
        service: String,
        program: String,
        status: String,
        output_tail: Vec<String>,
    },

    #[error("could not set up service `{service}`: {message}")]
    Provision {
        service: String,
        message: String,
        hint: Option<String>,
        #[source]
        source: Option<Cause>,
    },

    /// The migration files break a rule or disagree with the ledger.
    /// Found before anything runs: nothing was applied.
    #[error("{message}")]
    MigrationIntegrity {
        service: String,
        message: String,
        problems: Vec<String>,
        hint: Option<String>,
    },

    /// Images differ from what `berth.lock` pins (`verify`, `up --locked`).
    #[error("{message}")]
    ImageDrift {
        message: String,
        /// One line per service that drifted.
        problems: Vec<String>,
        hint: Option<String>,
    },

    /// A migration or seed file failed; its transaction was rolled back.
    #[error("`{}` failed on service `{}`: {}", .0.file, .0.service, .0.message)]
    MigrationFailed(Box<MigrationFailure>),

    /// Migrating could not proceed (the database did not answer, the
    /// ledger could not be read).
    #[error("could not migrate service `{service}`: {message}")]
    Migrate {
        service: String,
        message: String,
        hint: Option<String>,
        #[source]
        source: Option<Cause>,
    },

    /// A snapshot or backup that cannot be used as asked: missing, damaged,
    /// or taken of another stack or server.
    #[error("{message}")]
    Snapshot {
        message: String,
        hint: Option<String>,
    },

    /// A running service, or the engine running it, refused or failed a
    /// request berth made (test databases, key cleanup, a container).
    #[error("service `{service}`: {message}")]
    Service {
        service: String,
        message: String,
        hint: Option<String>,
        #[source]
        source: Option<Cause>,
    },

    /// The container engine failed a request about the stack as a whole
    /// (its network, the list of its containers).
    #[error("{message}")]
    Engine {
        message: String,
        #[source]
        source: Option<Cause>,
    },

    #[error("service `{service}`: another migration runner{} held the migration lock for {}", holder.map(|p| format!(" (server pid {p})")).unwrap_or_default(), crate::time::fmt_duration(*waited))]
    MigrationLockTimeout {
        service: String,
        holder: Option<i32>,
        waited: Duration,
    },

    #[error("stack `{stack}` is busy: {holder} has held its lock for {}", crate::time::fmt_duration(*waited))]
    Busy {
        stack: String,
        holder: String,
        waited: Duration,
    },

    #[error("interrupted")]
    Interrupted,

    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// Berth's own mistake: a state its code should make impossible.
    #[error("{message}")]
    Internal { message: String },
}

impl Error {
    pub fn class(&self) -> ExitClass {
        match self {
            Error::Config { .. } | Error::Usage { .. } => ExitClass::Usage,
            Error::PortInUse { .. } | Error::Preflight { .. } => ExitClass::Preflight,
            Error::ReadinessTimeout { .. } | Error::ServiceExited { .. } => ExitClass::Readiness,
            Error::Busy { .. } | Error::MigrationLockTimeout { .. } => ExitClass::Busy,
            Error::MigrationIntegrity { .. } => ExitClass::MigrationIntegrity,
            Error::ImageDrift { .. } => ExitClass::DigestDrift,
            Error::Interrupted => ExitClass::Interrupted,
            Error::CommandFailed { .. }
            | Error::Provision { .. }
            | Error::MigrationFailed(_)
            | Error::Migrate { .. }
            | Error::Service { .. }
            | Error::Snapshot { .. }
            | Error::Engine { .. }
            | Error::Io { .. }
            | Error::Internal { .. } => ExitClass::Failure,
        }
    }

    pub fn exit_code(&self) -> i32 {
        self.class() as i32
    }

    /// What the user can do about it, when berth knows.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Config { hint, .. }
            | Error::Usage { hint, .. }
            | Error::Preflight { hint, .. }
            | Error::Provision { hint, .. }
            | Error::MigrationIntegrity { hint, .. }
            | Error::ImageDrift { hint, .. }
            | Error::Migrate { hint, .. }
            | Error::Snapshot { hint, .. }
            | Error::Service { hint, .. } => hint.clone(),
            Error::MigrationFailed(f) => f.hint.clone(),
            Error::MigrationLockTimeout { .. } => Some(
                "wait for the other runner to finish, or raise the wait with `BERTH_LOCK_TIMEOUT` (seconds)"
                    .into(),
            ),
            Error::PortInUse { hint, .. } => Some(hint.clone()),
            Error::ReadinessTimeout { service, .. } | Error::ServiceExited { service, .. } => {
                Some(format!("see the whole log with `berth logs {service}`"))
            }
            Error::Busy { .. } => Some(
                "wait for the other command to finish, or raise the wait with `BERTH_LOCK_TIMEOUT` (seconds)"
                    .into(),
            ),
            Error::Interrupted => {
                Some("run `berth up` to finish starting, or `berth down` to stop what started".into())
            }
            Error::Engine { .. } => Some(
                "check that the container engine runs (`berth doctor` says which one answers)".into(),
            ),
            Error::Internal { .. } => Some(
                "this is a bug in berth; please report it with the command you ran".into(),
            ),
            Error::CommandFailed { .. } | Error::Io { .. } => None,
        }
    }

    /// Extra lines shown under the message: what a probe saw, log tails.
    pub fn details(&self) -> Vec<String> {
        match self {
            Error::ReadinessTimeout {
                last_probe,
                log,
                log_tail,
                ..
            } => {
                let mut lines = vec![format!("last probe: {last_probe}")];
                lines.extend(log_section(log, log_tail));
                lines
            }
            Error::ServiceExited { log, log_tail, .. } => log_section(log, log_tail),
            Error::CommandFailed { output_tail, .. } => {
                let mut lines = vec!["output:".to_string()];
                lines.extend(output_tail.iter().map(|l| format!("  {l}")));
                lines
            }
            Error::MigrationIntegrity { problems, .. } | Error::ImageDrift { problems, .. } => {
                problems.iter().map(|p| format!("- {p}")).collect()
            }
            Error::MigrationFailed(f) => f.details.clone(),
            _ => Vec::new(),
        }
    }

    pub fn location(&self) -> Option<&SourceLocation> {
        match self {
            Error::Config { location, .. } => location.as_deref(),
            Error::MigrationFailed(f) => f.location.as_ref(),
            _ => None,
        }
    }

    pub fn config(message: impl Into<String>) -> Error {
        Error::Config {
            message: message.into(),
            location: None,
            hint: None,
        }
    }

    pub fn usage(message: impl Into<String>, hint: impl Into<Option<String>>) -> Error {
        Error::Usage {
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// Where and why a migration or seed file failed.
#[derive(Debug)]
pub struct MigrationFailure {
    pub service: String,
    /// The file, as the user should read its path.
    pub file: String,
    /// The server's message.
    pub message: String,
    /// The server's detail, context and error code.
    pub details: Vec<String>,
    pub hint: Option<String>,
    pub location: Option<SourceLocation>,
}

fn log_section(log: &std::path::Path, tail: &[String]) -> Vec<String> {
    if tail.is_empty() {
        return vec![format!("log `{}` is empty", log.display())];
    }
    let mut lines = vec![format!("last lines of `{}`:", log.display())];
    lines.extend(tail.iter().map(|l| format!("  {l}")));
    lines
}

/// Attach a description of what was being done to an I/O error.
pub trait IoContext<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::io(what(), source))
    }
}

/// Box an error as the cause of one of berth's errors.
pub fn cause(e: impl std::error::Error + Send + Sync + 'static) -> Option<Cause> {
    Some(Box::new(e))
}
