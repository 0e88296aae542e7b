//! PostgreSQL's settings: its keys, connection values, probe, and how it
//! runs.
//!
//! Natively: `initdb` with scram-sha-256 and the password from a 0600
//! file (never trust), then `postgres` listening on 127.0.0.1 with
//! scram-sha-256, and, where the stack has a place for one (a state
//! directory in memory: the testing library's), on a Unix socket in a
//! 0700 directory of the servers' user with peer authentication for the
//! one account that started it: a login the kernel vouches for, which
//! costs a test no password exchange. In a
//! container: the official image's contract (`POSTGRES_USER`,
//! `POSTGRES_PASSWORD`, `POSTGRES_DB`, settings as `-c` arguments).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::backup;
use super::extensions;
use super::init_scripts;
use super::provision::{self, Role, Wanted};
use crate::client::endpoint::url_escape;
use crate::client::endpoint::Endpoint;
use crate::client::postgres::{self as pg, quote_ident, Login};
use crate::client::scram;
use crate::error::Result;
use crate::kind::connection::{ConnectionValue, MASK};
use crate::kind::contract::{
    BackupFile, KindSettings, ParseScope, Restore, Secret, SecretForm, ServiceContext, ServiceKind,
    SettingsError, SqlAccess, Tools,
};
use crate::kind::reading::{self, SettingValue, VersionConstraint};
use crate::migrate::files::SqlDir;
use crate::plan::container::{image_tag, ContainerFile, ContainerLaunch, VolumeTemplate};
use crate::plan::native::{
    first_version, Arg, BinarySpec, InitStep, NativeLaunch, Provides, ServerSpec, Skeleton,
};
use crate::plan::service_plan::LOOPBACK;
use crate::plan::stop::StopSignal;

pub struct PostgresKind;

/// The superuser when the stack file names none.
const DEFAULT_USER: &str = "postgres";
/// The database probes and provisioning connect to; initdb always creates it.
const MAINTENANCE_DB: &str = "postgres";
/// What a container's server listens on.
const CONTAINER_PORT: u16 = 5432;

/// The stack file's postgres keys.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    /// A constraint on the server version (`"15"`, `">=14, <17"`).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    version: Option<Spanned<String>>,
    /// The superuser berth creates and logs in as.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    user: Option<Spanned<String>>,
    /// Default: generated, kept in the state directory (mode 0600).
    password: Option<String>,
    /// The application database; default: the service's name.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    database: Option<Spanned<String>>,
    /// More databases to create.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    databases: Vec<Spanned<String>>,
    #[serde(default)]
    extensions: Vec<String>,
    #[serde(default)]
    roles: Vec<Role>,
    /// Server settings, passed as `-c key=value`.
    #[serde(default)]
    settings: BTreeMap<String, SettingValue>,
    /// SQL migrations; default `migrations/<service>`.
    migrations: Option<String>,
    /// SQL seed data; default `seeds/<service>`.
    seeds: Option<String>,
    /// One-time setup scripts (`*.sql`, `*.sql.gz`, `*.sh`), run in name
    /// order when the data is first made, as the official image runs
    /// `/docker-entrypoint-initdb.d`.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    init: Option<Spanned<String>>,
}

/// One postgres service's settings.
#[derive(Debug)]
pub struct Postgres {
    version: Option<VersionConstraint>,
    user: String,
    password: Option<String>,
    database: String,
    databases: Vec<String>,
    extensions: Vec<String>,
    roles: Vec<Role>,
    settings: Vec<(String, String)>,
    migrations: SqlDir,
    seeds: SqlDir,
    /// The init scripts' directory.
    init: Option<PathBuf>,
}

