//! What a runtime does with a plan.

use std::path::PathBuf;

use crate::error::Result;
use crate::image_lock::ImageId;
use crate::plan::service_plan::ServicePlan;

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

    /// Delete the service's data. Only called when stopped.
    fn wipe(&self, plan: &ServicePlan) -> Result<()>;

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
