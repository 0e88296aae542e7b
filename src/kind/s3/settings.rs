//! An S3-compatible object store.
//!
//! In a container: the MinIO image's contract (`MINIO_ROOT_USER`,
//! `MINIO_ROOT_PASSWORD`, `server /data`). Natively: `minio` when it is
//! installed, else berth's own server (`berth object-store serve`, see
//! `crate::object_store`), which keeps bucket policies and CORS rules too.
//! Both take their keys from their environment.
//! Readiness is a signed `ListBuckets` from the host, which proves the
//! keys as well as the server.

use std::path::PathBuf;
use std::sync::Arc;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::de::DeValue;
use toml::Spanned;

use super::buckets::{self, Bucket};
use crate::client::endpoint::Endpoint;
use crate::client::s3::{check_bucket_name, S3};
use crate::error::Result;
use crate::kind::connection::{ConnectionValue, MASK};
use crate::kind::contract::{
    KindSettings, ObjectStoreAccess, ParseScope, Secret, SecretForm, ServiceContext, ServiceKind,
    SettingsError,
};
use crate::kind::reading;
use crate::plan::container::ContainerLaunch;
use crate::plan::native::{first_version, own_program, Arg, BinarySpec, NativeLaunch, ServerSpec};
use crate::plan::service_plan::LOOPBACK;
use crate::plan::stop::StopSignal;

pub struct S3Kind;

const CONTAINER_PORT: u16 = 9000;
const DEFAULT_REGION: &str = "us-east-1";

/// The stack file's s3 keys.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    /// Buckets to create: names, or `{ name = "...", public = true, cors =
    /// ["http://localhost:3000"] }`.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<BucketKey>"))]
    buckets: Vec<Spanned<BucketKey>>,
    /// Default `us-east-1`.
    region: Option<String>,
    /// Default: generated, kept in the state directory (mode 0600).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    access_key: Option<Spanned<String>>,
    /// Default: generated, kept in the state directory (mode 0600).
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    secret_key: Option<Spanned<String>>,
    /// Files to put into the buckets: `<seeds>/<bucket>/...`; default
    /// `seeds/<service>`.
    seeds: Option<String>,
}

/// A bucket as written: a name, or a table.
pub(crate) enum BucketKey {
    Name(String),
    Table(BucketTable),
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BucketTable {
    name: String,
    /// Anyone may read its objects (a public-read policy).
    #[serde(default)]
    public: bool,
    /// Origins whose browsers may read and upload (CORS rules).
    #[serde(default)]
    cors: Vec<String>,
}

/// The schema of a bucket written as a table (`berth schema`).
#[cfg(feature = "schema")]
pub(crate) fn bucket_table_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    generator.subschema_for::<BucketTable>()
}

impl<'de> Deserialize<'de> for BucketKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BucketKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a bucket name, or a table like `{ name = \"uploads\", public = true }`",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<BucketKey, E> {
                Ok(BucketKey::Name(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<BucketKey, A::Error> {
                BucketTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(BucketKey::Table)
            }
        }
        d.deserialize_any(V)
    }
}

/// One object store's settings.
#[derive(Debug)]
pub struct ObjectStore {
    buckets: Vec<Bucket>,
    region: String,
    access_key: Option<String>,
    secret_key: Option<String>,
    seeds: PathBuf,
}

