//! Protocol clients: how berth talks to the servers it runs, from the host,
//! over their real protocols. Readiness probes are the smallest use of each
//! (a PostgreSQL login and `SELECT 1`, Redis `AUTH` + `PING`, an HTTP `GET`,
//! a TCP connection that stays open); provisioning, migrations and the
//! testing library use the same clients for real work.
//!
//! Probes never check from inside the server's own environment, which can
//! be fooled (the official Postgres image's socket-only init server answers
//! `pg_isready`).

/// How a probe's answer starts when the server is up and refused the
/// credentials berth gave it: not a server still starting, but one whose
/// data holds another password (the readiness wait stops at once).
pub const CREDENTIALS_REFUSED: &str = "the server refused the credentials";

pub mod deadline;
pub mod endpoint;
pub mod http;
pub mod postgres;
pub mod redis;
pub mod s3;
pub mod scram;
pub mod tcp;
