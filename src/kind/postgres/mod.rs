//! PostgreSQL: its settings and how it runs ([`settings`]), the
//! databases, roles and extensions it sets up once ready ([`provision`]),
//! and its portable backups ([`backup`]).

pub mod backup;
pub mod provision;
pub mod settings;
