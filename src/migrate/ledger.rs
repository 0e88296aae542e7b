//! The ledger: what has been applied, kept inside the migrated database
//! itself (schema `berth`), so it can never disagree with the data it
//! describes — a restored backup or a `reset` carries its own truth.
//!
//! - `berth.migrations`: one row per applied migration, written in the same
//!   transaction as the migration (or right after a no-transaction one
//!   succeeded), so a failure records nothing.
//! - `berth.meta`: `seeds = pending|done`; a database gets `pending` when
//!   berth first creates its ledger, which is how `up` knows to seed it.
//!
//! Runners serialize on a session-level advisory lock: a second runner
//! waits, then finds nothing left to do.

use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{Client, Statement};

/// Advisory lock key, `berthmig` in ASCII. Advisory keys are scoped to the
/// current database, so each migrated database has its own lock.
const LOCK_KEY: i64 = 0x6265_7274_686d_6967;

/// One applied migration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    pub version: i64,
    pub name: String,
    pub checksum: String,
    pub checksum_algorithm: String,
    /// UTC, RFC 3339.
    pub applied_at: String,
    pub execution_ms: f64,
    pub no_transaction: bool,
}

/// Take the migration lock, waiting at most `timeout`. `on_wait` is called
/// about once a second with the server pid of the session holding it.
/// Returns the holder's pid on timeout.
pub fn lock(
    client: &mut Client,
    timeout: Duration,
    on_wait: &mut dyn FnMut(Option<i32>),
) -> Result<Result<(), Option<i32>>, postgres::Error> {
    let started = Instant::now();
    // A short lock_timeout turns one long wait into slices between which
    // we can report and give up; the lock itself is taken the moment it
    // is free, without polling.
    client.batch_execute("SET lock_timeout = '1s'")?;
    loop {
        match client.batch_execute(&format!("SELECT pg_advisory_lock({LOCK_KEY})")) {
            Ok(()) => break,
            Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
                let holder = holder(client)?;
                if started.elapsed() >= timeout {
                    client.batch_execute("RESET lock_timeout")?;
                    return Ok(Err(holder));
                }
                on_wait(holder);
            }
            Err(e) => return Err(e),
        }
    }
    client.batch_execute("RESET lock_timeout")?;
    Ok(Ok(()))
}

/// The server pid of the session holding the migration lock.
fn holder(client: &mut Client) -> Result<Option<i32>, postgres::Error> {
    // A bigint key shows in pg_locks as classid (high half), objid (low
    // half) and objsubid 1.
    let (high, low) = ((LOCK_KEY as u64) >> 32, LOCK_KEY as u64 & 0xffff_ffff);
    let row = client.query_opt(
        &format!(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND classid = {high} AND objid = {low} AND objsubid = 1 \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        &[],
    )?;
    Ok(row.map(|r| r.get(0)))
}

/// Create the ledger if this database has none. Returns whether it was
/// created now (the database is new to berth).
pub fn ensure(client: &mut Client) -> Result<bool, postgres::Error> {
    if exists(client)? {
        return Ok(false);
    }
    client.batch_execute(
        "BEGIN;
         CREATE SCHEMA IF NOT EXISTS berth;
         COMMENT ON SCHEMA berth IS 'berth''s migration ledger; see `berth migrate status`';
         CREATE TABLE berth.migrations (
             version bigint PRIMARY KEY,
             name text NOT NULL,
             checksum text NOT NULL,
             checksum_algorithm text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now(),
             execution_ms double precision NOT NULL,
             no_transaction boolean NOT NULL DEFAULT false
         );
         CREATE TABLE berth.meta (key text PRIMARY KEY, value text NOT NULL);
         INSERT INTO berth.meta VALUES ('seeds', 'pending');
         COMMIT;",
    )?;
    Ok(true)
}

pub fn exists(client: &mut Client) -> Result<bool, postgres::Error> {
    let row = client.query_one(
        "SELECT to_regclass('berth.migrations') IS NOT NULL AND to_regclass('berth.meta') IS NOT NULL",
        &[],
    )?;
    Ok(row.get(0))
}

/// Every applied migration, by version; empty when there is no ledger.
pub fn read(client: &mut Client) -> Result<Vec<Applied>, postgres::Error> {
    if !exists(client)? {
        return Ok(Vec::new());
    }
    let rows = client.query(
        "SELECT version, name, checksum, checksum_algorithm,
                to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
                execution_ms, no_transaction
         FROM berth.migrations ORDER BY version",
        &[],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| Applied {
            version: r.get(0),
            name: r.get(1),
            checksum: r.get(2),
            checksum_algorithm: r.get(3),
            applied_at: r.get(4),
            execution_ms: r.get(5),
            no_transaction: r.get(6),
        })
        .collect())
}

/// The statement that records one migration; prepare once per run.
pub fn prepare_record(client: &mut Client) -> Result<Statement, postgres::Error> {
    client.prepare(
        "INSERT INTO berth.migrations
             (version, name, checksum, checksum_algorithm, execution_ms, no_transaction)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
}

pub fn seeds_pending(client: &mut Client) -> Result<bool, postgres::Error> {
    let row = client.query_opt("SELECT value FROM berth.meta WHERE key = 'seeds'", &[])?;
    Ok(row.is_some_and(|r| r.get::<_, String>(0) == "pending"))
}

/// Mark the seeds as done; call inside the seeds' transaction.
pub fn mark_seeded(client: &mut Client) -> Result<(), postgres::Error> {
    client.batch_execute(
        "INSERT INTO berth.meta VALUES ('seeds', 'done')
         ON CONFLICT (key) DO UPDATE SET value = 'done'",
    )
}
