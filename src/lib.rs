//! berth: a project's local data infrastructure — PostgreSQL, Redis and
//! more — brought up with one command, checked over real protocols, and
//! managed without losing data by surprise.
//!
//! The code follows two independent axes (see `docs/architecture.md`):
//! [`kind`] is *what* runs (postgres, redis), [`runtime`] is *where*
//! (native processes). [`lifecycle`] drives both through their traits:
//! ordering, readiness, provisioning, the env file. The library never
//! prints; the CLI (`src/cli`) renders.

pub mod config;
pub mod envfile;
pub mod error;
pub mod fsutil;
pub mod image_lock;
pub mod interrupt;
pub mod kind;
pub mod lifecycle;
pub mod migrate;
pub mod preflight;
pub mod probe;
pub mod process;
pub mod runtime;
pub mod secret;
pub mod stack;
pub mod stack_lock;
pub mod state;
pub mod testing;

pub use error::{Error, ExitClass, Result};

use std::time::Duration;

/// `12ms`, `1.23s`, `2m05s`: short, and exact enough for people.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.2}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    }
}

pub(crate) fn serialize_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

pub(crate) fn serialize_opt_ms<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&(d.as_millis() as u64)),
        None => s.serialize_none(),
    }
}
