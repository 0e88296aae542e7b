//! One file per command.

pub mod backup;
pub mod cache;
pub mod completions;
pub mod dashboard;
pub mod db;
pub mod doctor;
pub mod down;
pub mod env;
pub mod export;
pub mod import;
pub mod init;
pub mod lock;
pub mod logs;
pub mod man;
pub mod migrate;
#[cfg(feature = "object-store")]
pub mod object_store;
pub mod reset;
pub mod restart;
pub mod run;
pub mod schema;
pub mod seed;
pub mod snapshot;
pub mod status;
pub mod up;
pub mod verify;
