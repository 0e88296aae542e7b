//! One berth command at a time per stack.
//!
//! An exclusive `flock` on `.berth/<stack>/lock`, released by the kernel when
//! the holder exits however it exits (no stale lock after a crash). The
//! holder writes who it is to `lock.owner` so a waiter can say what it waits
//! for. `reset` deletes the state directory, lock file included, so after
//! acquiring we check the locked file is still the one at the path; if not,
//! we lock again.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};
use crate::interrupt::Interrupt;
use crate::state::StateDir;

pub struct StackLock {
    _file: File,
    owner: std::path::PathBuf,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

impl StackLock {
    /// Take the lock, waiting up to `timeout`; `on_wait` is called once with
    /// a description of the holder when the lock is not free at once.
    pub fn acquire(
        dir: &StateDir,
        stack: &str,
        command: &str,
        timeout: Duration,
        interrupt: &Interrupt,
        on_wait: &mut dyn FnMut(&str),
    ) -> Result<StackLock> {
        let started = Instant::now();
        let mut told = false;
        loop {
            dir.ensure()?;
            let path = dir.lock_file();
            crate::fsutil::refuse_link(&path)?;
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
                .context(|| format!("could not open the lock file `{}`", path.display()))?;
            // SAFETY: flock on a file descriptor we own.
            let got = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
            if got {
                let same = match (file.metadata(), std::fs::metadata(&path)) {
                    (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
                    _ => false,
                };
                if !same {
                    continue; // reset replaced the file under us
                }
                let owner = dir.root.join("lock.owner");
                let me = format!("`berth {command}` (pid {})", std::process::id());
                write_owner(&owner, &me);
                return Ok(StackLock { _file: file, owner });
            }
            // The holder writes `lock.owner` just after locking: give it a
            // moment before settling for a vaguer description.
            let owner = std::fs::read_to_string(dir.root.join("lock.owner"))
                .ok()
                .filter(|o| !o.trim().is_empty());
            let known = owner.is_some();
            let holder = owner.unwrap_or_else(|| "another berth command".into());
            if started.elapsed() >= timeout {
                return Err(Error::Busy {
                    stack: stack.to_string(),
                    holder,
                    waited: started.elapsed(),
                });
            }
            if interrupt.requested() {
                return Err(Error::Interrupted);
            }
            if !told && (known || started.elapsed() >= Duration::from_millis(200)) {
                on_wait(&holder);
                told = true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The wait from `BERTH_LOCK_TIMEOUT` (seconds), or the default.
    pub fn timeout_from_env() -> Duration {
        std::env::var("BERTH_LOCK_TIMEOUT")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64)
    }
}

/// Write `lock.owner` by rename, so that a waiter reading it at any moment
/// sees no file or a whole one; a plain write truncates first, and a waiter
/// that read in between once said it waited for "" (no fsync: the file only
/// matters while its writer lives).
fn write_owner(path: &std::path::Path, me: &str) {
    let tmp = path.with_extension(format!("owner.tmp-{}", std::process::id()));
    if std::fs::write(&tmp, me).is_err() || std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

impl Drop for StackLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.owner);
    }
}
