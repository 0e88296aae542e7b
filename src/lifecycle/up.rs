//! `berth up`: lock, settle ports and passwords, preflight, start in
//! dependency order (independent services in parallel), wait for each over
//! its own protocol, provision, migrate and seed, write the env file.
//!
//! Every step is safe to repeat, so an `up` cut short by Ctrl-C, a crash or
//! a SIGKILL is completed by the next `up`; on a running stack `up` only
//! re-checks health.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use super::schedule::{self, Outcome};
use super::{dependencies, Event, Phase, Reporter, Runtimes};
use crate::config::{PortSetting, StackConfig};
use crate::error::{Error, Result};
use crate::preflight::{ports, resources};
use crate::runtime::{RunState, Started};
use crate::stack::{ServiceSpec, Stack};
use crate::state::{State, StateDir};
use crate::{envfile, interrupt, migrate};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpAction {
    Initialized,
    Started,
    AlreadyRunning,
}

/// One row of `up`'s summary.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServiceReport {
    pub service: String,
    pub kind: String,
    pub runtime: String,
    pub endpoint: String,
    pub action: UpAction,
    /// From the start of `up` until the service answered its probe (and
    /// was migrated).
    #[serde(serialize_with = "crate::serialize_ms")]
    pub ready_in: Duration,
    /// What migrating did, for services that take migrations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations: Option<migrate::Outcome>,
}

#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Apply pending migrations (and seeds on a database new to berth).
    pub migrate: bool,
    /// Write the env file (the testing library hands out values instead).
    pub write_env: bool,
    /// Refuse to start when an image differs from `berth.lock` (or there is
    /// no lock), instead of warning.
    pub locked: bool,
}

impl Default for UpOptions {
    fn default() -> UpOptions {
        UpOptions {
            migrate: true,
            write_env: true,
            locked: false,
        }
    }
}

pub fn up(
    config: StackConfig,
    dir: StateDir,
    options: &UpOptions,
    reporter: &dyn Reporter,
) -> Result<(Stack, Vec<ServiceReport>)> {
    let began = Instant::now();
    let _lock = super::lock(&config, &dir, "up", reporter)?;
    let mut state = dir.load()?;
    let mut changed = Stack::settle(&config, &mut state)?;
    let mut stack = Stack::new(config.clone(), dir.clone(), &state)?;
    let runtimes = Runtimes::for_stack(&stack)?;
    let pins = super::images::pins(&stack, &runtimes, options.locked, reporter)?;
    super::images::apply_pins(&mut stack, &pins);

    // Preflight: resources, binaries, then ports of services not running.
    for finding in resources::assess(&resources::measure(&dir.root)) {
        if finding.fatal {
            return Err(Error::Preflight {
                service: None,
                message: finding.message,
                hint: None,
            });
        }
        reporter.event(Event::Warning {
            message: finding.message,
        });
    }
    // What the services share (the container network) is made while each
    // service is checked; a failed preflight takes it away again.
    let (prepared, checked) = std::thread::scope(|scope| {
        let prepared = scope.spawn(|| runtimes.prepare_stack());
        let checked = preflight(&stack, &runtimes, &config, &mut state, reporter);
        (prepared.join().expect("prepare thread"), checked)
    });
    match checked.and_then(|moved| prepared.map(|()| moved)) {
        Ok(moved) => changed |= moved,
        Err(e) => {
            runtimes.release_stack();
            return Err(e);
        }
    }
    if changed {
        dir.save(&state)?;
    }
    let saved = state.clone();
    // Rebuild with any moved ports.
    let mut stack = Stack::new(config, dir.clone(), &state)?;
    super::images::apply_pins(&mut stack, &pins);

    let waits = dependencies(&stack);
    let job = |i: usize| {
        start_service(
            &stack.services[i],
            &runtimes,
            &state,
            options,
            reporter,
            began,
        )
    };
    let name_of = |i: usize| stack.services[i].name.clone();
    let (outcomes, errors) = schedule::run(stack.services.len(), &waits, &job, &name_of);

    let mut reports = Vec::new();
    for (svc, outcome) in stack.services.iter().zip(outcomes) {
        match outcome {
            Outcome::Done((report, fingerprint)) => {
                state.provisioned.insert(svc.name.clone(), fingerprint);
                state
                    .ready_ms
                    .insert(svc.name.clone(), report.ready_in.as_millis() as u64);
                reports.push(report);
            }
            Outcome::Skipped(because) => reporter.event(Event::Phase {
                service: &svc.name,
                phase: Phase::Skipped { because },
            }),
            Outcome::Failed => {}
        }
    }
    if state != saved {
        dir.save(&state)?;
    }
    if let Some((_, first)) = errors.into_iter().next() {
        return Err(first);
    }
    if options.write_env {
        envfile::write(&stack)?;
    }
    Ok((stack, reports))
}

