//! Running a plan's server as a supervised host process.
//!
//! Each service owns `.berth/<stack>/services/<service>/` (mode 0700, owned
//! by the user servers run as) holding its data directory and config files.
//! Servers run in their own session (they outlive berth and never see the
//! terminal's Ctrl-C), log to `.berth/<stack>/logs/<service>.log`, and are
//! recorded as pid + start time (and their stop signal) in
//! `.berth/<stack>/run/<service>.pid`.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::binaries::{self, Binary};
use super::init::{self, resolve_args};
use super::skeletons::{Made, Skeletons};
use super::user::ServiceUser;
use crate::client::endpoint::Endpoint;
use crate::diagnostic::said;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::kill_point;
use crate::plan::native::Arg;
use crate::plan::native::NativeLaunch;
use crate::plan::service_plan::ServicePlan;
use crate::plan::service_plan::LOOPBACK;
use crate::plan::stop::StopSignal;
use crate::process::{self, ProcessRecord};
use crate::runtime::contract::{
    Requirement, RunState, Runtime, Server, Started, Tool, EXEC_PROBE_TIMEOUT,
};
use crate::state::StateDir;
use crate::tree_copy::{self, Copied, Digest};

/// How long a graceful stop may take before the server is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

pub struct NativeRuntime {
    dir: StateDir,
    user: ServiceUser,
    /// Where initialized data is cached (`skeletons.rs`); none without a
    /// home directory.
    skeletons: Option<Skeletons>,
    /// Servers this process started, so it can reap them and report how
    /// they exited.
    children: Mutex<HashMap<String, Child>>,
    /// Which of a launch's choices is installed, and where, by service.
    binaries: Mutex<HashMap<String, (usize, Binary)>>,
}

impl NativeRuntime {
    pub fn new(dir: StateDir) -> Result<NativeRuntime> {
        Ok(NativeRuntime {
            dir,
            user: ServiceUser::choose()?,
            skeletons: Skeletons::locate(),
            children: Mutex::new(HashMap::new()),
            binaries: Mutex::new(HashMap::new()),
        })
    }

