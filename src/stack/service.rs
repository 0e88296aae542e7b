//! One service of the resolved stack: its kind's settings, what the stack
//! settled for it, and its plan.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::views::Views;
use crate::client::endpoint::Endpoint;
use crate::error::Result;
use crate::kind::connection::ConnectionValue;
use crate::kind::contract::{
    KeyValueAccess, KindSettings, Links, ObjectStoreAccess, Secrets, ServiceContext, Tools,
};
use crate::migrate::target::Target;
use crate::plan::runtime_kind::RuntimeKind;
use crate::plan::service_plan::{ServicePlan, LOOPBACK};

#[derive(Clone)]
pub struct Service {
    pub name: String,
    pub settings: Arc<dyn KindSettings>,
    pub runtime: RuntimeKind,
    /// On the host's loopback (0 before the first `up` chose it).
    pub port: u16,
    /// The secret named `password`, for kinds that log in with one.
    pub password: Option<String>,
    /// Every secret of the service, configured or generated.
    pub secrets: Secrets,
    /// The services its kind works with.
    pub links: Links,
    pub persist: bool,
    /// Names of the services this one waits for.
    pub depends_on: Vec<String>,
    pub ready_timeout: Duration,
    /// What its runtime executes.
    pub plan: ServicePlan,
    pub(super) root: PathBuf,
    pub(super) views: Arc<Views>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.name)
            .field("kind", &self.kind())
            .field("runtime", &self.runtime)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Service {
    pub fn kind(&self) -> &'static str {
        self.settings.kind()
    }

    /// Where it answers, as seen from the host.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(LOOPBACK, self.port)
    }

    /// Run `f` with the service's context: what the stack settled for it,
    /// and how it sees the other services.
    pub fn with_context<R>(&self, f: impl FnOnce(&ServiceContext) -> R) -> R {
        let lookup = |service: &str, key: &str| self.views.lookup(self.runtime, service, key);
        let variable = |name: &str| self.views.variable(name);
        let ctx = ServiceContext {
            name: &self.name,
            port: self.port,
            password: self.password.as_deref(),
            secrets: &self.secrets,
            links: &self.links,
            persist: self.persist,
            root: &self.root,
            lookup: &lookup,
            variable: &variable,
        };
        f(&ctx)
    }

    /// Its connection values, as the host reaches it.
    pub fn connection(&self) -> Vec<ConnectionValue> {
        self.with_context(|ctx| self.settings.connection(ctx, &self.endpoint()))
    }

    /// One attempt at the kind's protocol probe, from the host.
    pub fn probe(&self) -> std::result::Result<(), String> {
        self.with_context(|ctx| self.settings.probe(ctx, &self.endpoint()))
    }

    /// The kind's provisioning (databases, roles, ...), once it answers.
    pub fn provision(&self) -> Result<()> {
        self.with_context(|ctx| self.settings.provision(ctx, &self.endpoint()))
    }

    /// Run one of the kind's init scripts (see
    /// [`KindSettings::init_scripts`]) with `tools`.
    pub fn run_init_script(&self, tools: &dyn Tools, script: &std::path::Path) -> Result<()> {
        self.with_context(|ctx| self.settings.run_init_script(ctx, tools, script))
    }

    /// Load the kind's seed files other than SQL (files into buckets):
    /// into what is new to berth, or everything again when `again`.
    pub fn seed(&self, again: bool) -> Result<Vec<String>> {
        self.with_context(|ctx| self.settings.seed(ctx, &self.endpoint(), again))
    }

    /// The database migrations and seeds apply to, for kinds that take them.
    pub fn migration_target(&self) -> Option<Target> {
        let access = self.with_context(|ctx| self.settings.sql(ctx))?;
        Some(Target {
            service: self.name.clone(),
            endpoint: self.endpoint(),
            local: None,
            user: access.user,
            password: self.password.clone(),
            database: access.database,
            migrations: access.migrations,
            seeds: access.seeds,
        })
    }

    /// Files that set it up without berth (see [`KindSettings::init_files`]).
    pub fn init_files(&self) -> Vec<crate::plan::container::ContainerFile> {
        self.with_context(|ctx| self.settings.init_files(ctx))
    }

    /// How tests reach it, for kinds that speak S3.
    pub fn object_store(&self) -> Option<ObjectStoreAccess> {
        self.with_context(|ctx| self.settings.object_store(ctx))
    }

    /// How tests reach it, for kinds that speak the Redis protocol.
    pub fn key_value(&self) -> Option<KeyValueAccess> {
        self.with_context(|ctx| self.settings.key_value(ctx))
    }
}
