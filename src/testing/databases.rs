//! Fresh databases on a running PostgreSQL server, cloned from a template
//! that has the migrations and seeds applied.
//!
//! The template is named after a digest of the migration and seed files
//! (`berth_tpl_<digest>`), so a changed file means a new template, built
//! once (under an advisory lock, so parallel test processes build it once
//! between them) and the old ones dropped. Cloning is
//! `CREATE DATABASE ... TEMPLATE`, a file-level copy that takes tens of
//! milliseconds however many migrations made the template.
//!
//! A pool of databases already cloned (`bp_<template digest>_<n>`) is kept
//! beside the template: asking for a database renames one of them to the
//! test's name (one catalog update, a millisecond), and a thread tops the
//! pool up in the background, on a connection it keeps. A test process
//! that asks more than once (the testing library's) has that thread claim
//! its next database ahead, so the test's own request touches no server
//! at all; one claimed but never asked for goes back to the pool when the
//! `Databases` drops, or to `gc` with its owner's end. Each clone is
//! logged into once before it joins the pool, so the test's own first
//! login is not the database's first (which costs the server more). The
//! pool is shared by every process using the server, filled by one at a
//! time (an advisory lock), and belongs to the template: a new template's
//! pool replaces the old one's.
//!
//! Every call runs on a short-lived thread of its own: the synchronous
//! `postgres` client blocks on an internal runtime, which must not happen
//! on an async runtime's thread, so this keeps the API usable from async
//! tests too.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use postgres::Client;

use super::off_runtime::off_runtime;
use super::owner;
use crate::client::endpoint::url_escape;
use crate::client::postgres::{self as pg, quote_ident, DatabaseError};
use crate::error::{cause, Error, Result};
use crate::events::Silent;
use crate::kill_point;
use crate::migrate::runner;
use crate::migrate::target::Target;
use crate::process::ProcessRecord;

/// The database initdb always creates; clones are made while connected to it.
const MAINTENANCE_DB: &str = "postgres";
const TEMPLATE_PREFIX: &str = "berth_tpl_";
/// Advisory lock key for building templates, `berthtpl` in ASCII.
const TEMPLATE_LOCK: i64 = 0x6265_7274_6874_706c;
/// Prefix of the pool's databases.
const POOL_PREFIX: &str = "bp_";
/// Prefix of a clone being made ready for the pool (see [`top_up`]).
const WARMING_PREFIX: &str = "bw_";
/// Advisory lock key for filling the pool, `berthpol` in ASCII.
const POOL_LOCK: i64 = 0x6265_7274_6870_6f6c;
/// How long `berth db refill` waits for another filler to let go: the one
/// a finished `db create` started may still be cloning in its backend.
const POOL_LOCK_WAIT: Duration = Duration::from_secs(60);
/// Databases kept ready when `BERTH_DB_POOL` does not say.
pub const DEFAULT_POOL_SIZE: usize = 4;
/// Maintenance connections one `Databases` opens at most.
const MAX_CONNECTIONS: usize = 4;
/// How long a dropping `Databases` waits for its pool thread to finish
/// what it is doing (a clone at most): a server that stopped answering is
/// not waited for longer.
const REFILL_STOP_WAIT: Duration = Duration::from_secs(5);

/// The maintenance connections of a `Databases`.
#[derive(Default)]
struct Connections {
    idle: Vec<Client>,
    /// Idle and in use.
    open: usize,
}

/// A database handed out for one test.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DatabaseInfo {
    pub service: String,
    pub name: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The quickest way in: over the server's Unix socket with peer
    /// authentication (no password) when the stack has one and this
    /// process's account started it, else `tcp_url`.
    pub url: String,
    /// Over TCP with the password, for clients without Unix sockets.
    pub tcp_url: String,
}

