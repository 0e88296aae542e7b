//! Stopping a stack's services, dependents before what they depend on, and
//! what runs under names the stack file no longer lists: for `down`,
//! `reset` and the snapshot commands, which stop a stack to copy its data.

use super::schedule::{self, Outcome};
use crate::error::Result;
use crate::events::{Phase, Reporter};
use crate::kill_point;
use crate::plan::runtime_kind::RuntimeKind;
use crate::runtime::contract::RunState;
use crate::runtime::registry::Runtimes;
use crate::stack::resolved::Stack;

/// Stop servers of services the stack file no longer lists, on every
/// runtime, saying so; then release what the stack's services shared.
pub fn stop_unlisted(
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

/// How [`stop_all`] stops the servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Each shuts down cleanly; services that do not persist lose their
    /// data, as at every `down`.
    Cleanly,
    /// All their data is deleted next (`reset` keeping no snapshot): no
    /// server need write anything on its way out.
    Discarding,
    /// The data of the services that persist is saved next and the rest
    /// deleted (`reset` keeping a snapshot): only those that persist shut
    /// down cleanly. The others need not: a Redis that keeps nothing
    /// takes a tenth of a second to act on its stop signal.
    SavingPersistent,
}

/// Stop every service, dependents first. Returns those that were running.
pub fn stop_all(
    stack: &Stack,
    runtimes: &Runtimes,
    reporter: &dyn Reporter,
    how: Stop,
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
        let discard = match how {
            Stop::Cleanly => false,
            Stop::Discarding => true,
            Stop::SavingPersistent => !svc.persist,
        };
        if discard {
            runtime.discard(&svc.plan)?;
        } else {
            runtime.stop(&svc.plan)?;
        }
        if was_running {
            phase(Phase::Stopped);
        }
        if how == Stop::Cleanly && !svc.persist {
            kill_point::reached(|| format!("{}:wipe", svc.name));
            runtime.wipe(&svc.plan)?;
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

/// Delete every service's data (all stopped already).
pub fn wipe_all(stack: &Stack, runtimes: &Runtimes, reporter: &dyn Reporter) -> Result<()> {
    for svc in &stack.services {
        let runtime = runtimes.of(&svc.plan)?;
        kill_point::reached(|| format!("{}:wipe", svc.name));
        runtime.wipe(&svc.plan)?;
        reporter.phase(&svc.name, Phase::Wiped);
    }
    Ok(())
}
