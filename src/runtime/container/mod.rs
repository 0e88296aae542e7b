//! The container runtime: a plan's [`crate::plan::container::ContainerLaunch`]
//! run through the Docker Engine API (Docker, or Podman's compatible
//! socket; `DOCKER_HOST` is honoured) with the `bollard` client — never the
//! docker CLI.
//!
//! [`engine`] connects (lazily: a stack that only runs natively never needs
//! an engine); [`naming`] names and labels everything berth creates and
//! decides what is the stack's own; [`images`] finds and pulls images;
//! [`runtime`] runs containers, volumes and the stack's network.

pub mod engine;
pub mod images;
pub mod naming;
pub mod runtime;
