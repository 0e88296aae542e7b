//! The skeleton cache: what a kind's [`Skeleton`] steps make (a pristine
//! PostgreSQL cluster: `initdb`'s work, half a second of a cold `up`) is
//! made once per machine user and copied for every new data directory —
//! a clone where the file system shares blocks, a kernel copy elsewhere.
//!
//! `<cache>/skeletons/<key>/` holds `data/` (the skeleton, owned by the
//! servers' user) and `entry.json` (what it is, and its BLAKE3 digest and
//! file-system fingerprint). `<cache>` is `$BERTH_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/berth`, else `~/.cache/berth`. The key is a SHA-256 of
//! the server program's path and version, the skeleton's description and
//! the servers' user: another version, another superuser name, another
//! user, another entry.
//!
//! - **Secrets**: a skeleton holds none that matters: the kind makes it
//!   with a password nobody keeps, and its `init` steps give each copy the
//!   stack's own before the server first listens.
//! - **Integrity**: an entry whose files have the fingerprint recorded when
//!   it was made is used as it is; otherwise its digest is checked, and an
//!   entry that fails it is rebuilt.
//! - **Concurrency**: readers hold a shared `flock` on `<key>.lock` while
//!   they check and copy; a builder holds it exclusively, and whoever
//!   comes second finds the entry made. A build cut short leaves a
//!   `.<key>.partial-<pid>` the next build removes.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::binaries::Binary;
use super::user::ServiceUser;
use super::user_cache;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::kill_point;
use crate::plan::native::Skeleton;
use crate::tree_copy;

const ENTRY: &str = "entry.json";

/// What a cache entry is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    /// The skeleton's description (`initdb -U app ...`).
    pub describes: String,
    /// The server program it was made with, and its version.
    pub program: String,
    pub version: String,
    /// The servers' user it belongs to.
    pub uid: u32,
    /// RFC 3339.
    pub created: String,
    pub files: u64,
    pub bytes: u64,
    /// BLAKE3 of the skeleton (`tree_copy::digest`).
    pub digest: String,
    /// Its file-system fingerprint when made (`tree_copy::fingerprint`).
    pub fingerprint: String,
}

/// How a data directory was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Made {
    /// Copied from the cache.
    Copied,
    /// Built, and now in the cache; `replaced` says why an entry there was
    /// not used.
    Built { replaced: Option<String> },
}

/// The cache of one machine user.
pub struct Skeletons {
    root: PathBuf,
}

impl Skeletons {
    /// The cache where the environment puts it; none without a home.
    pub fn locate() -> Option<Skeletons> {
        Some(Skeletons {
            root: user_cache::root()?,
        })
    }

