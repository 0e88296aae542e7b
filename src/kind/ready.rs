//! How berth knows a generic service is ready: the `ready` key. Every probe
//! but `exec` and `running` runs from the host against the published port.

/// A readiness probe of a generic service.
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
    /// It runs: for a service with no port to probe (a worker), like
    /// Compose's `service_started`.
    Running,
}

pub const READY_FORMS: &str = "`\"tcp\"`, `\"postgres\"`, `\"redis\"`, `\"running\"`, `{ http = \"/health\" }` or `{ exec = [\"cmd\", \"arg\"] }`";

impl Ready {
    pub fn parse(value: &toml::Value) -> Result<Ready, String> {
        let bad = || format!("`ready` must be one of {READY_FORMS}");
        match value {
            toml::Value::String(s) => match s.as_str() {
                "tcp" => Ok(Ready::Tcp),
                "postgres" => Ok(Ready::Postgres),
                "redis" => Ok(Ready::Redis),
                "running" => Ok(Ready::Running),
                "http" => Ok(Ready::Http { path: "/".into() }),
                other => Err(format!("unknown probe `{other}`; {}", bad())),
            },
            toml::Value::Table(t) if t.len() == 1 => match t.iter().next() {
                Some((key, toml::Value::String(path)))
                    if key == "http" && path.starts_with('/') =>
                {
                    Ok(Ready::Http { path: path.clone() })
                }
                Some((key, _)) if key == "http" => Err(
                    "`http` takes a path starting with `/`, like `{ http = \"/health\" }`".into(),
                ),
                Some((key, toml::Value::Array(items))) if key == "exec" && !items.is_empty() => {
                    let command: Option<Vec<String>> =
                        items.iter().map(|i| i.as_str().map(String::from)).collect();
                    command
                        .map(|command| Ready::Exec { command })
                        .ok_or_else(|| {
                            "`exec` takes a list of strings, like `{ exec = [\"pg_isready\"] }`"
                                .into()
                        })
                }
                Some((key, _)) if key == "exec" => Err(
                    "`exec` takes a non-empty list of strings, like `{ exec = [\"pg_isready\"] }`"
                        .into(),
                ),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_probes() {
        let http: toml::Value =
            toml::from_str::<toml::Table>("r = { http = \"/health\" }").unwrap()["r"].clone();
        assert_eq!(
            Ready::parse(&http).unwrap(),
            Ready::Http {
                path: "/health".into()
            }
        );
        assert!(Ready::parse(&toml::Value::String("ping".into())).is_err());
        let exec: toml::Value =
            toml::from_str::<toml::Table>("r = { exec = [] }").unwrap()["r"].clone();
        assert!(Ready::parse(&exec).is_err());
    }
}