/// Test databases of one postgres service.
pub struct Databases {
    target: Target,
    /// Open connections to the maintenance database, reused: a login with
    /// scram costs more than the clone itself. At most
    /// [`MAX_CONNECTIONS`]: fifty tests asking at once must not take the
    /// server's connections from the tests themselves.
    connections: Mutex<Connections>,
    /// Signalled when a connection is given back.
    returned: std::sync::Condvar,
    /// The template for the files as they were when first asked.
    template: Mutex<Option<String>>,
    /// ` STRATEGY = FILE_COPY` on servers that have the choice (15+): a
    /// small template is copied faster file by file than through the WAL.
    clone_strategy: std::sync::OnceLock<&'static str>,
    /// Build the template from the service's own database (which a
    /// snapshot filled) rather than from an empty one; the snapshot's
    /// identity is part of the template's name.
    fixture: Option<String>,
    /// How many clones to keep ready.
    pool_size: usize,
    /// The thread that tops the pool up (started at the first need).
    refill: Mutex<Option<Refill>>,
    /// Whether that thread claims this process's next database ahead.
    claim_ahead: ClaimAhead,
}

/// The thread that tops the pool up, as its `Databases` holds it.
struct Refill {
    /// Wakes it; full means a wake-up is pending already.
    wake: std::sync::mpsc::SyncSender<()>,
    /// Tells it to stop after the clone it is making.
    stop: Arc<AtomicBool>,
    /// Disconnected when it has ended.
    ended: std::sync::mpsc::Receiver<()>,
}

impl Refill {
    /// Stop the thread and wait for it (a while): what it claimed ahead
    /// is in the pocket once it has ended.
    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        drop(self.wake);
        let _ = self.ended.recv_timeout(REFILL_STOP_WAIT);
    }
}

/// This process's next database, claimed from the pool before it is
/// asked for. Wanted once the process has asked twice: a process that
/// asks once (a test runner's process per test, `berth db create`) would
/// only throw the claimed one away.
#[derive(Default)]
struct ClaimAhead {
    /// Set by [`Databases::with_claim_ahead`].
    enabled: bool,
    /// The process has asked before.
    asked: AtomicBool,
    /// Shared with the thread that tops the pool up.
    pocket: Arc<Pocket>,
}

/// What the thread that claims ahead and the requests share.
#[derive(Default)]
struct Pocket {
    /// Asked twice: the thread keeps `ready` filled.
    wanted: AtomicBool,
    /// A database renamed to this process's name, not handed out yet.
    ready: Mutex<Option<String>>,
}