impl ServiceKind for S3Kind {
    fn name(&self) -> &'static str {
        "s3"
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
    ) -> std::result::Result<Arc<dyn KindSettings>, SettingsError> {
        let keys: Keys = reading::read(table)?;
        let mut buckets: Vec<Bucket> = Vec::new();
        for given in &keys.buckets {
            let bucket = match given.get_ref() {
                BucketKey::Name(name) => Bucket {
                    name: name.clone(),
                    public: false,
                    cors: Vec::new(),
                },
                BucketKey::Table(t) => Bucket {
                    name: t.name.clone(),
                    public: t.public,
                    cors: t.cors.clone(),
                },
            };
            check_bucket_name(&bucket.name).map_err(|m| {
                SettingsError::at(given.span(), m)
                    .hint("S3 bucket names are 3 to 63 lower-case letters, digits, `.` and `-`")
            })?;
            if buckets.iter().any(|b| b.name == bucket.name) {
                return Err(SettingsError::at(
                    given.span(),
                    format!("bucket `{}` is listed twice", bucket.name),
                ));
            }
            buckets.push(bucket);
        }
        let at_least = |value: &Option<Spanned<String>>, what: &str, len: usize| match value {
            Some(v) if v.get_ref().len() < len => Err(SettingsError::at(
                v.span(),
                format!("the {what} must be at least {len} characters long"),
            )
            .hint("MinIO refuses shorter ones; leave the key out and berth generates one")),
            _ => Ok(value.as_ref().map(|v| v.get_ref().clone())),
        };
        Ok(Arc::new(ObjectStore {
            buckets,
            region: keys.region.unwrap_or_else(|| DEFAULT_REGION.to_string()),
            // MinIO's own limits, which every server berth runs accepts.
            access_key: at_least(&keys.access_key, "access key", 3)?,
            secret_key: at_least(&keys.secret_key, "secret key", 8)?,
            seeds: match keys.seeds {
                Some(dir) => scope.root.join(dir),
                None => scope.root.join("seeds").join(scope.service),
            },
        }))
    }
}

impl ObjectStore {
    /// A client with the service's keys, for the server at `at`.
    fn client(&self, ctx: &ServiceContext, at: &Endpoint) -> std::result::Result<S3, String> {
        S3::new(
            at,
            &self.region,
            ctx.secret("access_key").unwrap_or_default(),
            ctx.secret("secret_key").unwrap_or_default(),
        )
    }

    fn keys<'a>(&self, ctx: &'a ServiceContext) -> (&'a str, &'a str) {
        (
            ctx.secret("access_key").unwrap_or_default(),
            ctx.secret("secret_key").unwrap_or_default(),
        )
    }
}

