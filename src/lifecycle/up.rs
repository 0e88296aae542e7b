//! `berth up`: lock, settle ports and passwords, preflight, start in
//! dependency order (independent services in parallel), wait for each over
//! its own protocol, provision, migrate and seed (SQL, and files into
//! buckets), write the env file.
//!
//! Every step is safe to repeat, so an `up` cut short by Ctrl-C, a crash or
//! a SIGKILL is completed by the next `up`; on a running stack `up` only
//! re-checks health and rewrites the env file.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::images;
use super::init_scripts;
use super::locking;
use super::port_race;
use super::readiness::wait_ready;
use super::schedule::{self, Outcome};
use crate::config::layers::generic_var;
use crate::config::model::{PortSetting, StackConfig};
use crate::error::{Error, Result};
use crate::events::{Phase, Reporter};
use crate::interrupt::Interrupt;
use crate::kill_point;
use crate::migrate::{self, runner::Outcome as Migrated};
use crate::plan::runtime_kind::RuntimeKind;
use crate::preflight::{ports, resources};
use crate::runtime::contract::{RunState, Runtime, Started};
use crate::runtime::registry::Runtimes;
use crate::stack::resolved::Stack;
use crate::stack::service::Service;
use crate::stack::settle::{move_port, settle};
use crate::state::{State, StateDir};
use crate::{digest, envfile};

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
    pub runtime: RuntimeKind,
    pub endpoint: String,
    pub action: UpAction,
    /// From the start of `up` until the service answered its probe (and
    /// was migrated).
    #[serde(serialize_with = "crate::time::serialize_ms")]
    pub ready_in: Duration,
    /// What migrating did, for services that take migrations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations: Option<Migrated>,
    /// Seed files loaded other than SQL (`bucket/key` for object stores):
    /// only into what is new to berth.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub seeded: Vec<String>,
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
    /// Stop at the next safe point when this is requested.
    pub interrupt: Interrupt,
}

impl Default for UpOptions {
    fn default() -> UpOptions {
        UpOptions {
            migrate: true,
            write_env: true,
            locked: false,
            interrupt: Interrupt::process(),
        }
    }
}

/// Bring the stack up on the real runtimes.
pub fn up(
    config: StackConfig,
    dir: StateDir,
    options: &UpOptions,
    reporter: &dyn Reporter,
) -> Result<(Stack, Vec<ServiceReport>)> {
    let runtimes = Runtimes::new(&config.name, &dir);
    up_with(config, dir, &runtimes, options, reporter)
}

/// Bring the stack up on `runtimes`.
pub fn up_with(
    config: StackConfig,
    dir: StateDir,
    runtimes: &Runtimes,
    options: &UpOptions,
    reporter: &dyn Reporter,
) -> Result<(Stack, Vec<ServiceReport>)> {
    let began = Instant::now();
    let _lock = locking::lock(&config, &dir, "up", &options.interrupt, reporter)?;
    kill_point::reached(|| "up:locked".into());
    // The service whose chosen port was taken as its server started.
    let lost = Mutex::new(None);
    let attempt = || {
        up_locked(
            config.clone(),
            dir.clone(),
            runtimes,
            options,
            reporter,
            began,
            &lost,
        )
    };
    match attempt() {
        Err(e) => {
            let Some(service) = lost.lock().unwrap_or_else(|p| p.into_inner()).take() else {
                return Err(e);
            };
            // Taken since the preflight found it free: moved, and the
            // stack started again (what started is running and stays).
            let mut state = dir.load()?;
            let old = state.ports.get(&service).copied().unwrap_or(0);
            let new = move_port(&config, &mut state, &service)?;
            dir.save(&state)?;
            reporter.warning(format!(
                "port {old} of `{service}` was taken as its server started; moved to port {new}"
            ));
            attempt()
        }
        done => done,
    }
}

