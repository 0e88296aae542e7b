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
//! Every call runs on a short-lived thread of its own: the synchronous
//! `postgres` client blocks on an internal runtime, which must not happen
//! on an async runtime's thread, so this keeps the API usable from async
//! tests too.

use std::sync::Mutex;
use std::time::Duration;

use postgres::Client;

use super::off_runtime::off_runtime;
use super::owner;
use crate::client::endpoint::url_escape;
use crate::client::postgres::{self as pg, quote_ident, DatabaseError, Login};
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
    pub url: String,
}

/// Test databases of one postgres service.
pub struct Databases {
    target: Target,
    /// Open connections to the maintenance database, reused: a login with
    /// scram costs more than the clone itself.
    pool: Mutex<Vec<Client>>,
    /// The template for the files as they were when first asked.
    template: Mutex<Option<String>>,
    /// ` STRATEGY = FILE_COPY` on servers that have the choice (15+): a
    /// small template is copied faster file by file than through the WAL.
    clone_strategy: std::sync::OnceLock<&'static str>,
    /// Build the template from the service's own database (which a
    /// snapshot filled) rather than from an empty one; the snapshot's
    /// identity is part of the template's name.
    fixture: Option<String>,
}

impl Databases {
    pub fn new(target: Target) -> Databases {
        Databases {
            target,
            pool: Mutex::new(Vec::new()),
            template: Mutex::new(None),
            clone_strategy: std::sync::OnceLock::new(),
            fixture: None,
        }
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
    /// template, or empty.
    pub fn create(&self, owner: ProcessRecord, from_template: bool) -> Result<DatabaseInfo> {
        let template = if from_template {
            Some(self.template()?)
        } else {
            None
        };
        let name = owner::next_name(owner);
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

    /// Drop the databases whose owner process is gone. Returns their names.
    pub fn gc(&self) -> Result<Vec<String>> {
        let mut dropped = Vec::new();
        for name in self.list()? {
            if owner::is_abandoned(&name) && self.drop_database(&name)? {
                dropped.push(name);
            }
        }
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
        Ok(())
    }

    fn info(&self, name: &str) -> DatabaseInfo {
        let t = &self.target;
        let password = t.password.clone();
        DatabaseInfo {
            service: t.service.clone(),
            name: name.to_string(),
            host: t.endpoint.host.clone(),
            port: t.endpoint.port,
            user: t.user.clone(),
            url: format!(
                "postgres://{}:{}@{}:{}/{}",
                url_escape(&t.user),
                url_escape(password.as_deref().unwrap_or("")),
                t.endpoint.host,
                t.endpoint.port,
                name
            ),
            password,
        }
    }

    /// Run `f` with a pooled maintenance connection, off any async runtime.
    fn with_client<T: Send>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send,
    ) -> Result<T> {
        off_runtime(|| {
            let pooled = self.pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let mut client = match pooled {
                Some(c) if !c.is_closed() => c,
                _ => self.connect()?,
            };
            let result = f(&mut client).map_err(|e| self.error(e));
            if result.is_ok() {
                self.pool
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(client);
            }
            result
        })
    }

    fn connect(&self) -> Result<Client> {
        let t = &self.target;
        let login = Login {
            user: &t.user,
            password: t.password.as_deref(),
            database: MAINTENANCE_DB,
        };
        pg::connect(&t.endpoint, &login, Duration::from_secs(5)).map_err(|e| Error::Service {
            service: t.service.clone(),
            message: format!("the server at {} did not answer", t.endpoint),
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
        // Closing a synchronous client blocks on its runtime too.
        let pool = std::mem::take(self.pool.get_mut().unwrap_or_else(|p| p.into_inner()));
        off_runtime(move || drop(pool));
    }
}

fn ident(name: &str) -> String {
    quote_ident(name)
}
