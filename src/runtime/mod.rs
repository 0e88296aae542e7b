//! Runtimes: *where* a service runs.
//!
//! A runtime takes a kind's description of how to run (see
//! [`crate::kind::launch`]) and makes it so: initialize data, start, stop,
//! wipe, say whether it runs, and where its log is. It never knows which kind
//! it runs; readiness, provisioning and ordering are shared code in
//! [`crate::lifecycle`].

pub mod container;
pub mod native;

use std::path::PathBuf;

use crate::error::Result;
use crate::stack::ServiceSpec;
use crate::state::StateDir;

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
    /// e.g. `postgres 15.18 at /usr/lib/postgresql/15/bin`.
    pub found: String,
}

/// An image as the stack names it and what it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageId {
    /// As the stack file names it (`postgres:16`).
    pub image: String,
    /// The engine's content digest of the image (`sha256:...`).
    pub id: String,
    /// `name@sha256:...` when the image came from a registry.
    pub repo_digest: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// The data directory was created and initialized by this start.
    Initialized,
    Restarted,
}

pub trait Runtime: Send + Sync {
    fn name(&self) -> &'static str;

    /// Check that the service can run here (binaries, versions, access,
    /// images). Never downloads anything: `doctor` calls it too.
    fn check(&self, svc: &ServiceSpec) -> Result<Requirement>;

    /// Download what the service needs and the machine lacks (a container
    /// image), reporting what and bytes done of total. Called before `check`
    /// by `up` and `lock`.
    fn fetch(&self, _svc: &ServiceSpec, _progress: &dyn Fn(&str, u64, u64)) -> Result<()> {
        Ok(())
    }

    /// The image the service names (`postgres:16`); `None` for runtimes
    /// without images.
    fn image(&self, _svc: &ServiceSpec) -> Option<String> {
        None
    }

    /// That image's content digest now, for `berth.lock`; `None` for
    /// runtimes without images, or when this machine lacks the image.
    fn image_id(&self, _svc: &ServiceSpec) -> Result<Option<ImageId>> {
        Ok(None)
    }

    /// What the runtime runs on, for `doctor`: the container engine, its
    /// version and address, or why none answers. `None` when it needs no
    /// engine.
    fn engine(&self) -> Option<std::result::Result<String, String>> {
        None
    }

    fn state(&self, svc: &ServiceSpec) -> Result<RunState>;

    /// Clean up after a crash, for a service that is not running: stop
    /// processes it left behind whose record was lost, remove interrupted
    /// initializations. Called before ports are checked and before `start`.
    fn clear_leftovers(&self, svc: &ServiceSpec) -> Result<()>;

    /// Initialize if needed, then start the server without waiting for it
    /// to be ready.
    fn start(&self, svc: &ServiceSpec, on_init: &dyn Fn()) -> Result<Started>;

    /// While waiting for readiness: `Err` if the server already exited.
    fn ensure_alive(&self, svc: &ServiceSpec) -> Result<()>;

    /// Run a readiness command where the service runs; `Err` carries what
    /// it printed when it failed.
    fn exec(
        &self,
        svc: &ServiceSpec,
        command: &[String],
    ) -> Result<std::result::Result<(), String>>;

    /// Stop gracefully (the kind's stop signal), keeping data.
    fn stop(&self, svc: &ServiceSpec) -> Result<()>;

    /// Delete the service's data. Only called when stopped.
    fn wipe(&self, svc: &ServiceSpec) -> Result<()>;

    fn log_file(&self, svc: &ServiceSpec) -> PathBuf;

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

/// The runtime named in the stack file, for stack `stack`.
pub fn for_name(name: &str, stack: &str, dir: &StateDir) -> Result<Box<dyn Runtime>> {
    match name {
        "native" => Ok(Box::new(native::NativeRuntime::new(dir.clone())?)),
        "container" => Ok(Box::new(container::ContainerRuntime::new(
            stack,
            dir.clone(),
        )?)),
        other => unreachable!("runtime `{other}` is checked when loading"),
    }
}