/// [`up_with`] once, the stack's lock held.
fn up_locked(
    config: StackConfig,
    dir: StateDir,
    runtimes: &Runtimes,
    options: &UpOptions,
    reporter: &dyn Reporter,
    began: Instant,
    lost: &Mutex<Option<String>>,
) -> Result<(Stack, Vec<ServiceReport>)> {
    let (mut state, damage) = dir.load_setting_damage_aside()?;
    if let Some(damage) = damage {
        reporter.warning(damage);
    }
    let mut changed = settle(&config, &mut state)?;
    let pins = images::pins(&config, runtimes, options.locked, reporter)?;
    let mut stack = Stack::resolve(config, dir, &state, &pins);

    if options.write_env {
        envfile::ensure_ours(&stack.config.env_file(), stack.name())?;
    }
    let used: Vec<Arc<dyn Runtime>> = used_runtimes(&stack, runtimes)?;
    // What the services share (the container network) is made while each
    // service is checked; a failed preflight takes it away again.
    let (prepared, checked) = std::thread::scope(|scope| {
        let prepared = scope.spawn(|| used.iter().try_for_each(|r| r.prepare_stack()));
        let checked = preflight(&stack, runtimes, reporter);
        (
            prepared.join().unwrap_or_else(|_| {
                Err(Error::Internal {
                    message: "preparing the stack panicked".into(),
                })
            }),
            checked,
        )
    });
    let run_states = match checked.and_then(|states| prepared.map(|()| states)) {
        Ok(states) => states,
        Err(e) => {
            for r in &used {
                let _ = r.release_stack();
            }
            return Err(e);
        }
    };
    // Resources matter only for what must start: a running stack is never
    // refused for being short of disk.
    if run_states
        .iter()
        .any(|s| !matches!(s, RunState::Running { .. }))
    {
        check_resources(&stack.dir, reporter)?;
    }
    let moved = check_ports(&stack, &run_states, &mut state, reporter)?;
    if moved {
        changed = true;
        stack = Stack::resolve(stack.config, stack.dir, &state, &pins);
    }
    if changed {
        stack.dir.save(&state)?;
        kill_point::reached(|| "up:state saved".into());
    }
    let saved = state.clone();

    let waits = stack.dependencies();
    let job = |i: usize| {
        let svc = &stack.services[i];
        let runtime = runtimes.of(&svc.plan)?;
        let started = start_service(
            svc,
            runtime.as_ref(),
            &stack.dir,
            &state,
            options,
            reporter,
            began,
        );
        if let Err(e) = &started {
            if port_race::chosen(&stack.config, &svc.name) && runtime.lost_port(&svc.plan, e) {
                *lost.lock().unwrap_or_else(|p| p.into_inner()) = Some(svc.name.clone());
            }
        }
        started
    };
    let name_of = |i: usize| stack.services[i].name.clone();
    let (outcomes, errors) = schedule::run(stack.services.len(), &waits, &job, &name_of);

    let mut reports = Vec::new();
    for (svc, outcome) in stack.services.iter().zip(outcomes) {
        match outcome {
            Outcome::Done((report, fingerprint)) => {
                state.provisioned.insert(svc.name.clone(), fingerprint);
                // The time to ready of its last start: a service that was
                // running keeps it (and a warm `up` writes no state).
                if report.action != UpAction::AlreadyRunning {
                    state
                        .ready_ms
                        .insert(svc.name.clone(), report.ready_in.as_millis() as u64);
                }
                reports.push(report);
            }
            Outcome::Skipped(because) => reporter.phase(&svc.name, Phase::Skipped { because }),
            Outcome::Failed => {}
        }
    }
    if state != saved {
        stack.dir.save(&state)?;
    }
    if let Some((_, first)) = errors.into_iter().next() {
        return Err(first);
    }
    if options.write_env {
        kill_point::reached(|| "up:env file".into());
        let written = envfile::write(&stack)?;
        if let Some(mode) = written.was_open {
            reporter.warning(format!(
                "`{}` was readable by others (mode {mode:o}); it holds passwords, so it is 0600 now",
                crate::diagnostic::shown_path(&written.file.path)
            ));
        }
        if state.env_file.as_ref() != Some(&written.file) {
            state.env_file = Some(written.file);
            stack.dir.save(&state)?;
        }
    }
    kill_point::reached(|| "up:done".into());
    Ok((stack, reports))
}

/// The runtimes the stack's services run on.
fn used_runtimes(stack: &Stack, runtimes: &Runtimes) -> Result<Vec<Arc<dyn Runtime>>> {
    let mut kinds: Vec<RuntimeKind> = stack.services.iter().map(|s| s.runtime).collect();
    kinds.sort();
    kinds.dedup();
    kinds.into_iter().map(|k| runtimes.get(k)).collect()
}

/// Check every service in parallel: fetch its image, check it can run,
/// whether it runs, clear what a crash left. Returns each one's state.
fn preflight(stack: &Stack, runtimes: &Runtimes, reporter: &dyn Reporter) -> Result<Vec<RunState>> {
    let checks: Vec<Result<RunState>> = std::thread::scope(|scope| {
        let handles: Vec<_> = stack
            .services
            .iter()
            .map(|svc| {
                scope.spawn(move || {
                    let runtime = runtimes.of(&svc.plan)?;
                    images::fetch(runtime.as_ref(), svc, reporter)?;
                    runtime.check(&svc.plan)?;
                    let state = runtime.state(&svc.plan)?;
                    if !matches!(state, RunState::Running { .. }) {
                        runtime.clear_leftovers(&svc.plan)?;
                    }
                    Ok(state)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Internal {
                        message: "a preflight check panicked".into(),
                    })
                })
            })
            .collect()
    });
    checks.into_iter().collect()
}

/// The resource baseline: short resources warn, hopeless ones fail.
fn check_resources(dir: &StateDir, reporter: &dyn Reporter) -> Result<()> {
    for finding in resources::assess(&resources::measure(&dir.root)) {
        if finding.fatal {
            return Err(Error::Preflight {
                service: None,
                message: finding.message,
                hint: None,
            });
        }
        reporter.warning(finding.message);
    }
    Ok(())
}

