//! Secrets in an export: never written inline. The stack is resolved twice,
//! once as it is and once with a unique marker in place of each secret, so
//! the exports can see where a secret ends up — an environment value, a
//! server argument, a URL another service is given — and put a reference
//! to a variable there instead (`${DB_PASSWORD}` for Compose, a Secret for
//! Kubernetes). Files are taken from the real stack: what they hold is
//! derived (a SCRAM verifier), never a secret itself.

use crate::client::endpoint::url_escape;
use crate::config::model::StackConfig;
use crate::stack::resolved::{Pins, Stack};
use crate::state::{State, StateDir};

/// One secret of one service.
#[derive(Debug, Clone)]
pub struct SecretVar {
    pub service: String,
    /// The kind's name for it (`password`, `secret_key`).
    pub name: String,
    /// The variable that carries it (`DB_PASSWORD`).
    pub var: String,
    pub value: String,
    /// Whether the stack file sets it (else it was generated).
    pub configured: bool,
    marker: String,
    /// The marker as a URL holds it (percent-encoded).
    url_marker: String,
}

impl SecretVar {
    /// The variable for the secret inside a URL, when it must be written
    /// differently there (`DB_PASSWORD_URL`, percent-encoded).
    pub fn url_var(&self) -> Option<(String, String)> {
        let escaped = url_escape(&self.value);
        (escaped != self.value).then(|| (format!("{}_URL", self.var), escaped))
    }

    /// Every variable this secret needs, with its value.
    pub fn variables(&self) -> Vec<(String, String)> {
        std::iter::once((self.var.clone(), self.value.clone()))
            .chain(self.url_var())
            .collect()
    }
}

/// The stack twice (as it is, and with markers) and its secrets.
pub struct Resolved {
    pub real: Stack,
    pub marked: Stack,
    pub secrets: Vec<SecretVar>,
}

/// Resolve `config` with the ports and secrets of `state` (which the
/// caller has settled: nothing is left to choose).
pub fn resolve(config: &StackConfig, dir: &StateDir, state: &State, pins: &Pins) -> Resolved {
    let real = Stack::resolve(config.clone(), dir.clone(), state, pins);
    let mut secrets = Vec::new();
    for (svc, cfg) in real.services.iter().zip(&config.services) {
        for secret in cfg.settings.secrets() {
            let Some(value) = svc.secrets.get(secret.name) else {
                continue;
            };
            // A space, so that a URL's percent-encoding of it tells where
            // the secret sits inside a URL.
            let marker = format!("BERTH SECRET MARKER {} X", secrets.len());
            // A secret the team sets through `[overrides]` keeps the
            // team's name for it (`POSTGRES_PASSWORD`), which its other
            // services may use too.
            let var = config
                .overrides
                .iter()
                .find(|o| o.service == svc.name && o.key == secret.name)
                .map(|o| o.var.clone())
                .unwrap_or_else(|| variable(&svc.name, secret.name));
            secrets.push(SecretVar {
                service: svc.name.clone(),
                name: secret.name.to_string(),
                var,
                value: value.clone(),
                configured: secret.configured.is_some(),
                url_marker: url_escape(&marker),
                marker,
            });
        }
    }
    // A `${NAME}` variable is a secret too: it comes from the team's
    // `.env` (or the environment), which is where secrets are kept.
    for (name, value) in &config.variables {
        let marker = format!("BERTH SECRET MARKER {} X", secrets.len());
        secrets.push(SecretVar {
            service: String::new(),
            name: name.clone(),
            var: name.clone(),
            value: value.clone(),
            configured: false,
            url_marker: url_escape(&marker),
            marker,
        });
    }
    let marker_of = |service: &str, name: &str| {
        secrets
            .iter()
            .find(|s| s.service == service && s.name == name)
            .map(|s| s.marker.clone())
    };
    let variable_marker = |name: &str| {
        secrets
            .iter()
            .find(|s| s.service.is_empty() && s.name == name)
            .map(|s| s.marker.clone())
    };
    let marked = Stack::resolve_with(
        config.clone(),
        dir.clone(),
        state,
        pins,
        &marker_of,
        &variable_marker,
    );
    Resolved {
        real,
        marked,
        secrets,
    }
}

impl Resolved {
    /// `text` with each secret marker replaced by `reference(var)` (the
    /// URL form by `reference` of its `_URL` variable).
    pub fn refer(&self, text: &str, reference: &dyn Fn(&str) -> String) -> String {
        let mut out = text.to_string();
        // Markers end in ` X`: `... 1 X` is never part of `... 10 X`.
        for s in &self.secrets {
            let url_var = s.url_var().map(|(v, _)| v).unwrap_or_else(|| s.var.clone());
            out = out.replace(&s.url_marker, &reference(&url_var));
            out = out.replace(&s.marker, &reference(&s.var));
        }
        out
    }

    /// The variables `text` needs, with their values.
    pub fn used_in(&self, text: &str) -> Vec<(String, String)> {
        let mut vars = Vec::new();
        for s in &self.secrets {
            if text.contains(&s.marker) {
                vars.push((s.var.clone(), s.value.clone()));
            }
            if text.contains(&s.url_marker) {
                vars.push(
                    s.url_var()
                        .unwrap_or_else(|| (s.var.clone(), s.value.clone())),
                );
            }
        }
        vars
    }

    /// Every variable the secrets need, with its value, each once (a
    /// team's variable may hold a kind's secret and a service's value).
    pub fn variables(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (var, value) in self.secrets.iter().flat_map(SecretVar::variables) {
            if !out.iter().any(|(v, _)| *v == var) {
                out.push((var, value));
            }
        }
        out
    }

    /// Whether `text` is exactly one secret.
    pub fn whole(&self, text: &str) -> Option<&SecretVar> {
        self.secrets.iter().find(|s| s.marker == text)
    }

    /// The configured secrets, as (service, key): left out of the stack
    /// file an export carries, and restored from the variables on import.
    pub fn configured(&self) -> Vec<(String, String)> {
        self.secrets
            .iter()
            .filter(|s| s.configured)
            .map(|s| (s.service.clone(), s.name.clone()))
            .collect()
    }
}

/// `DB_PASSWORD` for the `password` of service `db`.
pub fn variable(service: &str, name: &str) -> String {
    format!("{service}_{name}")
        .to_ascii_uppercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
