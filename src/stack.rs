//! The resolved stack: each service with its kind, its port and password
//! settled (from the file, or chosen once and kept in the state), and the
//! dependency graph checked for cycles.

use std::collections::BTreeMap;
use std::net::TcpListener;

use crate::config::{error_at, PortSetting, ServiceConfig, StackConfig};
use crate::error::{Error, IoContext, Result};
use crate::kind::{self, Endpoint, ServiceKind};
use crate::secret::generate_password;
use crate::state::{State, StateDir};

/// Services listen here; nothing is exposed beyond the machine by default.
pub const LOOPBACK: &str = "127.0.0.1";

#[derive(Clone)]
pub struct ServiceSpec {
    pub name: String,
    pub kind: &'static dyn ServiceKind,
    pub config: ServiceConfig,
    pub port: u16,
    /// The configured or generated password, for kinds that use one.
    pub password: Option<String>,
    pub persist: bool,
    /// Names of the services this one waits for.
    pub depends_on: Vec<String>,
    /// Generic services: `command` and `env` with every `${service.key}`
    /// filled in as this service sees it (see [`Stack::new`]).
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The stack file's directory: a native command's working directory.
    pub root: std::path::PathBuf,
    /// The image id `berth.lock` pins, which the container runs instead of
    /// the tag (set by `up`).
    pub pinned_image: Option<String>,
}

impl std::fmt::Debug for ServiceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("ServiceSpec")
            .field("name", &self.name)
            .field("kind", &self.kind.name())
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl ServiceSpec {
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            host: LOOPBACK.to_string(),
            port: self.port,
        }
    }

    pub fn connection(&self) -> Vec<kind::ConnectionValue> {
        self.kind.connection(self, &self.endpoint())
    }
}

pub struct Stack {
    pub config: StackConfig,
    pub dir: StateDir,
    /// In the stack file's order.
    pub services: Vec<ServiceSpec>,
}

impl Stack {
    /// Settle ports and passwords, choosing and recording them in `state`
    /// where the file leaves them open. Returns whether `state` changed.
    pub fn settle(config: &StackConfig, state: &mut State) -> Result<bool> {
        let before = state.clone();
        for svc in &config.services {
            if svc.port == PortSetting::Auto && !state.ports.contains_key(&svc.name) {
                state.ports.insert(svc.name.clone(), free_port()?);
            }
            let kind = kind::lookup(&svc.kind).expect("kinds are checked when loading");
            if kind.uses_password() && svc.password.is_none() {
                state
                    .passwords
                    .entry(svc.name.clone())
                    .or_insert_with(generate_password);
            }
        }
        Ok(*state != before)
    }

