//! `berth down` stops services and keeps their data (except services marked
//! `persist = false`, whose data is scratch by definition); `berth reset`
//! stops them and deletes everything berth generated for the stack.

use super::schedule::{self, Outcome};
use super::{dependents, Event, Phase, Reporter, Runtimes};
use crate::config::StackConfig;
use crate::error::Result;
use crate::stack::Stack;
use crate::state::StateDir;

/// Stop the stack, dependents before what they depend on. Returns the
/// services that were running.
pub fn down(config: StackConfig, dir: StateDir, reporter: &dyn Reporter) -> Result<Vec<String>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let _lock = super::lock(&config, &dir, "down", reporter)?;
    let stack = super::open(config, dir)?;
    let stopped = stop_all(&stack, reporter, false)?;
    stop_unlisted(&stack, reporter, "its data is kept")?;
    Ok(stopped)
}

/// Stop the stack and delete its data, generated passwords, chosen ports,
/// logs and env file. The stack file is never touched.
pub fn reset(config: StackConfig, dir: StateDir, reporter: &dyn Reporter) -> Result<()> {
    if dir.exists() {
        let _lock = super::lock(&config, &dir, "reset", reporter)?;
        let stack = super::open(config.clone(), dir.clone())?;
        stop_all(&stack, reporter, true)?;
        stop_unlisted(&stack, reporter, "its data is deleted with the rest")?;
        dir.remove()?;
    }
    let env_file = config.env_file();
    match std::fs::remove_file(&env_file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(crate::error::Error::io(
            format!("could not remove `{}`", env_file.display()),
            e,
        )),
        _ => Ok(()),
    }
}

/// Stop servers of services the stack file no longer lists, on every
/// runtime, saying so; then release what the stack's services shared.
fn stop_unlisted(stack: &Stack, reporter: &dyn Reporter, data: &str) -> Result<()> {
    let listed: Vec<&str> = stack.services.iter().map(|s| s.name.as_str()).collect();
    // The native runtime's records are files, cheap to look at; an engine
    // is asked only when the stack still runs something on it.
    let used =
        |name: &str| name == "native" || stack.services.iter().any(|s| s.config.runtime == name);
    for name in crate::config::RUNTIMES.iter().filter(|n| used(n)) {
        let runtime = crate::runtime::for_name(name, stack.name(), &stack.dir)?;
        let gone_services = runtime.stop_unlisted(&listed)?;
        runtime.release_stack()?;
        for gone in gone_services {
            reporter.event(Event::Warning {
                message: format!(
                    "stopped `{gone}`, which `{}` no longer lists; {data}",
                    stack
                        .config
                        .file
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                ),
            });
        }
    }
    Ok(())
}

fn stop_all(stack: &Stack, reporter: &dyn Reporter, wipe_all: bool) -> Result<Vec<String>> {
    let runtimes = Runtimes::for_stack(stack)?;
    let waits = dependents(stack);
    let job = |i: usize| -> Result<bool> {
        let svc = &stack.services[i];
        let runtime = runtimes.of(svc);
        let phase = |phase| {
            reporter.event(Event::Phase {
                service: &svc.name,
                phase,
            })
        };
        let was_running = matches!(
            runtime.state(svc)?,
            crate::runtime::RunState::Running { .. }
        );
        if was_running {
            phase(Phase::Stopping);
        }
        runtime.stop(svc)?;
        if was_running {
            phase(Phase::Stopped);
        }
        if wipe_all || !svc.persist {
            runtime.wipe(svc)?;
            if wipe_all {
                phase(Phase::Wiped);
            }
        }
        Ok(was_running)
    };
    let name_of = |i: usize| stack.services[i].name.clone();
    let (outcomes, errors) = schedule::run(stack.services.len(), &waits, &job, &name_of);
    if let Some((_, e)) = errors.into_iter().next() {
        return Err(e);
    }
    Ok(stack
        .services
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| *o == Outcome::Done(true))
        .map(|(s, _)| s.name.clone())
        .collect())
}
