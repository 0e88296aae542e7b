//! `berth.lock`: the image each container service runs, pinned by content
//! digest, beside the stack file and committed like `Cargo.lock`.
//!
//! `berth lock` writes it; `up` runs the pinned image ids (a tag that moved
//! on this machine does not change what runs), `berth verify` reports drift
//! per service, and `up --locked` refuses to start on any. Services that run
//! natively have no image and are not in the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const FILE_NAME: &str = "berth.lock";

/// An image as the stack names it and what it is on this machine now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageId {
    /// As the stack file names it (`postgres:16`).
    pub image: String,
    /// The engine's content digest of the image (`sha256:...`).
    pub id: String,
    /// `name@sha256:...` when the image came from a registry.
    pub repo_digest: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageLock {
    pub version: u32,
    #[serde(default)]
    pub services: BTreeMap<String, LockedImage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedImage {
    /// As the stack file named it when locked.
    pub image: String,
    /// The engine's content digest of the image (`sha256:...`).
    pub id: String,
    /// `name@sha256:...`, when the image came from a registry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo_digest: Option<String>,
}

impl From<ImageId> for LockedImage {
    fn from(i: ImageId) -> LockedImage {
        LockedImage {
            image: i.image,
            id: i.id,
            repo_digest: i.repo_digest,
        }
    }
}

/// How a service's image compares with the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// The image is the locked one.
    Locked { image: String, id: String },
    /// The tag now names another image than the one locked.
    Moved {
        image: String,
        locked: String,
        now: String,
    },
    /// The stack file names another image than the lock.
    Renamed { locked: String, now: String },
    /// No entry for this service.
    NotLocked { image: String },
    /// The image is not on this machine, so it cannot be compared.
    Missing { image: String },
}

impl Verdict {
    pub fn is_drift(&self) -> bool {
        !matches!(self, Verdict::Locked { .. })
    }

    /// One line for people: `image `x` now is sha256:.. (locked sha256:..)`.
    pub fn describe(&self) -> String {
        match self {
            Verdict::Locked { image, id } => format!("`{image}` is the locked {}", short(id)),
            Verdict::Moved { image, locked, now } => format!(
                "`{image}` is now {}, but {} was locked",
                short(now),
                short(locked)
            ),
            Verdict::Renamed { locked, now } => {
                format!("the stack file names `{now}`, but `{locked}` was locked")
            }
            Verdict::NotLocked { image } => format!("`{image}` is not in {FILE_NAME}"),
            Verdict::Missing { image } => {
                format!("`{image}` is not on this machine, so it cannot be compared")
            }
        }
    }
}

/// Compare what the engine has now (`current`) with the lock's entry.
pub fn compare(image: &str, current: Option<&ImageId>, locked: Option<&LockedImage>) -> Verdict {
    match (locked, current) {
        (None, _) => Verdict::NotLocked {
            image: image.to_string(),
        },
        (Some(l), _) if l.image != image => Verdict::Renamed {
            locked: l.image.clone(),
            now: image.to_string(),
        },
        (Some(_), None) => Verdict::Missing {
            image: image.to_string(),
        },
        (Some(l), Some(c)) if l.id == c.id => Verdict::Locked {
            image: image.to_string(),
            id: c.id.clone(),
        },
        (Some(l), Some(c)) => Verdict::Moved {
            image: image.to_string(),
            locked: l.id.clone(),
            now: c.id.clone(),
        },
    }
}

/// The lock file beside the stack file in `root`.
pub fn path(root: &Path) -> PathBuf {
    root.join(FILE_NAME)
}

/// The lock beside the stack file in `root`, if there is one.
pub fn load(root: &Path) -> Result<Option<ImageLock>> {
    let file = path(root);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("could not read `{}`", file.display()), e)),
    };
    parse(&file, &text).map(Some)
}

fn parse(file: &Path, text: &str) -> Result<ImageLock> {
    let lock: ImageLock = toml::from_str(text).map_err(|e| Error::Config {
        message: format!("`{}` is not a valid lock file: {}", file.display(), e.message()),
        location: None,
        hint: Some(format!(
            "`berth lock` writes it anew; if a merge left conflict markers, resolve them or delete `{FILE_NAME}` and lock again"
        )),
    })?;
    if lock.version != 1 {
        return Err(Error::Config {
            message: format!(
                "`{}` has version {}, which this berth does not know",
                file.display(),
                lock.version
            ),
            location: None,
            hint: Some("upgrade berth, or run `berth lock` to write it anew".into()),
        });
    }
    Ok(lock)
}

pub fn save(root: &Path, lock: &ImageLock) -> Result<()> {
    let mut text = format!(
        "# {FILE_NAME}: the image each container service runs, pinned by digest.\n# Written by `berth lock`; commit it. `berth verify` checks it.\n\n"
    );
    text.push_str(&toml::to_string(lock).map_err(|e| Error::Internal {
        message: format!("the lock did not serialize: {e}"),
    })?);
    let file = path(root);
    crate::kill_point::reached(|| "lock:save".into());
    crate::fsutil::write_atomic(&file, text.as_bytes(), 0o644)
}

fn short(id: &str) -> &str {
    id.get(..19).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_images_with_the_lock() {
        let locked = LockedImage {
            image: "pg:15".into(),
            id: "sha256:aaa".into(),
            repo_digest: None,
        };
        let now = |id: &str| ImageId {
            image: "pg:15".into(),
            id: id.into(),
            repo_digest: None,
        };
        assert!(!compare("pg:15", Some(&now("sha256:aaa")), Some(&locked)).is_drift());
        assert!(matches!(
            compare("pg:15", Some(&now("sha256:bbb")), Some(&locked)),
            Verdict::Moved { .. }
        ));
        assert!(matches!(
            compare("pg:16", Some(&now("sha256:aaa")), Some(&locked)),
            Verdict::Renamed { .. }
        ));
        assert!(matches!(
            compare("pg:15", None, Some(&locked)),
            Verdict::Missing { .. }
        ));
        assert!(matches!(
            compare("pg:15", None, None),
            Verdict::NotLocked { .. }
        ));
        let text = "version = 1\n[services.db]\nimage = \"pg:15\"\nid = \"sha256:aaa\"\n";
        let lock = parse(Path::new("berth.lock"), text).unwrap();
        assert_eq!(lock.services["db"], locked);
        assert!(parse(Path::new("berth.lock"), "version = 2\n").is_err());
    }
}