/// Check every service in parallel (image, binaries, whether it runs,
/// leftovers), then the ports of those not running. Returns whether an
/// auto port moved (the state changed).
fn preflight(
    stack: &Stack,
    runtimes: &Runtimes,
    config: &StackConfig,
    state: &mut State,
    reporter: &dyn Reporter,
) -> Result<bool> {
    let mut changed = false;
    let checks: Vec<Result<RunState>> = std::thread::scope(|scope| {
        let handles: Vec<_> = stack
            .services
            .iter()
            .map(|svc| {
                let runtime = runtimes.of(svc);
                scope.spawn(move || {
                    super::images::fetch(runtime, svc, reporter)?;
                    runtime.check(svc)?;
                    let state = runtime.state(svc)?;
                    if !matches!(state, RunState::Running { .. }) {
                        runtime.clear_leftovers(svc)?;
                    }
                    Ok(state)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("preflight thread"))
            .collect()
    });
    let mut run_states = Vec::new();
    for check in checks {
        run_states.push(check?);
    }
    for (svc, run_state) in stack.services.iter().zip(&run_states) {
        if matches!(run_state, RunState::Running { .. }) {
            continue;
        }
        for extra in &svc.config.extra_ports {
            if !ports::is_free(extra.host) {
                return Err(Error::PortInUse {
                    service: svc.name.clone(),
                    port: extra.host,
                    holder: ports::holder(extra.host),
                    hint: format!(
                        "stop what holds it, or change `ports` in `[services.{}]`",
                        svc.name
                    ),
                });
            }
        }
        if ports::is_free(svc.port) {
            continue;
        }
        if svc.config.port == PortSetting::Auto {
            // An auto port is ours to move; the env file follows it.
            let old = svc.port;
            state.ports.remove(&svc.name);
            Stack::settle(config, state)?;
            changed = true;
            reporter.event(Event::Warning {
                message: format!(
                    "port {old} of `{}` is now taken{}; moved to port {}",
                    svc.name,
                    ports::holder(old)
                        .map(|h| format!(" by {h}"))
                        .unwrap_or_default(),
                    state.ports[&svc.name]
                ),
            });
            continue;
        }
        return Err(port_taken(svc, &stack.config));
    }
    Ok(changed)
}

fn port_taken(svc: &ServiceSpec, config: &StackConfig) -> Error {
    let var = crate::config::generic_var(&svc.name, "port");
    let explicit = config
        .explicit_override(&svc.name, "port")
        .map(|v| format!("`{v}=<port>` or "))
        .unwrap_or_default();
    Error::PortInUse {
        service: svc.name.clone(),
        port: svc.port,
        holder: ports::holder(svc.port),
        hint: format!(
            "stop what holds it, or move `{}` with {explicit}`{var}=<port>`, or set `port = \"auto\"` in `[services.{}]`",
            svc.name, svc.name
        ),
    }
}

/// Start one service (unless running), wait until it answers, provision.
/// Returns the summary row and the provisioning fingerprint.
fn start_service(
    svc: &ServiceSpec,
    runtimes: &Runtimes,
    state: &State,
    options: &UpOptions,
    reporter: &dyn Reporter,
    began: Instant,
) -> Result<(ServiceReport, String)> {
    let runtime = runtimes.of(svc);
    let phase = |phase: Phase| {
        reporter.event(Event::Phase {
            service: &svc.name,
            phase,
        })
    };
    let result = (|| {
        let action = match runtime.state(svc)? {
            RunState::Running { .. } => {
                phase(Phase::AlreadyRunning);
                UpAction::AlreadyRunning
            }
            RunState::Stopped | RunState::Absent => {
                if interrupt::requested() {
                    return Err(Error::Interrupted);
                }
                phase(Phase::Starting);
                match runtime.start(svc, &|| phase(Phase::Initializing))? {
                    Started::Initialized => UpAction::Initialized,
                    Started::Restarted => UpAction::Started,
                }
            }
        };
        wait_ready(svc, runtime, &phase)?;
        let fingerprint = provisioning_fingerprint(svc);
        if action == UpAction::Initialized || state.provisioned.get(&svc.name) != Some(&fingerprint)
        {
            phase(Phase::Provisioning);
            svc.kind.provision(svc, &svc.endpoint())?;
        }
        // Before dependents start: an app that depends on the database
        // finds its schema in place.
        let migrations = match migrate::Target::of(svc) {
            Some(target) if options.migrate => Some(migrate::migrate(
                &target,
                &migrate::Options::default(),
                reporter,
            )?),
            _ => None,
        };
        let ready_in = began.elapsed();
        phase(Phase::Ready { elapsed: ready_in });
        Ok((
            ServiceReport {
                service: svc.name.clone(),
                kind: svc.kind.name().to_string(),
                runtime: runtime.name().to_string(),
                endpoint: svc.endpoint().to_string(),
                action,
                ready_in,
                migrations,
            },
            fingerprint,
        ))
    })();
    if let Err(e) = &result {
        phase(Phase::Failed {
            message: e.to_string(),
        });
    }
    result
}

/// Probe until the service answers, it exits, the timeout passes, or the
/// user interrupts. Probes start fast (servers often answer within 100 ms)
/// and back off to twenty a second: a probe costs the server little, and
/// every millisecond between ready and noticing it is the user's.
fn wait_ready(
    svc: &ServiceSpec,
    runtime: &dyn crate::runtime::Runtime,
    phase: &dyn Fn(Phase),
) -> Result<()> {
    let started = Instant::now();
    let mut interval = Duration::from_millis(5);
    let mut last;
    let mut announced = Instant::now();
    let mut alive_checked: Option<Instant> = None;
    loop {
        match super::probe_once(svc, runtime)? {
            Ok(()) => return Ok(()),
            Err(seen) => last = seen,
        }
        // Whether it still runs is a question to the engine for a
        // container: asked a few times a second, not at every probe.
        if alive_checked.is_none_or(|t| t.elapsed() >= Duration::from_millis(250)) {
            runtime.ensure_alive(svc)?;
            alive_checked = Some(Instant::now());
        }
        if interrupt::requested() {
            return Err(Error::Interrupted);
        }
        let elapsed = started.elapsed();
        if elapsed >= svc.config.ready_timeout {
            let log = runtime.log_file(svc);
            return Err(Error::ReadinessTimeout {
                service: svc.name.clone(),
                waited: elapsed,
                last_probe: last,
                log_tail: crate::fsutil::tail_lines(&log, 15),
                log,
            });
        }
        if announced.elapsed() >= Duration::from_millis(250) {
            phase(Phase::Waiting {
                last: last.clone(),
                elapsed,
            });
            announced = Instant::now();
        }
        std::thread::sleep(interval);
        interval = (interval * 3 / 2).min(Duration::from_millis(50));
    }
}

/// What provisioning depends on; provisioning is skipped when it is the
/// same as last time on the same data.
fn provisioning_fingerprint(svc: &ServiceSpec) -> String {
    let c = &svc.config;
    let mut h = DefaultHasher::new();
    (
        &c.user,
        &svc.password,
        &c.database,
        &c.databases,
        &c.extensions,
    )
        .hash(&mut h);
    for r in &c.roles {
        (&r.name, &r.password, r.login, r.superuser).hash(&mut h);
    }
    format!("{:016x}", h.finish())
}
