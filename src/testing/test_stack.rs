//! [`TestStack`]: an isolated, shared instance of the stack for tests, and
//! the handles that clean up after each test.
//!
//! - **Isolated from the developer's stack**: the test stack is a named
//!   instance (`<stack>-tests`) with its own state directory, data and ports
//!   (chosen free once, kept), using the file's `test` profile when it has
//!   one. It stays up after the tests, so the next run starts in
//!   milliseconds; `berth -p test --name <stack>-tests down` stops it.
//! - **Parallel**: any number of threads and processes (`cargo test`,
//!   nextest's process per test) share the stack: starting it is serialized
//!   by the stack lock, building a template by an advisory lock.
//! - **Rebuilt when files change**: the template is named after a digest of
//!   the migration and seed files.
//! - **Nothing left behind**: a database (a Redis prefix's keys, a bucket)
//!   is dropped with its handle; names carry the owning process (pid and start time), so what a killed run
//!   left is dropped at the next start or by `berth db gc`.
//! - **Sync and async**: calls block briefly (tens of milliseconds) and run
//!   their database work on a thread of their own, so they are safe to call
//!   from inside an async runtime too.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::buckets::BucketServer;
use super::databases::{DatabaseInfo, Databases};
use super::off_runtime::off_runtime;
use super::owner;
use super::redis::RedisServer;
use crate::client::endpoint::Endpoint;
use crate::client::postgres::{self as pg, Login};
use crate::config::load;
use crate::config::model::LoadOptions;
use crate::error::{Error, Result};
use crate::events::Silent;
use crate::lifecycle::inspect;
use crate::lifecycle::snapshot::{self, RestoreOptions};
use crate::lifecycle::up::{up, UpOptions};
use crate::migrate::target::Target;
use crate::snapshot::store::Store;
use crate::stack::resolved::Stack;

/// A running stack for tests.
pub struct TestStack {
    stack: Stack,
    databases: Vec<Arc<Databases>>,
    redis: Vec<Arc<RedisServer>>,
    buckets: Vec<Arc<BucketServer>>,
}

/// How to start a [`TestStack`].
#[derive(Debug, Clone)]
pub struct Builder {
    file: PathBuf,
    profile: Option<Option<String>>,
    name: Option<String>,
    in_memory: bool,
    snapshot: Option<String>,
    pool: Option<usize>,
}

impl Builder {
    /// Use `[profiles.NAME]` (`None`: no profile). Default: `test` when the
    /// file has it.
    pub fn profile(mut self, profile: Option<&str>) -> Builder {
        self.profile = Some(profile.map(str::to_string));
        self
    }

    /// The instance name. Default: the stack's name plus `-tests`.
    pub fn name(mut self, name: &str) -> Builder {
        self.name = Some(name.to_string());
        self
    }

    /// Start the instance from snapshot `name` of the file's own stack
    /// (`berth snapshot save NAME` on the development stack): a fixture
    /// state saved once and shared by the tests. Its databases then hold
    /// the snapshot's data, and each test's database is a clone of them,
    /// migrated. The instance restores the snapshot again only when it
    /// changes.
    pub fn snapshot(mut self, name: &str) -> Builder {
        self.snapshot = Some(name.to_string());
        self
    }

    /// Keep `size` databases cloned ahead of the tests that ask for them
    /// (default: `BERTH_DB_POOL`, else 4; 0 clones each on request). The
    /// pool is topped up in the background, shared by every test process
    /// on the stack, and replaced when the migrations change.
    pub fn pool(mut self, size: usize) -> Builder {
        self.pool = Some(size);
        self
    }

    /// Keep the instance's state and data in memory (`/dev/shm`), where
    /// cloning a database is about ten times faster than on disk. Default:
    /// on. A reboot empties it; the next start initializes again.
    pub fn in_memory(mut self, in_memory: bool) -> Builder {
        self.in_memory = in_memory;
        self
    }

    /// Start the stack, or attach to it when it runs, and drop what killed
    /// test runs left behind.
    pub fn start(self) -> Result<TestStack> {
        off_runtime(|| self.start_here())
    }

