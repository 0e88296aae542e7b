//! Reading a stack without changing it: no lock taken, nothing created or
//! chosen. What `doctor`, `logs`, `env`, `migrate` and `db` look at.

use std::path::Path;

use crate::config::model::StackConfig;
use crate::error::{Error, Result};
use crate::migrate::target::Target;
use crate::plan::runtime_kind::RuntimeKind;
use crate::runtime::contract::{Requirement, RunState};
use crate::runtime::native::binaries::{self, Install};
use crate::runtime::native::user::ServiceUser;
use crate::runtime::registry::Runtimes;
use crate::stack::resolved::{Pins, Stack};
use crate::stack::service::Service;
use crate::state::StateDir;
use crate::suggest::list;

/// Where the stack's state lives: `state_dir` if given, else
/// `.berth/<stack>` beside the stack file; there, when the servers' user
/// could not reach the servers' data, that is kept where it can (see
/// [`crate::state`]).
pub fn state_dir(config: &StackConfig, state_dir: Option<&Path>) -> Result<StateDir> {
    Ok(match state_dir {
        Some(d) => StateDir::chosen(d, &config.root)?,
        None => {
            let dir = StateDir::for_stack(&config.root, &config.name);
            match servers_shut_out(config, &dir) {
                Some(why) => dir.with_servers_home(&config.root, &config.name, why),
                None => dir,
            }
        }
    })
}

/// Why native servers could not enter the stack's state directory (the
/// native runtime's service user says), if the stack has any.
fn servers_shut_out(config: &StackConfig, dir: &StateDir) -> Option<String> {
    if !config
        .services
        .iter()
        .any(|s| s.runtime == RuntimeKind::Native)
    {
        return None;
    }
    ServiceUser::shut_out_of(&dir.root)
}

/// The stack as its state has it now.
pub fn open(config: StackConfig, dir: StateDir) -> Result<Stack> {
    let state = dir.load()?;
    Ok(Stack::resolve(config, dir, &state, &Pins::new()))
}

/// Where each service's log is, for `berth logs`. A container's log lives
/// in the engine; each [`Logs::files`] call refreshes its copy in the state
/// directory, so following a log is polling this.
pub struct Logs {
    runtimes: Runtimes,
}

impl Logs {
    pub fn new(stack: &Stack) -> Logs {
        Logs {
            runtimes: Runtimes::new(stack.name(), &stack.dir),
        }
    }

    /// Each of `services` with the path of its log, brought up to date.
    pub fn files(&self, services: &[&Service]) -> Result<Vec<(String, std::path::PathBuf)>> {
        services
            .iter()
            .map(|s| Ok((s.name.clone(), self.runtimes.of(&s.plan)?.log_file(&s.name))))
            .collect()
    }
}

/// Whether each service can run here (binaries, versions, access): the
/// runtime's finding, or the error it would fail `up` with.
pub fn check_services(stack: &Stack) -> Result<Vec<(String, Result<Requirement>)>> {
    let runtimes = Runtimes::new(stack.name(), &stack.dir);
    stack
        .services
        .iter()
        .map(|s| Ok((s.name.clone(), runtimes.of(&s.plan)?.check(&s.plan))))
        .collect()
}

/// The installs of each native service's server program that tell what
/// parts they have (PostgreSQL's, their extensions), for `doctor`: the
/// service, the program, and the installs, found as `up` would search.
pub fn installs(stack: &Stack) -> Vec<(String, String, Vec<Install>)> {
    stack
        .services
        .iter()
        .filter(|s| s.runtime == RuntimeKind::Native)
        .filter_map(|s| {
            let launch = s.plan.native().ok()?;
            launch.binary.provides.as_ref()?;
            Some((
                s.name.clone(),
                launch.binary.program.clone(),
                binaries::installs(&launch.binary),
            ))
        })
        .collect()
}