impl Pocket {
    fn ready(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.ready.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Databases {
    pub fn new(target: Target) -> Databases {
        Databases {
            target,
            connections: Mutex::new(Connections::default()),
            returned: std::sync::Condvar::new(),
            template: Mutex::new(None),
            clone_strategy: std::sync::OnceLock::new(),
            fixture: None,
            pool_size: pool_size_from_env(),
            refill: Mutex::new(None),
            claim_ahead: ClaimAhead::default(),
        }
    }

    /// Claim this process's next database before it is asked for, once it
    /// has asked twice (the testing library: a process that runs tests).
    pub fn with_claim_ahead(mut self) -> Databases {
        self.claim_ahead.enabled = true;
        self
    }

    /// Keep `size` clones ready (0: no pool; every database is cloned on
    /// request).
    pub fn with_pool(mut self, size: usize) -> Databases {
        self.pool_size = size;
        self
    }

    /// Templates start from the service's database as snapshot `fixture`
    /// left it (then migrated), so every test database holds its data.
    pub fn from_fixture(mut self, fixture: &str) -> Databases {
        self.fixture = Some(fixture.to_string());
        self
    }

    pub fn service(&self) -> &str {
        &self.target.service
    }

    /// A new database owned by `owner`: a clone of the migrated, seeded
    /// template (from the pool when it has one ready), or empty.
    pub fn create(&self, owner: ProcessRecord, from_template: bool) -> Result<DatabaseInfo> {
        let template = if from_template {
            Some(self.template()?)
        } else {
            None
        };
        let name = owner::next_name(owner);
        if let Some(t) = &template {
            if self.pool_size > 0 {
                // The pool's clones are made the same way.
                self.clone_strategy()?;
                if let Some(ready) = self.claimed_ahead(owner) {
                    self.start_refill();
                    return Ok(self.info(&ready));
                }
                let claimed = self.with_client(|c| claim(c, t, &name));
                self.start_refill();
                if claimed? {
                    kill_point::reached(|| format!("{}:db claimed", self.target.service));
                    return Ok(self.info(&name));
                }
            }
        }
        let sql = match &template {
            Some(t) => format!(
                "CREATE DATABASE {} TEMPLATE {}{}",
                ident(&name),
                ident(t),
                self.clone_strategy()?
            ),
            None => format!("CREATE DATABASE {}", ident(&name)),
        };
        kill_point::reached(|| format!("{}:db create", self.target.service));
        self.with_client(|c| c.batch_execute(&sql))?;
        kill_point::reached(|| format!("{}:db created", self.target.service));
        Ok(self.info(&name))
    }

    /// The database claimed ahead for `owner`, if it is this process and
    /// there is one; from the second request on, the thread that tops the
    /// pool up claims the next.
    fn claimed_ahead(&self, owner: ProcessRecord) -> Option<String> {
        let ahead = &self.claim_ahead;
        // The caller read this process's record from `/proc` already.
        if !ahead.enabled || owner.pid != std::process::id() as i32 {
            return None;
        }
        if ahead.asked.swap(true, Ordering::Relaxed) {
            ahead.pocket.wanted.store(true, Ordering::Relaxed);
        }
        ahead.pocket.ready().take()
    }

    /// Wake the thread that tops the pool up, starting it the first time.
    fn start_refill(&self) {
        let mut refill = self.refill.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(running) = &*refill {
            let _ = running.wake.try_send(());
            return;
        }
        let Some(template) = self
            .template
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        else {
            return;
        };
        let mut filler = Filler::new(
            self.target.clone(),
            template,
            self.pool_size,
            self.clone_strategy.get().copied().unwrap_or(""),
        );
        if self.claim_ahead.enabled {
            filler.pocket = Some(Arc::clone(&self.claim_ahead.pocket));
        }
        let stop = Arc::clone(&filler.stop);
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let (ending, ended) = std::sync::mpsc::channel::<()>();
        let _ = wake.try_send(());
        *refill = Some(Refill { wake, stop, ended });
        // It ends with the process, or when `Databases` drops and stops
        // it. A clone it was making when the process ended is either
        // whole, under its pool name, or under its warming name, which
        // the next filler drops.
        std::thread::spawn(move || {
            let _ending = ending;
            while woken.recv().is_ok() {
                let _ = filler.fill(PoolLock::Try);
            }
        });
    }

    /// How many ready clones it keeps (`BERTH_DB_POOL`, or the builder's).
    pub fn pool_size(&self) -> usize {
        self.pool_size
    }

    /// Build the template and fill the pool in the background, so the
    /// first tests find databases ready.
    pub fn prepare(self: &std::sync::Arc<Self>) {
        if self.pool_size == 0 {
            return;
        }
        let databases = std::sync::Arc::clone(self);
        std::thread::spawn(move || {
            if databases.template().is_ok() && databases.clone_strategy().is_ok() {
                databases.start_refill();
            }
        });
    }

    /// Top the pool up now, in this thread (what `berth db refill` does).
    /// Returns how many clones it made.
    pub fn fill_pool(&self) -> Result<usize> {
        if self.pool_size == 0 {
            return Ok(0);
        }
        let mut filler = Filler::new(
            self.target.clone(),
            self.template()?,
            self.pool_size,
            self.clone_strategy()?,
        );
        off_runtime(|| filler.fill(PoolLock::Wait))
    }

    fn clone_strategy(&self) -> Result<&'static str> {
        if let Some(s) = self.clone_strategy.get() {
            return Ok(s);
        }
        let version: i32 = self.with_client(|c| {
            let row = c.query_one("SELECT current_setting('server_version_num')::int", &[])?;
            Ok(row.get(0))
        })?;
        let strategy = if version >= 150_000 {
            " STRATEGY = FILE_COPY"
        } else {
            ""
        };
        Ok(self.clone_strategy.get_or_init(|| strategy))
    }

    /// Drop a database berth handed out. Returns whether it existed.
    /// Refuses any other name.
    pub fn drop_database(&self, name: &str) -> Result<bool> {
        if owner::owner_of(name).is_none() {
            return Err(Error::usage(
                format!("`{name}` is not a test database berth created"),
                Some(format!(
                    "berth drops only the databases it handed out (named `{}...`); `berth db gc` lists them",
                    owner::PREFIX
                )),
            ));
        }
        let existed = self.with_client(|c| {
            let row = c.query_one(
                "SELECT count(*) FROM pg_database WHERE datname = $1",
                &[&name],
            )?;
            c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                ident(name)
            ))?;
            Ok(row.get::<_, i64>(0) > 0)
        })?;
        Ok(existed)
    }

    /// Test databases on the server, by name.
    pub fn list(&self) -> Result<Vec<String>> {
        self.with_client(|c| {
            let rows = c.query(
                "SELECT datname FROM pg_database WHERE datname LIKE 'bt\\_%' ORDER BY 1",
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|r| r.get::<_, String>(0))
                .filter(|n| owner::owner_of(n).is_some())
                .collect())
        })
    }

    /// Drop the databases whose owner process is gone, and ready clones of
    /// templates that are gone. Returns their names.
    pub fn gc(&self) -> Result<Vec<String>> {
        let mut dropped = Vec::new();
        for name in self.list()? {
            if owner::is_abandoned(&name) && self.drop_database(&name)? {
                dropped.push(name);
            }
        }
        dropped.extend(self.with_client(drop_orphaned_pool)?);
        Ok(dropped)
    }

    /// The template for the current files, built if missing.
    pub fn template(&self) -> Result<String> {
        off_runtime(|| self.ensure_template())
    }

    fn ensure_template(&self) -> Result<String> {
        let mut cached = self.template.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = &*cached {
            return Ok(t.clone());
        }
        let mut digest = runner::fingerprint(&self.target)?;
        if let Some(fixture) = &self.fixture {
            digest = crate::digest::sha256_hex(format!("{digest} {fixture}").as_bytes());
        }
        let name = format!("{TEMPLATE_PREFIX}{}", &digest[..16]);
        let exists = |c: &mut Client| -> Result<bool, postgres::Error> {
            let row = c.query_one(
                "SELECT count(*) FROM pg_database WHERE datname = $1 AND datistemplate",
                &[&name],
            )?;
            Ok(row.get::<_, i64>(0) > 0)
        };
        if !self.with_client(|c| exists(c))? {
            self.build_template(&name, &exists)?;
        }
        *cached = Some(name.clone());
        Ok(name)
    }

    /// Build `name` from the files, once between all processes: the lock
    /// holder builds, the others wait and then find it built.
    fn build_template(
        &self,
        name: &str,
        exists: &dyn Fn(&mut Client) -> Result<bool, postgres::Error>,
    ) -> Result<()> {
        let building = format!("{name}_build");
        let mut client = self.connect()?;
        let db = |e| self.error(e);
        client
            .batch_execute(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
            .map_err(db)?;
        if exists(&mut client).map_err(db)? {
            return Ok(());
        }
        let b = ident(&building);
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {b} WITH (FORCE)"))
            .map_err(db)?;
        match &self.fixture {
            Some(_) => {
                // A copy of the fixture's database: nobody may be connected.
                let source = ident(&self.target.database);
                client
                    .execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                        &[&self.target.database],
                    )
                    .map_err(db)?;
                client
                    .batch_execute(&format!("CREATE DATABASE {b} TEMPLATE {source}"))
                    .map_err(db)?;
            }
            None => client
                .batch_execute(&format!("CREATE DATABASE {b}"))
                .map_err(db)?,
        }
        kill_point::reached(|| format!("{}:template begun", self.target.service));
        runner::migrate(
            &self.target.with_database(&building),
            &runner::Options::default(),
            &Silent,
        )?;
        kill_point::reached(|| format!("{}:template migrated", self.target.service));
        // A session on it writes the relation cache's init file
        // (`pg_internal.init`, removed by the migrations' catalog changes),
        // which every clone then copies: a test's first connection to its
        // database need not build that cache from the catalogs.
        let warm = self.target.login_to(&building);
        pg::connect(self.target.reach(), &warm, Duration::from_secs(5))
            .and_then(|mut c| c.simple_query("SELECT 1").map(drop))
            .map_err(db)?;
        // Only then does it get its name: a template is complete or absent.
        // No one may connect to it, or cloning it would fail.
        let t = ident(name);
        client
            .batch_execute(&format!(
                "ALTER DATABASE {b} RENAME TO {t};
                 ALTER DATABASE {t} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"
            ))
            .map_err(db)?;
        kill_point::reached(|| format!("{}:template named", self.target.service));
        // Templates of earlier files are of no more use.
        let stale = client
            .query(
                "SELECT datname FROM pg_database WHERE datname LIKE 'berth\\_tpl\\_%' AND datname <> $1",
                &[&name],
            )
            .map_err(db)?;
        for row in stale {
            let old = ident(row.get::<_, &str>(0));
            client
                .batch_execute(&format!("ALTER DATABASE {old} WITH IS_TEMPLATE false"))
                .map_err(db)?;
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {old} WITH (FORCE)"))
                .map_err(db)?;
        }
        // And so are the clones made of them.
        drop_orphaned_pool(&mut client).map_err(db)?;
        Ok(())
    }

    fn info(&self, name: &str) -> DatabaseInfo {
        let t = &self.target;
        let password = t.password.clone();
        let tcp_url = format!(
            "postgresql://{}:{}@{}:{}/{}",
            url_escape(&t.user),
            url_escape(password.as_deref().unwrap_or("")),
            t.endpoint.host,
            t.endpoint.port,
            name
        );
        // The socket's directory as the host, percent-encoded: what libpq,
        // rust-postgres and sqlx read as a Unix socket.
        let url = match &t.local {
            Some(local) => format!(
                "postgresql://{}@{}:{}/{}",
                url_escape(&t.user),
                url_escape(&local.host),
                local.port,
                name
            ),
            None => tcp_url.clone(),
        };
        DatabaseInfo {
            service: t.service.clone(),
            name: name.to_string(),
            host: t.endpoint.host.clone(),
            port: t.endpoint.port,
            user: t.user.clone(),
            url,
            tcp_url,
            password,
        }
    }

    /// Run `f` with a pooled maintenance connection, off any async runtime.
    fn with_client<T: Send>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send,
    ) -> Result<T> {
        off_runtime(|| {
            let idle = {
                let mut pool = self.connections.lock().unwrap_or_else(|p| p.into_inner());
                loop {
                    if let Some(c) = pool.idle.pop() {
                        break Some(c);
                    }
                    if pool.open < MAX_CONNECTIONS {
                        pool.open += 1;
                        break None;
                    }
                    pool = self.returned.wait(pool).unwrap_or_else(|p| p.into_inner());
                }
            };
            let client = match idle {
                Some(c) if !c.is_closed() => Ok(c),
                _ => self.connect(),
            };
            let mut client = match client {
                Ok(c) => c,
                Err(e) => {
                    self.give_back(None);
                    return Err(e);
                }
            };
            let result = f(&mut client).map_err(|e| self.error(e));
            // A connection a request failed on may be broken: not reused.
            self.give_back(result.is_ok().then_some(client));
            result
        })
    }

    /// Return a connection taken by [`Self::with_client`] (none: it is gone).
    fn give_back(&self, client: Option<Client>) {
        let mut pool = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        match client {
            Some(c) => pool.idle.push(c),
            None => pool.open -= 1,
        }
        drop(pool);
        self.returned.notify_one();
    }

    fn connect(&self) -> Result<Client> {
        let t = &self.target;
        let login = t.login_to(MAINTENANCE_DB);
        pg::connect(t.reach(), &login, Duration::from_secs(5)).map_err(|e| Error::Service {
            service: t.service.clone(),
            message: format!("the server at {} did not answer", t.reach()),
            hint: Some("start the stack with `berth up`".into()),
            source: cause(DatabaseError(e)),
        })
    }

    fn error(&self, e: postgres::Error) -> Error {
        Error::Service {
            service: self.target.service.clone(),
            message: "its server failed a request for test databases".into(),
            hint: None,
            source: cause(DatabaseError(e)),
        }
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        // The pool thread first: a database it claimed ahead a moment ago
        // is in the pocket only once it has ended.
        if let Some(refill) = self
            .refill
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            refill.stop();
        }
        // Closing a synchronous client blocks on its runtime too.
        let mut connections = std::mem::take(
            &mut self
                .connections
                .get_mut()
                .unwrap_or_else(|p| p.into_inner())
                .idle,
        );
        let unused = self.claim_ahead.pocket.ready().take();
        let template = self
            .template
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        off_runtime(move || {
            // A database claimed ahead and never handed out is as fresh as
            // the pool's: it goes back. Without a connection, `gc` drops it
            // once this process is gone.
            if let (Some(name), Some(template), Some(c)) =
                (unused, template, connections.last_mut())
            {
                let back = format!("{}{}", pool_prefix(&template), random_suffix());
                let _ = c.batch_execute(&format!(
                    "ALTER DATABASE {} RENAME TO {}",
                    ident(&name),
                    ident(&back)
                ));
            }
            drop(connections)
        });
    }
}

