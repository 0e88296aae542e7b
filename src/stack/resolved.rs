//! The stack, resolved once from its config, its state and the image pins:
//! every service with its port, password and plan.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::service::Service;
use super::views::{ServiceView, Views};
use crate::client::endpoint::Endpoint;
use crate::config::model::{PortSetting, StackConfig};
use crate::error::{Error, Result};
use crate::kind::connection::ConnectionValue;
use crate::kind::contract::ServiceContext;
use crate::plan::runtime_kind::RuntimeKind;
use crate::plan::service_plan::{Launch, ServicePlan, LOOPBACK};
use crate::state::{State, StateDir};
use crate::suggest::{did_you_mean, list};

pub struct Stack {
    pub config: StackConfig,
    pub dir: StateDir,
    /// In the stack file's order.
    pub services: Vec<Service>,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("name", &self.config.name)
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

/// Image ids `berth.lock` pins, by service.
pub type Pins = BTreeMap<String, String>;

impl Stack {
    /// Resolve every service. A service whose auto port or generated
    /// password is not in `state` yet (never started) gets port 0 and no
    /// password.
    pub fn resolve(config: StackConfig, dir: StateDir, state: &State, pins: &Pins) -> Stack {
        let settled: Vec<(u16, Option<String>)> = config
            .services
            .iter()
            .map(|svc| {
                let port = match svc.port {
                    PortSetting::Fixed(p) => p,
                    PortSetting::Auto => state.ports.get(&svc.name).copied().unwrap_or(0),
                };
                let password = match (svc.settings.password(), svc.settings.uses_password()) {
                    (Some(p), _) => Some(p.to_string()),
                    (None, true) => state.passwords.get(&svc.name).cloned(),
                    (None, false) => None,
                };
                (port, password)
            })
            .collect();

        // Connection values do not depend on other services: compute them
        // first, then each service's plan sees them through its views.
        let no_references = |_: &str, _: &str| None;
        let views = Arc::new(Views {
            services: config
                .services
                .iter()
                .zip(&settled)
                .map(|(svc, (port, password))| {
                    let ctx = ServiceContext {
                        name: &svc.name,
                        port: *port,
                        password: password.as_deref(),
                        persist: svc.persist,
                        root: &config.root,
                        lookup: &no_references,
                    };
                    let network =
                        Endpoint::new(svc.name.clone(), svc.settings.container_port(&ctx));
                    ServiceView {
                        name: svc.name.clone(),
                        runtime: svc.runtime,
                        from_host: svc
                            .settings
                            .connection(&ctx, &Endpoint::new(LOOPBACK, *port)),
                        from_network: svc.settings.connection(&ctx, &network),
                    }
                })
                .collect(),
        });

        let services = config
            .services
            .iter()
            .zip(settled)
            .map(|(svc, (port, password))| {
                let lookup = |other: &str, key: &str| views.lookup(svc.runtime, other, key);
                let ctx = ServiceContext {
                    name: &svc.name,
                    port,
                    password: password.as_deref(),
                    persist: svc.persist,
                    root: &config.root,
                    lookup: &lookup,
                };
                let launch = match svc.runtime {
                    RuntimeKind::Native => Launch::Native(svc.settings.native(&ctx)),
                    RuntimeKind::Container => {
                        let mut launch = svc.settings.container(&ctx);
                        if let Some(image) = svc.image() {
                            launch.image = image;
                        }
                        launch.pinned = pins.get(&svc.name).cloned();
                        Launch::Container(launch)
                    }
                };
                Service {
                    name: svc.name.clone(),
                    settings: Arc::clone(&svc.settings),
                    runtime: svc.runtime,
                    port,
                    password: password.clone(),
                    persist: svc.persist,
                    depends_on: svc.depends_on.iter().map(|(d, _)| d.clone()).collect(),
                    ready_timeout: svc.ready_timeout,
                    plan: ServicePlan {
                        service: svc.name.clone(),
                        port,
                        persist: svc.persist,
                        launch,
                    },
                    root: config.root.clone(),
                    views: Arc::clone(&views),
                }
            })
            .collect();
        Stack {
            config,
            dir,
            services,
        }
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The named services, or all when `names` is empty; unknown names are a
    /// usage error with a suggestion.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Service>> {
        if names.is_empty() {
            return Ok(self.services.iter().collect());
        }
        names
            .iter()
            .map(|n| {
                self.service(n).ok_or_else(|| {
                    let all: Vec<&str> = self.services.iter().map(|s| s.name.as_str()).collect();
                    let hint = did_you_mean(n, all.iter().copied())
                        .or_else(|| Some(format!("the services are: {}", list(&all))));
                    Error::usage(
                        format!("stack `{}` has no service `{n}`", self.name()),
                        hint,
                    )
                })
            })
            .collect()
    }

    /// Connection values of every service, by service name.
    pub fn connections(&self) -> BTreeMap<String, Vec<ConnectionValue>> {
        self.services
            .iter()
            .map(|s| (s.name.clone(), s.connection()))
            .collect()
    }

    /// For each service, the indexes of the services it depends on.
    pub fn dependencies(&self) -> Vec<Vec<usize>> {
        self.services
            .iter()
            .map(|s| {
                s.depends_on
                    .iter()
                    .filter_map(|d| self.services.iter().position(|o| &o.name == d))
                    .collect()
            })
            .collect()
    }

    /// For each service, the indexes of the services that depend on it.
    pub fn dependents(&self) -> Vec<Vec<usize>> {
        let deps = self.dependencies();
        (0..self.services.len())
            .map(|i| (0..deps.len()).filter(|&j| deps[j].contains(&i)).collect())
            .collect()
    }
}
