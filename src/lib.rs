//! berth: a project's local data infrastructure — PostgreSQL, Redis and
//! more — brought up with one command, checked over real protocols, and
//! managed without losing data by surprise.
//!
//! The public API is the testing library, [`testing`]: an isolated,
//! migrated database (and Redis key prefix) per test in milliseconds. The
//! command line (the `cli` feature, on by default) is the `berth` binary.
//!
//! Inside, the code follows two independent axes (see
//! `docs/architecture.md`): [`kind`] is *what* runs, [`runtime`] is
//! *where*; [`plan`] is the description one writes and the other executes.
//! The stack file ([`config`]) is resolved into a [`stack`] whose services
//! carry their plans; [`lifecycle`] drives it. The library never prints.

// Without the command line, parts of the library that only it uses are
// unused; they are still built, and checked, with it.
#![cfg_attr(not(feature = "cli"), allow(dead_code))]

mod client;
// Only the command line imports and exports compose files.
#[cfg(feature = "cli")]
mod compose;
mod config;
mod diagnostic;
mod digest;
mod envfile;
mod error;
mod events;
mod fsutil;
mod image_lock;
mod interrupt;
mod kill_point;
mod kind;
mod lifecycle;
mod migrate;
// berth's own S3 server (`berth object-store serve`).
#[cfg(feature = "object-store")]
mod object_store;
mod os_user;
mod plan;
mod preflight;
mod process;
mod runtime;
mod secret;
mod snapshot;
mod source;
mod stack;
mod stack_lock;
mod state;
mod suggest;
mod template;
mod time;
mod tree_copy;
mod units;
mod variables;

#[cfg(feature = "cli")]
pub mod cli;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod testing;

pub use error::{Error, ExitClass, MigrationFailure, Result};
pub use source::SourceLocation;