impl ServiceKind for PostgresKind {
    fn name(&self) -> &'static str {
        "postgres"
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
        scope: &ParseScope,
    ) -> Result<Arc<dyn KindSettings>, SettingsError> {
        let keys: Keys = reading::read(table)?;
        let name_ok = |s: &Spanned<String>| {
            let v = s.get_ref();
            if !v.is_empty() && v.len() <= 63 && !v.contains('\0') {
                Ok(v.clone())
            } else {
                Err(SettingsError::at(
                    s.span(),
                    format!("`{v}` is not a valid PostgreSQL name (1 to 63 characters)"),
                ))
            }
        };
        let sql_dir = |value: &Option<String>, default: &str| match value {
            Some(v) => SqlDir {
                path: scope.root.join(v),
                configured: true,
            },
            None => SqlDir {
                path: scope.root.join(default).join(scope.service),
                configured: false,
            },
        };
        Ok(Arc::new(Postgres {
            version: keys
                .version
                .as_ref()
                .map(VersionConstraint::read)
                .transpose()?,
            user: match &keys.user {
                Some(u) => name_ok(u)?,
                None => DEFAULT_USER.to_string(),
            },
            password: keys.password,
            database: match &keys.database {
                Some(d) => name_ok(d)?,
                None => scope.service.replace('-', "_"),
            },
            databases: keys
                .databases
                .iter()
                .map(name_ok)
                .collect::<Result<_, _>>()?,
            extensions: keys.extensions,
            roles: keys.roles,
            settings: keys.settings.into_iter().map(|(k, v)| (k, v.0)).collect(),
            migrations: sql_dir(&keys.migrations, "migrations"),
            seeds: sql_dir(&keys.seeds, "seeds"),
            init: match &keys.init {
                None => None,
                Some(dir) => {
                    let path = scope.root.join(dir.get_ref());
                    if !path.is_dir() {
                        return Err(SettingsError::at(
                            dir.span(),
                            format!("`{}` is not a directory", dir.get_ref()),
                        )
                        .hint("name the directory holding the init scripts, from the stack file's directory"));
                    }
                    Some(path)
                }
            },
        }))
    }
}

impl Postgres {
    /// Who logs in how, written at every start (`hba_file`, `ident_file`)
    /// rather than kept in the data directory: TCP with the stack's SCRAM
    /// password, as `initdb` set it up; the Unix socket, where there is
    /// one, with peer authentication mapped from the one account that
    /// starts the server (berth's own, root included) to the stack's
    /// superuser. The servers' own user is not mapped: other processes
    /// running as `nobody` reach the socket's directory, and must not log in.
    fn access_files(&self) -> Vec<(&'static str, String)> {
        let hba = "# Written by berth at every start; edits are lost.\n\
                   local all all peer map=berth\n\
                   host all all 127.0.0.1/32 scram-sha-256\n\
                   host all all ::1/128 scram-sha-256\n\
                   local replication all peer map=berth\n\
                   host replication all 127.0.0.1/32 scram-sha-256\n\
                   host replication all ::1/128 scram-sha-256\n";
        let mut ident = "# Written by berth at every start; edits are lost.\n".to_string();
        if let Some(me) = crate::os_user::current() {
            let quoted = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
            ident.push_str(&format!(
                "berth {} {}\n",
                quoted(&me.name),
                quoted(&self.user)
            ));
        }
        vec![("pg_hba.conf", hba.to_string()), ("pg_ident.conf", ident)]
    }

    /// What provisioning sets up.
    fn wanted(&self, ctx: &ServiceContext) -> Wanted<'_> {
        Wanted {
            user: &self.user,
            verifier: self.verifier(ctx),
            database: &self.database,
            databases: &self.databases,
            extensions: &self.extensions,
            roles: &self.roles,
        }
    }

    /// The SCRAM verifier berth sets for the user's password.
    fn verifier(&self, ctx: &ServiceContext) -> Option<String> {
        scram::verifier(ctx.password?, ctx.secret("scram_salt")?)
    }

    fn login<'a>(&'a self, ctx: &'a ServiceContext, database: &'a str) -> Login<'a> {
        Login {
            user: &self.user,
            password: ctx.password,
            database,
        }
    }
}

