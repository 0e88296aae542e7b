//! Writing a `berth.toml`: what `import` makes of a compose file, and the
//! effective stack an export carries along (`x-berth`) so that importing
//! it gives the same stack back. Values are written by the `toml` crate,
//! so every string is quoted and escaped as TOML wants.

use crate::config::model::StackConfig;
use crate::plan::runtime_kind::RuntimeKind;

/// A stack file to write.
#[derive(Debug, Default)]
pub struct StackToml {
    /// Comment lines at the top (without `# `).
    pub header: Vec<String>,
    pub name: Option<String>,
    pub runtime: Option<String>,
    /// `dotenv`: files of the team's variables.
    pub dotenv: Vec<String>,
    pub services: Vec<ServiceToml>,
    /// `[env]`: the file, and variables as templates.
    pub env_file: Option<String>,
    pub env_vars: Vec<(String, String)>,
    /// `[overrides]`: a variable and the values (`service.key`) it sets.
    pub overrides: Vec<(String, Vec<String>)>,
    /// Services only a profile adds (`[profiles.NAME.services.X]`).
    pub profiles: Vec<(String, Vec<ServiceToml>)>,
}

#[derive(Debug, Default, Clone)]
pub struct ServiceToml {
    pub name: String,
    /// Comment lines above the table (without `# `).
    pub comments: Vec<String>,
    pub keys: Vec<(String, toml::Value)>,
}

impl ServiceToml {
    pub fn set(&mut self, key: &str, value: impl Into<toml::Value>) {
        let value = value.into();
        match self.keys.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.keys.push((key.to_string(), value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&toml::Value> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// The keys that read best first; the rest follow in name order.
const FIRST: &[&str] = &[
    "kind",
    "runtime",
    "image",
    "version",
    "command",
    "port",
    "container_port",
    "persist",
];

impl StackToml {
    /// The effective stack of `config` (its profile and environment
    /// applied), without the secrets named in `left_out` (service, key).
    pub fn of(config: &StackConfig, left_out: &[(String, String)]) -> StackToml {
        let services = config
            .services
            .iter()
            .map(|svc| {
                let mut keys: Vec<(String, toml::Value)> = svc
                    .keys
                    .iter()
                    .filter(|(k, _)| !left_out.iter().any(|(s, key)| *s == svc.name && key == *k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                // The stack's `runtime` (or `--runtime`) is the service's.
                if svc.runtime != RuntimeKind::Native && !svc.keys.contains_key("runtime") {
                    keys.push(("runtime".into(), svc.runtime.to_string().into()));
                }
                keys.sort_by_key(|(k, _)| {
                    (
                        FIRST.iter().position(|f| f == k).unwrap_or(FIRST.len()),
                        k.clone(),
                    )
                });
                ServiceToml {
                    name: svc.name.clone(),
                    comments: Vec::new(),
                    keys,
                }
            })
            .collect();
        StackToml {
            header: Vec::new(),
            name: Some(config.name.clone()),
            runtime: None,
            dotenv: Vec::new(),
            services,
            env_file: Some(config.env.file.display().to_string()),
            env_vars: config
                .env
                .vars
                .iter()
                .flatten()
                .map(|(name, template)| (name.clone(), template.text()))
                .collect(),
            overrides: Vec::new(),
            profiles: Vec::new(),
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            out.push_str(&comment(line));
        }
        if !self.header.is_empty() && (self.name.is_some() || self.runtime.is_some()) {
            out.push('\n');
        }
        if let Some(name) = &self.name {
            out.push_str(&format!("name = {}\n", toml::Value::String(name.clone())));
        }
        if let Some(runtime) = &self.runtime {
            out.push_str(&format!(
                "runtime = {}\n",
                toml::Value::String(runtime.clone())
            ));
        }
        if !self.dotenv.is_empty() {
            let files: Vec<toml::Value> = self
                .dotenv
                .iter()
                .map(|f| toml::Value::String(f.clone()))
                .collect();
            out.push_str(&format!(
                "dotenv = {}
",
                toml::Value::Array(files)
            ));
        }
        for svc in &self.services {
            write_service(&mut out, "services", svc);
        }
        if self.env_file.is_some() || !self.env_vars.is_empty() {
            out.push_str("\n[env]\n");
            if let Some(file) = &self.env_file {
                out.push_str(&format!("file = {}\n", toml::Value::String(file.clone())));
            }
            if !self.env_vars.is_empty() {
                out.push_str("[env.vars]\n");
                for (name, template) in &self.env_vars {
                    out.push_str(&format!(
                        "{} = {}\n",
                        key(name),
                        toml::Value::String(template.clone())
                    ));
                }
            }
        }
        if !self.overrides.is_empty() {
            out.push_str("\n[overrides]\n");
            for (var, targets) in &self.overrides {
                let value = match targets.as_slice() {
                    [one] => toml::Value::String(one.clone()),
                    more => toml::Value::Array(
                        more.iter()
                            .map(|t| toml::Value::String(t.clone()))
                            .collect(),
                    ),
                };
                out.push_str(&format!("{} = {value}\n", key(var)));
            }
        }
        for (profile, services) in &self.profiles {
            for svc in services {
                write_service(
                    &mut out,
                    &format!("profiles.{}.services", key(profile)),
                    svc,
                );
            }
        }
        out
    }
}

fn write_service(out: &mut String, prefix: &str, svc: &ServiceToml) {
    out.push('\n');
    for line in &svc.comments {
        out.push_str(&comment(line));
    }
    out.push_str(&format!("[{prefix}.{}]\n", key(&svc.name)));
    for (k, v) in &svc.keys {
        out.push_str(&format!("{} = {v}\n", key(k)));
    }
}

fn comment(line: &str) -> String {
    if line.is_empty() {
        "#\n".into()
    } else {
        format!("# {line}\n")
    }
}

/// A bare key when it may be one, else quoted.
fn key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_string()
    } else {
        toml::Value::String(name.to_string()).to_string()
    }
}