    /// The directory holding the cache.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn dir(&self) -> PathBuf {
        self.root.join("skeletons")
    }

    /// The entry for `skeleton` made by the server program in `bin` for
    /// servers run as `user`.
    pub fn key(bin: &Binary, program: &str, skeleton: &Skeleton, user: &ServiceUser) -> String {
        let text = format!(
            "{}\n{}\n{}\n{}:{}",
            bin.path(program).display(),
            bin.version,
            skeleton.describes,
            user.uid,
            user.gid
        );
        crate::digest::sha256_hex(text.as_bytes())[..24].to_string()
    }

    /// Make `into` (which must not exist) a copy of the skeleton under
    /// `key`, building it with `build` (into the directory it is given)
    /// first when the cache has none, or a damaged one.
    pub fn make(
        &self,
        key: &str,
        about: Entry,
        into: &Path,
        build: &dyn Fn(&Path) -> Result<()>,
    ) -> Result<Made> {
        fsutil::create_dir(&self.dir(), 0o700)?;
        let entry_dir = self.dir().join(key);
        {
            let _shared = self.lock(key, libc::LOCK_SH)?;
            if self.check(&entry_dir).is_ok() {
                tree_copy::copy(&entry_dir.join("data"), into)?;
                return Ok(Made::Copied);
            }
        }
        let _exclusive = self.lock(key, libc::LOCK_EX)?;
        // Made by another process while this one waited?
        let replaced = match self.check(&entry_dir) {
            Ok(()) => {
                tree_copy::copy(&entry_dir.join("data"), into)?;
                return Ok(Made::Copied);
            }
            Err(why) => why,
        };
        build(into)?;
        kill_point::reached(|| "skeleton:built".into());
        self.keep(key, about, into, &entry_dir)?;
        Ok(Made::Built { replaced })
    }

    /// Why the entry in `dir` cannot be used (none: it can).
    fn check(&self, dir: &Path) -> std::result::Result<(), Option<String>> {
        let Ok(text) = std::fs::read(dir.join(ENTRY)) else {
            return Err(dir.exists().then(|| "its record is missing".into()));
        };
        let entry: Entry = serde_json::from_slice(&text)
            .map_err(|e| Some(format!("its record does not read ({e})")))?;
        let data = dir.join("data");
        let fingerprint = tree_copy::fingerprint(&data).map_err(|e| Some(e.to_string()))?;
        if fingerprint == entry.fingerprint {
            return Ok(());
        }
        let found = tree_copy::digest(&data).map_err(|e| Some(e.to_string()))?;
        if found.digest == entry.digest {
            Ok(())
        } else {
            Err(Some(format!(
                "its files do not match their checksum ({} file(s), {} byte(s) found; {} and {} recorded)",
                found.files, found.bytes, entry.files, entry.bytes
            )))
        }
    }

    /// Put a copy of the freshly built `built` into the cache as `key`.
    fn keep(&self, key: &str, mut about: Entry, built: &Path, entry_dir: &Path) -> Result<()> {
        let partial_prefix = format!(".{key}.partial-");
        if let Ok(entries) = std::fs::read_dir(self.dir()) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&partial_prefix) {
                    fsutil::remove_dir_atomically(&e.path())?;
                }
            }
        }
        let partial = self
            .dir()
            .join(format!("{partial_prefix}{}", std::process::id()));
        fsutil::create_dir(&partial, 0o700)?;
        let data = partial.join("data");
        tree_copy::copy(built, &data)?;
        let digest = tree_copy::digest(&data)?;
        about.key = key.to_string();
        about.files = digest.files;
        about.bytes = digest.bytes;
        about.digest = digest.digest;
        about.fingerprint = tree_copy::fingerprint(&data)?;
        about.created = jiff::Timestamp::now().to_string();
        let json = serde_json::to_vec_pretty(&about).map_err(|e| Error::Internal {
            message: format!("the cache entry did not serialize: {e}"),
        })?;
        fsutil::write_atomic(&partial.join(ENTRY), &json, 0o600)?;
        if entry_dir.exists() {
            fsutil::remove_dir_atomically(entry_dir)?;
        }
        kill_point::reached(|| "skeleton:kept".into());
        std::fs::rename(&partial, entry_dir)
            .context(|| format!("could not put `{}` in place", entry_dir.display()))?;
        fsutil::sync_dir(&self.dir())
            .context(|| format!("could not sync `{}`", self.dir().display()))
    }

    fn lock(&self, key: &str, how: libc::c_int) -> Result<File> {
        let path = self.dir().join(format!("{key}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .context(|| format!("could not open the lock file `{}`", path.display()))?;
        loop {
            // SAFETY: flock on a file descriptor we own.
            if unsafe { libc::flock(file.as_raw_fd(), how) } == 0 {
                return Ok(file);
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(Error::io(format!("could not lock `{}`", path.display()), e));
            }
        }
    }

    /// Every entry, with whether it checks out.
    pub fn list(&self) -> Vec<(Entry, bool)> {
        let Ok(entries) = std::fs::read_dir(self.dir()) else {
            return Vec::new();
        };
        let mut out: Vec<(Entry, bool)> = entries
            .flatten()
            .filter(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| {
                let text = std::fs::read(e.path().join(ENTRY)).ok()?;
                let entry: Entry = serde_json::from_slice(&text).ok()?;
                let sound = self.check(&e.path()).is_ok();
                Some((entry, sound))
            })
            .collect();
        out.sort_by(|a, b| a.0.created.cmp(&b.0.created));
        out
    }

    /// Remove every entry (waiting for whoever copies one). Returns how
    /// many bytes it freed.
    pub fn clean(&self) -> Result<u64> {
        let Ok(entries) = std::fs::read_dir(self.dir()) else {
            return Ok(0);
        };
        let mut freed = 0;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            // Only what berth made: an entry, one being built, or one
            // being removed; anything else in the directory stays.
            let Some(key) = key_of(&name) else {
                continue;
            };
            if !e.path().is_dir() || e.path().is_symlink() {
                continue;
            }
            let key = key.to_string();
            let _exclusive = self.lock(&key, libc::LOCK_EX)?;
            freed += std::fs::read(e.path().join(ENTRY))
                .ok()
                .and_then(|text| serde_json::from_slice::<Entry>(&text).ok())
                .map_or(0, |entry| entry.bytes);
            fsutil::remove_dir_atomically(&e.path())?;
        }
        Ok(freed)
    }
}

/// The key of a name berth gives an entry of the cache: `<key>`,
/// `.<key>.partial-<pid>` or `.<key>.removing-...`; none for any other.
fn key_of(name: &str) -> Option<&str> {
    let key = match name.strip_prefix('.') {
        Some(rest) => {
            rest.split_once(".partial-")
                .or_else(|| rest.split_once(".removing-"))?
                .0
        }
        None => name,
    };
    (key.len() == 24
        && key
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
    .then_some(key)
}

#[cfg(test)]
mod tests {
    use super::key_of;

    #[test]
    fn clean_knows_berths_entries_from_anything_else() {
        let key = "0123456789abcdef01234567";
        assert_eq!(key_of(key), Some(key));
        assert_eq!(key_of(&format!(".{key}.partial-42")), Some(key));
        assert_eq!(key_of(&format!(".{key}.removing-42-0")), Some(key));
        for theirs in [
            "notes",
            "0123456789ABCDEF01234567",
            ".hidden",
            "0123",
            ".x.partial-1",
        ] {
            assert_eq!(key_of(theirs), None, "{theirs}");
        }
    }
}
