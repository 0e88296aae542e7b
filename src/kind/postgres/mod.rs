//! PostgreSQL: its settings and how it runs ([`settings`]), and the
//! databases, roles and extensions it sets up once ready ([`provision`]).

pub mod provision;
pub mod settings;
