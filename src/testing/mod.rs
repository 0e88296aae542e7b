//! The testing library: a test starts (or attaches to) its stack and gets
//! its own database, migrated and seeded, in milliseconds — a clone of a
//! template database on the running server — its own Redis key prefix and
//! its own S3 bucket.
//!
//! ```no_run
//! use berth::testing::TestStack;
//!
//! # fn main() -> berth::Result<()> {
//! let stack = TestStack::start("berth.toml")?;   // isolated: own name, ports, state
//! let db = stack.database()?;                     // dropped with `db`
//! let mut client = postgres::Client::connect(db.url(), postgres::NoTls).unwrap();
//! client.batch_execute("INSERT INTO users (name) VALUES ('ann')").unwrap();
//! # Ok(()) }
//! ```
//!
//! [`TestStack`] is the entry point; [`Databases`] is what `berth db`
//! uses for other languages' test runners.

mod buckets;
mod databases;
mod off_runtime;
mod owner;
mod redis;
mod test_stack;

pub use databases::{DatabaseInfo, Databases};
pub use test_stack::{Builder, TestBucket, TestDatabase, TestRedis, TestStack};
