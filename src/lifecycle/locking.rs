//! One berth command at a time per stack, telling the user whom it waits
//! for.

use crate::config::model::StackConfig;
use crate::error::Result;
use crate::events::{Event, Reporter};
use crate::interrupt::Interrupt;
use crate::snapshot::store::Store;
use crate::stack_lock::StackLock;
use crate::state::StateDir;

/// Take the stack lock for `command`, then put back the data a `reset`
/// stopped halfway had moved into its safety snapshot, before the command
/// looks at the stack (see [`Store::recover`]).
pub fn lock(
    config: &StackConfig,
    dir: &StateDir,
    command: &str,
    interrupt: &Interrupt,
    reporter: &dyn Reporter,
) -> Result<StackLock> {
    let lock = StackLock::acquire(
        dir,
        &config.name,
        command,
        StackLock::timeout_from_env(),
        interrupt,
        &mut |holder| reporter.event(Event::LockWait { holder }),
    )?;
    for kept in Store::of(dir).recover()? {
        reporter.warning(kept);
    }
    Ok(lock)
}
