//! PostgreSQL.
//!
//! Natively: `initdb` with scram-sha-256 for every connection and the
//! password from a 0600 file (never trust), then `postgres` listening on
//! 127.0.0.1 only, Unix sockets off (probes and apps use TCP, and socket
//! paths have a length limit the state directory could exceed).

use std::time::Duration;

use super::launch::{self, first_version};
use super::{
    url_escape, Arg, BinarySpec, ConnectionValue, ContainerLaunch, Endpoint, InitStep,
    NativeLaunch, ServerSpec, ServiceKind, StopSignal, MASK,
};
use crate::config::ServiceConfig;
use crate::error::{Error, Result};
use crate::probe::postgres::{self as pg, Login};
use crate::stack::ServiceSpec;

pub struct Postgres;

/// The superuser when the stack file names none.
const DEFAULT_USER: &str = "postgres";
/// The database probes and provisioning connect to; initdb always creates it.
const MAINTENANCE_DB: &str = "postgres";

fn user(svc: &ServiceSpec) -> &str {
    svc.config.user.as_deref().unwrap_or(DEFAULT_USER)
}

/// The application database: configured, or named after the service.
fn database(svc: &ServiceSpec) -> String {
    svc.config
        .database
        .clone()
        .unwrap_or_else(|| svc.name.replace('-', "_"))
}

