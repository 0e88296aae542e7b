//! PgBouncer in front of a postgres service of the stack (its `upstream`):
//! apps connect to the pooler's `url` instead of the database's.
//!
//! It authenticates clients with SCRAM against an auth file holding the
//! upstream user's SCRAM verifier — the one berth sets on the server (see
//! `client::scram`) — and passes their proof on to the server, so no
//! password is written anywhere in plain text. Readiness is a real query
//! through the pooler. Natively: Debian's `pgbouncer`; in a container: an
//! image with `pgbouncer` on its `PATH`, given its configuration as files.

use std::sync::Arc;

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use crate::client::endpoint::url_escape;
use crate::client::endpoint::Endpoint;
use crate::client::postgres::{self as pg, Login};
use crate::kind::connection::{ConnectionValue, MASK};
use crate::kind::contract::{
    KindSettings, Link, ParseScope, ServiceContext, ServiceKind, SettingsError,
};
use crate::kind::reading;
use crate::plan::container::{ContainerFile, ContainerLaunch};
use crate::plan::native::{first_version, Arg, BinarySpec, NativeLaunch, ServerSpec};
use crate::plan::service_plan::LOOPBACK;
use crate::plan::stop::StopSignal;

pub struct PgBouncerKind;

const CONTAINER_PORT: u16 = 6432;
const CONFIG_DIR: &str = "/etc/pgbouncer";

/// The stack file's pgbouncer keys.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    /// The postgres service it pools; default: the stack's only one.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    upstream: Option<Spanned<String>>,
    /// `session`, `transaction` (the default) or `statement`.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pool_mode: Option<Spanned<String>>,
    /// Server connections per database and user (default 20).
    #[cfg_attr(feature = "schema", schemars(with = "Option<u32>"))]
    pool_size: Option<Spanned<u32>>,
    /// Client connections it accepts (default 100).
    #[cfg_attr(feature = "schema", schemars(with = "Option<u32>"))]
    max_client_conn: Option<Spanned<u32>>,
}

const POOL_MODES: &[&str] = &["session", "transaction", "statement"];

/// One pooler's settings.
#[derive(Debug)]
pub struct PgBouncer {
    upstream: Option<(String, crate::source::Span)>,
    pool_mode: String,
    pool_size: u32,
    max_client_conn: u32,
}

impl ServiceKind for PgBouncerKind {
    fn name(&self) -> &'static str {
        "pgbouncer"
    }

    fn keys(&self) -> &'static [&'static str] {
        reading::fields::<Keys>()
    }

    #[cfg(feature = "schema")]
    fn keys_schema(&self, generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <Keys as schemars::JsonSchema>::json_schema(generator)
    }

    fn parse(
        &self,
        table: Spanned<DeValue<'_>>,
        _: &ParseScope,
    ) -> Result<Arc<dyn KindSettings>, SettingsError> {
        let keys: Keys = reading::read(table)?;
        let pool_mode = match &keys.pool_mode {
            Some(m) if !POOL_MODES.contains(&m.get_ref().as_str()) => {
                let hint = crate::suggest::did_you_mean(m.get_ref(), POOL_MODES.iter().copied())
                    .unwrap_or_else(|| {
                        format!("the modes are: {}", crate::suggest::list(POOL_MODES))
                    });
                return Err(SettingsError::at(
                    m.span(),
                    format!("`{}` is not a pool mode", m.get_ref()),
                )
                .hint(hint));
            }
            Some(m) => m.get_ref().clone(),
            None => "transaction".into(),
        };
        let positive = |value: &Option<Spanned<u32>>, key: &str, default: u32| match value {
            Some(v) if *v.get_ref() == 0 => Err(SettingsError::at(
                v.span(),
                format!("`{key}` must be at least 1"),
            )),
            Some(v) => Ok(*v.get_ref()),
            None => Ok(default),
        };
        Ok(Arc::new(PgBouncer {
            upstream: keys.upstream.map(|u| (u.get_ref().clone(), u.span())),
            pool_mode,
            pool_size: positive(&keys.pool_size, "pool_size", 20)?,
            max_client_conn: positive(&keys.max_client_conn, "max_client_conn", 100)?,
        }))
    }
}

impl PgBouncer {
    /// The upstream's value `key`, as this service reaches it.
    fn upstream(&self, ctx: &ServiceContext, key: &str) -> String {
        ctx.linked("upstream", key).unwrap_or_default()
    }

    /// `pgbouncer.ini`, with the auth file at `auth_file`.
    fn config(&self, ctx: &ServiceContext, listen: &str, port: u16, auth_file: &str) -> String {
        format!(
            "; written by berth on every start; edit berth.toml instead\n\
             [databases]\n\
             * = host={} port={}\n\
             [pgbouncer]\n\
             listen_addr = {listen}\n\
             listen_port = {port}\n\
             unix_socket_dir =\n\
             auth_type = scram-sha-256\n\
             auth_file = {auth_file}\n\
             pool_mode = {}\n\
             default_pool_size = {}\n\
             max_client_conn = {}\n\
             ignore_startup_parameters = extra_float_digits,options\n",
            self.upstream(ctx, "host"),
            self.upstream(ctx, "port"),
            self.pool_mode,
            self.pool_size,
            self.max_client_conn,
        )
    }

