//! One service, fully decided: what a runtime needs to run it, and nothing
//! from the stack file it would have to interpret.

use super::container::ContainerLaunch;
use super::native::NativeLaunch;
use super::runtime_kind::RuntimeKind;
use super::stop::StopSignal;
use crate::error::{Error, Result};

/// Services listen here; nothing is exposed beyond the machine by default.
pub const LOOPBACK: &str = "127.0.0.1";

#[derive(Debug, Clone)]
pub struct ServicePlan {
    pub service: String,
    /// Where it listens on the host's loopback.
    pub port: u16,
    /// Whether its data outlives `down`.
    pub persist: bool,
    /// Which generation of its data it runs on (see `State::generations`).
    pub generation: u32,
    pub launch: Launch,
}

/// The runtime-specific part: which one decides the runtime.
#[derive(Debug, Clone)]
pub enum Launch {
    Native(NativeLaunch),
    Container(ContainerLaunch),
}

impl ServicePlan {
    pub fn runtime(&self) -> RuntimeKind {
        match self.launch {
            Launch::Native(_) => RuntimeKind::Native,
            Launch::Container(_) => RuntimeKind::Container,
        }
    }

    pub fn stop_signal(&self) -> StopSignal {
        match &self.launch {
            Launch::Native(n) => n.server.stop_signal,
            Launch::Container(c) => c.stop_signal,
        }
    }

    /// The native launch; an error (a bug in berth) for another runtime's plan.
    pub fn native(&self) -> Result<&NativeLaunch> {
        match &self.launch {
            Launch::Native(n) => Ok(n),
            Launch::Container(_) => Err(self.misrouted(RuntimeKind::Native)),
        }
    }

    /// The container launch; an error (a bug in berth) for another
    /// runtime's plan.
    pub fn container(&self) -> Result<&ContainerLaunch> {
        match &self.launch {
            Launch::Container(c) => Ok(c),
            Launch::Native(_) => Err(self.misrouted(RuntimeKind::Container)),
        }
    }

    fn misrouted(&self, runtime: RuntimeKind) -> Error {
        Error::Internal {
            message: format!(
                "service `{}` is planned for the {} runtime but was handed to the {runtime} runtime",
                self.service,
                self.runtime()
            ),
        }
    }
}