impl KindSettings for Postgres {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn connection_keys(&self) -> &'static [&'static str] {
        &["host", "port", "user", "password", "database", "url"]
    }

    fn persists_by_default(&self) -> bool {
        true
    }

    fn secrets(&self) -> Vec<Secret> {
        vec![
            Secret {
                name: "password",
                configured: self.password.clone(),
                form: SecretForm::Password,
            },
            // The salt of the password's SCRAM verifier, which berth sets
            // itself so a PgBouncer in front can hold the same verifier.
            Secret {
                name: "scram_salt",
                configured: None,
                form: SecretForm::Salt,
            },
        ]
    }

    fn default_image(&self) -> Option<String> {
        let version = self.version.as_ref().map(|v| v.text.as_str());
        Some(format!("postgres:{}", image_tag(version, "17")))
    }

    fn container_port(&self, _: &ServiceContext) -> u16 {
        CONTAINER_PORT
    }

    fn connection(&self, ctx: &ServiceContext, at: &Endpoint) -> Vec<ConnectionValue> {
        let password = ctx.password.unwrap_or_default();
        let url = |pw: &str| {
            format!(
                "postgresql://{}:{pw}@{at}/{}",
                url_escape(&self.user),
                url_escape(&self.database)
            )
        };
        vec![
            ConnectionValue::plain("host", at.host.clone()),
            ConnectionValue::plain("port", at.port.to_string()),
            ConnectionValue::plain("user", self.user.clone()),
            ConnectionValue::secret("password", password.to_string(), MASK.into()),
            ConnectionValue::plain("database", self.database.clone()),
            ConnectionValue::secret("url", url(&url_escape(password)), url(MASK)),
            // Not a key of `connection_keys`: for poolers in front of this
            // server (see `client::scram`), never in an env file.
            ConnectionValue::secret(
                "scram_verifier",
                self.verifier(ctx).unwrap_or_default(),
                MASK.into(),
            ),
        ]
    }

    fn probe(&self, ctx: &ServiceContext, at: &Endpoint) -> Result<(), String> {
        pg::probe(at, &self.login(ctx, MAINTENANCE_DB))
    }

    fn provisioning(&self) -> String {
        let mut text = format!("user {}\ndatabase {}\n", self.user, self.database);
        for d in &self.databases {
            text.push_str(&format!("database {d}\n"));
        }
        for e in &self.extensions {
            text.push_str(&format!("extension {e}\n"));
        }
        for r in &self.roles {
            text.push_str(&format!(
                "role {} login={} superuser={} password={}\n",
                r.name,
                r.login,
                r.superuser,
                r.password.as_deref().unwrap_or("")
            ));
        }
        text
    }

    fn provision(&self, ctx: &ServiceContext, at: &Endpoint) -> Result<()> {
        provision::run(&self.wanted(ctx), ctx, at)
    }

    fn init_scripts(&self) -> Result<Vec<PathBuf>> {
        match &self.init {
            Some(dir) => init_scripts::list(dir),
            None => Ok(Vec::new()),
        }
    }

    fn run_init_script(
        &self,
        ctx: &ServiceContext,
        tools: &dyn Tools,
        script: &Path,
    ) -> Result<()> {
        let session = init_scripts::Session {
            service: ctx.name,
            user: &self.user,
            password: ctx.password,
            database: &self.database,
            root: ctx.root,
        };
        init_scripts::run(&session, tools, script)
    }

    fn backs_up(&self) -> bool {
        true
    }

    fn backup(
        &self,
        ctx: &ServiceContext,
        _at: &Endpoint,
        tools: &dyn Tools,
        dest: &Path,
    ) -> Result<Vec<BackupFile>> {
        let databases: Vec<String> = std::iter::once(self.database.clone())
            .chain(
                self.databases
                    .iter()
                    .filter(|d| **d != self.database)
                    .cloned(),
            )
            .collect();
        backup::dump(&self.user, &databases, ctx, tools, dest)
    }

    fn restore(
        &self,
        ctx: &ServiceContext,
        at: &Endpoint,
        tools: &dyn Tools,
        files: &[(BackupFile, PathBuf)],
        _scratch: &Path,
    ) -> Result<Restore> {
        backup::restore(&self.user, ctx, at, tools, files)?;
        Ok(Restore::Done)
    }

    fn init_files(&self, ctx: &ServiceContext) -> Vec<ContainerFile> {
        vec![ContainerFile {
            path: "/docker-entrypoint-initdb.d/berth.sql".into(),
            contents: provision::init_sql(&self.wanted(ctx)),
            mode: 0o644,
        }]
    }

    fn sql(&self, _: &ServiceContext) -> Option<SqlAccess> {
        Some(SqlAccess {
            user: self.user.clone(),
            database: self.database.clone(),
            migrations: self.migrations.clone(),
            seeds: self.seeds.clone(),
        })
    }

    fn native(&self, ctx: &ServiceContext) -> NativeLaunch {
        // The cluster is made once per machine (the skeleton, kept in the
        // native runtime's cache) with a password nobody keeps, then each
        // copy gets the stack's own verifier before its server first
        // listens: no cached secret ever logs in to a stack.
        let throwaway = crate::secret::generate(SecretForm::Password).unwrap_or_else(|_| {
            crate::digest::sha256_hex(
                format!("{:?} {}", std::time::SystemTime::now(), std::process::id()).as_bytes(),
            )
        });
        let initdb = [
            "-U",
            &self.user,
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
        ];
        let mut init_args = vec![Arg::text("-D"), Arg::DataDir];
        init_args.extend(initdb.iter().map(|a| Arg::text(*a)));
        init_args.extend([
            Arg::text("--pwfile"),
            Arg::File("pwfile"),
            // The runtime makes the initialized directory durable (one
            // syncfs) before renaming it into place, which is cheaper than
            // initdb's file-by-file fsync.
            Arg::text("--no-sync"),
        ]);
        let secret = self
            .verifier(ctx)
            .unwrap_or_else(|| ctx.password.unwrap_or_default().to_string());
        let personalize = InitStep::Run {
            program: "postgres",
            args: vec![
                Arg::text("--single"),
                Arg::text("-D"),
                Arg::DataDir,
                // An error ends the session with a failure (it would go on).
                Arg::text("-c"),
                Arg::text("exit_on_error=on"),
                Arg::text(MAINTENANCE_DB),
            ],
            input: Some(format!(
                "ALTER ROLE {} PASSWORD {}\n",
                pg::quote_ident(&self.user),
                pg::quote_literal(&secret)
            )),
        };
        let mut args = vec![
            Arg::text("-D"),
            Arg::DataDir,
            Arg::text("-c"),
            Arg::text(format!("listen_addresses={LOOPBACK}")),
            Arg::text("-c"),
            Arg::text(format!("port={}", ctx.port)),
            // A socket where the stack has a place for one (in memory),
            // else none; who may log in over it is `pg_hba.conf`'s.
            Arg::text("-k"),
            Arg::SocketDir,
            Arg::text("-c"),
            Arg::FileSetting {
                key: "hba_file",
                file: "pg_hba.conf",
            },
            Arg::text("-c"),
            Arg::FileSetting {
                key: "ident_file",
                file: "pg_ident.conf",
            },
        ];
        for (k, v) in &self.settings {
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
                version_req: self.version.as_ref().map(|v| v.req.clone()),
                install_hint: "install PostgreSQL's server: `apt-get install postgresql` (Debian, Ubuntu), `dnf install postgresql-server` (Fedora), `brew install postgresql` (macOS)".into(),
                provides: Some(Provides {
                    what: "extension",
                    wanted: self.extensions.clone(),
                    list: extensions::installed,
                    source: extensions::package,
                }),
            },
            skeleton: Some(Skeleton {
                describes: format!("initdb {}", initdb.join(" ")),
                steps: vec![
                    InitStep::WriteFile {
                        name: "pwfile",
                        contents: throwaway,
                        secret: true,
                    },
                    InitStep::Run {
                        program: "initdb",
                        args: init_args,
                        input: None,
                    },
                ],
            }),
            init: vec![personalize],
            server: ServerSpec { program: "postgres".into(), args, env: Vec::new(), cwd: None, files: self.access_files(), stop_signal: StopSignal::Interrupt },
            alternative: None,
        }
    }

    fn container(&self, ctx: &ServiceContext) -> ContainerLaunch {
        let mut args = vec!["postgres".to_string()];
        for (k, v) in &self.settings {
            args.extend(["-c".to_string(), format!("{k}={v}")]);
        }
        ContainerLaunch {
            image: self.default_image().unwrap_or_default(),
            pinned: None,
            env: vec![
                ("POSTGRES_USER".into(), self.user.clone()),
                (
                    "POSTGRES_PASSWORD".into(),
                    ctx.password.unwrap_or_default().to_string(),
                ),
                ("POSTGRES_DB".into(), self.database.clone()),
            ],
            args,
            port: CONTAINER_PORT,
            extra_ports: Vec::new(),
            data_path: Some("/var/lib/postgresql/data"),
            volumes: Vec::new(),
            files: Vec::new(),
            stop_signal: StopSignal::Interrupt,
            health: Some(vec![
                "CMD-SHELL".into(),
                format!("pg_isready -h 127.0.0.1 -U {}", self.user),
            ]),
            template: self.volume_template(ctx),
        }
    }
}

