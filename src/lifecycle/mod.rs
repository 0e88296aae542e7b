//! The shared lifecycle — `up`, `down`, `reset`, `status` — written against
//! the kind and runtime traits only. The library reports progress through a
//! [`Reporter`]; rendering it is the CLI's business.

mod down;
mod images;
mod schedule;
mod status;
mod up;

use std::time::Duration;

pub use down::{down, reset};
pub use images::{drift_error, lock as lock_images, verify, ServiceVerdict};
pub use status::{status, Health, ServiceStatus};
pub use up::{up, ServiceReport, UpAction, UpOptions};

use crate::config::StackConfig;
use crate::error::Result;
use crate::runtime::{self, Runtime};
use crate::stack::{ServiceSpec, Stack};
use crate::state::StateDir;

/// What happens to a service, as it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Downloading `image`: bytes done of total so far (layers still being
    /// discovered add to the total).
    Pulling {
        image: String,
        done: u64,
        total: u64,
    },
    Initializing,
    Starting,
    /// Probing; `last` is what the latest probe saw.
    Waiting {
        last: String,
        elapsed: Duration,
    },
    Provisioning,
    /// Applying migration `file`, the `done + 1`th of `total`.
    Migrating {
        file: String,
        done: usize,
        total: usize,
    },
    Seeding,
    Ready {
        elapsed: Duration,
    },
    AlreadyRunning,
    Stopping,
    Stopped,
    Wiped,
    Failed {
        message: String,
    },
    Skipped {
        because: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    /// Another berth command holds the stack lock.
    LockWait {
        holder: &'a str,
    },
    /// Another session holds a database's migration lock.
    MigrationLockWait {
        service: &'a str,
        /// Its server process id.
        holder: Option<i32>,
    },
    Warning {
        message: String,
    },
    Phase {
        service: &'a str,
        phase: Phase,
    },
}

pub trait Reporter: Sync {
    fn event(&self, event: Event);
}

/// A reporter that discards everything (for library users who do not care).
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _: Event) {}
}

/// Where the stack's state lives: `state_dir` if given, else
/// `.berth/<stack>` beside the stack file.
pub fn state_dir(config: &StackConfig, state_dir: Option<&std::path::Path>) -> StateDir {
    match state_dir {
        Some(d) => StateDir::new(std::path::absolute(d).unwrap_or_else(|_| d.to_path_buf())),
        None => StateDir::for_stack(&config.root, &config.name),
    }
}

/// One runtime instance per runtime the stack uses.
pub(crate) struct Runtimes {
    by_name: Vec<(String, Box<dyn Runtime>)>,
}

impl Runtimes {
    pub fn for_stack(stack: &Stack) -> Result<Runtimes> {
        let mut by_name: Vec<(String, Box<dyn Runtime>)> = Vec::new();
        for svc in &stack.services {
            if !by_name.iter().any(|(n, _)| n == &svc.config.runtime) {
                by_name.push((
                    svc.config.runtime.clone(),
                    runtime::for_name(&svc.config.runtime, stack.name(), &stack.dir)?,
                ));
            }
        }
        Ok(Runtimes { by_name })
    }

    /// Each runtime's [`Runtime::prepare_stack`]; the first error.
    pub fn prepare_stack(&self) -> Result<()> {
        self.by_name.iter().try_for_each(|(_, r)| r.prepare_stack())
    }

    /// Each runtime's [`Runtime::release_stack`], after a failed start:
    /// best effort, the start's own error is the one to report.
    pub fn release_stack(&self) {
        for (_, r) in &self.by_name {
            let _ = r.release_stack();
        }
    }

    pub fn of(&self, svc: &ServiceSpec) -> &dyn Runtime {
        self.by_name
            .iter()
            .find(|(n, _)| n == &svc.config.runtime)
            .map(|(_, r)| r.as_ref())
            .expect("a runtime for every service")
    }
}

/// For each service, the indexes of the services it depends on.
pub(crate) fn dependencies(stack: &Stack) -> Vec<Vec<usize>> {
    stack
        .services
        .iter()
        .map(|s| {
            s.depends_on
                .iter()
                .filter_map(|d| stack.services.iter().position(|o| &o.name == d))
                .collect()
        })
        .collect()
}

/// For each service, the indexes of the services that depend on it.
pub(crate) fn dependents(stack: &Stack) -> Vec<Vec<usize>> {
    let deps = dependencies(stack);
    (0..stack.services.len())
        .map(|i| (0..deps.len()).filter(|&j| deps[j].contains(&i)).collect())
        .collect()
}

/// Take the stack lock for `command`, telling the reporter whom we wait for.
pub(crate) fn lock(
    config: &StackConfig,
    dir: &StateDir,
    command: &str,
    reporter: &dyn Reporter,
) -> Result<crate::stack_lock::StackLock> {
    crate::stack_lock::StackLock::acquire(
        dir,
        &config.name,
        command,
        crate::stack_lock::StackLock::timeout_from_env(),
        &mut |holder| reporter.event(Event::LockWait { holder }),
    )
}