    /// The plan's launch to run here — the first of its choices whose
    /// program is installed — and where that program is.
    fn launch<'p>(&self, plan: &'p ServicePlan) -> Result<(&'p NativeLaunch, Binary)> {
        let launch = plan.native()?;
        let service = plan.service.as_str();
        let cached = self
            .binaries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(service)
            .cloned();
        if let Some((index, bin)) = cached {
            if let Some(chosen) = launch.choices().nth(index) {
                return Ok((chosen, bin));
            }
        }
        // Searched without the lock: services are checked in parallel, and
        // a search runs the programs to ask their versions.
        let mut first_error = None;
        for (index, choice) in launch.choices().enumerate() {
            let reachable = |dir: &Path| self.user.blocked_at(dir).is_none();
            match binaries::find(&choice.binary, service, &reachable) {
                Ok(bin) => {
                    self.binaries
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(service.to_string(), (index, bin.clone()));
                    return Ok((choice, bin));
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let programs: Vec<String> = launch
            .choices()
            .map(|c| format!("`{}`", c.binary.program))
            .collect();
        match (first_error, programs.len()) {
            (Some(e), 1) => Err(e),
            _ => Err(Error::Preflight {
                service: Some(service.to_string()),
                message: format!(
                    "service `{service}` needs {}, and none is installed",
                    programs.join(" or ")
                ),
                hint: Some(
                    launch
                        .choices()
                        .map(|c| c.binary.install_hint.clone())
                        .collect::<Vec<_>>()
                        .join("; or "),
                ),
            }),
        }
    }

    fn record(&self, service: &str) -> Option<ProcessRecord> {
        let text = std::fs::read_to_string(self.dir.run_file(service)).ok()?;
        ProcessRecord::parse(&text)
    }

    /// The service's directory for the generation of its data it runs on:
    /// `services/<service>`, or `services/<service>.gN` after a restore.
    fn service_dir(&self, plan: &ServicePlan) -> PathBuf {
        generation_dir(&self.dir, &plan.service, plan.generation)
    }

    /// The directory for the service's Unix socket, made: open to the
    /// servers' user alone, who makes the socket in it (when berth runs as
    /// root, root reaches it too). `None` where the stack has none.
    fn socket_dir(&self, service: &str) -> Result<Option<PathBuf>> {
        let Some(dir) = self.dir.socket_dir(service) else {
            return Ok(None);
        };
        if let Some(parent) = dir.parent() {
            fsutil::create_dir(parent, 0o711)?;
        }
        fsutil::create_dir(&dir, 0o700)?;
        self.user.own(&dir)?;
        Ok(Some(dir))
    }

    fn data_dir(&self, plan: &ServicePlan) -> PathBuf {
        self.service_dir(plan).join("data")
    }

    /// The directories of the service's other data generations: what a
    /// restore (or one cut short) leaves behind.
    fn other_generations(&self, plan: &ServicePlan) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.dir.services_dir()) else {
            return Vec::new();
        };
        let current = self.service_dir(plan);
        let prefix = format!("{}.g", plan.service);
        entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| *p != current)
            .filter(|p| {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                name == plan.service
                    || name
                        .strip_prefix(&prefix)
                        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
            })
            .collect()
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

    /// Stop the service's server: with its stop signal, or (`at_once`)
    /// by killing its process group.
    fn end(&self, plan: &ServicePlan, at_once: bool) -> Result<()> {
        let service = plan.service.as_str();
        if let Some(record) = self.record(service).filter(ProcessRecord::is_alive) {
            if at_once {
                // SAFETY: kill has no memory effects; the record was
                // checked alive (pid and start time) just now.
                unsafe {
                    libc::kill(-record.pid, libc::SIGKILL);
                }
                wait_for_exit(&[record], Duration::from_secs(5), &|| self.reap(service));
            } else {
                stop_process(record, plan.stop_signal().number(), &|| self.reap(service));
            }
            kill_point::reached(|| format!("{service}:process stopped"));
        }
        if let Some(mut child) = self
            .children
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(service)
        {
            let _ = child.try_wait();
        }
        match std::fs::remove_file(self.dir.run_file(service)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).context(|| "could not remove the run record".into())
            }
            _ => Ok(()),
        }
    }

    /// A line of berth's own in the service's log.
    fn note_in_log(&self, service: &str, line: &str) {
        if let Ok(mut log) = fsutil::open_append(&self.dir.log_file(service), 0o600) {
            use std::io::Write;
            let _ = writeln!(log, "berth: {line}");
        }
    }

    /// Where a server (and its probes) keep their files, as environment
    /// variables: `BERTH_DATA_DIR`, its data directory (kept by `down`
    /// when it persists, wiped by `reset`, copied by snapshots), and
    /// `TMPDIR`, a directory of its own for temporary files — the
    /// machine's `/tmp` may be shared, or closed to the service user.
    fn own_places(&self, service_dir: &Path) -> Result<Vec<(&'static str, PathBuf)>> {
        let tmp = service_dir.join("tmp");
        fsutil::create_dir(&tmp, 0o700)?;
        self.user.own(&tmp)?;
        Ok(vec![
            ("BERTH_DATA_DIR", service_dir.join("data")),
            ("TMPDIR", tmp),
        ])
    }

    /// Stop processes left in the service directory by a crash: a server
    /// whose record was lost, or an initialization that was cut short.
    fn clear_dir(&self, service_dir: &Path, stop: StopSignal) -> Result<()> {
        // Through a planted link, the processes of whatever it points at
        // would be stopped, and the files there taken for leftovers.
        fsutil::refuse_link(service_dir)?;
        let orphans = process::processes_in(service_dir);
        if !orphans.is_empty() {
            for &pid in &orphans {
                process::signal(pid, stop.number());
            }
            let records: Vec<_> = orphans
                .iter()
                .filter_map(|&p| ProcessRecord::of(p))
                .collect();
            wait_for_exit(&records, STOP_TIMEOUT, &|| {});
        }
        for leftover in init::leftovers(service_dir) {
            fsutil::remove_dir(&leftover)?;
        }
        Ok(())
    }

    fn reap(&self, service: &str) {
        if let Some(child) = self
            .children
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(service)
        {
            let _ = child.try_wait();
        }
    }
}

