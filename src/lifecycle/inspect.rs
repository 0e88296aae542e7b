//! Reading a stack without changing it: no lock taken, nothing created or
//! chosen. What `doctor`, `logs`, `env`, `migrate` and `db` look at.

use std::path::Path;

use crate::config::model::StackConfig;
use crate::error::{Error, Result};
use crate::migrate::target::Target;
use crate::plan::runtime_kind::RuntimeKind;
use crate::runtime::contract::{Requirement, RunState};
use crate::runtime::registry::Runtimes;
use crate::stack::resolved::{Pins, Stack};
use crate::stack::service::Service;
use crate::state::StateDir;
use crate::suggest::list;

/// Where the stack's state lives: `state_dir` if given, else
/// `.berth/<stack>` beside the stack file.
pub fn state_dir(config: &StackConfig, state_dir: Option<&Path>) -> StateDir {
    match state_dir {
        Some(d) => StateDir::new(std::path::absolute(d).unwrap_or_else(|_| d.to_path_buf())),
        None => StateDir::for_stack(&config.root, &config.name),
    }
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
    let takes: Vec<(&Service, Target)> = stack
        .services
        .iter()
        .filter_map(|s| Some((s, s.migration_target()?)))
        .collect();
    let names = || {
        let names: Vec<&str> = takes.iter().map(|(s, _)| s.name.as_str()).collect();
        if names.is_empty() {
            "(none)".to_string()
        } else {
            list(&names)
        }
    };
    let chosen: Vec<(&Service, Target)> = match only {
        None => takes.clone(),
        Some(name) => match stack.service(name) {
            Some(s) => match takes.iter().find(|(t, _)| t.name == name) {
                Some(found) => vec![found.clone()],
                None => {
                    return Err(Error::usage(
                        format!(
                            "service `{name}` is a {} service, which takes no migrations",
                            s.kind()
                        ),
                        Some(format!("the services with migrations are: {}", names())),
                    ))
                }
            },
            None => {
                return Err(Error::usage(
                    format!("no service `{name}` in stack `{}`", stack.name()),
                    Some(format!("the services with migrations are: {}", names())),
                ))
            }
        },
    };
    if chosen.is_empty() {
        return Err(Error::usage(
            format!(
                "stack `{}` has no service that takes migrations",
                stack.name()
            ),
            Some("migrations apply to `postgres` services".into()),
        ));
    }
    let runtimes = Runtimes::new(stack.name(), &stack.dir);
    chosen
        .into_iter()
        .map(|(s, target)| {
            let running = matches!(
                runtimes.of(&s.plan)?.state(&s.plan)?,
                RunState::Running { .. }
            );
            Ok((target, running))
        })
        .collect()
}
