//! The buckets an object store has: created if missing (a bucket that
//! exists is kept as it is), made public-read and given CORS rules as the
//! stack file says, and seeded from `seeds/<service>/<bucket>/`.
//!
//! Seed files load once into a bucket new to berth: a marker object
//! (`.berth-seeded`) records it inside the bucket, so the record travels
//! with the data, and an `up` cut short before the marker is written seeds
//! again next time. `berth seed` loads them again on purpose.

use std::path::Path;

use crate::client::s3::{xml_escape, S3Error, S3};
use crate::error::{cause, Error, Result};
use crate::kill_point;
use crate::kind::contract::ServiceContext;
use crate::suggest::did_you_mean;

/// The object that says a bucket's seeds were loaded.
pub const SEEDED_MARKER: &str = ".berth-seeded";

#[derive(Debug, Clone)]
pub struct Bucket {
    pub name: String,
    pub public: bool,
    pub cors: Vec<String>,
}

/// A provisioning error of the object store `ctx` names.
pub fn failure(ctx: &ServiceContext, message: impl Into<String>, e: Option<S3Error>) -> Error {
    let hint = e.as_ref().filter(|e| e.is("NotImplemented")).map(|_| {
        "this S3 server does not implement that request: run the service in a container (`runtime = \"container\"`, MinIO's image), or install `minio`".to_string()
    });
    Error::Provision {
        service: ctx.name.to_string(),
        message: message.into(),
        hint,
        source: e.and_then(cause),
    }
}

pub fn provision(client: &S3, buckets: &[Bucket], ctx: &ServiceContext) -> Result<()> {
    for bucket in buckets {
        let name = &bucket.name;
        kill_point::reached(|| format!("{}:bucket {name}", ctx.name));
        client
            .create_bucket(name)
            .map_err(|e| failure(ctx, format!("could not create bucket `{name}`"), Some(e)))?;
        if bucket.public {
            client
                .put_bucket_policy(name, &public_read(name))
                .map_err(|e| {
                    failure(
                        ctx,
                        format!("could not make bucket `{name}` public"),
                        Some(e),
                    )
                })?;
        }
        if !bucket.cors.is_empty() {
            client
                .put_bucket_cors(name, &cors_rules(&bucket.cors))
                .map_err(|e| {
                    failure(
                        ctx,
                        format!("could not set the CORS rules of bucket `{name}`"),
                        Some(e),
                    )
                })?;
        }
    }
    Ok(())
}

/// Load the seed files of each bucket not seeded yet (every bucket when
/// `again`). A bucket without seed files is left alone. Returns the
/// objects written, as `bucket/key`.
pub fn seed(
    client: &S3,
    buckets: &[Bucket],
    dir: &Path,
    ctx: &ServiceContext,
    again: bool,
) -> Result<Vec<String>> {
    check_seed_dirs(buckets, dir, ctx)?;
    let mut loaded = Vec::new();
    for bucket in buckets {
        let name = &bucket.name;
        let files = files(&dir.join(name))?;
        if files.is_empty() {
            continue;
        }
        if !again {
            let keys = client
                .list_objects(name)
                .map_err(|e| failure(ctx, format!("could not list bucket `{name}`"), Some(e)))?;
            if keys.iter().any(|k| k == SEEDED_MARKER) {
                continue;
            }
        }
        for (key, path) in files {
            let bytes = std::fs::read(&path)
                .map_err(|e| Error::io(format!("could not read `{}`", path.display()), e))?;
            client.put_object(name, &key, &bytes).map_err(|e| {
                failure(
                    ctx,
                    format!("could not put `{key}` into bucket `{name}`"),
                    Some(e),
                )
            })?;
            loaded.push(format!("{name}/{key}"));
        }
        kill_point::reached(|| format!("{}:seeded {name}", ctx.name));
        client
            .put_object(
                name,
                SEEDED_MARKER,
                b"seeded by berth; `berth seed` loads the seed files again\n",
            )
            .map_err(|e| {
                failure(
                    ctx,
                    format!("could not mark bucket `{name}` seeded"),
                    Some(e),
                )
            })?;
    }
    Ok(loaded)
}

/// Every directory in the seed directory must be a bucket's: a misspelt
/// one would otherwise be skipped without a word.
fn check_seed_dirs(buckets: &[Bucket], dir: &Path, ctx: &ServiceContext) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    let names: Vec<&str> = buckets.iter().map(|b| b.name.as_str()).collect();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || names.contains(&name.as_str()) {
            continue;
        }
        let shown = crate::diagnostic::shown_path(&entry.path());
        let hint = match did_you_mean(&name, names.iter().copied()) {
            Some(hint) => format!("{hint}; rename the directory"),
            None => format!(
                "seed files go in `{}/<bucket>/`; add `{name}` to `buckets` in `[services.{}]`",
                crate::diagnostic::shown_path(dir),
                ctx.name
            ),
        };
        return Err(Error::Provision {
            service: ctx.name.to_string(),
            message: format!("seed directory `{shown}` names no bucket of the service"),
            hint: Some(hint),
            source: None,
        });
    }
    Ok(())
}

/// Every file under `dir` (none when it does not exist), with its key: the
/// path below `dir`, `/`-separated. Dot files are left out.
fn files(dir: &Path) -> Result<Vec<(String, std::path::PathBuf)>> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(Error::io(
                    format!("could not read `{}`", current.display()),
                    e,
                ))
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(relative) = path.strip_prefix(dir) {
                let key = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((key, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Anyone may read the bucket's objects.
fn public_read(bucket: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": ["*"]},
            "Action": ["s3:GetObject"],
            "Resource": [format!("arn:aws:s3:::{bucket}/*")]
        }]
    })
    .to_string()
}

/// Browsers from these origins may read and upload.
fn cors_rules(origins: &[String]) -> String {
    let mut xml = String::from("<CORSConfiguration><CORSRule>");
    for origin in origins {
        xml.push_str(&format!(
            "<AllowedOrigin>{}</AllowedOrigin>",
            xml_escape(origin)
        ));
    }
    for method in ["GET", "HEAD", "PUT", "POST", "DELETE"] {
        xml.push_str(&format!("<AllowedMethod>{method}</AllowedMethod>"));
    }
    xml.push_str("<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>");
    xml
}
