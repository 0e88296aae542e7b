//! Runtimes: *where* a service runs.
//!
//! A runtime ([`contract::Runtime`]) executes a service's plan
//! ([`crate::plan`]): initialize data, start, stop, wipe, say whether it
//! runs and where its log is. It never knows which kind it runs and never
//! reads the stack file; readiness, provisioning and ordering are shared
//! code in [`crate::lifecycle`]. [`registry`] makes each runtime a stack
//! uses, once.

#[cfg(feature = "container")]
pub mod container;
pub mod contract;
#[cfg(test)]
pub mod fake;
pub mod native;
pub mod registry;