impl Runtime for NativeRuntime {
    fn check(&self, plan: &ServicePlan) -> Result<Requirement> {
        let (launch, bin) = self.launch(plan)?;
        // The directories on the way to the service's, not the service's
        // own: `start` makes that and hands it to the servers' user, and an
        // `up` killed between the two leaves it closed to them until the
        // next `start` hands it over again.
        let services_dir = self.dir.services_dir();
        if let Some(blocked) = self.user.blocked_at(&services_dir) {
            return Err(Error::Preflight {
                service: Some(plan.service.clone()),
                message: self.user.cannot_enter(&blocked),
                hint: Some(format!(
                    "this state directory predates berth keeping such data under `{}`: `berth reset` deletes it and the next `up` does so; or point `--state-dir` where `{}` can reach, set `BERTH_SERVICE_USER`, or run berth as a normal user",
                    crate::state::SERVERS_HOME,
                    self.user.name
                )),
            });
        }
        if let Some(blocked) = self.user.blocked_at(&bin.dir) {
            return Err(Error::Preflight {
                service: Some(plan.service.clone()),
                message: format!(
                    "servers run as user `{}` (berth runs as root), who cannot reach `{}` in `{}`",
                    self.user.name,
                    launch.binary.program,
                    blocked.display()
                ),
                hint: Some(format!(
                    "install `{}` where every user can run it (`/usr/local/bin`), set `BERTH_SERVICE_USER`, or run berth as a normal user",
                    launch.binary.program
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

    fn state(&self, plan: &ServicePlan) -> Result<RunState> {
        if let Some(record) = self.record(&plan.service) {
            if record.is_alive() {
                return Ok(RunState::Running { pid: record.pid });
            }
        }
        Ok(if self.data_dir(plan).is_dir() {
            RunState::Stopped
        } else {
            RunState::Absent
        })
    }

    fn clear_leftovers(&self, plan: &ServicePlan) -> Result<()> {
        // A server killed a moment ago may not be reaped yet (its parent,
        // usually init, does that); starting beside it would fail.
        if let Some(record) = self.record(&plan.service) {
            let started = Instant::now();
            while record.is_zombie() && started.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        self.clear_dir(&self.service_dir(plan), plan.stop_signal())?;
        for old in self.other_generations(plan) {
            self.clear_dir(&old, plan.stop_signal())?;
            fsutil::remove_dir_atomically(&old)?;
        }
        // A wipe cut short left its service directory aside.
        fsutil::remove_leftovers(&self.dir.services_dir())
    }

    fn start(&self, plan: &ServicePlan, on_init: &dyn Fn()) -> Result<Started> {
        let (launch, bin) = self.launch(plan)?;
        let service = plan.service.as_str();
        let service_dir = self.service_dir(plan);
        fsutil::create_dir(&service_dir, 0o700)?;
        self.user.own(&service_dir)?;

        let data = service_dir.join("data");
        let started = if data.is_dir() {
            Started::Restarted
        } else {
            if launch.skeleton.is_some() || !launch.init.is_empty() {
                on_init();
            }
            let made = init::initialize(
                service,
                launch,
                &bin,
                &service_dir,
                &self.user,
                self.skeletons.as_ref(),
                &|p, a, c| self.command(p, a, c),
            )?;
            if let Some(Made::Built {
                replaced: Some(why),
            }) = made
            {
                // Said where the server's own words are, for `berth logs`.
                self.note_in_log(
                    service,
                    &format!("the cached skeleton of this server was not used ({why}); berth built it again"),
                );
            }
            Started::Initialized
        };

        for (name, contents) in &launch.server.files {
            let path = service_dir.join(name);
            fsutil::write_atomic(&path, contents.as_bytes(), 0o600)?;
            self.user.own(&path)?;
        }
        let log_path = self.dir.log_file(service);
        // Opened here and handed to the server as its output: a link
        // planted in `logs/` is refused, never written through.
        let log = fsutil::open_append(&log_path, 0o600)?;
        let err_log = log
            .try_clone()
            .context(|| "could not duplicate the log handle".into())?;
        let program = bin.path(&launch.server.program);
        let cwd = launch.server.cwd.as_deref().unwrap_or(&service_dir);
        let socket_dir = match launch.server.args.contains(&Arg::SocketDir) {
            true => self.socket_dir(service)?,
            false => None,
        };
        let mut cmd = self.command(
            &program,
            resolve_args(
                &launch.server.args,
                &data,
                &service_dir,
                socket_dir.as_deref(),
            ),
            cwd,
        );
        cmd.envs(self.own_places(&service_dir)?);
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
        kill_point::reached(|| format!("{service}:spawned"));
        let record = ProcessRecord::of(pid).unwrap_or(ProcessRecord { pid, start_time: 0 });
        // The stop signal goes into the record too, so a server can be
        // stopped properly even after its service left the stack file.
        let text = format!(
            "{} {}\n",
            record.to_text().trim_end(),
            launch.server.stop_signal.short_name()
        );
        fsutil::write_atomic(&self.dir.run_file(service), text.as_bytes(), 0o600)?;
        self.children
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(service.to_string(), child);
        Ok(started)
    }

    fn lost_port(&self, _plan: &ServicePlan, error: &Error) -> bool {
        // The kernel's EADDRINUSE, as the server wrote it to its log
        // (a native service listens on its one port).
        matches!(error, Error::ServiceExited { .. })
            && said(error).contains("address already in use")
    }

    fn ensure_alive(&self, plan: &ServicePlan) -> Result<()> {
        let service = plan.service.as_str();
        let exited = |status: String| Error::ServiceExited {
            service: service.to_string(),
            status,
            log: self.dir.log_file(service),
            log_tail: fsutil::tail_lines(&self.dir.log_file(service), 15),
        };
        if let Some(child) = self
            .children
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(service)
        {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(exited(status.to_string()));
            }
            return Ok(());
        }
        match self.record(service) {
            Some(r) if r.is_alive() => Ok(()),
            _ => Err(exited("no longer running".into())),
        }
    }

    fn exec(
        &self,
        plan: &ServicePlan,
        command: &[String],
    ) -> Result<std::result::Result<(), String>> {
        let (launch, _) = self.launch(plan)?;
        let cwd = launch
            .server
            .cwd
            .clone()
            .unwrap_or_else(|| self.service_dir(plan));
        let Some((program, args)) = command.split_first() else {
            return Ok(Err("the probe's command is empty".into()));
        };
        let mut cmd = self.command(Path::new(program), args.to_vec(), &cwd);
        cmd.envs(self.own_places(&self.service_dir(plan))?)
            .envs(launch.server.env.iter().map(|(k, v)| (k, v)))
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => return Ok(Err(format!("could not run `{program}`: {e}"))),
        };
        let began = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if began.elapsed() < EXEC_PROBE_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Ok(Err(format!(
                        "`{}` did not finish within {}",
                        command.join(" "),
                        crate::time::fmt_duration(EXEC_PROBE_TIMEOUT)
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

    fn usage(&self, plan: &ServicePlan) -> Option<process::Usage> {
        let record = self.record(&plan.service).filter(ProcessRecord::is_alive)?;
        process::session_usage(record.pid)
    }

    fn stop(&self, plan: &ServicePlan) -> Result<()> {
        self.end(plan, false)
    }

    /// The whole process group (a server runs in a session of its own):
    /// PostgreSQL's backends go with its postmaster, and none writes a
    /// checkpoint for data about to be deleted.
    fn discard(&self, plan: &ServicePlan) -> Result<()> {
        self.end(plan, true)
    }

    fn wipe(&self, plan: &ServicePlan) -> Result<()> {
        self.clear_leftovers(plan)?;
        fsutil::remove_dir_atomically(&self.service_dir(plan))
    }

    fn log_file(&self, service: &str) -> PathBuf {
        self.dir.log_file(service)
    }

    fn run_tool(
        &self,
        plan: &ServicePlan,
        tool: &Tool,
        out: &mut dyn std::io::Write,
    ) -> Result<()> {
        let (_, bin) = self.launch(plan)?;
        let Some((program, args)) = tool.argv.split_first() else {
            return Err(Error::Internal {
                message: "a tool with no program".into(),
            });
        };
        // The server's own tools first (`pg_dump` of its version), then PATH.
        let beside = bin.path(program);
        let program_path = if beside.is_file() {
            beside
        } else {
            PathBuf::from(program)
        };
        let input = tool
            .input
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let args: Vec<String> = args.iter().map(|a| a.replace("{input}", &input)).collect();
        let mut child = Command::new(&program_path)
            .args(&args)
            .env_clear()
            // The server's own directory first: a script's bare `psql` is
            // the server's version, as in its container.
            .env("PATH", {
                let rest = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
                std::env::join_paths(
                    std::iter::once(bin.dir.clone()).chain(std::env::split_paths(&rest)),
                )
                .unwrap_or(rest)
            })
            .envs(tool.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context(|| format!("could not run `{}`", program_path.display()))?;
        let mut stdout = child.stdout.take().ok_or_else(|| Error::Internal {
            message: "a tool without its output".into(),
        })?;
        let stderr = child.stderr.take();
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut e) = stderr {
                let _ = std::io::Read::read_to_string(&mut e, &mut text);
            }
            text
        });
        std::io::copy(&mut stdout, out)
            .context(|| format!("could not read the output of `{program}`"))?;
        let status = child
            .wait()
            .context(|| format!("could not wait for `{program}`"))?;
        let errors = errors.join().unwrap_or_default();
        if !status.success() {
            return Err(Error::CommandFailed {
                service: plan.service.clone(),
                program: program.clone(),
                status: status.to_string(),
                output_tail: crate::fsutil::last_lines(&errors, 10),
            });
        }
        Ok(())
    }

    fn tool_endpoint(&self, plan: &ServicePlan) -> Result<Endpoint> {
        Ok(Endpoint::new(LOOPBACK, plan.port))
    }

    fn tool_data_dir(&self, plan: &ServicePlan) -> Result<String> {
        Ok(self.data_dir(plan).display().to_string())
    }

    fn load_files(
        &self,
        plan: &ServicePlan,
        files: &[(String, PathBuf)],
        generation: u32,
    ) -> Result<()> {
        let target = generation_dir(&self.dir, &plan.service, generation);
        if target.exists() {
            fsutil::remove_dir_atomically(&target)?;
        }
        let data = target.join("data");
        fsutil::create_dir(&target, 0o700)?;
        fsutil::create_dir(&data, 0o700)?;
        self.user.own(&target)?;
        self.user.own(&data)?;
        for (relative, source) in files {
            let path = data.join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .context(|| format!("could not create `{}`", parent.display()))?;
                let mut dir = parent.to_path_buf();
                while dir != data {
                    self.user.own(&dir)?;
                    match dir.parent() {
                        Some(p) => dir = p.to_path_buf(),
                        None => break,
                    }
                }
            }
            std::fs::copy(source, &path)
                .context(|| format!("could not write `{}`", path.display()))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .context(|| format!("could not set the mode of `{}`", path.display()))?;
            self.user.own(&path)?;
        }
        fsutil::sync_dir(&data).context(|| format!("could not sync `{}`", data.display()))
    }

    fn server(&self, plan: &ServicePlan) -> Result<Server> {
        let (_, bin) = self.launch(plan)?;
        Ok(Server {
            version: Some(bin.version.to_string()),
            ..Server::default()
        })
    }

    fn has_data(&self, plan: &ServicePlan) -> Result<bool> {
        Ok(self.data_dir(plan).is_dir())
    }

    fn save_data(
        &self,
        plan: &ServicePlan,
        dest: &Path,
        digest: bool,
    ) -> Result<(Copied, Option<Digest>)> {
        // The data directory only: the rest of the service's directory is
        // written anew at every start.
        let data = self.data_dir(plan);
        if digest {
            tree_copy::copy_with_digest(&data, dest).map(|(c, d)| (c, Some(d)))
        } else {
            tree_copy::copy(&data, dest).map(|c| (c, None))
        }
    }

    fn data_directory(&self, plan: &ServicePlan) -> Option<PathBuf> {
        Some(self.data_dir(plan))
    }

    fn load_data(&self, plan: &ServicePlan, from: &Path, generation: u32) -> Result<()> {
        let target = generation_dir(&self.dir, &plan.service, generation);
        // What an earlier attempt left of this generation.
        if target.exists() {
            fsutil::remove_dir_atomically(&target)?;
        }
        fsutil::create_dir(&target, 0o700)?;
        self.user.own(&target)?;
        tree_copy::copy(from, &target.join("data"))?;
        fsutil::sync_dir(&target).context(|| format!("could not sync `{}`", target.display()))
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
                    Some("INT") => StopSignal::Interrupt,
                    _ => StopSignal::Terminate,
                };
                stop_process(record, signal.number(), &|| {});
                stopped.push(name.to_string());
            }
            let _ = std::fs::remove_file(&file);
        }
        Ok(stopped)
    }
}

/// Signal a server and wait for it to exit; kill it after [`STOP_TIMEOUT`].
fn stop_process(record: ProcessRecord, signal: i32, reap: &dyn Fn()) {
    process::signal(record.pid, signal);
    if !wait_for_exit(&[record], STOP_TIMEOUT, reap) {
        process::signal(record.pid, libc::SIGKILL);
        wait_for_exit(&[record], Duration::from_secs(5), reap);
    }
}

/// Poll until every process has exited; `false` on timeout.
fn wait_for_exit(records: &[ProcessRecord], timeout: Duration, reap: &dyn Fn()) -> bool {
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

/// `services/<service>` for generation 0, `services/<service>.gN` after.
pub fn generation_dir(dir: &StateDir, service: &str, generation: u32) -> PathBuf {
    match generation {
        0 => dir.service_dir(service),
        n => dir.service_dir(&format!("{service}.g{n}")),
    }
}
