//! The stack file as written: every value optional and spanned, unknown keys
//! rejected. Profiles reuse the same service type, so a typo inside
//! `[profiles.test.services.db]` is caught exactly like one at the top.
//! Resolution into the typed [`super::StackConfig`] happens in `resolve.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStack {
    pub name: Option<Spanned<String>>,
    pub runtime: Option<Spanned<String>>,
    #[serde(default)]
    pub services: BTreeMap<Spanned<String>, RawService>,
    pub env: Option<RawEnv>,
    /// Explicit environment variable per value: `TILEMUD_PG_PORT = "postgres.port"`.
    #[serde(default)]
    pub overrides: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub profiles: BTreeMap<Spanned<String>, RawProfile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    pub name: Option<Spanned<String>>,
    pub runtime: Option<Spanned<String>>,
    #[serde(default)]
    pub services: BTreeMap<Spanned<String>, RawService>,
    pub env: Option<RawEnv>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnv {
    pub file: Option<Spanned<String>>,
    pub vars: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
}

/// One service. The field names here are the stack file's keys; `KEYS`
/// below must list them all (it drives kind applicability checks and the
/// generic environment override scheme).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub kind: Option<Spanned<String>>,
    pub runtime: Option<Spanned<String>>,
    pub image: Option<Spanned<String>>,
    pub version: Option<Spanned<String>>,
    pub port: Option<Spanned<PortSetting>>,
    pub user: Option<Spanned<String>>,
    pub password: Option<Spanned<String>>,
    pub database: Option<Spanned<String>>,
    pub databases: Option<Spanned<Vec<String>>>,
    pub extensions: Option<Spanned<Vec<String>>>,
    pub roles: Option<Spanned<Vec<RawRole>>>,
    pub persist: Option<Spanned<bool>>,
    pub appendonly: Option<Spanned<bool>>,
    pub maxmemory: Option<Spanned<String>>,
    pub settings: Option<Spanned<BTreeMap<String, SettingValue>>>,
    pub ready_timeout: Option<Spanned<String>>,
    pub migrations: Option<Spanned<String>>,
    pub seeds: Option<Spanned<String>>,
    pub depends_on: Option<Vec<Spanned<String>>>,
    pub command: Option<Spanned<Vec<String>>>,
    pub container_port: Option<Spanned<u16>>,
    pub ports: Option<Spanned<Vec<String>>>,
    pub env: Option<Spanned<BTreeMap<String, String>>>,
    pub volumes: Option<Spanned<Vec<String>>>,
    /// `"tcp"`, `"postgres"`, `"redis"`, `{ http = "/path" }` or
    /// `{ exec = ["cmd", ...] }`; checked in `resolve.rs`.
    pub ready: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    pub name: String,
    pub password: Option<String>,
    #[serde(default = "yes")]
    pub login: bool,
    #[serde(default)]
    pub superuser: bool,
}

fn yes() -> bool {
    true
}

/// `port = 5438` or `port = "auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PortSetting {
    Fixed(u16),
    Auto,
}

impl PortSetting {
    pub fn parse(text: &str) -> Option<PortSetting> {
        if text.trim() == "auto" {
            return Some(PortSetting::Auto);
        }
        match text.trim().parse::<u16>() {
            Ok(0) | Err(_) => None,
            Ok(port) => Some(PortSetting::Fixed(port)),
        }
    }
}

impl<'de> Deserialize<'de> for PortSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = PortSetting;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a port number from 1 to 65535, or \"auto\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PortSetting, E> {
                match u16::try_from(v) {
                    Ok(p) if p > 0 => Ok(PortSetting::Fixed(p)),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Signed(v), &self)),
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PortSetting, E> {
                PortSetting::parse(v)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A server setting value (`settings = { fsync = "off", max_connections = 200 }`),
/// kept as the text the server is given.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingValue(pub String);

impl<'de> Deserialize<'de> for SettingValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = SettingValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E>(self, v: &str) -> Result<SettingValue, E> {
                Ok(SettingValue(v.to_string()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<SettingValue, E> {
                Ok(SettingValue(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<SettingValue, E> {
                Ok(SettingValue(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<SettingValue, E> {
                Ok(SettingValue(if v { "on" } else { "off" }.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Every key a service table accepts, in the order they are documented.
pub const KEYS: &[&str] = &[
    "kind",
    "runtime",
    "image",
    "version",
    "port",
    "user",
    "password",
    "database",
    "databases",
    "extensions",
    "roles",
    "persist",
    "appendonly",
    "maxmemory",
    "settings",
    "ready_timeout",
    "migrations",
    "seeds",
    "depends_on",
    "command",
    "container_port",
    "ports",
    "env",
    "volumes",
    "ready",
];

/// Keys that may be set from an environment variable (scalar values only).
pub const ENV_KEYS: &[&str] = &[
    "runtime",
    "image",
    "version",
    "port",
    "user",
    "password",
    "database",
    "persist",
    "appendonly",
    "maxmemory",
    "ready_timeout",
    "migrations",
    "seeds",
];

impl RawService {
    /// The span of a key's value, when the key is present.
    pub fn span_of(&self, key: &str) -> Option<std::ops::Range<usize>> {
        match key {
            "kind" => self.kind.as_ref().map(Spanned::span),
            "runtime" => self.runtime.as_ref().map(Spanned::span),
            "image" => self.image.as_ref().map(Spanned::span),
            "version" => self.version.as_ref().map(Spanned::span),
            "port" => self.port.as_ref().map(Spanned::span),
            "user" => self.user.as_ref().map(Spanned::span),
            "password" => self.password.as_ref().map(Spanned::span),
            "database" => self.database.as_ref().map(Spanned::span),
            "databases" => self.databases.as_ref().map(Spanned::span),
            "extensions" => self.extensions.as_ref().map(Spanned::span),
            "roles" => self.roles.as_ref().map(Spanned::span),
            "persist" => self.persist.as_ref().map(Spanned::span),
            "appendonly" => self.appendonly.as_ref().map(Spanned::span),
            "maxmemory" => self.maxmemory.as_ref().map(Spanned::span),
            "settings" => self.settings.as_ref().map(Spanned::span),
            "ready_timeout" => self.ready_timeout.as_ref().map(Spanned::span),
            "migrations" => self.migrations.as_ref().map(Spanned::span),
            "seeds" => self.seeds.as_ref().map(Spanned::span),
            "depends_on" => self.depends_on.as_ref().and_then(|d| {
                let first = d.first()?.span();
                let last = d.last()?.span();
                Some(first.start..last.end)
            }),
            "command" => self.command.as_ref().map(Spanned::span),
            "container_port" => self.container_port.as_ref().map(Spanned::span),
            "ports" => self.ports.as_ref().map(Spanned::span),
            "env" => self.env.as_ref().map(Spanned::span),
            "volumes" => self.volumes.as_ref().map(Spanned::span),
            "ready" => self.ready.as_ref().map(Spanned::span),
            _ => None,
        }
    }

    /// Layer `over` on top of `self`: every key `over` sets wins.
    pub fn overlay(&mut self, over: RawService) {
        macro_rules! take {
            ($($field:ident),*) => { $( if over.$field.is_some() { self.$field = over.$field; } )* };
        }
        take!(
            kind,
            runtime,
            image,
            version,
            port,
            user,
            password,
            database,
            databases,
            extensions,
            roles,
            persist,
            appendonly,
            maxmemory,
            settings,
            ready_timeout,
            migrations,
            seeds,
            depends_on,
            command,
            container_port,
            ports,
            env,
            volumes,
            ready
        );
    }
}