impl KindSettings for ObjectStore {
    fn kind(&self) -> &'static str {
        "s3"
    }

    fn connection_keys(&self) -> &'static [&'static str] {
        &[
            "endpoint",
            "host",
            "port",
            "region",
            "access_key",
            "secret_key",
            "bucket",
            "url",
        ]
    }

    fn persists_by_default(&self) -> bool {
        true
    }

    fn secrets(&self) -> Vec<Secret> {
        vec![
            Secret {
                name: "access_key",
                configured: self.access_key.clone(),
                form: SecretForm::AccessKey,
            },
            Secret {
                name: "secret_key",
                configured: self.secret_key.clone(),
                form: SecretForm::Password,
            },
        ]
    }

    fn default_image(&self) -> Option<String> {
        Some("minio/minio:latest".into())
    }

    fn container_port(&self, _: &ServiceContext) -> u16 {
        CONTAINER_PORT
    }

    fn connection(&self, ctx: &ServiceContext, at: &Endpoint) -> Vec<ConnectionValue> {
        let (access_key, secret_key) = self.keys(ctx);
        let endpoint = format!("http://{at}");
        let bucket = self
            .buckets
            .first()
            .map(|b| b.name.clone())
            .unwrap_or_default();
        vec![
            ConnectionValue::plain("endpoint", endpoint.clone()),
            ConnectionValue::plain("host", at.host.clone()),
            ConnectionValue::plain("port", at.port.to_string()),
            ConnectionValue::plain("region", self.region.clone()),
            // Half of the credentials: shown only where secrets are.
            ConnectionValue::secret("access_key", access_key.to_string(), MASK.into()),
            ConnectionValue::secret("secret_key", secret_key.to_string(), MASK.into()),
            ConnectionValue::plain("url", format!("{endpoint}/{bucket}")),
            ConnectionValue::plain("bucket", bucket),
        ]
    }

    fn probe(&self, ctx: &ServiceContext, at: &Endpoint) -> std::result::Result<(), String> {
        self.client(ctx, at)?
            .list_buckets()
            .map(drop)
            .map_err(|e| format!("ListBuckets: {e}"))
    }

    fn provisioning(&self) -> String {
        let mut text = format!("region {}\n", self.region);
        for b in &self.buckets {
            text.push_str(&format!(
                "bucket {} public={} cors={}\n",
                b.name,
                b.public,
                b.cors.join(",")
            ));
        }
        text
    }

    fn provision(&self, ctx: &ServiceContext, at: &Endpoint) -> Result<()> {
        let client = self
            .client(ctx, at)
            .map_err(|e| buckets::failure(ctx, e, None))?;
        buckets::provision(&client, &self.buckets, ctx)
    }

    fn seed(&self, ctx: &ServiceContext, at: &Endpoint, again: bool) -> Result<Vec<String>> {
        let client = self
            .client(ctx, at)
            .map_err(|e| buckets::failure(ctx, e, None))?;
        buckets::seed(&client, &self.buckets, &self.seeds, ctx, again)
    }

    fn object_store(&self, ctx: &ServiceContext) -> Option<ObjectStoreAccess> {
        let (access_key, secret_key) = self.keys(ctx);
        Some(ObjectStoreAccess {
            region: self.region.clone(),
            access_key: access_key.to_string(),
            secret_key: secret_key.to_string(),
        })
    }

    fn seed_dir(&self) -> Option<&std::path::Path> {
        Some(&self.seeds)
    }

    fn native(&self, ctx: &ServiceContext) -> NativeLaunch {
        let (access_key, secret_key) = self.keys(ctx);
        // MinIO reads its keys from its environment.
        let minio = NativeLaunch {
            binary: BinarySpec {
                program: "minio".into(),
                companions: &[],
                version_args: &["--version"],
                parse_version: first_version,
                search_dirs: &["/usr/local/bin"],
                locator: None,
                version_req: None,
                install_hint: "install MinIO's server (`minio`) from MinIO".into(),
                provides: None,
            },
            skeleton: None,
            init: Vec::new(),
            server: ServerSpec {
                program: "minio".into(),
                args: vec![
                    Arg::text("server"),
                    Arg::DataDir,
                    Arg::text("--address"),
                    Arg::text(format!("{LOOPBACK}:{}", ctx.port)),
                    Arg::text("--quiet"),
                ],
                env: vec![
                    ("MINIO_ROOT_USER".into(), access_key.to_string()),
                    ("MINIO_ROOT_PASSWORD".into(), secret_key.to_string()),
                    ("MINIO_REGION".into(), self.region.clone()),
                    ("MINIO_BROWSER".into(), "off".into()),
                ],
                cwd: None,
                files: Vec::new(),
                stop_signal: StopSignal::Terminate,
            },
            alternative: None,
        };
        // berth's own server (`berth object-store serve`): nothing to
        // install, and the keys in its environment as MinIO takes them.
        let own = NativeLaunch {
            binary: BinarySpec {
                program: own_program(),
                companions: &[],
                version_args: &["--version"],
                parse_version: first_version,
                search_dirs: &["~/.cargo/bin"],
                locator: None,
                version_req: None,
                install_hint: "berth runs its own object store with its command line, `berth`, which is not on `PATH` here: install it (`cargo install berth`), or install MinIO's server (`minio`)".into(),
                provides: None,
            },
            skeleton: None,
            init: Vec::new(),
            server: ServerSpec {
                args: vec![
                    Arg::text("object-store"),
                    Arg::text("serve"),
                    Arg::DataDir,
                    Arg::text("--address"),
                    Arg::text(format!("{LOOPBACK}:{}", ctx.port)),
                ],
                program: own_program(),
                ..minio.server.clone()
            },
            alternative: None,
        };
        NativeLaunch {
            alternative: Some(Box::new(own)),
            ..minio
        }
    }

    fn container(&self, ctx: &ServiceContext) -> ContainerLaunch {
        let (access_key, secret_key) = self.keys(ctx);
        ContainerLaunch {
            image: self.default_image().unwrap_or_default(),
            pinned: None,
            env: vec![
                ("MINIO_ROOT_USER".into(), access_key.to_string()),
                ("MINIO_ROOT_PASSWORD".into(), secret_key.to_string()),
                ("MINIO_REGION".into(), self.region.clone()),
                ("MINIO_BROWSER".into(), "off".into()),
            ],
            args: vec![
                "server".into(),
                "/data".into(),
                "--address".into(),
                format!(":{CONTAINER_PORT}"),
            ],
            port: CONTAINER_PORT,
            extra_ports: Vec::new(),
            data_path: Some("/data"),
            volumes: Vec::new(),
            files: Vec::new(),
            stop_signal: StopSignal::Terminate,
            // Recent MinIO images carry no HTTP client to check themselves
            // with; berth's own probe is a signed request from the host.
            health: None,
            template: None,
        }
    }
}
