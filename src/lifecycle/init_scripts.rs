//! A service's one-time setup scripts (postgres's `init`), run on new data
//! after provisioning and before migrations, as the official image runs
//! them before its server is first reachable; then the server restarts,
//! as the image's does, so that what `ALTER SYSTEM` set takes effect.
//!
//! While they are due, a mark in the state directory says so
//! (`init-pending/<service>`): made before the server first makes its
//! data, removed once every script has run and the server restarted.
//! Scripts cut short (one failed, berth was killed) leave it, and the next
//! `up` makes the data again and runs them all from the first, as a
//! container whose initialization failed starts over: a script never runs
//! twice on the same data.

use std::path::PathBuf;

use super::readiness::wait_ready;
use super::tools::RuntimeTools;
use crate::error::{IoContext, Result};
use crate::events::Phase;
use crate::fsutil;
use crate::interrupt::Interrupt;
use crate::kill_point;
use crate::runtime::contract::Runtime;
use crate::stack::service::Service;
use crate::state::StateDir;

/// Where the marks are, in the state directory.
pub const MARKS: &str = "init-pending";

fn mark(dir: &StateDir, svc: &Service) -> PathBuf {
    dir.root.join(MARKS).join(&svc.name)
}

/// Before the service starts: when it has init scripts and no data, the
/// start makes its data, and the scripts are due on it.
pub fn due_if_new(svc: &Service, runtime: &dyn Runtime, dir: &StateDir) -> Result<()> {
    if svc.settings.init_scripts()?.is_empty() || runtime.has_data(&svc.plan)? {
        return Ok(());
    }
    fsutil::create_dir(&dir.root.join(MARKS), 0o700)?;
    fsutil::write_atomic(
        &mark(dir, svc),
        b"the init scripts have not all run on this data\n",
        0o600,
    )
}

/// Whether the service's init scripts are due on its data.
pub fn due(svc: &Service, dir: &StateDir) -> bool {
    mark(dir, svc).is_file()
}

/// Run the service's init scripts on its new data, restart it and wait
/// for it, and mark them done. Returns how many ran.
pub fn run(
    svc: &Service,
    runtime: &dyn Runtime,
    dir: &StateDir,
    interrupt: &Interrupt,
    phase: &dyn Fn(Phase),
) -> Result<usize> {
    let scripts = svc.settings.init_scripts()?;
    if !scripts.is_empty() {
        let tools = RuntimeTools::new(runtime, &svc.plan)?;
        for (done, script) in scripts.iter().enumerate() {
            let file = script
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            phase(Phase::InitScript {
                file,
                done,
                total: scripts.len(),
            });
            kill_point::reached(|| format!("{}:init script {}", svc.name, done + 1));
            svc.run_init_script(&tools, script)?;
        }
        kill_point::reached(|| format!("{}:init scripts run", svc.name));
        // As the official image restarts its server after its scripts:
        // what `ALTER SYSTEM` set (`shared_preload_libraries`, say) takes
        // effect.
        phase(Phase::Starting);
        runtime.stop(&svc.plan)?;
        runtime.start(&svc.plan, &|| {})?;
        wait_ready(svc, runtime, interrupt, phase)?;
        kill_point::reached(|| format!("{}:init scripts restarted", svc.name));
    }
    let mark = mark(dir, svc);
    match std::fs::remove_file(&mark) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).context(|| format!("could not remove `{}`", mark.display()))?
        }
        _ => {}
    }
    Ok(scripts.len())
}
