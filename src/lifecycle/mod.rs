//! The shared lifecycle — `up`, `down`, `reset`, `status`, images — written
//! against the resolved stack and the runtime contract only. Progress goes
//! to a [`crate::events::Reporter`]; rendering it is the CLI's business.
//!
//! [`up`] starts in dependency order ([`schedule`]), waits for readiness
//! ([`readiness`]), provisions, migrates and writes the env file; [`down`]
//! stops and resets; [`restart`] stops some services and brings the stack up; [`status`] and [`inspect`] only read; [`images`]
//! handles `berth.lock`; [`locking`] serializes commands on one stack;
//! `port_race` tells when a chosen port was taken as its server started;
//! `init_scripts` runs a team's one-time setup scripts on new data, through
//! the runtime's `tools`.

pub mod backup;
pub mod down;
pub mod images;
mod init_scripts;
pub mod inspect;
pub mod locking;
mod port_race;
pub mod readiness;
pub mod restart;
pub mod schedule;
pub mod snapshot;
pub mod status;
pub mod stopping;
#[cfg(test)]
mod tests;
mod tools;
pub mod up;