    /// The auth file: the upstream user and the SCRAM verifier berth set.
    fn auth_file(&self, ctx: &ServiceContext) -> String {
        format!(
            "\"{}\" \"{}\"\n",
            self.upstream(ctx, "user").replace('"', "\"\""),
            self.upstream(ctx, "scram_verifier")
        )
    }
}

impl KindSettings for PgBouncer {
    fn kind(&self) -> &'static str {
        "pgbouncer"
    }

    fn connection_keys(&self) -> &'static [&'static str] {
        &["host", "port", "user", "password", "database", "url"]
    }

    fn persists_by_default(&self) -> bool {
        // Nothing of its own to keep.
        false
    }

    fn links(&self) -> Vec<Link> {
        vec![Link {
            key: "upstream",
            named: self.upstream.clone(),
            kind: "postgres",
        }]
    }

    fn provisioning(&self) -> String {
        format!(
            "pool_mode {} pool_size {} max_client_conn {}\n",
            self.pool_mode, self.pool_size, self.max_client_conn
        )
    }

    fn default_image(&self) -> Option<String> {
        Some("edoburu/pgbouncer:latest".into())
    }

    fn container_port(&self, _: &ServiceContext) -> u16 {
        CONTAINER_PORT
    }

    /// The upstream's login, at the pooler.
    fn connection(&self, ctx: &ServiceContext, at: &Endpoint) -> Vec<ConnectionValue> {
        let user = self.upstream(ctx, "user");
        let password = self.upstream(ctx, "password");
        let database = self.upstream(ctx, "database");
        let url = |pw: &str| {
            format!(
                "postgresql://{}:{pw}@{at}/{}",
                url_escape(&user),
                url_escape(&database)
            )
        };
        vec![
            ConnectionValue::plain("host", at.host.clone()),
            ConnectionValue::plain("port", at.port.to_string()),
            ConnectionValue::plain("user", user.clone()),
            ConnectionValue::secret("password", password.clone(), MASK.into()),
            ConnectionValue::plain("database", database.clone()),
            ConnectionValue::secret("url", url(&url_escape(&password)), url(MASK)),
        ]
    }

    /// A real query through the pooler, which reaches the upstream.
    fn probe(&self, ctx: &ServiceContext, at: &Endpoint) -> Result<(), String> {
        let user = self.upstream(ctx, "user");
        let password = self.upstream(ctx, "password");
        let database = self.upstream(ctx, "database");
        let login = Login {
            user: &user,
            password: Some(&password),
            database: &database,
        };
        pg::probe(at, &login)
    }

    fn native(&self, ctx: &ServiceContext) -> NativeLaunch {
        NativeLaunch {
            binary: BinarySpec {
                program: "pgbouncer".into(),
                companions: &[],
                version_args: &["--version"],
                parse_version: first_version,
                // Debian installs it off a normal user's `PATH`.
                search_dirs: &["/usr/sbin", "/usr/local/sbin"],
                locator: None,
                version_req: None,
                install_hint: "install PgBouncer: `apt-get install pgbouncer` (Debian, Ubuntu), `dnf install pgbouncer` (Fedora), `brew install pgbouncer` (macOS)".into(),
                provides: None,
            },
            skeleton: None,
            init: Vec::new(),
            server: ServerSpec {
                program: "pgbouncer".into(),
                args: vec![Arg::File("pgbouncer.ini")],
                env: Vec::new(),
                cwd: None,
                // Both 0600 in the service's own directory; the auth file
                // is found beside the configuration (the server's working
                // directory).
                files: vec![
                    ("pgbouncer.ini", self.config(ctx, LOOPBACK, ctx.port, "userlist.txt")),
                    ("userlist.txt", self.auth_file(ctx)),
                ],
                // SIGINT would wait for every client to disconnect.
                stop_signal: StopSignal::Terminate,
            },
            alternative: None,
        }
    }

    fn container(&self, ctx: &ServiceContext) -> ContainerLaunch {
        let auth_file = format!("{CONFIG_DIR}/userlist.txt");
        ContainerLaunch {
            image: self.default_image().unwrap_or_default(),
            pinned: None,
            env: Vec::new(),
            args: vec!["pgbouncer".into(), format!("{CONFIG_DIR}/pgbouncer.ini")],
            port: CONTAINER_PORT,
            extra_ports: Vec::new(),
            data_path: None,
            volumes: Vec::new(),
            files: vec![
                ContainerFile {
                    path: format!("{CONFIG_DIR}/pgbouncer.ini"),
                    contents: self.config(ctx, "0.0.0.0", CONTAINER_PORT, &auth_file),
                    mode: 0o644,
                },
                // A verifier, not a password: readable by the image's user.
                ContainerFile {
                    path: auth_file,
                    contents: self.auth_file(ctx),
                    mode: 0o644,
                },
            ],
            stop_signal: StopSignal::Terminate,
            health: None,
            template: None,
        }
    }
}
