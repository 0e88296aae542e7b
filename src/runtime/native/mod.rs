//! The native runtime: servers as supervised host processes, no container
//! engine needed.
//!
//! Each service owns `.berth/<stack>/services/<service>/` (mode 0700, owned
//! by the user servers run as) holding its data directory and config files.
//! Initialization runs into `data.init-<pid>` and is renamed to `data` only
//! once complete and synced, so a crash at any point leaves either no data
//! directory or a whole one; leftovers are removed by the next start.
//! Servers run in their own session (they outlive berth and never see the
//! terminal's Ctrl-C), log to `.berth/<stack>/logs/<service>.log`, and are
//! recorded as pid + start time in `.berth/<stack>/run/<service>.pid`.

mod binaries;
pub mod user;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use self::binaries::Binary;
use self::user::ServiceUser;
use super::{Requirement, RunState, Runtime, Started};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::kind::{Arg, InitStep, NativeLaunch, StopSignal};
use crate::process::{self, ProcessRecord};
use crate::stack::ServiceSpec;
use crate::state::StateDir;

/// How long a graceful stop may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

pub struct NativeRuntime {
    dir: StateDir,
    user: ServiceUser,
    /// Servers this process started, so it can reap them and report how
    /// they exited.
    children: Mutex<HashMap<String, Child>>,
    binaries: Mutex<HashMap<String, Binary>>,
}

impl NativeRuntime {
    pub fn new(dir: StateDir) -> Result<NativeRuntime> {
        Ok(NativeRuntime {
            dir,
            user: ServiceUser::choose()?,
            children: Mutex::new(HashMap::new()),
            binaries: Mutex::new(HashMap::new()),
        })
    }

    pub fn service_user(&self) -> &ServiceUser {
        &self.user
    }

    fn binary(&self, svc: &ServiceSpec, launch: &NativeLaunch) -> Result<Binary> {
        if let Some(b) = self.binaries.lock().unwrap().get(&svc.name) {
            return Ok(b.clone());
        }
        let found = binaries::find(&launch.binary, &svc.name)?;
        self.binaries
            .lock()
            .unwrap()
            .insert(svc.name.clone(), found.clone());
        Ok(found)
    }

    fn record(&self, svc: &ServiceSpec) -> Option<ProcessRecord> {
        let text = std::fs::read_to_string(self.dir.run_file(&svc.name)).ok()?;
        ProcessRecord::parse(&text)
    }

    fn data_dir(&self, svc: &ServiceSpec) -> PathBuf {
        self.dir.service_dir(&svc.name).join("data")
    }

