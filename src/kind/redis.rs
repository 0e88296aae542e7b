//! Redis.
//!
//! Natively: `redis-server` with its password in a 0600 config file (not on
//! the command line, where `ps` would show it), bound to 127.0.0.1.
//! Persistence follows `persist`: off means no snapshots and no append-only
//! file, so a restart starts empty; on means snapshots plus the append-only
//! file unless `appendonly = false`. A SIGTERM makes Redis write its final
//! snapshot, which is how `down` keeps a persistent Redis's data.

use super::launch::{self, first_version};
use super::{
    Arg, BinarySpec, ConnectionValue, ContainerLaunch, Endpoint, NativeLaunch, ServerSpec,
    ServiceKind, StopSignal, MASK,
};
use crate::config::ServiceConfig;
use crate::stack::ServiceSpec;

pub struct Redis;

impl ServiceKind for Redis {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn keys(&self) -> &'static [&'static str] {
        &[
            "version",
            "password",
            "persist",
            "appendonly",
            "maxmemory",
            "settings",
        ]
    }

    fn connection_keys(&self) -> &'static [&'static str] {
        &["host", "port", "password", "url"]
    }

    fn persists_by_default(&self) -> bool {
        false
    }

    fn uses_password(&self) -> bool {
        true
    }

    fn validate(&self, svc: &ServiceConfig) -> Result<(), (&'static str, String)> {
        if svc.appendonly == Some(true) && svc.persist == Some(false) {
            return Err((
                "appendonly",
                "`appendonly = true` needs `persist = true`".into(),
            ));
        }
        if let Some(m) = &svc.maxmemory {
            let digits = m.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let unit = m[digits.len()..].to_ascii_lowercase();
            let units = ["", "b", "k", "kb", "m", "mb", "g", "gb"];
            if digits.is_empty()
                || !digits.chars().all(|c| c.is_ascii_digit())
                || !units.contains(&unit.as_str())
            {
                return Err((
                    "maxmemory",
                    format!("`{m}` is not a memory size; write it like `\"128mb\"` or `\"1gb\"`"),
                ));
            }
        }
        Ok(())
    }

    fn connection(&self, svc: &ServiceSpec, endpoint: &Endpoint) -> Vec<ConnectionValue> {
        let password = svc.password.clone().unwrap_or_default();
        let url = |pw: &str| match pw.is_empty() {
            true => format!("redis://{}:{}/0", endpoint.host, endpoint.port),
            false => format!("redis://:{pw}@{}:{}/0", endpoint.host, endpoint.port),
        };
        let plain = |key, value: String| ConnectionValue {
            key,
            masked: value.clone(),
            value,
            secret: false,
        };
        vec![
            plain("host", endpoint.host.clone()),
            plain("port", endpoint.port.to_string()),
            ConnectionValue {
                key: "password",
                value: password.clone(),
                masked: MASK.into(),
                secret: true,
            },
            ConnectionValue {
                key: "url",
                value: url(&super::url_escape(&password)),
                masked: url(if password.is_empty() { "" } else { MASK }),
                secret: !password.is_empty(),
            },
        ]
    }

    fn probe(&self, svc: &ServiceSpec, endpoint: &Endpoint) -> Result<(), String> {
        crate::probe::redis::probe(endpoint, svc.password.as_deref())
    }

    fn native(&self, svc: &ServiceSpec) -> NativeLaunch {
        let mut conf = String::from("# written by berth on every start; edit berth.toml instead\n");
        if let Some(pw) = &svc.password {
            conf.push_str(&format!("requirepass {}\n", quote(pw)));
        }
        let mut args = vec![
            Arg::File("redis.conf"),
            Arg::text("--port"),
            Arg::text(svc.port.to_string()),
            Arg::text("--bind"),
            Arg::text(crate::stack::LOOPBACK),
            Arg::text("--dir"),
            Arg::DataDir,
            Arg::text("--daemonize"),
            Arg::text("no"),
            Arg::text("--logfile"),
            Arg::text(""),
        ];
        let appendonly = svc.persist && svc.config.appendonly.unwrap_or(true);
        let save: &[&str] = if svc.persist {
            &["3600 1 300 100 60 10000"]
        } else {
            &[""]
        };
        args.extend([Arg::text("--save"), Arg::text(save[0])]);
        args.extend([
            Arg::text("--appendonly"),
            Arg::text(if appendonly { "yes" } else { "no" }),
        ]);
        if let Some(m) = &svc.config.maxmemory {
            args.extend([Arg::text("--maxmemory"), Arg::text(m)]);
        }
        for (k, v) in &svc.config.settings {
            args.extend([Arg::text(format!("--{k}")), Arg::text(v)]);
        }
        NativeLaunch {
            binary: BinarySpec {
                program: "redis-server".into(),
                companions: &[],
                version_args: &["--version"],
                parse_version: first_version,
                search_dirs: &[],
                locator: None,
                version_req: svc.config.version.clone(),
                install_hint: "install Redis: `apt-get install redis-server` (Debian, Ubuntu), `dnf install redis` (Fedora), `brew install redis` (macOS)".into(),
            },
            init: Vec::new(),
            server: ServerSpec { program: "redis-server".into(), args, env: Vec::new(), cwd: None, files: vec![("redis.conf", conf)], stop_signal: StopSignal::Terminate },
        }
    }

    fn container(&self, svc: &ServiceSpec) -> ContainerLaunch {
        let mut args = vec!["redis-server".to_string()];
        let mut health = "redis-cli".to_string();
        if let Some(pw) = &svc.password {
            args.extend(["--requirepass".to_string(), pw.clone()]);
            health.push_str(" --no-auth-warning -a \"$REDIS_PASSWORD\"");
        }
        let appendonly = svc.persist && svc.config.appendonly.unwrap_or(true);
        args.extend([
            "--save".to_string(),
            if svc.persist {
                "3600 1 300 100 60 10000"
            } else {
                ""
            }
            .to_string(),
            "--appendonly".to_string(),
            if appendonly { "yes" } else { "no" }.to_string(),
        ]);
        if let Some(m) = &svc.config.maxmemory {
            args.extend(["--maxmemory".to_string(), m.clone()]);
        }
        for (k, v) in &svc.config.settings {
            args.extend([format!("--{k}"), v.clone()]);
        }
        health.push_str(" ping");
        ContainerLaunch {
            default_image: format!(
                "redis:{}",
                launch::image_tag(svc.config.version_text.as_deref(), "7")
            ),
            env: svc
                .password
                .iter()
                .map(|p| ("REDIS_PASSWORD".to_string(), p.clone()))
                .collect(),
            args,
            port: 6379,
            extra_ports: Vec::new(),
            data_path: Some("/data"),
            volumes: Vec::new(),
            stop_signal: StopSignal::Terminate,
            health: Some(vec!["CMD-SHELL".into(), health]),
        }
    }
}

/// A double-quoted Redis config string.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