fn ident(name: &str) -> String {
    quote_ident(name)
}

/// Rename a ready clone of `template` to `name`. Whether there was one
/// (processes racing for one: the loser takes the next).
fn claim(c: &mut Client, template: &str, name: &str) -> Result<bool, postgres::Error> {
    let rows = c.query(
        "SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY random()",
        &[&pool_prefix(template)],
    )?;
    for row in rows {
        let ready: String = row.get(0);
        match c.batch_execute(&format!(
            "ALTER DATABASE {} RENAME TO {}",
            ident(&ready),
            ident(name)
        )) {
            Ok(()) => return Ok(true),
            // Taken by another process a moment ago.
            Err(e) if e.code() == Some(&postgres::error::SqlState::UNDEFINED_DATABASE) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// Twelve random hex digits: a pool database's own part of its name.
fn random_suffix() -> String {
    let mut n = [0u8; 6];
    let _ = getrandom::getrandom(&mut n);
    n.iter().map(|b| format!("{b:02x}")).collect()
}

/// `BERTH_DB_POOL`, else [`DEFAULT_POOL_SIZE`].
fn pool_size_from_env() -> usize {
    std::env::var("BERTH_DB_POOL")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(DEFAULT_POOL_SIZE)
}

/// The names of template `template`'s ready clones start with this
/// (`berth_tpl_<digest>` → `bp_<digest>_`).
fn pool_prefix(template: &str) -> String {
    let digest = template.strip_prefix(TEMPLATE_PREFIX).unwrap_or(template);
    format!("{POOL_PREFIX}{digest}_")
}

/// The names of template `template`'s clones being made ready start with
/// this (`berth_tpl_<digest>` → `bw_<digest>_`).
fn warming_prefix(template: &str) -> String {
    let digest = template.strip_prefix(TEMPLATE_PREFIX).unwrap_or(template);
    format!("{WARMING_PREFIX}{digest}_")
}

/// Drop the ready clones, and those being made ready, whose template is
/// gone. Returns their names.
fn drop_orphaned_pool(c: &mut Client) -> Result<Vec<String>, postgres::Error> {
    let rows = c.query(
        "SELECT datname FROM pg_database WHERE starts_with(datname, $1) OR starts_with(datname, $2)",
        &[&POOL_PREFIX, &WARMING_PREFIX],
    )?;
    let templates: Vec<String> = c
        .query(
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
            &[&TEMPLATE_PREFIX],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut dropped = Vec::new();
    for row in rows {
        let name: String = row.get(0);
        let ready_or_warming =
            |t: &String| name.starts_with(&pool_prefix(t)) || name.starts_with(&warming_prefix(t));
        if templates.iter().any(ready_or_warming) {
            continue;
        }
        c.batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            ident(&name)
        ))?;
        dropped.push(name);
    }
    Ok(dropped)
}

/// Whether a filler that finds another at work gives up or waits.
#[derive(Clone, Copy)]
enum PoolLock {
    /// Another filler is filling: nothing to do (the background thread).
    Try,
    /// Wait for it, then top up what it left (`berth db refill`, started
    /// by a `db create` whose own filler ended with its process while its
    /// backend may still hold the lock).
    Wait,
}

/// Tops a template's pool up, on a connection of its own, kept from one
/// fill to the next: a login costs the server a new backend and a SCRAM
/// exchange, more than a claim does, and every claim wakes the filler.
/// With a pocket it claims the process's next database first, and again
/// between clones: a fill can last as long as a test.
struct Filler {
    target: Target,
    template: String,
    size: usize,
    strategy: &'static str,
    connection: Option<Client>,
    pocket: Option<Arc<Pocket>>,
    /// Set when its `Databases` drops: it stops after the clone it is
    /// making.
    stop: Arc<AtomicBool>,
}

impl Filler {
    fn new(target: Target, template: String, size: usize, strategy: &'static str) -> Filler {
        Filler {
            target,
            template,
            size,
            strategy,
            connection: None,
            pocket: None,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Make clones until the pool holds `size`, unless another process is
    /// filling it. Returns how many it made.
    fn fill(&mut self, lock: PoolLock) -> Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Ok(0);
        }
        let filled = self.fill_on_connection(lock);
        if filled.is_err() {
            // Whatever went wrong, the next fill starts on a new login.
            self.connection = None;
        }
        filled.map_err(|e| Error::Service {
            service: self.target.service.clone(),
            message: "its server failed to fill the pool of test databases".into(),
            hint: None,
            source: cause(DatabaseError(e)),
        })
    }

    fn fill_on_connection(&mut self, lock: PoolLock) -> Result<usize, postgres::Error> {
        let t = self.target.clone();
        let login_to =
            |database: &str| pg::connect(t.reach(), &t.login_to(database), Duration::from_secs(5));
        let c = connected(&mut self.connection, &self.target)?;
        let pocket = self.pocket.clone();
        let template = self.template.clone();
        let stop = Arc::clone(&self.stop);
        // Before the fill and between its clones: end if told to stop,
        // else claim the process's next database if it wants one.
        let mut between = |c: &mut Client| -> Result<bool, postgres::Error> {
            if stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            if let Some(pocket) = &pocket {
                claim_ahead(c, &t.service, &template, pocket)?;
            }
            Ok(true)
        };
        if !between(c)? {
            return Ok(0);
        }
        let locked = match lock {
            PoolLock::Try => c
                .query_one("SELECT pg_try_advisory_lock($1)", &[&POOL_LOCK])?
                .get(0),
            PoolLock::Wait => {
                c.batch_execute(&format!(
                    "SET lock_timeout = '{}s'",
                    POOL_LOCK_WAIT.as_secs()
                ))?;
                c.batch_execute(&format!("SELECT pg_advisory_lock({POOL_LOCK})"))?;
                true
            }
        };
        if !locked {
            return Ok(0);
        }
        let made = top_up(
            c,
            &self.template,
            self.size,
            self.strategy,
            &login_to,
            &mut between,
        );
        // The lock is the session's: it outlives this fill unless let go.
        c.query_one("SELECT pg_advisory_unlock($1)", &[&POOL_LOCK])?;
        made
    }
}

/// Claim the process's next database into `pocket`, if it is wanted and
/// the pocket is empty. Finding the pool empty leaves it to the next
/// request, which then clones its own.
fn claim_ahead(
    c: &mut Client,
    service: &str,
    template: &str,
    pocket: &Pocket,
) -> Result<(), postgres::Error> {
    if !pocket.wanted.load(Ordering::Relaxed) || pocket.ready().is_some() {
        return Ok(());
    }
    let Ok(me) = owner::this_process() else {
        return Ok(());
    };
    let name = owner::next_name(me);
    if claim(c, template, &name)? {
        kill_point::reached(|| format!("{service}:db claimed"));
        *pocket.ready() = Some(name);
    }
    Ok(())
}

/// `connection`, logged in to the maintenance database anew if it is none.
fn connected<'c>(
    connection: &'c mut Option<Client>,
    target: &Target,
) -> Result<&'c mut Client, postgres::Error> {
    if connection.is_none() {
        let login = target.login_to(MAINTENANCE_DB);
        *connection = Some(pg::connect(target.reach(), &login, Duration::from_secs(5))?);
    }
    Ok(connection.as_mut().expect("connected above"))
}