    /// A command running as the service user, in `cwd`, with a minimal
    /// environment (a developer's `PGDATA` or `PGPORT` must not leak in).
    fn command(&self, program: &Path, args: Vec<String>, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(cwd)
            .env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            )
            .env("HOME", cwd)
            .stdin(Stdio::null());
        if self.user.switch {
            cmd.uid(self.user.uid).gid(self.user.gid);
        }
        cmd
    }

    fn initialize(
        &self,
        svc: &ServiceSpec,
        launch: &NativeLaunch,
        bin: &Binary,
        service_dir: &Path,
    ) -> Result<()> {
        let tmp = service_dir.join(format!("data.init-{}", std::process::id()));
        fsutil::remove_dir(&tmp)?;
        fsutil::create_dir(&tmp, 0o700)?;
        self.user.own(&tmp)?;
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
                        write_file(&path, contents, if *secret { 0o600 } else { 0o644 })?;
                        self.user.own(&path)?;
                        written.push(path);
                    }
                    InitStep::Run { program, args } => {
                        let args = resolve_args(args, &tmp, service_dir);
                        let out = self
                            .command(&bin.path(program), args, service_dir)
                            .output()
                            .context(|| {
                                format!("could not run `{}`", bin.path(program).display())
                            })?;
                        if !out.status.success() {
                            let text = format!(
                                "{}{}",
                                String::from_utf8_lossy(&out.stdout),
                                String::from_utf8_lossy(&out.stderr)
                            );
                            let lines: Vec<String> = text.lines().map(String::from).collect();
                            return Err(Error::CommandFailed {
                                service: svc.name.clone(),
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
        let data = service_dir.join("data");
        std::fs::rename(&tmp, &data)
            .context(|| format!("could not move `{}` into place", tmp.display()))?;
        fsutil::sync_dir(service_dir)
            .context(|| format!("could not sync `{}`", service_dir.display()))
    }

    /// Stop processes left in the service directory by a crash: a server
    /// whose record was lost, or an initialization that was cut short.
    fn clear_dir(&self, service_dir: &Path, stop: StopSignal) -> Result<()> {
        let orphans = process::processes_in(service_dir);
        if !orphans.is_empty() {
            for &pid in &orphans {
                process::signal(pid, stop_signal(stop));
            }
            let records: Vec<_> = orphans
                .iter()
                .filter_map(|&p| ProcessRecord::of(p))
                .collect();
            wait_for_exit(&records, STOP_TIMEOUT);
        }
        let Ok(entries) = std::fs::read_dir(service_dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with("data.init-")
            {
                fsutil::remove_dir(&entry.path())?;
            }
        }
        Ok(())
    }
}

impl Runtime for NativeRuntime {
    fn name(&self) -> &'static str {
        "native"
    }

    fn check(&self, svc: &ServiceSpec) -> Result<Requirement> {
        let launch = svc.kind.native(svc);
        let bin = self.binary(svc, &launch)?;
        let service_dir = self.dir.service_dir(&svc.name);
        if let Some(blocked) = self.user.blocked_at(&service_dir) {
            return Err(Error::Preflight {
                service: Some(svc.name.clone()),
                message: format!(
                    "servers run as user `{}` (berth runs as root), who cannot enter `{}`",
                    self.user.name,
                    blocked.display()
                ),
                hint: Some(format!(
                    "keep the project where `{}` can reach it, point `--state-dir` elsewhere, set `BERTH_SERVICE_USER`, or run berth as a normal user",
                    self.user.name
                )),
            });
        }
        let found = if launch.binary.version_args.is_empty() {
            format!("`{}` in `{}`", launch.binary.program, bin.dir.display())
        } else {
            format!(
                "{} {} in `{}`",
                launch.binary.program,
                bin.version,
                bin.dir.display()
            )
        };
        Ok(Requirement { found })
    }

    fn state(&self, svc: &ServiceSpec) -> Result<RunState> {
        if let Some(record) = self.record(svc) {
            if record.is_alive() {
                return Ok(RunState::Running { pid: record.pid });
            }
        }
        Ok(if self.data_dir(svc).is_dir() {
            RunState::Stopped
        } else {
            RunState::Absent
        })
    }

    fn clear_leftovers(&self, svc: &ServiceSpec) -> Result<()> {
        // A server killed a moment ago may not be reaped yet (its parent,
        // usually init, does that); starting beside it would fail.
        if let Some(record) = self.record(svc) {
            let started = Instant::now();
            while record.is_zombie() && started.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let stop = svc.kind.native(svc).server.stop_signal;
        self.clear_dir(&self.dir.service_dir(&svc.name), stop)
    }

    fn start(&self, svc: &ServiceSpec, on_init: &dyn Fn()) -> Result<Started> {
        let launch = svc.kind.native(svc);
        let bin = self.binary(svc, &launch)?;
        let service_dir = self.dir.service_dir(&svc.name);
        fsutil::create_dir(&service_dir, 0o700)?;
        self.user.own(&service_dir)?;

        let data = service_dir.join("data");
        let started = if data.is_dir() {
            Started::Restarted
        } else {
            if !launch.init.is_empty() {
                on_init();
            }
            self.initialize(svc, &launch, &bin, &service_dir)?;
            Started::Initialized
        };

        for (name, contents) in &launch.server.files {
            let path = service_dir.join(name);
            write_file(&path, contents, 0o600)?;
            self.user.own(&path)?;
        }
        let log_path = self.dir.log_file(&svc.name);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&log_path)
            .context(|| format!("could not open the log `{}`", log_path.display()))?;
        let err_log = log
            .try_clone()
            .context(|| "could not duplicate the log handle".into())?;
        let program = bin.path(&launch.server.program);
        let cwd = launch.server.cwd.as_deref().unwrap_or(&service_dir);
        let mut cmd = self.command(
            &program,
            resolve_args(&launch.server.args, &data, &service_dir),
            cwd,
        );
        cmd.envs(launch.server.env.iter().map(|(k, v)| (k, v)));
        cmd.stdout(log).stderr(err_log);
        // SAFETY: setsid is async-signal-safe and touches no memory. A new
        // session detaches the server from berth's terminal and group.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .context(|| format!("could not start `{}`", program.display()))?;
        let pid = child.id() as i32;
        let record = ProcessRecord::of(pid).unwrap_or(ProcessRecord { pid, start_time: 0 });
        // The stop signal goes into the record too, so a server can be
        // stopped properly even after its service left the stack file.
        let text = format!(
            "{} {}\n",
            record.to_text().trim_end(),
            signal_name(launch.server.stop_signal)
        );
        fsutil::write_atomic(&self.dir.run_file(&svc.name), text.as_bytes(), 0o600)?;
        self.children
            .lock()
            .unwrap()
            .insert(svc.name.clone(), child);
        Ok(started)
    }

    fn ensure_alive(&self, svc: &ServiceSpec) -> Result<()> {
        let exited = |status: String| Error::ServiceExited {
            service: svc.name.clone(),
            status,
            log: self.dir.log_file(&svc.name),
            log_tail: fsutil::tail_lines(&self.dir.log_file(&svc.name), 15),
        };
        if let Some(child) = self.children.lock().unwrap().get_mut(&svc.name) {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(exited(status.to_string()));
            }
            return Ok(());
        }
        match self.record(svc) {
            Some(r) if r.is_alive() => Ok(()),
            _ => Err(exited("no longer running".into())),
        }
    }

    fn exec(
        &self,
        svc: &ServiceSpec,
        command: &[String],
    ) -> Result<std::result::Result<(), String>> {
        let launch = svc.kind.native(svc);
        let cwd = launch
            .server
            .cwd
            .unwrap_or_else(|| self.dir.service_dir(&svc.name));
        let (program, args) = command.split_first().expect("exec probes are never empty");
        let mut cmd = self.command(Path::new(program), args.to_vec(), &cwd);
        cmd.envs(launch.server.env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => return Ok(Err(format!("could not run `{program}`: {e}"))),
        };
        let began = std::time::Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if began.elapsed() < super::EXEC_PROBE_TIMEOUT => {
                    std::thread::sleep(std::time::Duration::from_millis(5))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Ok(Err(format!(
                        "`{}` did not finish within {}",
                        command.join(" "),
                        crate::fmt_duration(super::EXEC_PROBE_TIMEOUT)
                    )));
                }
                Err(e) => return Ok(Err(format!("could not wait for `{program}`: {e}"))),
            }
        };
        if status.success() {
            return Ok(Ok(()));
        }
        let mut text = String::new();
        if let Some(mut out) = child.stdout.take() {
            let _ = std::io::Read::read_to_string(&mut out, &mut text);
        }
        if let Some(mut err) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut err, &mut text);
        }
        let last = text.lines().last().unwrap_or("").trim().to_string();
        Ok(Err(format!(
            "`{}` {}{}",
            command.join(" "),
            status,
            if last.is_empty() {
                String::new()
            } else {
                format!(": {last}")
            }
        )))
    }

    fn stop(&self, svc: &ServiceSpec) -> Result<()> {
        let stop = svc.kind.native(svc).server.stop_signal;
        if let Some(record) = self.record(svc).filter(ProcessRecord::is_alive) {
            process::signal(record.pid, stop_signal(stop));
            let reap = || {
                if let Some(child) = self.children.lock().unwrap().get_mut(&svc.name) {
                    let _ = child.try_wait();
                }
            };
            if !wait_for_exit_with(&[record], STOP_TIMEOUT, &reap) {
                process::signal(record.pid, libc::SIGKILL);
                wait_for_exit_with(&[record], Duration::from_secs(5), &reap);
            }
        }
        if let Some(mut child) = self.children.lock().unwrap().remove(&svc.name) {
            let _ = child.try_wait();
        }
        match std::fs::remove_file(self.dir.run_file(&svc.name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).context(|| "could not remove the run record".into())
            }
            _ => Ok(()),
        }
    }

    fn wipe(&self, svc: &ServiceSpec) -> Result<()> {
        self.clear_leftovers(svc)?;
        fsutil::remove_dir(&self.dir.service_dir(&svc.name))
    }

    fn log_file(&self, svc: &ServiceSpec) -> PathBuf {
        self.dir.log_file(&svc.name)
    }

    fn stop_unlisted(&self, listed: &[&str]) -> Result<Vec<String>> {
        let Ok(entries) = std::fs::read_dir(self.dir.root.join("run")) else {
            return Ok(Vec::new());
        };
        let mut stopped = Vec::new();
        for entry in entries.flatten() {
            let file = entry.path();
            let Some(name) = file
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".pid"))
            else {
                continue;
            };
            if listed.contains(&name) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            if let Some(record) = ProcessRecord::parse(&text).filter(ProcessRecord::is_alive) {
                let signal = match text.split_whitespace().nth(2) {
                    Some("INT") => libc::SIGINT,
                    _ => libc::SIGTERM,
                };
                process::signal(record.pid, signal);
                if !wait_for_exit_with(&[record], STOP_TIMEOUT, &|| {}) {
                    process::signal(record.pid, libc::SIGKILL);
                    wait_for_exit_with(&[record], Duration::from_secs(5), &|| {});
                }
                stopped.push(name.to_string());
            }
            let _ = std::fs::remove_file(&file);
        }
        Ok(stopped)
    }
}