/// The password a volume template is initialized with, and loses before
/// it is done (its superuser's password is then NULL: no password logs in).
const TEMPLATE_PASSWORD: &str = "berth-template";

impl Postgres {
    /// The official image's contract for a template: initialized with a
    /// throwaway password, which is set to NULL over the container's Unix
    /// socket (trusted inside the container, as `initdb` leaves it); a new
    /// volume's server gets the stack's verifier the same way, before the
    /// host can log in over TCP. None without a verifier to set.
    fn volume_template(&self, ctx: &ServiceContext) -> Option<VolumeTemplate> {
        let verifier = self.verifier(ctx)?;
        let user = quote_ident(&self.user);
        let psql = |sql: String| {
            vec![
                "psql".to_string(),
                "-h".into(),
                "/var/run/postgresql".into(),
                "-U".into(),
                self.user.clone(),
                "-d".into(),
                "postgres".into(),
                "-v".into(),
                "ON_ERROR_STOP=1".into(),
                "-qc".into(),
                sql,
            ]
        };
        Some(VolumeTemplate {
            env: vec![
                ("POSTGRES_USER".into(), self.user.clone()),
                ("POSTGRES_PASSWORD".into(), TEMPLATE_PASSWORD.into()),
                ("POSTGRES_DB".into(), self.database.clone()),
            ],
            secret_var: "POSTGRES_PASSWORD",
            usable: vec![
                "sh".into(),
                "-c".into(),
                "[ -z \"$(ls -A /docker-entrypoint-initdb.d 2>/dev/null)\" ]".into(),
            ],
            // The init-time server listens on no TCP port.
            ready: vec![
                "pg_isready".into(),
                "-q".into(),
                "-h".into(),
                "127.0.0.1".into(),
                "-U".into(),
                self.user.clone(),
            ],
            forget_secret: {
                let mut forget = psql(format!("ALTER ROLE {user} PASSWORD NULL"));
                forget.extend(["-qc".into(), "CHECKPOINT".into()]);
                forget
            },
            set_secret: psql(format!("ALTER ROLE {user} PASSWORD '{verifier}'")),
        })
    }
}
