//! S3-compatible object storage: its settings and how it runs
//! ([`settings`]), and the buckets it sets up, with their policy, CORS
//! rules and seed files ([`buckets`]).

pub mod buckets;
pub mod settings;