fn signal_name(s: StopSignal) -> &'static str {
    match s {
        StopSignal::Interrupt => "INT",
        StopSignal::Terminate => "TERM",
    }
}

fn stop_signal(s: StopSignal) -> libc::c_int {
    match s {
        StopSignal::Interrupt => libc::SIGINT,
        StopSignal::Terminate => libc::SIGTERM,
    }
}

fn resolve_args(args: &[Arg], data: &Path, service_dir: &Path) -> Vec<String> {
    args.iter()
        .map(|a| match a {
            Arg::Text(t) => t.clone(),
            Arg::DataDir => data.display().to_string(),
            Arg::File(name) => service_dir.join(name).display().to_string(),
        })
        .collect()
}

fn write_file(path: &Path, contents: &str, mode: u32) -> Result<()> {
    fsutil::write_atomic(path, contents.as_bytes(), mode)
}

fn wait_for_exit(records: &[ProcessRecord], timeout: Duration) -> bool {
    wait_for_exit_with(records, timeout, &|| {})
}

/// Poll until every process has exited; `false` on timeout.
fn wait_for_exit_with(records: &[ProcessRecord], timeout: Duration, reap: &dyn Fn()) -> bool {
    let started = Instant::now();
    loop {
        reap();
        if records.iter().all(|r| !r.is_alive()) {
            return true;
        }
        if started.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(3));
    }
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
