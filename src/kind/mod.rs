//! Service kinds: *what* runs.
//!
//! A kind ([`contract::ServiceKind`]) reads its own keys of a service from
//! the stack file into settings ([`contract::KindSettings`]) that know the
//! kind's defaults, its connection values, how to probe readiness over its
//! protocol from the host, what to provision once ready, and how to run
//! natively or as a container — described as data ([`crate::plan`]) that a
//! runtime executes. A kind never knows where it runs, and no shared code
//! knows which kinds exist beyond [`registry`].

pub mod connection;
pub mod contract;
pub mod generic;
pub mod pgbouncer;
pub mod postgres;
pub mod reading;
pub mod ready;
pub mod redis;
pub mod registry;
pub mod s3;
