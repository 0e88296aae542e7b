//! Named points in berth's work where the crash tests kill it.
//!
//! berth promises that a crash at any point leaves a state the next command
//! recovers from; `tests/it/crash.rs` checks it by killing berth at every
//! one of these points in turn. In debug builds (the ones tests run), two
//! environment variables drive it:
//!
//! - `BERTH_TEST_STEPS=FILE` appends each point's name to `FILE` as it is
//!   reached, so a test learns the points of a command;
//! - `BERTH_TEST_KILL_AT=NAME` sends berth a signal at the first point of
//!   that name: SIGKILL, or SIGINT with `BERTH_TEST_KILL_SIGNAL=INT` (the
//!   Ctrl-C path: berth must then stop at its next safe point);
//!   `BERTH_TEST_KILL_DELAY_MS=N` sends it N milliseconds later instead,
//!   while berth goes on (so it lands in the middle of the next step).
//!
//! Release builds compile [`reached`] to nothing: no variable is read and
//! no name is formatted.

/// Mark a point; `name` is called only when a test asked for points.
#[cfg(debug_assertions)]
pub fn reached(name: impl FnOnce() -> String) {
    use std::io::Write;
    let Some(plan) = plan() else {
        return;
    };
    let name = name();
    if let Some(log) = &plan.log {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            // One write per line: points reached at once by parallel jobs
            // must not interleave.
            let _ = f.write_all(format!("{name}\n").as_bytes());
        }
    }
    if plan.kill_at.as_deref() == Some(name.as_str()) {
        if let Some(delay) = plan.delay {
            let signal = plan.signal;
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                // SAFETY: kill on our own pid; the signal is the point.
                unsafe {
                    libc::kill(libc::getpid(), signal);
                }
            });
            return;
        }
        // SAFETY: kill on our own pid; the signal is the point.
        unsafe {
            libc::kill(libc::getpid(), plan.signal);
        }
        if plan.signal == libc::SIGKILL {
            // Delivered by the time kill returns for our own process; this
            // only guards against going on if it somehow was not.
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
    }
}

#[cfg(not(debug_assertions))]
#[inline(always)]
pub fn reached(_name: impl FnOnce() -> String) {}

#[cfg(debug_assertions)]
struct Plan {
    log: Option<std::path::PathBuf>,
    kill_at: Option<String>,
    signal: libc::c_int,
    delay: Option<std::time::Duration>,
}

#[cfg(debug_assertions)]
fn plan() -> Option<&'static Plan> {
    static PLAN: std::sync::OnceLock<Option<Plan>> = std::sync::OnceLock::new();
    PLAN.get_or_init(|| {
        let log = std::env::var_os("BERTH_TEST_STEPS").map(std::path::PathBuf::from);
        let kill_at = std::env::var("BERTH_TEST_KILL_AT").ok();
        let signal = match std::env::var("BERTH_TEST_KILL_SIGNAL").as_deref() {
            Ok("INT") => libc::SIGINT,
            _ => libc::SIGKILL,
        };
        let delay = std::env::var("BERTH_TEST_KILL_DELAY_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map(std::time::Duration::from_millis);
        (log.is_some() || kill_at.is_some()).then_some(Plan {
            log,
            kill_at,
            signal,
            delay,
        })
    })
    .as_ref()
}
