//! Redis.
//!
//! Natively: `redis-server` with its password in a 0600 config file (not on
//! the command line, where `ps` would show it), bound to 127.0.0.1.
//! Persistence follows `persist`: off means no snapshots and no append-only
//! file, so a restart starts empty; on means snapshots plus the append-only
//! file unless `appendonly = false`. A SIGTERM makes Redis write its final
//! snapshot, which is how `down` keeps a persistent Redis's data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::connection::{ConnectionValue, MASK};
use super::contract::{
    BackupFile, KeyValueAccess, KindSettings, ParseScope, Restore, Secret, SecretForm,
    ServiceContext, ServiceKind, SettingsError, SharedSettings, Tools,
};
use super::reading::{self, SettingValue, VersionConstraint};
use crate::client::endpoint::url_escape;
use crate::client::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::plan::container::{image_tag, ContainerLaunch};
use crate::plan::native::{first_version, Arg, BinarySpec, NativeLaunch, ServerSpec};
use crate::plan::service_plan::LOOPBACK;
use crate::plan::stop::StopSignal;

pub struct RedisKind;

/// What a container's server listens on.
const CONTAINER_PORT: u16 = 6379;
/// Snapshot points when persisting (Redis's own defaults).
const SAVE_POINTS: &str = "3600 1 300 100 60 10000";

/// The stack file's redis keys.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    /// A constraint on the server version.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    version: Option<Spanned<String>>,
    /// Default: generated, kept in the state directory (mode 0600).
    password: Option<String>,
    /// The append-only file; default: on when persisting.
    #[cfg_attr(feature = "schema", schemars(with = "Option<bool>"))]
    appendonly: Option<Spanned<bool>>,
    /// A memory limit (`"128mb"`).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    maxmemory: Option<Spanned<String>>,
    /// What to evict at the limit (`"allkeys-lru"`); Redis's default is
    /// `noeviction`, which makes writes fail instead.
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    maxmemory_policy: Option<Spanned<String>>,
    /// Server settings, passed as `--key value`.
    #[serde(default)]
    settings: BTreeMap<String, SettingValue>,
}

/// One redis service's settings.
#[derive(Debug)]
pub struct Redis {
    version: Option<VersionConstraint>,
    password: Option<String>,
    appendonly: Option<Spanned<bool>>,
    maxmemory: Option<String>,
    maxmemory_policy: Option<String>,
    settings: Vec<(String, String)>,
}

/// The eviction policies Redis knows.
const POLICIES: &[&str] = &[
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
];

impl ServiceKind for RedisKind {
    fn name(&self) -> &'static str {
        "redis"
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
        if let Some(m) = &keys.maxmemory {
            check_memory_size(m)?;
        }
        if let Some(p) = &keys.maxmemory_policy {
            if !POLICIES.contains(&p.get_ref().as_str()) {
                let hint = crate::suggest::did_you_mean(p.get_ref(), POLICIES.iter().copied())
                    .unwrap_or_else(|| {
                        format!("the policies are: {}", crate::suggest::list(POLICIES))
                    });
                return Err(SettingsError::at(
                    p.span(),
                    format!("`{}` is not an eviction policy", p.get_ref()),
                )
                .hint(hint));
            }
        }
        Ok(Arc::new(Redis {
            version: keys
                .version
                .as_ref()
                .map(VersionConstraint::read)
                .transpose()?,
            password: keys.password,
            appendonly: keys.appendonly,
            maxmemory: keys.maxmemory.map(Spanned::into_inner),
            maxmemory_policy: keys.maxmemory_policy.map(Spanned::into_inner),
            settings: keys.settings.into_iter().map(|(k, v)| (k, v.0)).collect(),
        }))
    }
}

fn check_memory_size(m: &Spanned<String>) -> Result<(), SettingsError> {
    let text = m.get_ref();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = text[digits.len()..].to_ascii_lowercase();
    let units = ["", "b", "k", "kb", "m", "mb", "g", "gb"];
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit())
        || !units.contains(&unit.as_str())
    {
        return Err(SettingsError::at(
            m.span(),
            format!("`{text}` is not a memory size; write it like `\"128mb\"` or `\"1gb\"`"),
        ));
    }
    Ok(())
}

impl Redis {
    /// Whether the append-only file is on.
    fn appendonly(&self, persist: bool) -> bool {
        persist && self.appendonly.as_ref().is_none_or(|a| *a.get_ref())
    }