    fn start_here(self) -> Result<TestStack> {
        let env = |k: &str| std::env::var(k).ok();
        let profile = match self.profile {
            Some(p) => p,
            None => {
                let text = std::fs::read_to_string(&self.file).unwrap_or_default();
                let has_test = toml::from_str::<toml::Table>(&text)
                    .ok()
                    .and_then(|t| t.get("profiles")?.get("test").cloned())
                    .is_some();
                has_test.then(|| "test".to_string())
            }
        };
        let own = load::load(&self.file, &options(profile.as_deref(), None), &env)?;
        let name = self.name.unwrap_or_else(|| format!("{}-tests", own.name));
        let config = load::load(&self.file, &options(profile.as_deref(), Some(name)), &env)?;
        let dir = if self.in_memory {
            crate::state::StateDir::in_memory(&config.root, &config.name)?
        } else {
            inspect::state_dir(&config, None)?
        };
        let fixture = match &self.snapshot {
            Some(name) => Some(from_snapshot(&self.file, name, &config, &dir, &env)?),
            None => None,
        };
        let (stack, _) = up(
            config,
            dir,
            &UpOptions {
                write_env: false,
                ..UpOptions::default()
            },
            &Silent,
        )?;
        let databases = stack
            .services
            .iter()
            .filter_map(|s| s.migration_target())
            .map(|mut t| {
                t.local = local_endpoint(&stack.dir, &t);
                let mut databases = Databases::new(t).with_claim_ahead();
                if let Some(size) = self.pool {
                    databases = databases.with_pool(size);
                }
                Arc::new(match &fixture {
                    Some(f) => databases.from_fixture(f),
                    None => databases,
                })
            })
            .collect::<Vec<_>>();
        for d in &databases {
            d.prepare();
        }
        // Services that speak the Redis protocol get key prefixes.
        let redis = stack
            .services
            .iter()
            .filter_map(|s| {
                let access = s.key_value()?;
                Some(Arc::new(RedisServer {
                    service: s.name.clone(),
                    endpoint: s.endpoint(),
                    password: access.password,
                }))
            })
            .collect();
        // Services that speak S3 get buckets.
        let buckets = stack
            .services
            .iter()
            .filter_map(|s| {
                Some(Arc::new(BucketServer {
                    service: s.name.clone(),
                    endpoint: s.endpoint(),
                    access: s.object_store()?,
                }))
            })
            .collect();
        let test_stack = TestStack {
            stack,
            databases,
            redis,
            buckets,
        };
        test_stack.gc()?;
        Ok(test_stack)
    }
}

/// The service's Unix socket, if this process logs in over it: the stack
/// has one (its state is in memory, and the server runs natively) and
/// peer authentication lets this account in (it started the server).
fn local_endpoint(dir: &crate::state::StateDir, t: &Target) -> Option<Endpoint> {
    let socket = dir.socket_dir(&t.service)?;
    if !socket
        .join(format!(".s.PGSQL.{}", t.endpoint.port))
        .exists()
    {
        return None;
    }
    let local = Endpoint::new(socket.to_str()?, t.endpoint.port);
    let login = Login {
        user: &t.user,
        password: None,
        database: &t.database,
    };
    pg::probe(&local, &login).ok()?;
    Some(local)
}

