//! `berth down` stops services and keeps their data (except services marked
//! `persist = false`, whose data is scratch by definition); `berth reset`
//! stops them and deletes everything berth generated for the stack.

use super::inspect;
use super::locking;
use super::snapshot::{self, Hold};
use super::stopping::{stop_all, stop_unlisted, wipe_all, Stop};
use crate::config::model::StackConfig;
use crate::envfile;
use crate::error::Result;
use crate::events::Reporter;
use crate::interrupt::Interrupt;
use crate::kill_point;
use crate::runtime::registry::Runtimes;
use crate::snapshot::store::Manifest;
use crate::snapshot::store::Store;
use crate::stack::resolved::{Pins, Stack};
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
    // Stopping needs nothing of the state: a damaged one does not keep
    // the servers running.
    let (state, damage) = dir.load_or_damage()?;
    if let Some(damage) = damage {
        reporter.warning(format!("{damage}; stopping the servers all the same"));
    }
    let stack = Stack::resolve(config, dir, &state, &Pins::new());
    let stopped = stop_all(&stack, runtimes, reporter, Stop::Cleanly)?;
    stop_unlisted(&stack, runtimes, reporter, "its data is kept")?;
    Ok(stopped)
}

/// How `reset` goes about it.
#[derive(Debug, Clone)]
pub struct ResetOptions {
    /// Take a snapshot of the data first (the safety net), unless the
    /// stack has no data to keep.
    pub snapshot: bool,
    pub interrupt: Interrupt,
}

impl Default for ResetOptions {
    fn default() -> ResetOptions {
        ResetOptions {
            snapshot: true,
            interrupt: Interrupt::process(),
        }
    }
}

/// Stop the stack and delete its data, generated passwords, chosen ports,
/// logs and env file, after a snapshot of the data (unless told not to).
/// The stack file is never touched. Returns the snapshot taken.
pub fn reset(
    config: StackConfig,
    dir: StateDir,
    options: &ResetOptions,
    reporter: &dyn Reporter,
) -> Result<Option<Manifest>> {
    let runtimes = Runtimes::new(&config.name, &dir);
    reset_with(config, dir, &runtimes, options, reporter)
}

pub fn reset_with(
    config: StackConfig,
    dir: StateDir,
    runtimes: &Runtimes,
    options: &ResetOptions,
    reporter: &dyn Reporter,
) -> Result<Option<Manifest>> {
    let mut taken = None;
    let mut recorded = None;
    if dir.exists() {
        let _lock = locking::lock(&config, &dir, "reset", &options.interrupt, reporter)?;
        let stack = inspect::open(config.clone(), dir.clone())?;
        recorded = dir.load()?.env_file;
        if options.snapshot {
            // Before anything stops: the snapshot goes there.
            Store::of(&dir).check_ours()?;
        }
        // A snapshot needs the servers' files at rest; without one, they
        // are deleted and nothing need be written on the way out.
        let how = if options.snapshot {
            Stop::SavingPersistent
        } else {
            Stop::Discarding
        };
        stop_all(&stack, runtimes, reporter, how)?;
        if options.snapshot {
            kill_point::reached(|| "reset:snapshot".into());
            taken = snapshot::safety_net(
                &stack,
                runtimes,
                "reset",
                "before `berth reset`",
                // The data is deleted next.
                Hold::Move,
                reporter,
            )?;
        }
        wipe_all(&stack, runtimes, reporter)?;
        stop_unlisted(
            &stack,
            runtimes,
            reporter,
            "its data is deleted with the rest",
        )?;
        kill_point::reached(|| "reset:remove state".into());
        let theirs = dir.remove()?;
        if !theirs.is_empty() {
            reporter.warning(format!(
                "kept `{}`: it holds {}, which berth did not make",
                dir.root.display(),
                theirs
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        kill_point::reached(|| "reset:state removed".into());
    }
    for removal in envfile::remove(recorded.as_ref(), &config.env_file())? {
        if let envfile::Removal::Kept(path, why) = removal {
            reporter.warning(format!(
                "kept `{}`: {why}",
                crate::diagnostic::shown_path(&path)
            ));
        }
    }
    Ok(taken)
}
