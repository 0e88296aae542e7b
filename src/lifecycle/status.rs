//! `berth status`: what runs, where, and whether it answers. Reads only: no
//! lock taken, nothing created.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::readiness::probe_once;
use crate::config::model::StackConfig;
use crate::error::{Error, Result};
use crate::plan::runtime_kind::RuntimeKind;
use crate::process::Usage;
use crate::runtime::contract::RunState;
use crate::runtime::registry::Runtimes;
use crate::stack::resolved::{Pins, Stack};
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
    pub runtime: RuntimeKind,
    pub endpoint: Option<String>,
    pub health: Health,
    pub pid: Option<i32>,
    /// What the probe saw, when unhealthy.
    pub problem: Option<String>,
    pub persist: bool,
    #[serde(serialize_with = "crate::time::serialize_opt_ms")]
    pub last_ready_in: Option<Duration>,
    /// What its server uses now, while it runs.
    pub usage: Option<Usage>,
}

pub fn status(config: StackConfig, dir: StateDir) -> Result<Vec<ServiceStatus>> {
    let state = dir.load()?;
    let stack = Stack::resolve(config, dir, &state, &Pins::new());
    let runtimes = Runtimes::new(stack.name(), &stack.dir);
    std::thread::scope(|scope| {
        let handles: Vec<_> = stack
            .services
            .iter()
            .map(|svc| {
                let last_ready_in = state
                    .ready_ms
                    .get(&svc.name)
                    .map(|ms| Duration::from_millis(*ms));
                let runtimes = &runtimes;
                scope.spawn(move || -> Result<ServiceStatus> {
                    let runtime = runtimes.of(&svc.plan)?;
                    let (health, pid, problem) = match runtime.state(&svc.plan)? {
                        RunState::Running { pid } => match probe_once(svc, runtime.as_ref())? {
                            Ok(()) => (Health::Ready, Some(pid), None),
                            Err(seen) => (Health::Unhealthy, Some(pid), Some(seen)),
                        },
                        RunState::Stopped => (Health::Stopped, None, None),
                        RunState::Absent => (Health::Absent, None, None),
                    };
                    let usage = pid.and_then(|_| runtime.usage(&svc.plan));
                    Ok(ServiceStatus {
                        service: svc.name.clone(),
                        kind: svc.kind().to_string(),
                        runtime: svc.runtime,
                        endpoint: (svc.port != 0).then(|| svc.endpoint().to_string()),
                        health,
                        pid,
                        problem,
                        persist: svc.persist,
                        last_ready_in,
                        usage,
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Internal {
                        message: "a status check panicked".into(),
                    })
                })
            })
            .collect()
    })
}

/// CPU use as a rate, from successive samples of each server's CPU time:
/// what `status --watch` and the dashboard show.
#[derive(Debug, Default)]
pub struct CpuRates {
    /// The last sample per server (service and pid: a restarted server
    /// starts from zero).
    last: HashMap<(String, i32), (f64, Instant)>,
}

impl CpuRates {
    /// Percent of one core each running service used since the previous
    /// sample; none for a service seen for the first time.
    pub fn sample(&mut self, statuses: &[ServiceStatus]) -> HashMap<String, f64> {
        let now = Instant::now();
        let mut rates = HashMap::new();
        for s in statuses {
            let (Some(pid), Some(usage)) = (s.pid, s.usage) else {
                continue;
            };
            let key = (s.service.clone(), pid);
            if let Some((cpu, at)) = self.last.get(&key) {
                let wall = now.duration_since(*at).as_secs_f64();
                if wall > 0.0 {
                    rates.insert(
                        s.service.clone(),
                        ((usage.cpu_seconds - cpu) / wall * 100.0).max(0.0),
                    );
                }
            }
            self.last.insert(key, (usage.cpu_seconds, now));
        }
        rates
    }
}
