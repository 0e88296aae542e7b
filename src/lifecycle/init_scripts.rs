//! A service's one-time setup scripts (postgres's `init`), run on new data
//! after provisioning and before migrations, as the official image runs
//! them before its server is first reachable; then the server restarts,
//! as the image's does, so that what `ALTER SYSTEM` set takes effect.
//!
//! While they run, a mark in the data directory says so. Scripts cut short
//! (one failed, berth was killed) leave it, and the next `up` makes the
//! data again and runs them all from the first, as a container whose
//! initialization failed starts over: a script is never run twice on the
//! same data.

use super::readiness::wait_ready;
use super::tools::RuntimeTools;
use crate::error::Result;
use crate::events::Phase;
use crate::interrupt::Interrupt;
use crate::kill_point;
use crate::kind::contract::Tools;
use crate::runtime::contract::Runtime;
use crate::stack::service::Service;

/// The mark, in the data directory while the scripts run.
const MARK: &str = "berth-init-scripts-pending";

/// Whether the service's data carries the mark of init scripts cut short.
/// Asked only of a service that has init scripts.
pub fn cut_short(svc: &Service, runtime: &dyn Runtime) -> Result<bool> {
    if svc.settings.init_scripts()?.is_empty() {
        return Ok(false);
    }
    let tools = RuntimeTools::new(runtime, &svc.plan)?;
    let mut out = Vec::new();
    tools.run(
        &mark_command("test -e \"$1\" && echo cut-short || true", &tools),
        &[],
        None,
        &mut out,
    )?;
    Ok(String::from_utf8_lossy(&out).trim() == "cut-short")
}

/// Run the service's init scripts on its new data, then restart it and
/// wait for it. Returns how many ran.
pub fn run(
    svc: &Service,
    runtime: &dyn Runtime,
    interrupt: &Interrupt,
    phase: &dyn Fn(Phase),
) -> Result<usize> {
    let scripts = svc.settings.init_scripts()?;
    if scripts.is_empty() {
        return Ok(0);
    }
    let tools = RuntimeTools::new(runtime, &svc.plan)?;
    tools.run(
        &mark_command("echo pending > \"$1\"", &tools),
        &[],
        None,
        &mut std::io::sink(),
    )?;
    for (done, script) in scripts.iter().enumerate() {
        let file = script
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        phase(Phase::InitScript {
            file: file.clone(),
            done,
            total: scripts.len(),
        });
        kill_point::reached(|| format!("{}:init script {}", svc.name, done + 1));
        svc.run_init_script(&tools, script)?;
    }
    kill_point::reached(|| format!("{}:init scripts run", svc.name));
    tools.run(
        &mark_command("rm -f \"$1\"", &tools),
        &[],
        None,
        &mut std::io::sink(),
    )?;
    // As the official image restarts its server after its scripts: what
    // `ALTER SYSTEM` set (`shared_preload_libraries`, say) takes effect.
    phase(Phase::Starting);
    runtime.stop(&svc.plan)?;
    runtime.start(&svc.plan, &|| {})?;
    wait_ready(svc, runtime, interrupt, phase)?;
    Ok(scripts.len())
}

/// `sh -c SCRIPT sh MARK`, the mark's path as the tools see the data.
fn mark_command(script: &str, tools: &dyn Tools) -> Vec<String> {
    vec![
        "sh".into(),
        "-c".into(),
        script.into(),
        "sh".into(),
        format!("{}/{MARK}", tools.data_dir()),
    ]
}
