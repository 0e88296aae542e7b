//! Readiness: a service is ready when it answers its kind's protocol from
//! the host (or a command where it runs says so), never when its process
//! merely started.

use std::time::{Duration, Instant};

use crate::client::CREDENTIALS_REFUSED;
use crate::error::{Error, Result};
use crate::events::Phase;
use crate::interrupt::Interrupt;
use crate::runtime::contract::Runtime;
use crate::stack::service::Service;

/// One readiness attempt, the way the service's kind asks for: its
/// protocol probe from the host, or a command where the service runs.
/// `Ok(Err(seen))` is a probe that failed; `Err` a runtime that could not
/// try.
pub fn probe_once(svc: &Service, runtime: &dyn Runtime) -> Result<std::result::Result<(), String>> {
    match svc.settings.exec_probe() {
        Some(command) => runtime.exec(&svc.plan, &command),
        None => Ok(svc.probe()),
    }
}

/// Probe until the service answers, it exits, the timeout passes, or the
/// user interrupts. Probes start fast (servers often answer within 100 ms)
/// and back off to twenty a second: a probe costs the server little, and
/// every millisecond between ready and noticing it is the user's.
pub fn wait_ready(
    svc: &Service,
    runtime: &dyn Runtime,
    interrupt: &Interrupt,
    phase: &dyn Fn(Phase),
) -> Result<()> {
    let started = Instant::now();
    let mut interval = Duration::from_millis(5);
    let mut last;
    let mut announced = Instant::now();
    let mut alive_checked: Option<Instant> = None;
    // Since when the server has refused berth's credentials, probe after
    // probe: for a moment, while an image's initialization hands over to
    // the real server, and no longer.
    let mut refused_since: Option<Instant> = None;
    loop {
        match probe_once(svc, runtime)? {
            Ok(()) => {
                // An answer on the port proves little if the server is
                // gone (something else may hold the port), and a service
                // that is ready when it runs has no answer but this.
                if alive_checked.is_none() {
                    runtime.ensure_alive(&svc.plan)?;
                }
                return Ok(());
            }
            Err(seen) => last = seen,
        }
        if last.starts_with(CREDENTIALS_REFUSED) {
            let since = *refused_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= REFUSED_FOR {
                return Err(credentials_refused(svc, &last));
            }
        } else {
            refused_since = None;
        }
        // Whether it still runs is a question to the engine for a
        // container: asked a few times a second, not at every probe.
        if alive_checked.is_none_or(|t| t.elapsed() >= Duration::from_millis(250)) {
            runtime.ensure_alive(&svc.plan)?;
            alive_checked = Some(Instant::now());
        }
        if interrupt.requested() {
            return Err(Error::Interrupted);
        }
        let elapsed = started.elapsed();
        if elapsed >= svc.ready_timeout {
            let log = runtime.log_file(&svc.name);
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

/// How long a server may refuse berth's credentials before the wait stops.
const REFUSED_FOR: Duration = Duration::from_secs(1);

/// The server runs and answers, and refuses the password berth has for it:
/// its data was made with another one, most likely because the stack's
/// state (where a generated password is kept) was replaced or lost.
fn credentials_refused(svc: &Service, seen: &str) -> Error {
    Error::Service {
        service: svc.name.clone(),
        message: format!(
            "runs, and refused berth's password ({}): its data was made with another one",
            seen.trim_start_matches(CREDENTIALS_REFUSED).trim_start_matches(": ")
        ),
        hint: Some(format!(
            "a password berth generated is kept in the stack's `state.json`; if that file was replaced or emptied, it is lost. A snapshot holds the passwords its data was made with (`berth snapshot list`, then `berth snapshot restore NAME`); or set `password = \"...\"` under `[services.{}]` to the one the data has; or `berth reset` starts the service afresh (deleting its data)",
            svc.name
        )),
        source: None,
    }
}