/// Restore snapshot `name` of the file's own (development) stack into the
/// instance, unless its data came from it already. Returns the snapshot's
/// identity.
fn from_snapshot(
    file: &Path,
    name: &str,
    config: &crate::config::model::StackConfig,
    dir: &crate::state::StateDir,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String> {
    let own = load::load(file, &options(None, None), env)?;
    let own_dir = inspect::state_dir(&own, None)?;
    let manifest = Store::of(&own_dir).manifest(name)?;
    let identity = snapshot::identity(&manifest);
    dir.ensure()?;
    if dir.load()?.restored_from.as_deref() != Some(identity.as_str()) {
        let restore = RestoreOptions {
            safety_snapshot: false,
            from: Some(own_dir),
            ..RestoreOptions::new(crate::interrupt::Interrupt::process())
        };
        snapshot::restore(config.clone(), dir.clone(), name, &restore, &Silent)?;
    }
    Ok(identity)
}

fn options(profile: Option<&str>, name: Option<String>) -> LoadOptions {
    LoadOptions {
        profile: profile.map(str::to_string),
        name,
        runtime: None,
    }
}

impl TestStack {
    /// [`Builder`] defaults: the `test` profile if any, `<stack>-tests`.
    pub fn start(file: impl AsRef<Path>) -> Result<TestStack> {
        TestStack::builder(file).start()
    }

    pub fn builder(file: impl AsRef<Path>) -> Builder {
        Builder {
            file: file.as_ref().to_path_buf(),
            profile: None,
            name: None,
            in_memory: true,
            snapshot: None,
            pool: None,
        }
    }

    /// The instance's name.
    pub fn name(&self) -> &str {
        self.stack.name()
    }

    /// A fresh database for one test from the stack's only postgres
    /// service, migrated and seeded; dropped when the handle drops.
    pub fn database(&self) -> Result<TestDatabase> {
        self.database_of(self.only(&self.databases, "postgres", |d| d.service())?)
    }

    /// The same, from the postgres service `service`.
    pub fn database_of(&self, service: &str) -> Result<TestDatabase> {
        let databases = self.find(&self.databases, service, |d| d.service())?;
        let info = databases.create(owner::this_process()?, true)?;
        Ok(TestDatabase {
            info,
            databases: Arc::clone(databases),
        })
    }

    /// A key prefix of its own on the stack's only redis service; its keys
    /// are deleted when the handle drops.
    pub fn redis(&self) -> Result<TestRedis> {
        self.redis_of(self.only(&self.redis, "redis", |r| &r.service)?)
    }

    pub fn redis_of(&self, service: &str) -> Result<TestRedis> {
        let server = self.find(&self.redis, service, |r| &r.service)?;
        let url = self
            .stack
            .service(service)
            .map(|s| s.connection())
            .unwrap_or_default()
            .into_iter()
            .find(|v| v.key == "url")
            .map(|v| v.value)
            .unwrap_or_default();
        Ok(TestRedis {
            prefix: format!("{}:", owner::next_name(owner::this_process()?)),
            url,
            server: Arc::clone(server),
        })
    }

    /// A bucket of its own on the stack's only s3 service; emptied and
    /// deleted when the handle drops.
    pub fn bucket(&self) -> Result<TestBucket> {
        self.bucket_of(self.only(&self.buckets, "s3", |b| &b.service)?)
    }

    /// The same, on the s3 service `service`.
    pub fn bucket_of(&self, service: &str) -> Result<TestBucket> {
        let server = self.find(&self.buckets, service, |b| &b.service)?;
        let name = off_runtime(|| server.create())?;
        Ok(TestBucket {
            name,
            endpoint: format!("http://{}", server.endpoint),
            server: Arc::clone(server),
        })
    }

    /// Drop databases, keys and buckets whose test process is gone.
    /// Returns how many.
    pub fn gc(&self) -> Result<usize> {
        let mut n = 0;
        for d in &self.databases {
            n += d.gc()?.len();
        }
        for r in &self.redis {
            n += r.gc()?.len();
        }
        for b in &self.buckets {
            n += b.gc()?.len();
        }
        Ok(n)
    }

    fn only<'a, T>(
        &self,
        items: &'a [Arc<T>],
        kind: &str,
        name: impl Fn(&T) -> &str,
    ) -> Result<&'a str> {
        match items {
            [one] => Ok(name(one)),
            [] => Err(Error::usage(
                format!("stack `{}` has no {kind} service", self.name()),
                None,
            )),
            many => Err(Error::usage(
                format!("stack `{}` has several {kind} services", self.name()),
                Some(format!(
                    "name one: {}",
                    many.iter()
                        .map(|i| format!("`{}`", name(i)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            )),
        }
    }

    fn find<'a, T>(
        &self,
        items: &'a [Arc<T>],
        service: &str,
        name: impl Fn(&T) -> &str,
    ) -> Result<&'a Arc<T>> {
        items.iter().find(|i| name(i) == service).ok_or_else(|| {
            Error::usage(
                format!(
                    "stack `{}` has no such service `{service}` of that kind",
                    self.name()
                ),
                None,
            )
        })
    }
}

/// A database of one test's own. Dropped (with any open connections) when
/// this handle drops.
pub struct TestDatabase {
    info: DatabaseInfo,
    databases: Arc<Databases>,
}

impl TestDatabase {
    /// The quickest way in: `postgresql://user@%2F<socket dir>:port/name`
    /// over the server's Unix socket by peer authentication when this
    /// process gets in that way (a native stack in memory it started),
    /// else `postgresql://user:password@127.0.0.1:port/name`, which
    /// [`DatabaseInfo::tcp_url`] always is.
    pub fn url(&self) -> &str {
        &self.info.url
    }

    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Host, port, user, password and URL separately.
    pub fn info(&self) -> &DatabaseInfo {
        &self.info
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // A failure here leaves the database to the next run's cleanup,
        // which finds it by its dead owner.
        let _ = self.databases.drop_database(&self.info.name);
    }
}

/// A Redis key prefix of one test's own. Its keys are deleted when this
/// handle drops.
pub struct TestRedis {
    prefix: String,
    url: String,
    server: Arc<RedisServer>,
}

impl TestRedis {
    /// `redis://default:password@127.0.0.1:port`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Put this in front of every key the test uses (`bt_..._3:`).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `key` under this test's prefix.
    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let _ = self.server.clear(&self.prefix);
    }
}

/// An S3 bucket of one test's own. Emptied and deleted when this handle
/// drops.
pub struct TestBucket {
    name: String,
    endpoint: String,
    server: Arc<BucketServer>,
}

impl TestBucket {
    /// The bucket's name (`bt-<pid>-<start>-<n>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `http://127.0.0.1:port`: the S3 endpoint (path-style requests).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn region(&self) -> &str {
        &self.server.access.region
    }

    pub fn access_key(&self) -> &str {
        &self.server.access.access_key
    }

    pub fn secret_key(&self) -> &str {
        &self.server.access.secret_key
    }
}

impl Drop for TestBucket {
    fn drop(&mut self) {
        // A failure leaves the bucket to the next run's cleanup, which
        // finds it by its dead owner.
        let _ = off_runtime(|| self.server.remove(&self.name));
    }
}
