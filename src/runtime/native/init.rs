//! First-time initialization of a service's data, crash-safe: every step
//! runs into `data.init-<pid>`, which is made durable and renamed to `data`
//! only once complete, so a crash at any point leaves either no data
//! directory or a whole one. Leftovers are removed by the next start.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::binaries::Binary;
use super::user::ServiceUser;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::kill_point;
use crate::plan::native::{Arg, InitStep, NativeLaunch};

/// The prefix of interrupted initializations' directories.
pub const TEMP_PREFIX: &str = "data.init-";

/// Run `launch`'s init steps into a fresh directory and move it into place
/// as `service_dir/data`. `command` makes a command that runs as the
/// service user.
pub fn initialize(
    service: &str,
    launch: &NativeLaunch,
    bin: &Binary,
    service_dir: &Path,
    user: &ServiceUser,
    command: &dyn Fn(&Path, Vec<String>, &Path) -> Command,
) -> Result<()> {
    let tmp = service_dir.join(format!("{TEMP_PREFIX}{}", std::process::id()));
    fsutil::remove_dir(&tmp)?;
    fsutil::create_dir(&tmp, 0o700)?;
    user.own(&tmp)?;
    kill_point::reached(|| format!("{service}:init begun"));
    let mut written = Vec::new();
    let result = (|| {
        for step in &launch.init {
            match step {
                InitStep::WriteFile {
                    name,
                    contents,
                    secret,
                } => {
                    let path = service_dir.join(name);
                    fsutil::write_atomic(
                        &path,
                        contents.as_bytes(),
                        if *secret { 0o600 } else { 0o644 },
                    )?;
                    user.own(&path)?;
                    written.push(path);
                }
                InitStep::Run { program, args } => {
                    kill_point::reached(|| format!("{service}:init run {program}"));
                    let args = resolve_args(args, &tmp, service_dir);
                    // In a process group of its own: a Ctrl-C at the terminal
                    // lets it finish, and berth stops after it.
                    let out = command(&bin.path(program), args, service_dir)
                        .process_group(0)
                        .output()
                        .context(|| format!("could not run `{}`", bin.path(program).display()))?;
                    if !out.status.success() {
                        let text = format!(
                            "{}{}",
                            String::from_utf8_lossy(&out.stdout),
                            String::from_utf8_lossy(&out.stderr)
                        );
                        let lines: Vec<String> = text.lines().map(String::from).collect();
                        return Err(Error::CommandFailed {
                            service: service.to_string(),
                            program: program.to_string(),
                            status: out.status.to_string(),
                            output_tail: lines[lines.len().saturating_sub(20)..].to_vec(),
                        });
                    }
                }
            }
        }
        Ok(())
    })();
    for path in written {
        let _ = std::fs::remove_file(path);
    }
    if let Err(e) = result {
        let _ = fsutil::remove_dir(&tmp);
        return Err(e);
    }
    sync_filesystem(&tmp)?;
    kill_point::reached(|| format!("{service}:init synced"));
    let data = service_dir.join("data");
    std::fs::rename(&tmp, &data)
        .context(|| format!("could not move `{}` into place", tmp.display()))?;
    kill_point::reached(|| format!("{service}:init in place"));
    fsutil::sync_dir(service_dir).context(|| format!("could not sync `{}`", service_dir.display()))
}

/// Interrupted initializations in a service's directory.
pub fn leftovers(service_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(service_dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(TEMP_PREFIX))
        .map(|e| e.path())
        .collect()
}

/// Arguments with the runtime's paths filled in.
pub fn resolve_args(args: &[Arg], data: &Path, service_dir: &Path) -> Vec<String> {
    args.iter()
        .map(|a| match a {
            Arg::Text(t) => t.clone(),
            Arg::DataDir => data.display().to_string(),
            Arg::File(name) => service_dir.join(name).display().to_string(),
        })
        .collect()
}

/// Flush the file system holding `dir` (one syscall instead of an fsync per
/// file written by initialization).
fn sync_filesystem(dir: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    let f = File::open(dir).context(|| format!("could not open `{}`", dir.display()))?;
    // SAFETY: syncfs on a descriptor we own.
    if unsafe { libc::syncfs(f.as_raw_fd()) } != 0 {
        return Err(Error::io(
            format!("could not sync `{}`", dir.display()),
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}
