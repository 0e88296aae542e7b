//! Where snapshots live and what one holds: `<state dir>.snapshots/<name>/`
//! beside the stack's state directory (which `reset` deletes whole, and
//! snapshots must outlive it), each with `manifest.json`, a directory per
//! service holding its data in its runtime's form, and `checked.json`, the
//! fingerprint each service's data had when its checksum last held (so a
//! restore reads the data again only when something touched it).
//!
//! A snapshot is written under a temporary name and renamed into place
//! when complete, so a snapshot that exists is whole; what a save cut
//! short left is removed by the next save.
//!
//! The store is berth's own, as the state directory is: [`MARKER`] says
//! so, and a directory of that name holding anything else is refused
//! (`--state-dir DIR` puts the store at `DIR.snapshots`, a name the user
//! may have used). `snapshot rm` deletes only a snapshot: a directory
//! with a manifest, reached through no link.
//!
//! `reset`, which deletes the data next, moves a service's data directory
//! into its safety snapshot rather than copy it, recording where from
//! before it moves (`moved.json`). A partial snapshot holding moved data
//! is not debris: the next command on the stack puts that data back
//! before anything reads the stack ([`Store::recover`]), so a `reset`
//! stopped halfway loses nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::runtime::contract::Server;
use crate::state::StateDir;

/// The format of `manifest.json`.
pub const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
/// When each service's data was last found to match its checksum.
const CHECKED: &str = "checked.json";
/// Marks a snapshot being written.
const PARTIAL: &str = ".partial-";
/// Marks the store as berth's (see the module's documentation).
pub const MARKER: &str = "berth-snapshots";
/// In a snapshot being written: the services whose data directory was
/// moved into it, each with the path it came from.
const MOVED: &str = "moved.json";

/// What a partial snapshot took from the stack: service → where its data
/// directory was.
type Moves = BTreeMap<String, PathBuf>;

/// What a snapshot holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub stack: String,
    pub name: String,
    /// RFC 3339.
    pub created: String,
    /// Why berth took it by itself (`before reset`); none when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic: Option<String>,
    pub services: Vec<ServiceData>,
}

/// One service's data in a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceData {
    pub service: String,
    pub kind: String,
    pub runtime: String,
    pub server: Server,
    /// The last migration applied, for services that take migrations and
    /// were running when the snapshot was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<i64>,
    pub files: u64,
    pub bytes: u64,
    /// BLAKE3 over the service's files (see `tree_copy::digest`). None
    /// while it is being computed: the snapshot `restore` takes of the data
    /// it replaces is checksummed once the stack runs again (its files
    /// are fingerprinted from the start; see `checked.json`).
    pub digest: Option<String>,
    /// Whether the copy shared the data's blocks (a reflink).
    pub cloned: bool,
    /// The secrets berth generated for the service when the data was
    /// made (its data holds the password): a restore puts them back,
    /// even after a `reset` generated new ones. As `state.json` keeps them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub secrets: std::collections::BTreeMap<String, String>,
}

impl Manifest {
    pub fn bytes(&self) -> u64 {
        self.services.iter().map(|s| s.bytes).sum()
    }
}

/// The snapshots of the stack whose state is `dir`.
pub struct Store {
    pub root: PathBuf,
}

