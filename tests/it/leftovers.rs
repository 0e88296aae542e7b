//! What a test's stacks may leave behind when the sandbox's `reset` cannot
//! run (a test that broke its stack file on purpose, a failing reset) or
//! never runs (a test run killed outright, which drops nothing).
//!
//! A dropped sandbox removes the containers and volumes of its own. The
//! first sandbox of a run clears what killed earlier runs left: each
//! sandbox's directory is named after the test process that made it
//! (`berth-it-<pid>-*`), so one whose process is gone is an orphan; its
//! recorded servers are killed, its engine objects removed, the directory
//! deleted. Engine objects are found by the state directory berth labels
//! them with, so nothing of another stack or of a live run is touched.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

const LABEL_STATE_DIR: &str = "berth.state-dir";

/// The prefix of this process's sandbox directories.
pub fn sandbox_prefix() -> String {
    format!("{PREFIX}{}-", std::process::id())
}

const PREFIX: &str = "berth-it-";

/// Remove the containers and volumes made for a stack under `sandbox`.
pub fn remove_of(sandbox: &Path) {
    remove_objects_where(&|state_dir| state_dir.starts_with(sandbox));
}

/// Once per run: clear what killed earlier runs left.
pub fn remove_orphans_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let orphans: Vec<PathBuf> = std::fs::read_dir(std::env::temp_dir())
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| orphaned(p))
                    .collect()
            })
            .unwrap_or_default();
        for sandbox in &orphans {
            if let Ok(stacks) = std::fs::read_dir(sandbox.join(".berth")) {
                for stack in stacks.flatten() {
                    kill_recorded(&stack.path());
                }
            }
        }
        // Also the objects of sandboxes whose directory is already gone
        // (a temporary directory emptied by a reboot).
        remove_objects_where(&|state_dir| {
            sandbox_of(state_dir).is_some_and(|d| !d.exists() || orphans.contains(&d))
        });
        for sandbox in &orphans {
            let _ = std::fs::remove_dir_all(sandbox);
        }
    });
}

/// Whether `dir` is a sandbox whose test process is gone.
fn orphaned(dir: &Path) -> bool {
    let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let Some(pid) = name
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('-'))
        .and_then(|(pid, _)| pid.parse::<i32>().ok())
    else {
        return false;
    };
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    !alive
}

/// Kill the servers recorded in a state directory's `run/`.
pub fn kill_recorded(state_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(state_dir.join("run")) else {
        return;
    };
    for e in entries.flatten() {
        if let Some(pid) = std::fs::read_to_string(e.path())
            .ok()
            .and_then(|t| t.split_whitespace().next()?.parse::<i32>().ok())
        {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// The sandbox directory (`<temp>/berth-it-*`) a state directory is in.
fn sandbox_of(state_dir: &Path) -> Option<PathBuf> {
    let temp = std::env::temp_dir();
    let first = state_dir.strip_prefix(&temp).ok()?.components().next()?;
    let first = first.as_os_str().to_str()?;
    first.starts_with(PREFIX).then(|| temp.join(first))
}

fn remove_objects_where(doomed: &dyn Fn(&Path) -> bool) {
    let chosen = |objects: Vec<(String, String)>| -> Vec<String> {
        objects
            .into_iter()
            .filter(|(_, dir)| doomed(Path::new(dir)))
            .map(|(id, _)| id)
            .collect()
    };
    let containers = chosen(labelled(&["ps", "-aq"], &["inspect"], ".Config.Labels"));
    if !containers.is_empty() {
        docker(&[&["rm", "-f", "-v"][..], &as_strs(&containers)].concat());
    }
    let volumes = chosen(labelled(
        &["volume", "ls", "-q"],
        &["volume", "inspect"],
        ".Labels",
    ));
    if !volumes.is_empty() {
        docker(&[&["volume", "rm", "-f"][..], &as_strs(&volumes)].concat());
    }
}

/// `(id, state directory)` of each object `list` names that carries the
/// label; empty when no engine answers.
fn labelled(list: &[&str], inspect: &[&str], labels: &str) -> Vec<(String, String)> {
    let filter = format!("label={LABEL_STATE_DIR}");
    let Some(ids) = docker(&[list, &["--filter", &filter]].concat()) else {
        return Vec::new();
    };
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if ids.is_empty() {
        return Vec::new();
    }
    let format = format!("{{{{index {labels} \"{LABEL_STATE_DIR}\"}}}}");
    let Some(dirs) = docker(&[inspect, &["--format", &format], &ids].concat()) else {
        return Vec::new();
    };
    ids.iter()
        .map(|s| s.to_string())
        .zip(dirs.lines().map(str::to_string))
        .collect()
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The engine's answer, or None when it does not answer (no engine, an
/// object removed meanwhile).
fn docker(args: &[&str]) -> Option<String> {
    let out = Command::new("docker").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
