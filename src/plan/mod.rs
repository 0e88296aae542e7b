//! Plans: how one service is to run, decided before anything runs.
//!
//! A kind describes how to run a service ([`native::NativeLaunch`]: binaries,
//! initialization, server arguments; [`container::ContainerLaunch`]: the
//! image's contract), the stack settles its port, data and image pin, and a
//! runtime executes the resulting [`service_plan::ServicePlan`] without ever
//! reading the stack file. Kinds and runtimes both depend on this module and
//! never on each other.

pub mod container;
pub mod native;
pub mod runtime_kind;
pub mod service_plan;
pub mod stop;
