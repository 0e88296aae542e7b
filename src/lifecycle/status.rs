//! `berth status`: what runs, where, and whether it answers. Reads only: no
//! lock taken, nothing created.

use std::time::Duration;

use serde::Serialize;

use super::Runtimes;
use crate::config::StackConfig;
use crate::error::Result;
use crate::runtime::RunState;
use crate::state::StateDir;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Health {
    /// Running and answering its protocol probe.
    Ready,
    /// Running, but the probe fails.
    Unhealthy,
    /// Not running; data kept.
    Stopped,
    /// Never started, or reset.
    Absent,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ready => "ready",
            Health::Unhealthy => "unhealthy",
            Health::Stopped => "stopped",
            Health::Absent => "absent",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    pub service: String,
    pub kind: String,
    pub runtime: String,
    pub endpoint: Option<String>,
    pub health: Health,
    pub pid: Option<i32>,
    /// What the probe saw, when unhealthy.
    pub problem: Option<String>,
    pub persist: bool,
    #[serde(serialize_with = "crate::serialize_opt_ms")]
    pub last_ready_in: Option<Duration>,
}

pub fn status(config: StackConfig, dir: StateDir) -> Result<Vec<ServiceStatus>> {
    let state = dir.load()?;
    let stack = crate::stack::Stack::new(config, dir, &state)?;
    let runtimes = Runtimes::for_stack(&stack)?;
    std::thread::scope(|scope| {
        let handles: Vec<_> = stack
            .services
            .iter()
            .map(|svc| {
                let runtime = runtimes.of(svc);
                let last_ready_in = state
                    .ready_ms
                    .get(&svc.name)
                    .map(|ms| Duration::from_millis(*ms));
                scope.spawn(move || -> Result<ServiceStatus> {
                    let run = runtime.state(svc)?;
                    let (health, pid, problem) = match run {
                        RunState::Running { pid } => match super::probe_once(svc, runtime)? {
                            Ok(()) => (Health::Ready, Some(pid), None),
                            Err(seen) => (Health::Unhealthy, Some(pid), Some(seen)),
                        },
                        RunState::Stopped => (Health::Stopped, None, None),
                        RunState::Absent => (Health::Absent, None, None),
                    };
                    Ok(ServiceStatus {
                        service: svc.name.clone(),
                        kind: svc.kind.name().to_string(),
                        runtime: runtime.name().to_string(),
                        endpoint: (svc.port != 0).then(|| svc.endpoint().to_string()),
                        health,
                        pid,
                        problem,
                        persist: svc.persist,
                        last_ready_in,
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("status thread"))
            .collect()
    })
}