impl Store {
    pub fn of(dir: &StateDir) -> Store {
        let name = dir
            .root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "stack".into());
        Store {
            root: dir.root.with_file_name(format!("{name}.snapshots")),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    pub fn exists(&self, name: &str) -> bool {
        self.path(name).join(MANIFEST).is_file()
    }

    /// A directory to write snapshot `name` into, after clearing what
    /// earlier saves cut short left ([`Store::recover`]).
    pub fn begin(&self, name: &str) -> Result<PathBuf> {
        fsutil::create_dir(&self.root, 0o700)?;
        self.claim()?;
        self.recover()?;
        fsutil::remove_leftovers(&self.root)?;
        let partial = self
            .root
            .join(format!("{PARTIAL}{name}-{}", std::process::id()));
        fsutil::create_dir(&partial, 0o700)?;
        Ok(partial)
    }

    /// Undo the saves cut short: the data a stopped `reset` moved out of
    /// the stack goes back where it was, and the rest of what they wrote is
    /// removed. Returns what could not go back (its place is taken or
    /// gone), kept where it is, a sentence each for the user. A save in
    /// progress, whose process lives, keeps its directory.
    pub fn recover(&self) -> Result<Vec<String>> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Ok(Vec::new());
        };
        let mut kept = Vec::new();
        for entry in entries.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = file_name.strip_prefix(PARTIAL) else {
                continue;
            };
            let writer = rest
                .rsplit('-')
                .next()
                .and_then(|pid| pid.parse::<i32>().ok());
            let alive = writer.is_some_and(|pid| {
                pid != std::process::id() as i32
                    && crate::process::ProcessRecord::of(pid).is_some_and(|r| r.is_alive())
            });
            if !alive {
                kept.extend(self.abandon(&entry.path())?);
            }
        }
        Ok(kept)
    }

    /// Before moving `service`'s data directory `from` into `partial`:
    /// record it, so the move can be undone if the save is cut short.
    pub fn record_move(partial: &Path, service: &str, from: &Path) -> Result<()> {
        let mut moves = read_moves(partial).unwrap_or_default();
        moves.insert(service.to_string(), from.to_path_buf());
        write_moves(partial, &moves)
    }

    /// Write the manifest into `partial` and put the snapshot in place.
    pub fn commit(&self, partial: &Path, manifest: &Manifest) -> Result<()> {
        let json = serde_json::to_vec_pretty(manifest).map_err(|e| Error::Internal {
            message: format!("the manifest did not serialize: {e}"),
        })?;
        fsutil::write_atomic(&partial.join(MANIFEST), &json, 0o600)?;
        let target = self.path(&manifest.name);
        std::fs::rename(partial, &target).map_err(|e| {
            Error::io(
                format!("could not put snapshot `{}` in place", manifest.name),
                e,
            )
        })?;
        fsutil::sync_dir(&self.root)
            .map_err(|e| Error::io(format!("could not sync `{}`", self.root.display()), e))
    }

    /// The fingerprints (`tree_copy::fingerprint`) each service's data in
    /// snapshot `name` had when its checksum last held: a service whose
    /// data still has it need not be read again.
    pub fn checked(&self, name: &str) -> BTreeMap<String, String> {
        std::fs::read(self.path(name).join(CHECKED))
            .ok()
            .and_then(|text| serde_json::from_slice(&text).ok())
            .unwrap_or_default()
    }

    /// Record the fingerprints of the data in `dir` (a snapshot, or one
    /// being written) whose checksums hold now.
    pub fn mark_checked(dir: &Path, fingerprints: &BTreeMap<String, String>) -> Result<()> {
        let json = serde_json::to_vec_pretty(fingerprints).map_err(|e| Error::Internal {
            message: format!("the fingerprints did not serialize: {e}"),
        })?;
        fsutil::write_atomic(&dir.join(CHECKED), &json, 0o600)
    }

    /// Rewrite the manifest of snapshot `manifest.name` (its checksums
    /// filled in).
    pub fn update(&self, manifest: &Manifest) -> Result<()> {
        let json = serde_json::to_vec_pretty(manifest).map_err(|e| Error::Internal {
            message: format!("the manifest did not serialize: {e}"),
        })?;
        fsutil::write_atomic(&self.path(&manifest.name).join(MANIFEST), &json, 0o600)
    }

    /// Drop what a save cut short wrote, after putting the data it moved
    /// out of the stack back. Where some cannot go back, the partial
    /// snapshot is kept whole and the returned sentences say where.
    pub fn abandon(&self, partial: &Path) -> Result<Vec<String>> {
        let Some(moves) = read_moves(partial) else {
            return Ok(vec![format!(
                "`{}` is what a stopped `berth reset` was moving data into, and its record of what it moved (`{MOVED}`) does not read: berth keeps it; see what it holds, move the data back yourself, then delete it",
                partial.display()
            )]);
        };
        let mut kept = Vec::new();
        for (service, from) in moves {
            let moved = partial.join(&service);
            if !moved.exists() {
                // Cut short before the move itself.
                continue;
            }
            let place_free = !from.exists() && from.parent().is_some_and(Path::is_dir);
            if !place_free {
                kept.push(format!(
                    "service `{service}`'s data, which a stopped `berth reset` was moving into a snapshot, is kept in `{}`: its place `{}` {}; move it back yourself (the service stopped) or delete it",
                    moved.display(),
                    from.display(),
                    if from.exists() { "holds other data now" } else { "is gone" }
                ));
                continue;
            }
            crate::kill_point::reached(|| format!("{service}:put back"));
            std::fs::rename(&moved, &from).context(|| {
                format!(
                    "could not put service `{service}`'s data back from `{}` to `{}`",
                    moved.display(),
                    from.display()
                )
            })?;
            for dir in [from.parent(), Some(partial)].into_iter().flatten() {
                fsutil::sync_dir(dir).context(|| format!("could not sync `{}`", dir.display()))?;
            }
        }
        if kept.is_empty() {
            fsutil::remove_dir_atomically(partial)?;
        }
        Ok(kept)
    }

    /// Strike `service` from the moves recorded in `partial`: it was
    /// copied after all.
    pub fn forget_move(partial: &Path, service: &str) -> Result<()> {
        let mut moves = read_moves(partial).unwrap_or_default();
        moves.remove(service);
        write_moves(partial, &moves)
    }

    /// Forget the record of moves once the snapshot holding them is in
    /// place (it is only needed to undo them).
    pub fn forget_moves(&self, name: &str) {
        let _ = std::fs::remove_file(self.path(name).join(MOVED));
    }

    pub fn manifest(&self, name: &str) -> Result<Manifest> {
        check_name(name)?;
        let path = self.path(name).join(MANIFEST);
        let text = std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                self.missing(name)
            } else {
                Error::io(format!("could not read `{}`", path.display()), e)
            }
        })?;
        let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| Error::Snapshot {
            message: format!("snapshot `{name}` is damaged: its manifest does not read ({e})"),
            hint: Some(format!("remove it with `berth snapshot rm {name}`")),
        })?;
        if manifest.format != FORMAT {
            return Err(Error::Snapshot {
                message: format!(
                    "snapshot `{name}` is in format {}, which this berth does not read (it reads {FORMAT})",
                    manifest.format
                ),
                hint: Some("restore it with the berth release that took it".into()),
            });
        }
        Ok(manifest)
    }

    fn missing(&self, name: &str) -> Error {
        let names: Vec<String> = self
            .list()
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.name)
            .collect();
        let hint =
            crate::suggest::did_you_mean(name, names.iter().map(String::as_str)).or_else(|| {
                (!names.is_empty())
                    .then(|| format!("the snapshots are: {}", crate::suggest::list(&names)))
            });
        Error::Snapshot {
            message: format!("there is no snapshot `{name}`"),
            hint: hint.or_else(|| Some("`berth snapshot save NAME` takes one".into())),
        }
    }

    /// Every whole snapshot, oldest first.
    pub fn list(&self) -> Result<Vec<Manifest>> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.path().join(MANIFEST).is_file() {
                continue;
            }
            if let Ok(m) = self.manifest(&name) {
                out.push(m);
            }
        }
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.name.cmp(&b.name)));
        Ok(out)
    }

    pub fn remove(&self, name: &str) -> Result<()> {
        check_name(name)?;
        let path = self.path(name);
        fsutil::refuse_link(&self.root)?;
        fsutil::refuse_link(&path)?;
        if !path.join(MANIFEST).is_file() {
            return Err(self.missing(name));
        }
        fsutil::remove_dir_atomically(&path)
    }

    /// Refuse a store that is not berth's (see [`Store::claim`]) before a
    /// command stops anything to write a snapshot into it. A store not
    /// made yet is berth's to make.
    pub fn check_ours(&self) -> Result<()> {
        fsutil::refuse_link(&self.root)?;
        match self.root.try_exists() {
            Ok(true) => self.claim(),
            _ => Ok(()),
        }
    }

    /// Check that the store is berth's before a snapshot is written into
    /// it: it has the marker, or holds nothing but snapshots and what
    /// saves left (a store from before the marker); the marker is then
    /// written.
    fn claim(&self) -> Result<()> {
        fsutil::refuse_link(&self.root)?;
        let marker = self.root.join(MARKER);
        fsutil::refuse_link(&marker)?;
        if marker.is_file() {
            return Ok(());
        }
        let theirs: Vec<String> = std::fs::read_dir(&self.root)
            .map(|d| d.flatten().collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                !name.starts_with('.') && !e.path().join(MANIFEST).is_file()
            })
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        if !theirs.is_empty() {
            return Err(Error::usage(
                format!(
                    "`{}` is where berth keeps this stack's snapshots, but it holds {}, which berth did not make",
                    self.root.display(),
                    crate::suggest::list(&theirs)
                ),
                Some(format!(
                    "move what berth did not make out of `{}` (or choose another `--state-dir`: the snapshots go beside it)",
                    self.root.display()
                )),
            ));
        }
        let text =
            "berth keeps a stack's snapshots here. `berth snapshot rm` deletes only a snapshot.\n";
        fsutil::write_atomic(&marker, text.as_bytes(), 0o644)
    }

    /// Remove the oldest automatic snapshots beyond `keep`. Returns their
    /// names.
    pub fn prune_automatic(&self, keep: u32) -> Result<Vec<String>> {
        let automatic: Vec<Manifest> = self
            .list()?
            .into_iter()
            .filter(|m| m.automatic.is_some())
            .collect();
        let excess = automatic.len().saturating_sub(keep as usize);
        let mut removed = Vec::new();
        for m in automatic.into_iter().take(excess) {
            self.remove(&m.name)?;
            removed.push(m.name);
        }
        Ok(removed)
    }
}

