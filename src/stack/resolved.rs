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
use crate::kind::contract::{Secrets, ServiceContext};
use crate::plan::runtime_kind::RuntimeKind;
use crate::plan::service_plan::{Launch, ServicePlan, LOOPBACK};
use crate::secret::state_key;
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
    /// The stack as an example file shows it: the ports it has, and every
    /// generated secret the same placeholder, so the example does not
    /// depend on what this machine generated, or whether the stack has
    /// been up.
    pub fn as_example(&self) -> Stack {
        let mut state = State::default();
        for svc in &self.services {
            if svc.port != 0 {
                state.ports.insert(svc.name.clone(), svc.port);
            }
            for secret in svc.settings.secrets() {
                state
                    .passwords
                    .insert(state_key(&svc.name, secret.name), "example".into());
            }
        }
        // Configured secrets win over the placeholder, but are secrets all
        // the same: the example masks them.
        Stack::resolve(self.config.clone(), self.dir.clone(), &state, &Pins::new())
    }

    /// Resolve every service. A service whose auto port or generated
    /// password is not in `state` yet (never started) gets port 0 and no
    /// password.
    pub fn resolve(config: StackConfig, dir: StateDir, state: &State, pins: &Pins) -> Stack {
        Stack::resolve_with(config, dir, state, pins, &|_, _| None, &|_| None)
    }

    /// [`Stack::resolve`], with `secret(service, name)` taking the place of
    /// any secret it gives a value for, and `variable(name)` of any
    /// `${NAME}` variable: the exports resolve the stack once with markers
    /// in place of secrets and variables, to find where each one ends up.
    pub fn resolve_with(
        config: StackConfig,
        dir: StateDir,
        state: &State,
        pins: &Pins,
        secret: &dyn Fn(&str, &str) -> Option<String>,
        variable: &dyn Fn(&str) -> Option<String>,
    ) -> Stack {
        let variables: BTreeMap<String, String> = config
            .variables
            .iter()
            .map(|(name, value)| {
                (
                    name.clone(),
                    variable(name).unwrap_or_else(|| value.clone()),
                )
            })
            .collect();
        let variable_of = |name: &str| variables.get(name).cloned();
        let settled: Vec<(u16, Secrets)> = config
            .services
            .iter()
            .map(|svc| {
                let port = match svc.port {
                    PortSetting::Fixed(p) => p,
                    PortSetting::Auto => state.ports.get(&svc.name).copied().unwrap_or(0),
                };
                let secrets = svc
                    .settings
                    .secrets()
                    .into_iter()
                    .filter_map(|s| {
                        let value = secret(&svc.name, s.name).or(s.configured).or_else(|| {
                            state.passwords.get(&state_key(&svc.name, s.name)).cloned()
                        })?;
                        Some((s.name, value))
                    })
                    .collect();
                (port, secrets)
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
                .map(|(svc, (port, secrets))| {
                    let ctx = ServiceContext {
                        name: &svc.name,
                        port: *port,
                        password: secrets
                            .get("password")
                            .map(String::as_str)
                            .filter(|p| !p.is_empty()),
                        secrets,
                        links: &svc.links,
                        persist: svc.persist,
                        root: &config.root,
                        lookup: &no_references,
                        variable: &variable_of,
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
            variables: variables.clone(),
        });

        let services = config
            .services
            .iter()
            .zip(settled)
            .map(|(svc, (port, secrets))| {
                let lookup = |other: &str, key: &str| views.lookup(svc.runtime, other, key);
                let variable = |name: &str| views.variable(name);
                let ctx = ServiceContext {
                    name: &svc.name,
                    port,
                    password: secrets
                        .get("password")
                        .map(String::as_str)
                        .filter(|p| !p.is_empty()),
                    secrets: &secrets,
                    links: &svc.links,
                    persist: svc.persist,
                    root: &config.root,
                    lookup: &lookup,
                    variable: &variable,
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
                    // An empty password is none: a Redis with
                    // `password = ""` asks for no AUTH.
                    password: secrets.get("password").filter(|p| !p.is_empty()).cloned(),
                    secrets: secrets.clone(),
                    links: svc.links.clone(),
                    persist: svc.persist,
                    depends_on: svc.depends_on.iter().map(|(d, _)| d.clone()).collect(),
                    ready_timeout: svc.ready_timeout,
                    plan: ServicePlan {
                        service: svc.name.clone(),
                        port,
                        persist: svc.persist,
                        generation: state.generations.get(&svc.name).copied().unwrap_or(0),
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