impl ServiceKind for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn keys(&self) -> &'static [&'static str] {
        &[
            "version",
            "user",
            "password",
            "database",
            "databases",
            "extensions",
            "roles",
            "persist",
            "settings",
            "migrations",
            "seeds",
        ]
    }

    fn connection_keys(&self) -> &'static [&'static str] {
        &["host", "port", "user", "password", "database", "url"]
    }

    fn persists_by_default(&self) -> bool {
        true
    }

    fn uses_password(&self) -> bool {
        true
    }

    fn validate(&self, svc: &ServiceConfig) -> Result<(), (&'static str, String)> {
        let ident_ok = |s: &str| !s.is_empty() && s.len() <= 63 && !s.contains('\0');
        for (key, value) in [("user", &svc.user), ("database", &svc.database)] {
            if let Some(v) = value {
                if !ident_ok(v) {
                    return Err((
                        key,
                        format!("`{v}` is not a valid PostgreSQL name (1 to 63 characters)"),
                    ));
                }
            }
        }
        for db in &svc.databases {
            if !ident_ok(db) {
                return Err((
                    "databases",
                    format!("`{db}` is not a valid PostgreSQL name (1 to 63 characters)"),
                ));
            }
        }
        Ok(())
    }

    fn connection(&self, svc: &ServiceSpec, endpoint: &Endpoint) -> Vec<ConnectionValue> {
        let user = user(svc);
        let password = svc.password.clone().unwrap_or_default();
        let db = database(svc);
        let url = |pw: &str| {
            format!(
                "postgres://{}:{}@{}:{}/{}",
                url_escape(user),
                pw,
                endpoint.host,
                endpoint.port,
                url_escape(&db)
            )
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
            plain("user", user.to_string()),
            ConnectionValue {
                key: "password",
                value: password.clone(),
                masked: MASK.into(),
                secret: true,
            },
            plain("database", db.clone()),
            ConnectionValue {
                key: "url",
                value: url(&url_escape(&password)),
                masked: url(MASK),
                secret: true,
            },
        ]
    }

    fn probe(&self, svc: &ServiceSpec, endpoint: &Endpoint) -> Result<(), String> {
        pg::probe(endpoint, &login(svc, MAINTENANCE_DB))
    }

    fn sql_login(&self, svc: &ServiceSpec) -> Option<(String, String)> {
        Some((user(svc).to_string(), database(svc)))
    }

    fn provision(&self, svc: &ServiceSpec, endpoint: &Endpoint) -> Result<()> {
        let fail = |message: String, hint: Option<String>| Error::Provision {
            service: svc.name.clone(),
            message,
            hint,
        };
        let sql_err =
            |what: &str, e: postgres::Error| fail(format!("{what}: {}", pg::describe(&e)), None);
        let mut admin = pg::connect(
            endpoint,
            &login(svc, MAINTENANCE_DB),
            Duration::from_secs(5),
        )
        .map_err(|e| sql_err("could not connect", e))?;

        for role in &svc.config.roles {
            let exists = !admin
                .query("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&role.name])
                .map_err(|e| sql_err("could not list roles", e))?
                .is_empty();
            let mut options = vec![
                if role.login { "LOGIN" } else { "NOLOGIN" }.to_string(),
                if role.superuser {
                    "SUPERUSER"
                } else {
                    "NOSUPERUSER"
                }
                .to_string(),
            ];
            if let Some(pw) = &role.password {
                options.push(format!("PASSWORD {}", quote_literal(pw)));
            }
            let verb = if exists { "ALTER" } else { "CREATE" };
            let sql = format!(
                "{verb} ROLE {} WITH {}",
                quote_ident(&role.name),
                options.join(" ")
            );
            admin.batch_execute(&sql).map_err(|e| {
                sql_err(
                    &format!("could not {} role `{}`", verb.to_lowercase(), role.name),
                    e,
                )
            })?;
        }

        let main = database(svc);
        let mut wanted = vec![main.clone()];
        wanted.extend(svc.config.databases.iter().cloned());
        for db in &wanted {
            let exists = !admin
                .query("SELECT 1 FROM pg_database WHERE datname = $1", &[db])
                .map_err(|e| sql_err("could not list databases", e))?
                .is_empty();
            if !exists {
                let sql = format!(
                    "CREATE DATABASE {} OWNER {}",
                    quote_ident(db),
                    quote_ident(user(svc))
                );
                match admin.batch_execute(&sql) {
                    Ok(()) => {}
                    // Another berth created it in between: that is the goal.
                    Err(e) if e.code() == Some(&postgres::error::SqlState::DUPLICATE_DATABASE) => {}
                    Err(e) => return Err(sql_err(&format!("could not create database `{db}`"), e)),
                }
            }
        }
        drop(admin);

        if !svc.config.extensions.is_empty() {
            let mut client = pg::connect(endpoint, &login(svc, &main), Duration::from_secs(5))
                .map_err(|e| sql_err(&format!("could not connect to database `{main}`"), e))?;
            for ext in &svc.config.extensions {
                let sql = format!("CREATE EXTENSION IF NOT EXISTS {}", quote_ident(ext));
                if let Err(e) = client.batch_execute(&sql) {
                    let hint = (e.code() == Some(&postgres::error::SqlState::UNDEFINED_FILE)
                        || pg::describe(&e).contains("is not available"))
                    .then(|| {
                        format!("install the extension's package for this PostgreSQL (on Debian: `apt-get install postgresql-<major>-{ext}` or `postgresql-contrib`)")
                    });
                    return Err(fail(
                        format!("could not create extension `{ext}`: {}", pg::describe(&e)),
                        hint,
                    ));
                }
            }
        }
        Ok(())
    }

    fn native(&self, svc: &ServiceSpec) -> NativeLaunch {
        let mut init_args = vec![
            Arg::text("-D"),
            Arg::DataDir,
            Arg::text("-U"),
            Arg::text(user(svc)),
            Arg::text("--pwfile"),
            Arg::File("pwfile"),
            Arg::text("--auth=scram-sha-256"),
            Arg::text("--encoding=UTF8"),
            Arg::text("--no-locale"),
        ];
        // The runtime makes the initialized directory durable (one syncfs)
        // before renaming it into place, which is cheaper than initdb's
        // file-by-file fsync.
        init_args.push(Arg::text("--no-sync"));

        let mut args = vec![
            Arg::text("-D"),
            Arg::DataDir,
            Arg::text("-c"),
            Arg::text(format!("listen_addresses={}", crate::stack::LOOPBACK)),
            Arg::text("-c"),
            Arg::text(format!("port={}", svc.port)),
            Arg::text("-c"),
            Arg::text("unix_socket_directories="),
        ];
        for (k, v) in &svc.config.settings {
            args.push(Arg::text("-c"));
            args.push(Arg::text(format!("{k}={v}")));
        }

        NativeLaunch {
            binary: BinarySpec {
                program: "postgres".into(),
                companions: &["initdb"],
                version_args: &["--version"],
                parse_version: first_version,
                search_dirs: &["/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/opt/homebrew/opt/postgresql@*/bin", "/usr/local/opt/postgresql@*/bin"],
                locator: Some(("pg_config", &["--bindir"])),
                version_req: svc.config.version.clone(),
                install_hint: "install PostgreSQL's server: `apt-get install postgresql` (Debian, Ubuntu), `dnf install postgresql-server` (Fedora), `brew install postgresql` (macOS)".into(),
            },
            init: vec![
                InitStep::WriteFile { name: "pwfile", contents: svc.password.clone().unwrap_or_default(), secret: true },
                InitStep::Run { program: "initdb", args: init_args },
            ],
            server: ServerSpec { program: "postgres".into(), args, env: Vec::new(), cwd: None, files: Vec::new(), stop_signal: StopSignal::Interrupt },
        }
    }

    fn container(&self, svc: &ServiceSpec) -> ContainerLaunch {
        let user = user(svc).to_string();
        let mut args = vec!["postgres".to_string()];
        for (k, v) in &svc.config.settings {
            args.extend(["-c".to_string(), format!("{k}={v}")]);
        }
        ContainerLaunch {
            default_image: format!(
                "postgres:{}",
                launch::image_tag(svc.config.version_text.as_deref(), "17")
            ),
            env: vec![
                ("POSTGRES_USER".into(), user.clone()),
                (
                    "POSTGRES_PASSWORD".into(),
                    svc.password.clone().unwrap_or_default(),
                ),
                ("POSTGRES_DB".into(), database(svc)),
            ],
            args,
            port: 5432,
            extra_ports: Vec::new(),
            data_path: Some("/var/lib/postgresql/data"),
            volumes: Vec::new(),
            stop_signal: StopSignal::Interrupt,
            health: Some(vec![
                "CMD-SHELL".into(),
                format!("pg_isready -h 127.0.0.1 -U {user}"),
            ]),
        }
    }
}

fn login<'a>(svc: &'a ServiceSpec, database: &'a str) -> Login<'a> {
    Login {
        user: user(svc),
        password: svc.password.as_deref(),
        database,
    }
}

pub(crate) fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub(crate) fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
