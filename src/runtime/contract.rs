//! What a runtime does with a plan.

use std::path::{Path, PathBuf};

use crate::client::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::image_lock::ImageId;
use crate::plan::service_plan::ServicePlan;
use crate::tree_copy::{Copied, Digest};

/// How long one `exec` readiness probe may run before it counts as failed
/// (and is killed natively): a probe that hangs must not hang `up`.
pub const EXEC_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    /// Running, as this runtime can prove (not a recycled pid).
    Running { pid: i32 },
    /// Not running; its data exists.
    Stopped,
    /// Never initialized, or wiped.
    Absent,
}

/// What a runtime's preflight found for one service.
#[derive(Debug, Clone)]
pub struct Requirement {
    /// e.g. `postgres 15.18 in /usr/lib/postgresql/15/bin`.
    pub found: String,
}

/// A program run where a service's server runs (`pg_dump` beside the
/// server natively, inside its container otherwise), for backups.
pub struct Tool<'a> {
    /// The program and its arguments; `{input}` stands for where `input`
    /// can be read.
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub input: Option<&'a Path>,
}

/// The server a runtime runs for a service, as a snapshot records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Server {
    /// The server program's version, natively (`15.10.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The image, in a container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Its content digest (`sha256:...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// The data was created and initialized by this start.
    Initialized,
    Restarted,
}

/// Images, for runtimes that run services from them: fetched when missing,
/// identified for `berth.lock`.
pub trait ImageStore: Send + Sync {
    /// Download the plan's image if this machine lacks it, reporting the
    /// image and bytes done of total.
    fn fetch(&self, plan: &ServicePlan, progress: &dyn Fn(&str, u64, u64)) -> Result<()>;

    /// The content digest of `image` on this machine, or `None` when it
    /// lacks the image. Never downloads.
    fn image_id(&self, service: &str, image: &str) -> Result<Option<ImageId>>;
}

pub trait Runtime: Send + Sync {
    /// Check that the service can run here (binaries, versions, access,
    /// images). Never downloads anything: `doctor` calls it too.
    fn check(&self, plan: &ServicePlan) -> Result<Requirement>;

    /// The runtime's images, when it runs services from images.
    fn images(&self) -> Option<&dyn ImageStore> {
        None
    }

    /// What the runtime runs on, for `doctor`: the container engine, its
    /// version and address, or why none answers. `None` when it needs no
    /// engine.
    fn engine(&self) -> Option<std::result::Result<String, String>> {
        None
    }

    fn state(&self, plan: &ServicePlan) -> Result<RunState>;

    /// What the running server uses (CPU time, memory), for `status
    /// --watch` and the dashboard; `None` when it does not run or the
    /// runtime cannot tell.
    fn usage(&self, plan: &ServicePlan) -> Option<crate::process::Usage>;

    /// Clean up after a crash, for a service that is not running: stop
    /// processes it left behind whose record was lost, remove interrupted
    /// initializations. Called before ports are checked and before `start`.
    fn clear_leftovers(&self, plan: &ServicePlan) -> Result<()>;

    /// Initialize if needed, then start the server without waiting for it
    /// to be ready.
    fn start(&self, plan: &ServicePlan, on_init: &dyn Fn()) -> Result<Started>;

    /// While waiting for readiness: `Err` if the server already exited.
    fn ensure_alive(&self, plan: &ServicePlan) -> Result<()>;

    /// Run a readiness command where the service runs; the inner `Err`
    /// carries what it printed when it failed.
    fn exec(
        &self,
        plan: &ServicePlan,
        command: &[String],
    ) -> Result<std::result::Result<(), String>>;

    /// Stop gracefully (the plan's stop signal), keeping data.
    fn stop(&self, plan: &ServicePlan) -> Result<()>;

    /// Stop the service for good, its data about to be deleted: it need
    /// not shut down cleanly. A clean stop unless the runtime has quicker.
    fn discard(&self, plan: &ServicePlan) -> Result<()> {
        self.stop(plan)
    }

    /// Whether `error`, from starting the service or waiting for it to
    /// answer, says another program took its port: in this runtime's
    /// words (its engine's, its server's log). `up` then moves a port berth
    /// chose and tries once more.
    fn lost_port(&self, _plan: &ServicePlan, _error: &Error) -> bool {
        false
    }

    /// Delete the service's data. Only called when stopped.
    fn wipe(&self, plan: &ServicePlan) -> Result<()>;

    /// The server it runs the service with.
    fn server(&self, plan: &ServicePlan) -> Result<Server>;

    /// Whether the service's data (its current generation) exists.
    fn has_data(&self, plan: &ServicePlan) -> Result<bool>;

    /// Copy the service's data into the new directory `dest`, in this
    /// runtime's form (a directory tree natively, volume archives in a
    /// container), and, when asked, the digest of what `dest` then holds
    /// (read the quickest way: natively from the server's files, in memory
    /// when it has just stopped). Only called when stopped.
    fn save_data(
        &self,
        plan: &ServicePlan,
        dest: &Path,
        digest: bool,
    ) -> Result<(Copied, Option<Digest>)>;

    /// The directory holding the service's data, in the form
    /// [`Runtime::save_data`] writes it, where that is a directory on this
    /// machine (natively): `reset`, which deletes the data next, moves it
    /// into its safety snapshot rather than copy it. None in a container
    /// (a volume, which only the engine can read).
    fn data_directory(&self, _plan: &ServicePlan) -> Option<PathBuf> {
        None
    }

    /// Make data generation `generation` of the service from what
    /// [`Runtime::save_data`] wrote to `from`, beside the current one
    /// (which it leaves alone).
    fn load_data(&self, plan: &ServicePlan, from: &Path, generation: u32) -> Result<()>;

    /// Run `tool` where the service runs (it must be running), its output
    /// into `out`.
    fn run_tool(&self, plan: &ServicePlan, tool: &Tool, out: &mut dyn std::io::Write)
        -> Result<()>;

    /// Where a tool run by [`Runtime::run_tool`] reaches the server.
    fn tool_endpoint(&self, plan: &ServicePlan) -> Result<Endpoint>;

    /// The service's data directory as such a tool sees it.
    fn tool_data_dir(&self, plan: &ServicePlan) -> Result<String>;

    /// Make data generation `generation` of the service from loose files:
    /// each a path inside its data directory and a file to copy there.
    fn load_files(
        &self,
        plan: &ServicePlan,
        files: &[(String, PathBuf)],
        generation: u32,
    ) -> Result<()>;

    /// The service's log, brought up to date (a container's lives in the
    /// engine; a copy is kept in the state directory).
    fn log_file(&self, service: &str) -> PathBuf;

    /// Stop what this runtime runs for the stack under a service name the
    /// stack file no longer lists (a service removed while it ran), so
    /// `down` and `reset` leave nothing running. Returns those names.
    fn stop_unlisted(&self, listed: &[&str]) -> Result<Vec<String>>;

    /// Before services start: make what the stack's services share (the
    /// container network). `up` runs it beside the services' preflight.
    fn prepare_stack(&self) -> Result<()> {
        Ok(())
    }

    /// After every service stopped: remove what the stack's services share
    /// (the container network). Never touches what other stacks use.
    fn release_stack(&self) -> Result<()> {
        Ok(())
    }
}
