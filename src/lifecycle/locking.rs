//! One berth command at a time per stack, telling the user whom it waits
//! for.

use crate::config::model::StackConfig;
use crate::error::Result;
use crate::events::{Event, Reporter};
use crate::interrupt::Interrupt;
use crate::stack_lock::StackLock;
use crate::state::StateDir;

/// Take the stack lock for `command`.
pub fn lock(
    config: &StackConfig,
    dir: &StateDir,
    command: &str,
    interrupt: &Interrupt,
    reporter: &dyn Reporter,
) -> Result<StackLock> {
    StackLock::acquire(
        dir,
        &config.name,
        command,
        StackLock::timeout_from_env(),
        interrupt,
        &mut |holder| reporter.event(Event::LockWait { holder }),
    )
}
