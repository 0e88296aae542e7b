//! First-time initialization of a service's data, crash-safe: every step
//! runs into `data.init-<pid>`, which is made durable and renamed to `data`
//! only once complete, so a crash at any point leaves either no data
//! directory or a whole one. Leftovers are removed by the next start. A
//! launch's skeleton comes from the cache (`skeletons.rs`) when there is
//! one.

use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::binaries::Binary;
use super::skeletons::{Entry, Made, Skeletons};
use super::user::ServiceUser;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::kill_point;
use crate::plan::native::{Arg, InitStep, NativeLaunch};

/// The prefix of interrupted initializations' directories.
pub const TEMP_PREFIX: &str = "data.init-";

/// Make `launch`'s data in a fresh directory — its skeleton copied from
/// `skeletons` (built there first when missing), or made here without a
/// cache — run its init steps on it, and move it into place as
/// `service_dir/data`. `command` makes a command that runs as the service
/// user. Returns how the skeleton was had, when the launch has one and
/// there is a cache.
pub fn initialize(
    service: &str,
    launch: &NativeLaunch,
    bin: &Binary,
    service_dir: &Path,
    user: &ServiceUser,
    skeletons: Option<&Skeletons>,
    command: &dyn Fn(&Path, Vec<String>, &Path) -> Command,
) -> Result<Option<Made>> {
    let tmp = service_dir.join(format!("{TEMP_PREFIX}{}", std::process::id()));
    fsutil::remove_dir(&tmp)?;
    kill_point::reached(|| format!("{service}:init begun"));
    let mut written = Vec::new();
    let fresh = |dir: &Path| -> Result<()> {
        fsutil::create_dir(dir, 0o700)?;
        user.own(dir)
    };
    let result = (|| {
        let made = match (&launch.skeleton, skeletons) {
            (Some(skeleton), Some(cache)) => {
                let key = Skeletons::key(bin, &launch.binary.program, skeleton, user);
                let about = Entry {
                    key: key.clone(),
                    describes: skeleton.describes.clone(),
                    program: bin.path(&launch.binary.program).display().to_string(),
                    version: bin.version.to_string(),
                    uid: user.uid,
                    created: String::new(),
                    files: 0,
                    bytes: 0,
                    digest: String::new(),
                    fingerprint: String::new(),
                };
                let build = |into: &Path| -> Result<()> {
                    fresh(into)?;
                    let mut files = Vec::new();
                    let built = run_steps(
                        service,
                        &skeleton.steps,
                        bin,
                        into,
                        service_dir,
                        user,
                        command,
                        &mut files,
                    );
                    remove_all(&files);
                    built
                };
                Some(cache.make(&key, about, &tmp, &build)?)
            }
            (Some(skeleton), None) => {
                fresh(&tmp)?;
                run_steps(
                    service,
                    &skeleton.steps,
                    bin,
                    &tmp,
                    service_dir,
                    user,
                    command,
                    &mut written,
                )?;
                None
            }
            (None, _) => {
                fresh(&tmp)?;
                None
            }
        };
        run_steps(
            service,
            &launch.init,
            bin,
            &tmp,
            service_dir,
            user,
            command,
            &mut written,
        )?;
        Ok(made)
    })();
    remove_all(&written);
    let made = match result {
        Ok(made) => made,
        Err(e) => {
            let _ = fsutil::remove_dir(&tmp);
            return Err(e);
        }
    };
    sync_filesystem(&tmp)?;
    kill_point::reached(|| format!("{service}:init synced"));
    let data = service_dir.join("data");
    std::fs::rename(&tmp, &data)
        .context(|| format!("could not move `{}` into place", tmp.display()))?;
    kill_point::reached(|| format!("{service}:init in place"));
    fsutil::sync_dir(service_dir)
        .context(|| format!("could not sync `{}`", service_dir.display()))?;
    Ok(made)
}

fn remove_all(files: &[PathBuf]) {
    for path in files {
        let _ = std::fs::remove_file(path);
    }
}

/// Run `steps` on the data directory `data`; the files they write (into
/// `service_dir`) are added to `written`, for removal once done.
#[allow(clippy::too_many_arguments)]
fn run_steps(
    service: &str,
    steps: &[InitStep],
    bin: &Binary,
    data: &Path,
    service_dir: &Path,
    user: &ServiceUser,
    command: &dyn Fn(&Path, Vec<String>, &Path) -> Command,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    for step in steps {
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
            InitStep::Run {
                program,
                args,
                input,
            } => {
                kill_point::reached(|| format!("{service}:init run {program}"));
                let args = resolve_args(args, data, service_dir, None);
                // In a process group of its own: a Ctrl-C at the terminal
                // lets it finish, and berth stops after it.
                let mut cmd = command(&bin.path(program), args, service_dir);
                cmd.process_group(0)
                    .stdin(if input.is_some() {
                        Stdio::piped()
                    } else {
                        Stdio::null()
                    })
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let ran = || format!("could not run `{}`", bin.path(program).display());
                let mut child = cmd.spawn().context(ran)?;
                if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
                    stdin.write_all(text.as_bytes()).context(ran)?;
                }
                let out = child.wait_with_output().context(ran)?;
                if !out.status.success() {
                    let text = format!(
                        "{}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    );
                    return Err(Error::CommandFailed {
                        service: service.to_string(),
                        program: program.to_string(),
                        status: out.status.to_string(),
                        output_tail: fsutil::last_lines(&text, 20),
                    });
                }
            }
        }
    }
    Ok(())
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
pub fn resolve_args(
    args: &[Arg],
    data: &Path,
    service_dir: &Path,
    socket_dir: Option<&Path>,
) -> Vec<String> {
    args.iter()
        .map(|a| match a {
            Arg::Text(t) => t.clone(),
            Arg::DataDir => data.display().to_string(),
            Arg::File(name) => service_dir.join(name).display().to_string(),
            Arg::FileSetting { key, file } => {
                format!("{key}={}", service_dir.join(file).display())
            }
            Arg::SocketDir => socket_dir
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
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
