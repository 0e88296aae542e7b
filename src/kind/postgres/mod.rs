//! PostgreSQL: its settings and how it runs ([`settings`]), the
//! databases, roles and extensions it sets up once ready ([`provision`]),
//! its portable backups ([`backup`]), a team's own one-time setup
//! scripts ([`init_scripts`]), and which extensions an install has
//! ([`extensions`]).

pub mod backup;
pub mod extensions;
pub mod init_scripts;
pub mod provision;
pub mod settings;
