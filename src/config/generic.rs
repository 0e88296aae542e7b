//! The keys of generic services — any image, or any command natively:
//! extra published ports, volumes and bind mounts, and the readiness probe.
//! Each parser returns the problem in words; `resolve.rs` points it at the
//! offending text.

use std::path::{Path, PathBuf};

/// `"HOST:CONTAINER"`: an extra port published on loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortMapping {
    pub host: u16,
    pub container: u16,
}

impl PortMapping {
    pub fn parse(text: &str) -> Result<PortMapping, String> {
        let bad = || {
            format!(
                "`{text}` is not a port mapping; write `\"HOST:CONTAINER\"`, like `\"9001:9001\"`"
            )
        };
        let (host, container) = text.split_once(':').ok_or_else(bad)?;
        let port = |p: &str| p.trim().parse::<u16>().ok().filter(|p| *p > 0);
        Ok(PortMapping {
            host: port(host).ok_or_else(bad)?,
            container: port(container).ok_or_else(bad)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// A named volume berth creates, keeps on `down` and removes on `reset`.
    Named(String),
    /// A host path (absolute, or relative to the stack file), never removed.
    Bind(PathBuf),
}

/// `"NAME:/path"` or `"./dir:/path[:ro]"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub source: VolumeSource,
    pub target: String,
    pub read_only: bool,
}

impl Volume {
    pub fn parse(text: &str, root: &Path) -> Result<Volume, String> {
        let bad = |why: &str| {
            format!("`{text}` is not a volume: {why}; write `\"NAME:/path\"` for a named volume or `\"./dir:/path[:ro]\"` for a bind mount")
        };
        let parts: Vec<&str> = text.split(':').collect();
        let (source, target, read_only) = match parts.as_slice() {
            [s, t] => (*s, *t, false),
            [s, t, "ro"] => (*s, *t, true),
            [s, t, "rw"] => (*s, *t, false),
            [_, _, mode] => {
                return Err(bad(&format!("the mode `{mode}` is neither `ro` nor `rw`")))
            }
            _ => return Err(bad("expected SOURCE:TARGET")),
        };
        if !target.starts_with('/') {
            return Err(bad("the path inside the container must be absolute"));
        }
        let source = if source.starts_with('/')
            || source.starts_with('.')
            || source.starts_with('~')
        {
            let path = match source.strip_prefix("~/") {
                Some(rest) => std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_default()
                    .join(rest),
                None => root.join(source),
            };
            VolumeSource::Bind(path)
        } else if !source.is_empty()
            && source
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            VolumeSource::Named(source.to_string())
        } else {
            return Err(bad("a volume name uses letters, digits, `-` and `_`; a host path starts with `/` or `.`"));
        };
        Ok(Volume {
            source,
            target: target.to_string(),
            read_only,
        })
    }
}

/// How berth knows a generic service is ready. Every probe but `exec` runs
/// from the host against the published port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// A TCP connection is accepted.
    Tcp,
    /// `GET path` answers with a 2xx or 3xx status.
    Http { path: String },
    /// A PostgreSQL login succeeds with the official image's `POSTGRES_USER`
    /// / `POSTGRES_PASSWORD` / `POSTGRES_DB` from the service's `env`.
    Postgres,
    /// Redis answers `PING` (with `REDIS_PASSWORD` from `env`, if set).
    Redis,
    /// A command exits 0: inside the container, or on the host natively.
    Exec { command: Vec<String> },
}

pub const READY_FORMS: &str = "`\"tcp\"`, `\"postgres\"`, `\"redis\"`, `{ http = \"/health\" }` or `{ exec = [\"cmd\", \"arg\"] }`";

impl Ready {
    pub fn parse(value: &toml::Value) -> Result<Ready, String> {
        let bad = || format!("`ready` must be one of {READY_FORMS}");
        match value {
            toml::Value::String(s) => match s.as_str() {
                "tcp" => Ok(Ready::Tcp),
                "postgres" => Ok(Ready::Postgres),
                "redis" => Ok(Ready::Redis),
                "http" => Ok(Ready::Http { path: "/".into() }),
                other => Err(format!("unknown probe `{other}`; {}", bad())),
            },
            toml::Value::Table(t) if t.len() == 1 => {
                let (key, v) = t.iter().next().expect("one entry");
                match (key.as_str(), v) {
                    ("http", toml::Value::String(path)) if path.starts_with('/') => {
                        Ok(Ready::Http { path: path.clone() })
                    }
                    ("http", _) => Err("`http` takes a path starting with `/`, like `{ http = \"/health\" }`".into()),
                    ("exec", toml::Value::Array(items)) if !items.is_empty() => {
                        let command: Option<Vec<String>> = items
                            .iter()
                            .map(|i| i.as_str().map(String::from))
                            .collect();
                        command
                            .map(|command| Ready::Exec { command })
                            .ok_or_else(|| "`exec` takes a list of strings, like `{ exec = [\"pg_isready\"] }`".into())
                    }
                    ("exec", _) => Err("`exec` takes a non-empty list of strings, like `{ exec = [\"pg_isready\"] }`".into()),
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    }

    /// For `status` and errors: `http GET /health`, `exec pg_isready`.
    pub fn describe(&self) -> String {
        match self {
            Ready::Tcp => "tcp".into(),
            Ready::Http { path } => format!("http GET {path}"),
            Ready::Postgres => "postgres login".into(),
            Ready::Redis => "redis PING".into(),
            Ready::Exec { command } => format!("exec {}", command.join(" ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_volumes_ports_and_probes() {
        let root = Path::new("/stack");
        let v = Volume::parse("./conf:/etc/app:ro", root).unwrap();
        assert_eq!(v.source, VolumeSource::Bind(PathBuf::from("/stack/./conf")));
        assert!(v.read_only);
        let v = Volume::parse("minio-data:/data", root).unwrap();
        assert_eq!(v.source, VolumeSource::Named("minio-data".into()));
        assert!(Volume::parse("data:relative", root).is_err());
        assert!(Volume::parse("data:/x:rx", root).is_err());
        assert_eq!(
            PortMapping::parse("9001:9000").unwrap(),
            PortMapping {
                host: 9001,
                container: 9000
            }
        );
        assert!(PortMapping::parse("9001").is_err());
        let http: toml::Value =
            toml::from_str::<toml::Table>("r = { http = \"/health\" }").unwrap()["r"].clone();
        assert_eq!(
            Ready::parse(&http).unwrap(),
            Ready::Http {
                path: "/health".into()
            }
        );
        assert!(Ready::parse(&toml::Value::String("ping".into())).is_err());
    }
}
