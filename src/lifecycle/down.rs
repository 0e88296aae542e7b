//! `berth down` stops services and keeps their data (except services marked
//! `persist = false`, whose data is scratch by definition); `berth reset`
//! stops them and deletes everything berth generated for the stack.

use super::inspect;
use super::locking;
use super::schedule::{self, Outcome};
use crate::config::model::StackConfig;
use crate::error::{Error, Result};
use crate::events::{Phase, Reporter};
use crate::interrupt::Interrupt;
use crate::kill_point;
use crate::plan::runtime_kind::RuntimeKind;
use crate::runtime::contract::RunState;
use crate::runtime::registry::Runtimes;
use crate::stack::resolved::Stack;
use crate::state::StateDir;

/// Stop the stack, dependents before what they depend on. Returns the
/// services that were running.
pub fn down(config: StackConfig, dir: StateDir, reporter: &dyn Reporter) -> Result<Vec<String>> {
    let runtimes = Runtimes::new(&config.name, &dir);
    down_with(config, dir, &runtimes, &Interrupt::process(), reporter)
}

pub fn down_with(
    config: StackConfig,
    dir: StateDir,
    runtimes: &Runtimes,
    interrupt: &Interrupt,
    reporter: &dyn Reporter,
) -> Result<Vec<String>> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let _lock = locking::lock(&config, &dir, "down", interrupt, reporter)?;
    let stack = inspect::open(config, dir)?;
    let stopped = stop_all(&stack, runtimes, reporter, false)?;
    stop_unlisted(&stack, runtimes, reporter, "its data is kept")?;
    Ok(stopped)
}

/// Stop the stack and delete its data, generated passwords, chosen ports,
/// logs and env file. The stack file is never touched.
pub fn reset(config: StackConfig, dir: StateDir, reporter: &dyn Reporter) -> Result<()> {
    let runtimes = Runtimes::new(&config.name, &dir);
    reset_with(config, dir, &runtimes, &Interrupt::process(), reporter)
}

pub fn reset_with(
    config: StackConfig,
    dir: StateDir,
    runtimes: &Runtimes,
    interrupt: &Interrupt,
    reporter: &dyn Reporter,
) -> Result<()> {
    if dir.exists() {
        let _lock = locking::lock(&config, &dir, "reset", interrupt, reporter)?;
        let stack = inspect::open(config.clone(), dir.clone())?;
        stop_all(&stack, runtimes, reporter, true)?;
        stop_unlisted(
            &stack,
            runtimes,
            reporter,
            "its data is deleted with the rest",
        )?;
        kill_point::reached(|| "reset:remove state".into());
        dir.remove()?;
        kill_point::reached(|| "reset:state removed".into());
    }
    let env_file = config.env_file();
    match std::fs::remove_file(&env_file) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(
            format!("could not remove `{}`", env_file.display()),
            e,
        )),
        _ => Ok(()),
    }
}

/// Stop servers of services the stack file no longer lists, on every
/// runtime, saying so; then release what the stack's services shared.
fn stop_unlisted(
    stack: &Stack,
    runtimes: &Runtimes,
    reporter: &dyn Reporter,
    data: &str,
) -> Result<()> {
    let listed: Vec<&str> = stack.services.iter().map(|s| s.name.as_str()).collect();
    // The native runtime's records are files, cheap to look at; an engine
    // is asked only when the stack still runs something on it.
    let used = |kind: RuntimeKind| {
        kind == RuntimeKind::Native || stack.services.iter().any(|s| s.runtime == kind)
    };
    for kind in RuntimeKind::ALL.into_iter().filter(|k| used(*k)) {
        let runtime = runtimes.get(kind)?;
        let gone = runtime.stop_unlisted(&listed)?;
        runtime.release_stack()?;
        for service in gone {
            reporter.warning(format!(
                "stopped `{service}`, which `{}` no longer lists; {data}",
                stack.config.file_name()
            ));
        }
    }
    Ok(())
}

fn stop_all(
    stack: &Stack,
    runtimes: &Runtimes,
    reporter: &dyn Reporter,
    wipe_all: bool,
) -> Result<Vec<String>> {
    let waits = stack.dependents();
    let job = |i: usize| -> Result<bool> {
        let svc = &stack.services[i];
        let runtime = runtimes.of(&svc.plan)?;
        let phase = |phase| reporter.phase(&svc.name, phase);
        let was_running = matches!(runtime.state(&svc.plan)?, RunState::Running { .. });
        if was_running {
            phase(Phase::Stopping);
        }
        kill_point::reached(|| format!("{}:stop", svc.name));
        runtime.stop(&svc.plan)?;
        if was_running {
            phase(Phase::Stopped);
        }
        if wipe_all || !svc.persist {
            kill_point::reached(|| format!("{}:wipe", svc.name));
            runtime.wipe(&svc.plan)?;
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
