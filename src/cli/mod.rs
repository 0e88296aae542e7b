//! The command line: arguments ([`args`]), one file per command
//! (`commands/`), what every command needs to find its stack
//! ([`context`]), and all terminal rendering ([`output`], [`progress`]).
//! Messages follow `docs/STYLE.md`.

pub mod args;
mod commands;
pub mod context;
mod dashboard;
pub mod entry;
mod log_follower;
mod output;
mod progress;

pub use entry::main;