    /// Build the stack from its config and settled state. Services whose
    /// auto port or generated password is not in `state` yet (never started)
    /// get port 0 and no password.
    pub fn new(config: StackConfig, dir: StateDir, state: &State) -> Result<Stack> {
        let services = config
            .services
            .iter()
            .map(|svc| {
                let kind = kind::lookup(&svc.kind).expect("kinds are checked when loading");
                let port = match svc.port {
                    PortSetting::Fixed(p) => p,
                    PortSetting::Auto => state.ports.get(&svc.name).copied().unwrap_or(0),
                };
                let password = match (&svc.password, kind.uses_password()) {
                    (Some(p), _) => Some(p.clone()),
                    (None, true) => state.passwords.get(&svc.name).cloned(),
                    (None, false) => None,
                };
                ServiceSpec {
                    name: svc.name.clone(),
                    kind,
                    port,
                    password,
                    persist: svc.persist.unwrap_or(kind.persists_by_default()),
                    depends_on: svc.depends_on.iter().map(|d| d.get_ref().clone()).collect(),
                    command: Vec::new(),
                    env: Vec::new(),
                    root: config.root.clone(),
                    pinned_image: None,
                    config: svc.clone(),
                }
            })
            .collect::<Vec<_>>();
        let services = fill_templates(services);
        Ok(Stack {
            config,
            dir,
            services,
        })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The named services, or all when `names` is empty; unknown names are a
    /// usage error with a suggestion.
    pub fn select(&self, names: &[String]) -> Result<Vec<&ServiceSpec>> {
        if names.is_empty() {
            return Ok(self.services.iter().collect());
        }
        names
            .iter()
            .map(|n| {
                self.service(n).ok_or_else(|| {
                    let all = self.services.iter().map(|s| s.name.as_str());
                    let hint = crate::config::suggest::did_you_mean(n, all.clone()).or_else(|| {
                        Some(format!(
                            "the services are: {}",
                            all.map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                        ))
                    });
                    Error::usage(
                        format!("stack `{}` has no service `{n}`", self.name()),
                        hint,
                    )
                })
            })
            .collect()
    }

    /// Connection values of every service, by service name.
    pub fn connections(&self) -> BTreeMap<String, Vec<kind::ConnectionValue>> {
        self.services
            .iter()
            .map(|s| (s.name.clone(), s.connection()))
            .collect()
    }
}

/// Fill in generic services' `command` and `env`. A service reads another's
/// connection values as it can reach it: a native service at the loopback
/// port; a container naming another container by service name on the
/// stack's network at the port inside the container. (A container naming a
/// native service is refused when the stack file is loaded.)
fn fill_templates(mut services: Vec<ServiceSpec>) -> Vec<ServiceSpec> {
    let in_container = |s: &ServiceSpec| s.config.runtime == "container";
    let views: Vec<(Vec<kind::ConnectionValue>, Vec<kind::ConnectionValue>)> = services
        .iter()
        .map(|s| {
            let network = Endpoint {
                host: s.name.clone(),
                port: s.kind.container(s).port,
            };
            (s.connection(), s.kind.connection(s, &network))
        })
        .collect();
    let names: Vec<String> = services.iter().map(|s| s.name.clone()).collect();
    let runtimes: Vec<bool> = services.iter().map(in_container).collect();
    for svc in services.iter_mut() {
        let from_container = in_container(svc);
        let lookup = |other: &str, key: &str| {
            let i = names.iter().position(|n| n == other)?;
            let values = if from_container && runtimes[i] {
                &views[i].1
            } else {
                &views[i].0
            };
            values
                .iter()
                .find(|v| v.key == key)
                .map(|v| v.value.clone())
        };
        svc.command = svc
            .config
            .command
            .iter()
            .map(|t| t.render(lookup))
            .collect();
        svc.env = svc
            .config
            .env
            .iter()
            .map(|(k, t)| (k.clone(), t.render(lookup)))
            .collect();
    }
    services
}

/// Ask the OS for a free loopback port.
fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((LOOPBACK, 0)).context(|| "could not find a free port".into())?;
    Ok(listener
        .local_addr()
        .context(|| "could not find a free port".into())?
        .port())
}

/// Reject dependency cycles, pointing at the edge that closes one.
pub(crate) fn check_cycles(config: &StackConfig) -> Result<()> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let index = |name: &str| config.services.iter().position(|s| s.name == name);
    let mut marks = vec![Mark::New; config.services.len()];
    let mut path: Vec<usize> = Vec::new();

    fn visit(
        i: usize,
        config: &StackConfig,
        marks: &mut [Mark],
        path: &mut Vec<usize>,
        index: &dyn Fn(&str) -> Option<usize>,
    ) -> Result<()> {
        marks[i] = Mark::Active;
        path.push(i);
        for dep in &config.services[i].depends_on {
            let Some(j) = index(dep.get_ref()) else {
                continue;
            };
            match marks[j] {
                Mark::Done => {}
                Mark::New => visit(j, config, marks, path, index)?,
                Mark::Active => {
                    let start = path.iter().position(|&p| p == j).unwrap_or(0);
                    let mut names: Vec<&str> = path[start..]
                        .iter()
                        .map(|&p| config.services[p].name.as_str())
                        .collect();
                    names.push(&config.services[j].name);
                    return Err(error_at(
                        &config.source,
                        &dep.span(),
                        format!("dependency cycle: {}", names.join(" -> ")),
                        Some("remove one of these `depends_on` entries".into()),
                    ));
                }
            }
        }
        path.pop();
        marks[i] = Mark::Done;
        Ok(())
    }

    for i in 0..config.services.len() {
        if marks[i] == Mark::New {
            visit(i, config, &mut marks, &mut path, &index)?;
        }
    }
    Ok(())
}