/// The moves recorded in `partial` (none if it records none); `None` when
/// the record is there but does not read.
fn read_moves(partial: &Path) -> Option<Moves> {
    match std::fs::read(partial.join(MOVED)) {
        Ok(text) => serde_json::from_slice(&text).ok(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Moves::new()),
        Err(_) => None,
    }
}

fn write_moves(partial: &Path, moves: &Moves) -> Result<()> {
    let json = serde_json::to_vec_pretty(moves).map_err(|e| Error::Internal {
        message: format!("the record of moved data did not serialize: {e}"),
    })?;
    fsutil::write_atomic(&partial.join(MOVED), &json, 0o600)
}

/// Snapshot names: lower-case letters, digits, `.`, `-` and `_`, up to 64,
/// starting with a letter or digit (they name directories).
pub fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    if valid {
        Ok(())
    } else {
        Err(Error::usage(
            format!("`{name}` is not a valid snapshot name"),
            Some("use up to 64 lower-case letters, digits, `.`, `-` and `_`, starting with a letter or digit".into()),
        ))
    }
}

/// A name for a snapshot taken now: `20261201-183012` (UTC; with
/// `-reason`).
pub fn name_for_now(reason: Option<&str>) -> String {
    let stamp = jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S").to_string();
    match reason {
        Some(r) => format!("{stamp}-{r}"),
        None => stamp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["before-migration", "v1.2", "20261201-183012", "a_b"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Big", "../x", ".hidden", "a/b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name(&name_for_now(Some("reset"))).is_ok());
    }

    /// A store beside a state directory in a temporary project, and a
    /// partial snapshot of a dead writer (pid 0 is never a process's).
    fn with_partial() -> (tempfile::TempDir, Store, PathBuf) {
        let project = tempfile::tempdir().unwrap();
        let store = Store::of(&StateDir::new(project.path().join("stack")));
        let partial = store.root.join(format!("{PARTIAL}reset-0"));
        fsutil::create_dir(&partial, 0o700).unwrap();
        (project, store, partial)
    }

    #[test]
    fn the_store_is_berths_and_rm_deletes_only_a_snapshot() {
        let project = tempfile::tempdir().unwrap();
        let store = Store::of(&StateDir::new(project.path().join("stack")));
        // A store from before the marker: only snapshots in it.
        fsutil::create_dir(&store.root.join("old"), 0o700).unwrap();
        std::fs::write(store.root.join("old").join(MANIFEST), "{}").unwrap();
        store.check_ours().unwrap();
        assert!(store.root.join(MARKER).is_file(), "adopted");
        // Not a snapshot, or not a name: refused, left where it is.
        std::fs::create_dir(store.root.join("notes")).unwrap();
        for name in ["notes", "../stack", "."] {
            assert!(store.remove(name).is_err(), "{name}");
        }
        assert!(store.root.join("notes").is_dir());
        store.remove("old").unwrap();
        assert!(!store.root.join("old").exists());

        // Someone's directory of that name.
        let other = Store::of(&StateDir::new(project.path().join("other")));
        std::fs::create_dir(&other.root).unwrap();
        std::fs::write(other.root.join("plan.txt"), "mine").unwrap();
        assert!(other.check_ours().is_err());
        assert!(other.begin("x").is_err());
        assert!(!other.root.join(MARKER).exists());
    }

    #[test]
    fn moved_data_goes_back_and_the_partial_goes() {
        let (project, store, partial) = with_partial();
        let from = project.path().join("stack/services/db/data");
        std::fs::create_dir_all(from.parent().unwrap()).unwrap();
        Store::record_move(&partial, "db", &from).unwrap();
        std::fs::create_dir(partial.join("db")).unwrap();
        std::fs::write(partial.join("db/PG_VERSION"), "15\n").unwrap();
        assert!(store.recover().unwrap().is_empty());
        assert_eq!(
            std::fs::read_to_string(from.join("PG_VERSION")).unwrap(),
            "15\n"
        );
        assert!(!partial.exists());
    }

    #[test]
    fn a_move_recorded_but_not_made_leaves_the_data_alone() {
        let (project, store, partial) = with_partial();
        let from = project.path().join("stack/services/db/data");
        std::fs::create_dir_all(&from).unwrap();
        Store::record_move(&partial, "db", &from).unwrap();
        assert!(store.recover().unwrap().is_empty());
        assert!(from.is_dir());
        assert!(!partial.exists());
    }

    #[test]
    fn moved_data_whose_place_is_taken_is_kept_and_said() {
        let (project, store, partial) = with_partial();
        let from = project.path().join("stack/services/db/data");
        std::fs::create_dir_all(&from).unwrap();
        Store::record_move(&partial, "db", &from).unwrap();
        std::fs::create_dir(partial.join("db")).unwrap();
        let kept = store.recover().unwrap();
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert!(kept[0].contains("holds other data now"), "{}", kept[0]);
        assert!(partial.join("db").is_dir(), "the moved data is kept");
        // A later save leaves it alone too.
        let next = store.begin("next").unwrap();
        assert!(partial.join("db").is_dir());
        store.abandon(&next).unwrap();
    }

    #[test]
    fn an_unreadable_record_of_moves_keeps_the_partial() {
        let (_project, store, partial) = with_partial();
        std::fs::create_dir(partial.join("db")).unwrap();
        std::fs::write(partial.join(MOVED), "{ not json").unwrap();
        let kept = store.recover().unwrap();
        assert!(kept[0].contains("does not read"), "{kept:?}");
        assert!(partial.join("db").is_dir());
    }
}
