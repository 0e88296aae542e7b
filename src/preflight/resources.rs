//! The resource baseline (source document 001): CPU count, free memory,
//! free disk where the data lives. Short resources are warnings; only a
//! hopeless shortage fails.

use std::path::Path;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Resources {
    pub cpus: usize,
    pub free_memory_mb: Option<u64>,
    pub free_disk_mb: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub fatal: bool,
    pub message: String,
}

/// Below these, warn.
const WARN_CPUS: usize = 2;
const WARN_MEMORY_MB: u64 = 1024;
const WARN_DISK_MB: u64 = 2048;
/// Below these, starting servers cannot work.
const FAIL_MEMORY_MB: u64 = 64;
const FAIL_DISK_MB: u64 = 100;

pub fn measure(data_path: &Path) -> Resources {
    Resources {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        free_memory_mb: available_memory_mb(),
        free_disk_mb: test_free_disk_mb().or_else(|| free_disk_mb(data_path)),
    }
}

/// In debug builds (the ones tests run), `BERTH_TEST_FREE_DISK_MB` stands
/// in for the free disk, so a test can show what a full disk refuses
/// without filling one.
#[cfg(debug_assertions)]
fn test_free_disk_mb() -> Option<u64> {
    std::env::var("BERTH_TEST_FREE_DISK_MB").ok()?.parse().ok()
}

#[cfg(not(debug_assertions))]
fn test_free_disk_mb() -> Option<u64> {
    None
}

pub fn assess(r: &Resources) -> Vec<Finding> {
    let mut findings = Vec::new();
    if r.cpus < WARN_CPUS {
        findings.push(Finding {
            fatal: false,
            message: format!("only {} CPU available; services start slower", r.cpus),
        });
    }
    if let Some(m) = r.free_memory_mb {
        if m < FAIL_MEMORY_MB {
            findings.push(Finding {
                fatal: true,
                message: format!("only {m} MiB of memory free; servers cannot start"),
            });
        } else if m < WARN_MEMORY_MB {
            findings.push(Finding {
                fatal: false,
                message: format!(
                    "only {m} MiB of memory free (at least {WARN_MEMORY_MB} MiB recommended)"
                ),
            });
        }
    }
    if let Some(d) = r.free_disk_mb {
        if d < FAIL_DISK_MB {
            findings.push(Finding {
                fatal: true,
                message: format!(
                    "only {d} MiB of disk free where the data lives; servers cannot start"
                ),
            });
        } else if d < WARN_DISK_MB {
            findings.push(Finding { fatal: false, message: format!("only {d} MiB of disk free where the data lives (at least {WARN_DISK_MB} MiB recommended)") });
        }
    }
    findings
}

fn available_memory_mb() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

fn free_disk_mb(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    // The nearest existing ancestor: the data directory may not exist yet.
    let existing = path.ancestors().find(|p| p.exists())?;
    let c = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs writes into the struct we pass.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some(st.f_bavail as u64 * st.f_frsize as u64 / (1024 * 1024))
}