/// The ports of services that must start: a taken auto port moves (the env
/// file follows), a taken fixed one fails. Returns whether one moved.
fn check_ports(
    stack: &Stack,
    run_states: &[RunState],
    state: &mut State,
    reporter: &dyn Reporter,
) -> Result<bool> {
    let mut moved = false;
    for (svc, run_state) in stack.services.iter().zip(run_states) {
        if matches!(run_state, RunState::Running { .. }) {
            continue;
        }
        if let Ok(launch) = svc.plan.container() {
            for extra in &launch.extra_ports {
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
        }
        if ports::is_free(svc.port) {
            continue;
        }
        let config = stack.config.service(&svc.name);
        if config.is_some_and(|c| c.port == PortSetting::Auto) {
            // An auto port is ours to move; the env file follows it.
            let old = svc.port;
            let new = move_port(&stack.config, state, &svc.name)?;
            moved = true;
            reporter.warning(format!(
                "port {old} of `{}` is now taken{}; moved to port {new}",
                svc.name,
                ports::holder(old)
                    .map(|h| format!(" by {h}"))
                    .unwrap_or_default(),
            ));
            continue;
        }
        return Err(port_taken(svc, &stack.config));
    }
    Ok(moved)
}

fn port_taken(svc: &Service, config: &StackConfig) -> Error {
    let var = generic_var(&svc.name, "port");
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

/// Start one service (unless running), wait until it answers, provision,
/// migrate. Returns the summary row and the provisioning fingerprint.
fn start_service(
    svc: &Service,
    runtime: &dyn Runtime,
    dir: &StateDir,
    state: &State,
    options: &UpOptions,
    reporter: &dyn Reporter,
    began: Instant,
) -> Result<(ServiceReport, String)> {
    let phase = |phase: Phase| reporter.phase(&svc.name, phase);
    let result = (|| {
        let action = match runtime.state(&svc.plan)? {
            RunState::Running { .. } => {
                phase(Phase::AlreadyRunning);
                UpAction::AlreadyRunning
            }
            RunState::Stopped | RunState::Absent => {
                if options.interrupt.requested() {
                    return Err(Error::Interrupted);
                }
                phase(Phase::Starting);
                init_scripts::due_if_new(svc, runtime, dir)?;
                kill_point::reached(|| format!("{}:start", svc.name));
                let started = runtime.start(&svc.plan, &|| phase(Phase::Initializing))?;
                kill_point::reached(|| format!("{}:started", svc.name));
                match started {
                    Started::Initialized => UpAction::Initialized,
                    Started::Restarted => UpAction::Started,
                }
            }
        };
        wait_ready(svc, runtime, &options.interrupt, &phase)?;
        kill_point::reached(|| format!("{}:ready", svc.name));
        let mut action = action;
        if action != UpAction::Initialized && init_scripts::due(svc, dir) {
            // Half set up by scripts cut short: made again, and every
            // script run from the first.
            reporter.warning(format!(
                "the init scripts of service `{}` were cut short last time: its data is made again",
                svc.name
            ));
            runtime.discard(&svc.plan)?;
            runtime.wipe(&svc.plan)?;
            phase(Phase::Starting);
            init_scripts::due_if_new(svc, runtime, dir)?;
            runtime.start(&svc.plan, &|| phase(Phase::Initializing))?;
            wait_ready(svc, runtime, &options.interrupt, &phase)?;
            action = UpAction::Initialized;
        }
        let fingerprint = provisioning_fingerprint(svc);
        if action == UpAction::Initialized || state.provisioned.get(&svc.name) != Some(&fingerprint)
        {
            phase(Phase::Provisioning);
            svc.provision()?;
            kill_point::reached(|| format!("{}:provisioned", svc.name));
        }
        if init_scripts::due(svc, dir) {
            init_scripts::run(svc, runtime, dir, &options.interrupt, &phase)?;
        }
        // Before dependents start: an app that depends on the database
        // finds its schema in place.
        let migrations = match svc.migration_target() {
            Some(target) if options.migrate => Some(migrate::runner::migrate(
                &target,
                &migrate::runner::Options {
                    interrupt: options.interrupt.clone(),
                    ..Default::default()
                },
                reporter,
            )?),
            _ => None,
        };
        // Cheap when there is nothing new: the kind looks for its mark of
        // having seeded only where there are seed files.
        let seeded = match options.migrate {
            true => svc.seed(false)?,
            false => Vec::new(),
        };
        let ready_in = began.elapsed();
        phase(Phase::Ready { elapsed: ready_in });
        Ok((
            ServiceReport {
                service: svc.name.clone(),
                kind: svc.kind().to_string(),
                runtime: svc.runtime,
                endpoint: svc.endpoint().to_string(),
                action,
                ready_in,
                migrations,
                seeded,
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

/// What provisioning depends on, digested: provisioning is skipped when it
/// is the same as last time on the same data. Stored in the state, so the
/// digest is SHA-256 (stable across builds), not a hasher of the standard
/// library's.
fn provisioning_fingerprint(svc: &Service) -> String {
    let mut text = format!("{}\n{}", svc.kind(), svc.settings.provisioning());
    // Secrets too: a new password or salt is set by provisioning.
    for (name, value) in &svc.secrets {
        text.push_str(&format!("{name} {value}\n"));
    }
    digest::sha256_hex(text.as_bytes())[..16].to_string()
}
