//! Knowing processes for sure, through `/proc`: our servers (native
//! runtime) and the owners of test databases (`testing`).
//!
//! A pid alone is not an identity: after a reboot or a crash the number may
//! belong to anything. A record is the pid plus the process's start time
//! (field 22 of `/proc/<pid>/stat`), which a recycled pid cannot match.
//! Processes whose record was lost (berth killed between spawning and
//! writing it) are found by their working directory, which every server we
//! start has inside its service directory.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessRecord {
    pub pid: i32,
    pub start_time: u64,
}

impl ProcessRecord {
    pub fn of(pid: i32) -> Option<ProcessRecord> {
        let (start_time, _) = stat(pid)?;
        Some(ProcessRecord { pid, start_time })
    }

    pub fn parse(text: &str) -> Option<ProcessRecord> {
        let mut parts = text.split_whitespace();
        Some(ProcessRecord {
            pid: parts.next()?.parse().ok()?,
            start_time: parts.next()?.parse().ok()?,
        })
    }

    pub fn to_text(self) -> String {
        format!("{} {}\n", self.pid, self.start_time)
    }

    /// Exited but not yet reaped by its parent: the pid still exists, and a
    /// server's own lock (Postgres's `postmaster.pid`) still counts it.
    pub fn is_zombie(&self) -> bool {
        matches!(stat(self.pid), Some((start, 'Z')) if start == self.start_time)
    }

    /// Running, and the same process the record was made for.
    pub fn is_alive(&self) -> bool {
        matches!(stat(self.pid), Some((start, state)) if start == self.start_time && state != 'Z' && state != 'X')
    }
}

/// (start time, state letter) of a process.
fn stat(pid: i32) -> Option<(u64, char)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields
    // after it start past the last `)`.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((start, state))
}

pub fn signal(pid: i32, signal: libc::c_int) {
    // SAFETY: kill has no memory effects; a stale pid is excluded by the
    // caller's record check.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Live processes whose working directory is inside `dir`.
pub fn processes_in(dir: &Path) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    // Working directories are reported resolved; so must `dir` be (it may
    // lead through an in-memory state directory's link).
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let me = std::process::id() as i32;
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|&pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd"))
                .is_ok_and(|cwd: PathBuf| cwd.starts_with(&dir))
        })
        .filter(|&pid| matches!(stat(pid), Some((_, s)) if s != 'Z' && s != 'X'))
        .collect()
}

/// What a server's processes use now: CPU time so far and resident memory.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Usage {
    /// CPU time used since it started, user and system, in seconds; a rate
    /// needs two samples.
    pub cpu_seconds: f64,
    /// Resident memory, in bytes.
    pub memory_bytes: u64,
}

/// The summed use of every process in session `sid`: a native server and
/// everything it forked (PostgreSQL's backends and workers), since each
/// server is started in a session of its own.
pub fn session_usage(sid: i32) -> Option<Usage> {
    // SAFETY: sysconf has no preconditions.
    let (ticks, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    if ticks <= 0 || page <= 0 {
        return None;
    }
    let mut cpu_ticks = 0u64;
    let mut pages = 0u64;
    let mut any = false;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the command's `(...)`, which may hold spaces: state is
        // field 3, session 6, utime 14, stime 15, rss 24.
        let Some(rest) = text.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        if fields.len() < 22 || field(6) != Some(sid as u64) {
            continue;
        }
        any = true;
        cpu_ticks += field(14).unwrap_or(0) + field(15).unwrap_or(0);
        pages += field(24).unwrap_or(0);
    }
    any.then(|| Usage {
        cpu_seconds: cpu_ticks as f64 / ticks as f64,
        memory_bytes: pages * page as u64,
    })
}