    /// Persistence and limits, as `redis-server` arguments.
    fn server_args(&self, persist: bool) -> Vec<String> {
        let mut args = vec![
            "--save".to_string(),
            if persist { SAVE_POINTS } else { "" }.to_string(),
            "--appendonly".to_string(),
            if self.appendonly(persist) {
                "yes"
            } else {
                "no"
            }
            .to_string(),
        ];
        if let Some(m) = &self.maxmemory {
            args.extend(["--maxmemory".to_string(), m.clone()]);
        }
        if let Some(p) = &self.maxmemory_policy {
            args.extend(["--maxmemory-policy".to_string(), p.clone()]);
        }
        for (k, v) in &self.settings {
            args.extend([format!("--{k}"), v.clone()]);
        }
        args
    }
}

impl KindSettings for Redis {
    fn kind(&self) -> &'static str {
        "redis"
    }

    fn connection_keys(&self) -> &'static [&'static str] {
        &["host", "port", "password", "url"]
    }

    fn persists_by_default(&self) -> bool {
        false
    }

    fn secrets(&self) -> Vec<Secret> {
        vec![Secret {
            name: "password",
            configured: self.password.clone(),
            form: SecretForm::Password,
        }]
    }

    fn validate(&self, shared: &SharedSettings) -> Result<(), SettingsError> {
        match &self.appendonly {
            Some(a) if *a.get_ref() && shared.persist == Some(false) => Err(SettingsError::at(
                a.span(),
                "`appendonly = true` needs `persist = true`",
            )),
            _ => Ok(()),
        }
    }

    fn default_image(&self) -> Option<String> {
        let version = self.version.as_ref().map(|v| v.text.as_str());
        Some(format!("redis:{}", image_tag(version, "7")))
    }

    fn container_port(&self, _: &ServiceContext) -> u16 {
        CONTAINER_PORT
    }

    fn connection(&self, ctx: &ServiceContext, at: &Endpoint) -> Vec<ConnectionValue> {
        let password = ctx.password.unwrap_or_default();
        // The user `default` named: redis-cli reads `redis://:pw@` as an
        // empty user name (`AUTH "" pw`, refused), while every Redis 6+
        // client, redis-cli included, takes `default:pw`.
        let url = |pw: &str| match pw.is_empty() {
            true => format!("redis://{at}/0"),
            false => format!("redis://default:{pw}@{at}/0"),
        };
        let shown = url(if password.is_empty() { "" } else { MASK });
        let mut url_value = ConnectionValue::secret("url", url(&url_escape(password)), shown);
        url_value.secret = !password.is_empty();
        vec![
            ConnectionValue::plain("host", at.host.clone()),
            ConnectionValue::plain("port", at.port.to_string()),
            ConnectionValue::secret("password", password.to_string(), MASK.into()),
            url_value,
        ]
    }

    fn probe(&self, ctx: &ServiceContext, at: &Endpoint) -> Result<(), String> {
        crate::client::redis::probe(at, ctx.password)
    }

    fn key_value(&self, ctx: &ServiceContext) -> Option<KeyValueAccess> {
        Some(KeyValueAccess {
            password: ctx.password.map(str::to_string),
        })
    }

    /// Its data as an RDB file: `SAVE`, then the file as the server wrote
    /// it (read where the server runs).
    fn backs_up(&self) -> bool {
        true
    }

    fn backup(
        &self,
        ctx: &ServiceContext,
        at: &Endpoint,
        tools: &dyn Tools,
        dest: &Path,
    ) -> Result<Vec<BackupFile>> {
        let fail = |message: String| Error::Service {
            service: ctx.name.to_string(),
            message,
            hint: None,
            source: None,
        };
        let mut c = crate::client::redis::Connection::open(at, std::time::Duration::from_secs(5))
            .map_err(|e| fail(format!("could not connect: {e}")))?;
        if let Some(pw) = ctx.password {
            c.command(&["AUTH", pw])
                .map_err(|e| fail(format!("AUTH failed: {e}")))?;
        }
        match c.command(&["SAVE"]) {
            Ok(crate::client::redis::Reply::Simple(_)) => {}
            other => return Err(fail(format!("SAVE failed: {other:?}"))),
        }
        let path = dest.join("dump.rdb");
        let mut out = std::fs::File::create(&path)
            .map_err(|e| Error::io(format!("could not create `{}`", path.display()), e))?;
        let source = format!("{}/dump.rdb", tools.data_dir());
        tools.run(&["cat".to_string(), source], &[], None, &mut out)?;
        Ok(vec![BackupFile {
            file: "dump.rdb".into(),
            database: None,
        }])
    }

    /// The RDB file as the next data generation: as `dump.rdb`, and, when
    /// the service keeps an append-only file (which Redis then loads
    /// instead), as the base of a new one.
    fn restore(
        &self,
        ctx: &ServiceContext,
        _at: &Endpoint,
        _tools: &dyn Tools,
        files: &[(BackupFile, PathBuf)],
        scratch: &Path,
    ) -> Result<Restore> {
        let Some((_, rdb)) = files.iter().find(|(f, _)| f.file == "dump.rdb") else {
            return Ok(Restore::Done);
        };
        let mut data = vec![("dump.rdb".to_string(), rdb.clone())];
        if self.appendonly(ctx.persist) {
            let manifest = scratch.join("appendonly.aof.manifest");
            std::fs::write(&manifest, "file appendonly.aof.1.base.rdb seq 1 type b\n")
                .map_err(|e| Error::io(format!("could not write `{}`", manifest.display()), e))?;
            data.push((
                "appendonlydir/appendonly.aof.1.base.rdb".into(),
                rdb.clone(),
            ));
            data.push(("appendonlydir/appendonly.aof.manifest".into(), manifest));
        }
        Ok(Restore::NewData(data))
    }

    fn native(&self, ctx: &ServiceContext) -> NativeLaunch {
        let mut conf = String::from("# written by berth on every start; edit berth.toml instead\n");
        if let Some(pw) = ctx.password {
            conf.push_str(&format!("requirepass {}\n", quote(pw)));
        }
        let mut args = vec![
            Arg::File("redis.conf"),
            Arg::text("--port"),
            Arg::text(ctx.port.to_string()),
            Arg::text("--bind"),
            Arg::text(LOOPBACK),
            Arg::text("--dir"),
            Arg::DataDir,
            Arg::text("--daemonize"),
            Arg::text("no"),
            Arg::text("--logfile"),
            Arg::text(""),
        ];
        args.extend(self.server_args(ctx.persist).into_iter().map(Arg::Text));
        NativeLaunch {
            binary: BinarySpec {
                program: "redis-server".into(),
                companions: &[],
                version_args: &["--version"],
                parse_version: first_version,
                search_dirs: &[],
                locator: None,
                version_req: self.version.as_ref().map(|v| v.req.clone()),
                install_hint: "install Redis: `apt-get install redis-server` (Debian, Ubuntu), `dnf install redis` (Fedora), `brew install redis` (macOS)".into(),
                provides: None,
            },
            skeleton: None,
            init: Vec::new(),
            server: ServerSpec { program: "redis-server".into(), args, env: Vec::new(), cwd: None, files: vec![("redis.conf", conf)], stop_signal: StopSignal::Terminate },
            alternative: None,
        }
    }

    fn container(&self, ctx: &ServiceContext) -> ContainerLaunch {
        let mut args = vec!["redis-server".to_string()];
        let mut env = Vec::new();
        let mut health = "redis-cli ping";
        // The password travels in the container's environment, never in
        // arguments: a container's processes are the host's, and `ps`
        // shows every user their command lines. Redis reads it only from
        // its configuration, so a shell writes that at the container's
        // start, and the health check's client reads `REDISCLI_AUTH`.
        if let Some(pw) = ctx.password {
            env.push(("REDIS_PASSWORD".to_string(), pw.to_string()));
            args = vec![
                "sh".into(),
                "-c".into(),
                WITH_PASSWORD.into(),
                "redis".into(),
            ];
            health = "REDISCLI_AUTH=\"$REDIS_PASSWORD\" redis-cli ping";
        }
        args.extend(self.server_args(ctx.persist));
        ContainerLaunch {
            image: self.default_image().unwrap_or_default(),
            pinned: None,
            env,
            args,
            port: CONTAINER_PORT,
            extra_ports: Vec::new(),
            data_path: Some("/data"),
            volumes: Vec::new(),
            files: Vec::new(),
            stop_signal: StopSignal::Terminate,
            health: Some(vec!["CMD-SHELL".into(), health.into()]),
            template: None,
        }
    }
}

/// A container's command when it has a password: the configuration file
/// holding it, written from `REDIS_PASSWORD` by the shell's builtins and
/// `sed` on a pipe (no argument carries it), then the image's entrypoint
/// (the official image's contract) with the server's other options.
const WITH_PASSWORD: &str = r#"set -e
umask 022
mkdir -p /tmp/berth
{ echo '# written by berth at the start of the container; edit berth.toml instead'
  printf 'requirepass "'
  printf '%s' "$REDIS_PASSWORD" | sed 's/[\\"]/\\&/g'
  printf '"\n'
} > /tmp/berth/redis.conf
exec docker-entrypoint.sh redis-server /tmp/berth/redis.conf "$@""#;

/// A double-quoted Redis config string.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
