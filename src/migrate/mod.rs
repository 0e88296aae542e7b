//! Migrations and seed data for services that speak SQL, on any runtime
//! (berth connects from the host, like its probes).
//!
//! The rules, each a failure the established tools' users keep hitting:
//! - a checksum that ignores BOM and CRLF, so checkouts on Windows and
//!   Linux agree ([`files`]);
//! - every check — changed, missing, out-of-order, duplicate, misnamed —
//!   made before anything runs ([`plan`]), so a run either applies or stops
//!   with nothing applied;
//! - each file and its ledger row in one transaction, so there is no
//!   "dirty" state to repair ([`run`]);
//! - one runner at a time per database, through an advisory lock
//!   ([`ledger`]);
//! - a failure points at the file, line and column ([`run`]).
//!
//! [`runner`] puts them together; [`target`] says which database.

pub mod files;
pub mod ledger;
pub mod plan;
pub mod run;
pub mod runner;
pub mod sql;
pub mod target;