/// One readiness attempt, the way the service's kind asks for: its
/// protocol probe from the host, or a command where the service runs.
/// `Ok(Err(seen))` is a probe that failed; `Err` a runtime that could not
/// try.
pub fn probe_once(
    svc: &ServiceSpec,
    runtime: &dyn runtime::Runtime,
) -> Result<std::result::Result<(), String>> {
    match svc.kind.exec_probe(svc) {
        Some(command) => runtime.exec(svc, &command),
        None => Ok(svc.kind.probe(svc, &svc.endpoint())),
    }
}

/// Open a stack for reading: no lock, nothing created or chosen.
pub fn open(config: StackConfig, dir: StateDir) -> Result<Stack> {
    let state = dir.load()?;
    Stack::new(config, dir, &state)
}

/// Where each service's log is, for `berth logs`. A container's log lives
/// in the engine; each [`Logs::files`] call refreshes its copy in the state
/// directory, so following a log is polling this.
pub struct Logs {
    runtimes: Runtimes,
}

impl Logs {
    pub fn new(stack: &Stack) -> Result<Logs> {
        Ok(Logs {
            runtimes: Runtimes::for_stack(stack)?,
        })
    }

    /// Each of `services` with the path of its log, brought up to date.
    pub fn files(&self, services: &[&ServiceSpec]) -> Vec<(String, std::path::PathBuf)> {
        services
            .iter()
            .map(|s| (s.name.clone(), self.runtimes.of(s).log_file(s)))
            .collect()
    }
}

/// Check each service can run here (binaries, versions, access): the
/// runtime's finding, or the error it would fail `up` with.
pub fn check_services(
    stack: &Stack,
) -> Result<
    Vec<(
        String,
        std::result::Result<runtime::Requirement, crate::Error>,
    )>,
> {
    let runtimes = Runtimes::for_stack(stack)?;
    Ok(stack
        .services
        .iter()
        .map(|s| (s.name.clone(), runtimes.of(s).check(s)))
        .collect())
}

/// The engines the stack's runtimes run on, for `doctor`: each runtime
/// that needs one, with its name and version or why none answers.
pub fn engines(stack: &Stack) -> Result<Vec<(String, std::result::Result<String, String>)>> {
    let runtimes = Runtimes::for_stack(stack)?;
    Ok(runtimes
        .by_name
        .iter()
        .filter_map(|(name, r)| r.engine().map(|e| (name.clone(), e)))
        .collect())
}

/// Whether each service is running, by name.
pub fn run_states(stack: &Stack) -> Result<Vec<(String, runtime::RunState)>> {
    let runtimes = Runtimes::for_stack(stack)?;
    stack
        .services
        .iter()
        .map(|s| Ok((s.name.clone(), runtimes.of(s).state(s)?)))
        .collect()
}

/// The databases `berth migrate` works on: every service that takes
/// migrations, or only `only`. Each with whether its service is running.
pub fn migration_targets(
    stack: &Stack,
    only: Option<&str>,
) -> Result<Vec<(crate::migrate::Target, bool)>> {
    let takes: Vec<&ServiceSpec> = stack
        .services
        .iter()
        .filter(|s| crate::migrate::Target::of(s).is_some())
        .collect();
    let chosen: Vec<&ServiceSpec> = match only {
        None => takes,
        Some(name) => match stack.services.iter().find(|s| s.name == name) {
            Some(s) if takes.iter().any(|t| t.name == name) => vec![s],
            Some(s) => {
                return Err(crate::Error::usage(
                    format!(
                        "service `{name}` is a {} service, which takes no migrations",
                        s.kind.name()
                    ),
                    Some(format!(
                        "the services with migrations are: {}",
                        names_of(&takes)
                    )),
                ))
            }
            None => {
                return Err(crate::Error::usage(
                    format!("no service `{name}` in stack `{}`", stack.name()),
                    Some(format!(
                        "the services with migrations are: {}",
                        names_of(&takes)
                    )),
                ))
            }
        },
    };
    if chosen.is_empty() {
        return Err(crate::Error::usage(
            format!(
                "stack `{}` has no service that takes migrations",
                stack.name()
            ),
            Some("migrations apply to `postgres` services".into()),
        ));
    }
    let runtimes = Runtimes::for_stack(stack)?;
    chosen
        .into_iter()
        .map(|s| {
            let running = matches!(runtimes.of(s).state(s)?, runtime::RunState::Running { .. });
            Ok((
                crate::migrate::Target::of(s).expect("filtered above"),
                running,
            ))
        })
        .collect()
}

fn names_of(services: &[&ServiceSpec]) -> String {
    if services.is_empty() {
        return "(none)".into();
    }
    services
        .iter()
        .map(|s| format!("`{}`", s.name))
        .collect::<Vec<_>>()
        .join(", ")
}