/// The engines the stack's runtimes run on, for `doctor`: each runtime
/// that needs one, with its name and version or why none answers.
pub fn engines(stack: &Stack) -> Result<Vec<(RuntimeKind, std::result::Result<String, String>)>> {
    let runtimes = Runtimes::new(stack.name(), &stack.dir);
    let mut kinds: Vec<RuntimeKind> = stack.services.iter().map(|s| s.runtime).collect();
    kinds.sort();
    kinds.dedup();
    let mut out = Vec::new();
    for kind in kinds {
        if let Some(engine) = runtimes.get(kind)?.engine() {
            out.push((kind, engine));
        }
    }
    Ok(out)
}

/// Whether each service is running, by name.
pub fn run_states(stack: &Stack) -> Result<Vec<(String, RunState)>> {
    let runtimes = Runtimes::new(stack.name(), &stack.dir);
    stack
        .services
        .iter()
        .map(|s| Ok((s.name.clone(), runtimes.of(&s.plan)?.state(&s.plan)?)))
        .collect()
}

/// The databases `berth migrate` works on: every service that takes
/// migrations, or only `only`. Each with whether its service is running.
pub fn migration_targets(stack: &Stack, only: Option<&str>) -> Result<Vec<(Target, bool)>> {
    let taking = Taking {
        what: "migrations",
        which: "migrations apply to `postgres` services",
    };
    choose(stack, only, &taking, |s| s.migration_target())
}

/// What `berth seed` loads seed files into.
pub enum SeedTarget {
    /// A database: its SQL seed files.
    Sql(Box<Target>),
    /// A service whose kind loads files of its own (an object store's).
    Files(Box<Service>),
}

/// What `berth seed` works on: every service that takes seed files, or
/// only `only`. Each with whether its service is running.
pub fn seed_targets(stack: &Stack, only: Option<&str>) -> Result<Vec<(SeedTarget, bool)>> {
    let taking = Taking {
        what: "seed files",
        which: "`postgres` services take SQL seeds, `s3` services files for their buckets",
    };
    choose(stack, only, &taking, |s| match s.migration_target() {
        Some(target) => Some(SeedTarget::Sql(Box::new(target))),
        None => s
            .settings
            .seed_dir()
            .map(|_| SeedTarget::Files(Box::new(s.clone()))),
    })
}

/// What a command works on, for its error messages.
struct Taking {
    what: &'static str,
    which: &'static str,
}

/// The services `pick` takes something from (all, or `only`), each with
/// whether it is running.
fn choose<T>(
    stack: &Stack,
    only: Option<&str>,
    taking: &Taking,
    pick: impl Fn(&Service) -> Option<T>,
) -> Result<Vec<(T, bool)>> {
    let what = taking.what;
    let mut takers: Vec<(&Service, T)> = stack
        .services
        .iter()
        .filter_map(|s| Some((s, pick(s)?)))
        .collect();
    if let Some(name) = only {
        let names: Vec<&str> = takers.iter().map(|(s, _)| s.name.as_str()).collect();
        let names = if names.is_empty() {
            "(none)".to_string()
        } else {
            list(&names)
        };
        let message = match stack.service(name) {
            Some(s) => format!(
                "service `{name}` is a {} service, which takes no {what}",
                s.kind()
            ),
            None => format!("no service `{name}` in stack `{}`", stack.name()),
        };
        takers.retain(|(s, _)| s.name == name);
        if takers.is_empty() {
            return Err(Error::usage(
                message,
                Some(format!("the services with {what} are: {names}")),
            ));
        }
    }
    if takers.is_empty() {
        return Err(Error::usage(
            format!("stack `{}` has no service that takes {what}", stack.name()),
            Some(taking.which.into()),
        ));
    }
    let runtimes = Runtimes::new(stack.name(), &stack.dir);
    takers
        .into_iter()
        .map(|(s, taken)| {
            let running = matches!(
                runtimes.of(&s.plan)?.state(&s.plan)?,
                RunState::Running { .. }
            );
            Ok((taken, running))
        })
        .collect()
}