/// Clone `template` until its pool holds `size` (the pool lock held on
/// `c`). Each clone is made under a name of its own (`bw_`), logged into
/// once, and only then renamed into the pool: a backend's first login to
/// a database costs it a few milliseconds more than the next ones (caches
/// to fill), and the test's own login is then a next one. What a filler
/// killed midway left under that name is dropped first. `between` runs
/// before each clone, and says whether to go on.
fn top_up(
    c: &mut Client,
    template: &str,
    size: usize,
    strategy: &str,
    login_to: &dyn Fn(&str) -> Result<Client, postgres::Error>,
    between: &mut dyn FnMut(&mut Client) -> Result<bool, postgres::Error>,
) -> Result<usize, postgres::Error> {
    let warming = warming_prefix(template);
    for row in c.query(
        "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
        &[&warming],
    )? {
        let left: String = row.get(0);
        c.batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            ident(&left)
        ))?;
    }
    let prefix = pool_prefix(template);
    let mut made = 0;
    loop {
        if !between(c)? {
            return Ok(made);
        }
        let ready: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_database WHERE starts_with(datname, $1)",
                &[&prefix],
            )?
            .get(0);
        if ready as usize >= size {
            return Ok(made);
        }
        let suffix = random_suffix();
        let staged = format!("{warming}{suffix}");
        c.batch_execute(&format!(
            "CREATE DATABASE {} TEMPLATE {}{strategy}",
            ident(&staged),
            ident(template),
        ))?;
        let mut first = login_to(&staged)?;
        first.simple_query("SELECT 1")?;
        drop(first);
        // A closed connection's backend ends a moment later; a database
        // with a backend in it cannot be renamed.
        for _ in 0..1000 {
            let inside: i64 = c
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                    &[&staged],
                )?
                .get(0);
            if inside == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        c.batch_execute(&format!(
            "ALTER DATABASE {} RENAME TO {}",
            ident(&staged),
            ident(&format!("{prefix}{suffix}"))
        ))?;
        made += 1;
    }
}
