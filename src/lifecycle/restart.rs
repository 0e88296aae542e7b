//! `berth restart SERVICE...`: stop those services (their data kept, even
//! a service that does not persist: a restart is not a `down`), then `up`,
//! which starts them again and rechecks the rest.

use super::inspect;
use super::locking;
use super::up::{up_with, ServiceReport, UpOptions};
use crate::config::model::StackConfig;
use crate::error::Result;
use crate::events::{Phase, Reporter};
use crate::kill_point;
use crate::runtime::contract::RunState;
use crate::runtime::registry::Runtimes;
use crate::stack::resolved::Stack;
use crate::state::StateDir;

pub fn restart(
    config: StackConfig,
    dir: StateDir,
    services: &[String],
    options: &UpOptions,
    reporter: &dyn Reporter,
) -> Result<(Stack, Vec<ServiceReport>)> {
    let runtimes = Runtimes::new(&config.name, &dir);
    {
        let _lock = locking::lock(&config, &dir, "restart", &options.interrupt, reporter)?;
        let stack = inspect::open(config.clone(), dir.clone())?;
        for svc in stack.select(services)? {
            let runtime = runtimes.of(&svc.plan)?;
            if let RunState::Running { .. } = runtime.state(&svc.plan)? {
                reporter.phase(&svc.name, Phase::Stopping);
                kill_point::reached(|| format!("{}:restart stop", svc.name));
                runtime.stop(&svc.plan)?;
                reporter.phase(&svc.name, Phase::Stopped);
            }
        }
    }
    up_with(config, dir, &runtimes, options, reporter)
}
