//! The stack's local state: `.berth/<stack>/` beside the stack file (or
//! wherever `--state-dir` says).
//!
//! ```text
//! .berth/<stack>/          0711: service users may pass through, not list
//!   state.json             0600: chosen ports, generated passwords, what was provisioned
//!   secrets.json           0600: a copy of the generated passwords, which the data
//!                          was made with (`state.json` may be emptied or replaced)
//!   lock, lock.owner       the stack lock and who holds it
//!   services/<service>/    0700, owned by the user the service runs as: its data
//!                          (`<service>.gN/` for a later generation, after a restore)
//!   run/<service>.pid      the native runtime's record of a running server
//!   logs/<service>.log     server output
//! ```
//!
//! Everything berth makes here is generated, and `berth reset` deletes it;
//! nothing else. The directory is berth's own: [`MARKER`] says so, and
//! berth makes it only in a new or empty directory (or one whose every
//! entry is one berth makes, from before the marker). A file someone else
//! put here stays, and so does the directory holding it. No symbolic link
//! inside is followed, except the two berth makes itself and checks
//! against where they must point: an in-memory state directory's, and
//! `services/` to the servers' home.
//!
//! When berth runs as root and the servers' unprivileged user cannot enter
//! the project (a project under `/root`, the common case in dev
//! containers), `services/` is a link to a directory of the stack's own
//! under [`SERVERS_HOME`], and servers are given that real path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::fsutil;

/// Where in-memory state directories live (a tmpfs on Linux).
const MEMORY_ROOT: &str = "/dev/shm";

/// Where the servers' data of stacks whose project the servers' user
/// cannot enter is kept, a directory per stack (root only).
pub const SERVERS_HOME: &str = "/var/lib/berth/stacks";

/// The file that marks a directory as a berth state directory.
pub const MARKER: &str = "berth-state";

/// Whether `name`, an entry of a state directory, is one berth makes
/// there: only these does `reset` delete.
pub fn is_berths(name: &str) -> bool {
    const NAMES: [&str; 11] = [
        MARKER,
        "init-pending",
        "state.json",
        "state.json.damaged",
        "secrets.json",
        "lock",
        "lock.owner",
        "services",
        "run",
        "logs",
        "sockets",
    ];
    // Written by rename (`fsutil::write_atomic`, the lock's owner), scratch
    // of backups and uploads, and what a removal cut short left.
    const PREFIXES: [&str; 8] = [
        ".state.json.tmp-",
        ".secrets.json.tmp-",
        ".berth-state.tmp-",
        "lock.owner.tmp-",
        ".backup-",
        ".restore-",
        ".upload-",
        ".files-",
    ];
    NAMES.contains(&name)
        || PREFIXES.iter().any(|p| name.starts_with(p))
        || NAMES
            .iter()
            .any(|n| name.starts_with(&format!(".{n}.removing-")))
}

#[derive(Debug, Clone)]
pub struct StateDir {
    pub root: PathBuf,
    /// Keep `services/` here, linked from the state directory (see the
    /// module's documentation); why, for the note `up` prints.
    servers_home: Option<(PathBuf, String)>,
    /// The project directory and stack name of `.berth/<stack>`, which
    /// say where its own links may point. None for a `--state-dir`.
    stack: Option<(PathBuf, String)>,
}

impl StateDir {
    pub fn new(root: PathBuf) -> StateDir {
        StateDir {
            root,
            servers_home: None,
            stack: None,
        }
    }

    /// A state directory the user named (`--state-dir`): refused when it
    /// is the project directory `project` or holds it, whose files
    /// `reset` would otherwise be asked to sort from berth's.
    pub fn chosen(root: &Path, project: &Path) -> Result<StateDir> {
        let absolute = |p: &Path| {
            let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            std::fs::canonicalize(&p).unwrap_or(p)
        };
        let (dir, project) = (absolute(root), absolute(project));
        if project.starts_with(&dir) {
            let what = if dir == project {
                "is the project directory"
            } else {
                "holds the project directory"
            };
            return Err(Error::usage(
                format!(
                    "the state directory `{}` {what} `{}`; berth keeps data there and `berth reset` deletes it",
                    root.display(),
                    project.display()
                ),
                Some("name a directory of berth's own, like `--state-dir .berth/dev` (berth makes it), or leave `--state-dir` out".into()),
            ));
        }
        Ok(StateDir::new(dir))
    }

    /// Keep the servers' data in a directory of this stack's own under
    /// [`SERVERS_HOME`] (`why` says what forced it). An existing real
    /// `services/` is kept where it is.
    pub fn with_servers_home(mut self, stack_root: &Path, name: &str, why: String) -> StateDir {
        self.servers_home = Some((servers_home(stack_root, name), why));
        self
    }

    /// Where `services/` may link to: the servers' home of this stack.
    fn own_services_link(&self) -> Option<PathBuf> {
        let (project, name) = self.stack.as_ref()?;
        Some(servers_home(project, name).join("services"))
    }

    /// Where the state directory itself may link to: its directory in
    /// memory.
    fn own_memory_link(&self) -> Option<PathBuf> {
        let (project, name) = self.stack.as_ref()?;
        memory_dir(project, name)
    }

    /// Where `services/` really is, and why, when it is a link elsewhere.
    pub fn servers_elsewhere(&self) -> Option<(PathBuf, &str)> {
        let link = self.root.join("services");
        if !link.is_symlink() {
            return None;
        }
        let real = std::fs::canonicalize(&link).ok()?;
        let why = self.servers_home.as_ref().map_or("", |(_, w)| w.as_str());
        Some((real, why))
    }

    /// The directory holding each service's data, as its server is given
    /// it: through no link it may not be able to follow (the servers' home,
    /// or an in-memory state directory reached from a project the servers'
    /// user cannot enter).
    pub fn services_dir(&self) -> PathBuf {
        let link = self.root.join("services");
        if link.is_symlink() || self.root.is_symlink() {
            if let Ok(real) = std::fs::canonicalize(&link) {
                return real;
            }
        }
        link
    }

    /// `.berth/<stack>` beside the stack file.
    pub fn for_stack(stack_root: &Path, name: &str) -> StateDir {
        StateDir {
            stack: Some((stack_root.to_path_buf(), name.to_string())),
            ..StateDir::new(stack_root.join(".berth").join(name))
        }
    }

    /// `.berth/<stack>` beside the stack file as a symbolic link to a
    /// directory in memory (`/dev/shm`), for stacks whose data is
    /// disposable (the testing library's): on a slow disk, creating a
    /// database from a template is ten times faster in memory. A reboot
    /// empties it; the link is then re-pointed at a fresh directory and the
    /// next `up` initializes again. An existing real directory is kept.
    pub fn in_memory(stack_root: &Path, name: &str) -> Result<StateDir> {
        let dir = StateDir::for_stack(stack_root, name);
        let link = &dir.root;
        if link.is_dir() && !link.is_symlink() {
            return Ok(dir);
        }
        let Some(target) = memory_dir(stack_root, name) else {
            return Ok(dir);
        };
        if link.is_symlink() && std::fs::read_link(link).ok().as_ref() != Some(&target) {
            // Not the link berth makes: followed, it would put the stack's
            // data (and a later `reset`) wherever it points.
            fsutil::refuse_link(link)?;
        }
        let owner_dir = target.parent().unwrap_or(Path::new(MEMORY_ROOT));
        // Traversable by the unprivileged user servers run as under root.
        fsutil::create_dir(owner_dir, 0o711)?;
        fsutil::create_dir(&target, 0o711)?;
        if !link.is_symlink() {
            if let Some(parent) = link.parent() {
                make_parent(parent)?;
            }
            std::os::unix::fs::symlink(&target, link).context(|| {
                format!(
                    "could not link `{}` to `{}`",
                    link.display(),
                    target.display()
                )
            })?;
        }
        Ok(dir)
    }

    /// Delete what berth made of the state directory. For an in-memory
    /// one, the directory the link points to goes too; a link to
    /// anywhere else is only unlinked, and so is a `services/` that does
    /// not point at the servers' home. When the directory holds only
    /// berth's, it goes whole and crash-safe: renamed aside before it is
    /// deleted, so a `reset` cut short never leaves half a data directory
    /// for the next `up` to start. Otherwise berth's entries go one by
    /// one, the data first, and the directory stays with what it holds
    /// that berth did not make: returned, to be told.
    pub fn remove(&self) -> Result<Vec<String>> {
        let Ok(meta) = std::fs::symlink_metadata(&self.root) else {
            return Ok(Vec::new());
        };
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&self.root).ok();
            let kept = match (target, self.own_memory_link()) {
                (Some(target), Some(own)) if target == own => self.remove_in(&target)?,
                _ => Vec::new(),
            };
            if kept.is_empty() {
                fsutil::remove_dir_atomically(&self.root)?;
            }
            return Ok(kept);
        }
        self.remove_in(&self.root)
    }

    /// [`StateDir::remove`] of the real directory `dir`.
    fn remove_in(&self, dir: &Path) -> Result<Vec<String>> {
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        self.claim(dir)?;
        let services = dir.join("services");
        if let (Ok(target), Some(own)) = (std::fs::read_link(&services), self.own_services_link()) {
            if target == own {
                fsutil::remove_dir_atomically(&target)?;
                if let Some(home) = target.parent() {
                    let _ = std::fs::remove_dir(home);
                }
            }
        }
        let (mut ours, theirs): (Vec<String>, Vec<String>) =
            entries(dir).into_iter().partition(|name| is_berths(name));
        if theirs.is_empty() {
            fsutil::remove_dir_atomically(dir)?;
            return Ok(Vec::new());
        }
        // The data first. The marker stays: the directory is still
        // berth's, with someone's files in it.
        ours.retain(|name| name != MARKER);
        ours.sort_by_key(|name| name != "services");
        for name in ours {
            let path = dir.join(&name);
            if path.is_dir() && !path.is_symlink() {
                fsutil::remove_dir_atomically(&path)?;
            } else {
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(Error::io(
                            format!("could not remove `{}`", path.display()),
                            e,
                        ))
                    }
                    _ => {}
                }
            }
        }
        Ok(theirs)
    }

    /// Check that the existing directory `dir` is berth's before anything
    /// is made or deleted in it: it has the marker, or is empty, or every
    /// entry is one berth makes (a state directory from before the
    /// marker); the marker is then written.
    fn claim(&self, dir: &Path) -> Result<()> {
        let marker = dir.join(MARKER);
        fsutil::refuse_link(&marker)?;
        if marker.is_file() {
            return Ok(());
        }
        let theirs: Vec<String> = entries(dir).into_iter().filter(|n| !is_berths(n)).collect();
        if !theirs.is_empty() {
            let shown: Vec<String> = theirs.iter().take(3).map(|n| format!("`{n}`")).collect();
            let more = match theirs.len() {
                n if n > 3 => format!(" and {} more", n - 3),
                _ => String::new(),
            };
            return Err(Error::usage(
                format!(
                    "`{}` is not a state directory of berth's: it holds {}{more}, which berth did not make",
                    self.root.display(),
                    shown.join(", ")
                ),
                Some(match self.stack {
                    Some(_) => format!("move what berth did not make out of `{}`", self.root.display()),
                    None => "give `--state-dir` a new or empty directory (berth makes it), or leave it out for `.berth/<stack>` beside the stack file".into(),
                }),
            ));
        }
        let text = format!(
            "berth keeps a stack's state here{}. `berth reset` deletes what berth made in this directory, and nothing else.\n",
            self.stack
                .as_ref()
                .map(|(_, name)| format!(" (stack `{name}`)"))
                .unwrap_or_default()
        );
        fsutil::write_atomic(&marker, text.as_bytes(), 0o644)
    }

    pub fn exists(&self) -> bool {
        self.root.is_dir()
    }

    pub fn ensure(&self) -> Result<()> {
        if let Some(parent) = self.root.parent() {
            if self.stack.is_some() {
                // `.berth/` is berth's too: a link there would move the
                // stack's state wherever it points.
                fsutil::refuse_link(parent)?;
            }
            make_parent(parent)?;
            // What a removal cut short left beside the state directory.
            let name = self.root.file_name().and_then(|n| n.to_str()).unwrap_or("");
            fsutil::remove_leftovers_of(parent, name)?;
        }
        if self.root.is_symlink() {
            match (std::fs::read_link(&self.root).ok(), self.own_memory_link()) {
                // An in-memory state directory whose memory was emptied:
                // its link stays, and its directory is made again.
                (Some(target), Some(own)) if target == own => fsutil::create_dir(&target, 0o711)?,
                _ => fsutil::refuse_link(&self.root)?,
            }
        } else {
            if self.root.is_dir() {
                // Before its mode is set: a directory of someone else's
                // is left as it is.
                self.claim(&self.root)?;
            }
            fsutil::create_dir(&self.root, 0o711)?;
        }
        self.claim(&self.root)?;
        self.ensure_services()?;
        for sub in ["run", "logs"] {
            fsutil::create_dir(&self.root.join(sub), 0o700)?;
        }
        Ok(())
    }

    /// `services/`: here, or a link to the servers' home.
    fn ensure_services(&self) -> Result<()> {
        let link = self.root.join("services");
        if link.is_symlink() {
            // Only the link berth makes is followed.
            if std::fs::read_link(&link).ok() != self.own_services_link() {
                fsutil::refuse_link(&link)?;
            }
        }
        let home = match &self.servers_home {
            Some((home, _)) if !link.is_dir() || link.is_symlink() => home,
            // A real directory stays where it is, data and all.
            _ => return fsutil::create_dir(&link, 0o711),
        };
        // Every directory on the way must let the servers' user through.
        let mut at = PathBuf::new();
        for part in home.join("services").components() {
            at.push(part);
            if !at.is_dir() {
                fsutil::create_dir(&at, 0o711)?;
            }
        }
        if !link.is_symlink() {
            std::os::unix::fs::symlink(home.join("services"), &link).context(|| {
                format!(
                    "could not link `{}` to `{}`",
                    link.display(),
                    home.display()
                )
            })?;
        }
        Ok(())
    }

    pub fn state_file(&self) -> PathBuf {
        self.root.join("state.json")
    }
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("lock")
    }
    pub fn service_dir(&self, service: &str) -> PathBuf {
        self.services_dir().join(service)
    }
    /// Where a service's server makes its Unix socket, for stacks whose
    /// state is in memory (the testing library's): a tmpfs always takes a
    /// socket and its paths are short, while a project's own directory may
    /// be on a file system that takes none (a shared folder, a network
    /// mount) or too deep for a socket path's 107 bytes. `None` elsewhere:
    /// the server listens on TCP only.
    pub fn socket_dir(&self, service: &str) -> Option<PathBuf> {
        let real = std::fs::canonicalize(&self.root).ok()?;
        if !real.starts_with(MEMORY_ROOT) {
            return None;
        }
        let dir = real.join("sockets").join(service);
        // The longest name a server puts there: `.s.PGSQL.65535.lock`.
        (dir.as_os_str().len() + "/.s.PGSQL.65535.lock".len() <= 107).then_some(dir)
    }

    pub fn run_file(&self, service: &str) -> PathBuf {
        self.root.join("run").join(format!("{service}.pid"))
    }
    pub fn log_file(&self, service: &str) -> PathBuf {
        self.root.join("logs").join(format!("{service}.log"))
    }

    pub fn load(&self) -> Result<State> {
        match self.load_or_damage()? {
            (mut state, None) => {
                self.recover_secrets(&mut state);
                Ok(state)
            }
            (_, Some(damage)) => Err(Error::Preflight {
                service: None,
                message: damage,
                hint: Some(
                    "`berth down` still stops the stack's servers, and `berth up` sets the file aside and starts them again on their data, with the passwords berth keeps a copy of (`secrets.json`)"
                        .into(),
                ),
            }),
        }
    }

    /// The state, or an empty one and what is wrong with the file when it
    /// is damaged: for stopping, which needs nothing of it (a native
    /// server is found by its run record, a container by its labels).
    pub fn load_or_damage(&self) -> Result<(State, Option<String>)> {
        let path = self.state_file();
        fsutil::refuse_link(&path)?;
        match std::fs::read(&path) {
            Ok(bytes) => Ok(match serde_json::from_slice(&bytes) {
                Ok(state) => (state, None),
                Err(e) => (
                    State::default(),
                    Some(format!(
                        "the state file `{}` is damaged ({e}): the ports berth chose and the passwords it generated for the stack are in it",
                        path.display()
                    )),
                ),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((State::default(), None)),
            Err(e) => Err(Error::io(format!("could not read `{}`", path.display()), e)),
        }
    }

    /// For `up`: the state, and when its file is damaged, that file set
    /// aside (`state.json.damaged`, nothing lost) and a new one begun,
    /// with the generated passwords from their copy; what happened, to be
    /// told.
    pub fn load_setting_damage_aside(&self) -> Result<(State, Option<String>)> {
        let (mut state, damage) = self.load_or_damage()?;
        let told = match damage {
            None => None,
            Some(damage) => {
                let aside = self.root.join("state.json.damaged");
                std::fs::rename(self.state_file(), &aside)
                    .context(|| format!("could not set `{}` aside", self.state_file().display()))?;
                Some(format!(
                    "{damage}; it is set aside as `{}`, and the passwords come from berth's copy (ports are chosen again)",
                    aside.display()
                ))
            }
        };
        self.recover_secrets(&mut state);
        Ok((state, told))
    }

    /// The copy of the generated passwords `save` keeps beside the state:
    /// the state file may be replaced or emptied (by hand, by a tool),
    /// while the servers' data keeps the passwords it was made with.
    fn secrets_file(&self) -> PathBuf {
        self.root.join("secrets.json")
    }

    /// Put back from the copy each generated password the state lacks.
    fn recover_secrets(&self, state: &mut State) {
        let path = self.secrets_file();
        if fsutil::refuse_link(&path).is_err() {
            return;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            return;
        };
        let Ok(kept) = serde_json::from_slice::<BTreeMap<String, String>>(&bytes) else {
            return;
        };
        for (key, value) in kept {
            state.passwords.entry(key).or_insert(value);
        }
    }

    pub fn save(&self, state: &State) -> Result<()> {
        let json = serde_json::to_vec_pretty(state).map_err(|e| Error::Internal {
            message: format!("the state did not serialize: {e}"),
        })?;
        fsutil::write_atomic(&self.state_file(), &json, 0o600)?;
        if !state.passwords.is_empty() {
            let secrets =
                serde_json::to_vec_pretty(&state.passwords).map_err(|e| Error::Internal {
                    message: format!("the passwords did not serialize: {e}"),
                })?;
            if std::fs::read(self.secrets_file()).ok().as_deref() != Some(secrets.as_slice()) {
                fsutil::write_atomic(&self.secrets_file(), &secrets, 0o600)?;
            }
        }
        Ok(())
    }
}

/// The servers' home of the stack `name` of the project `stack_root`.
fn servers_home(stack_root: &Path, name: &str) -> PathBuf {
    // A stable digest of the project's path: two projects may use one
    // stack name, and every berth build must find the same directory.
    let digest = crate::digest::sha256_hex(stack_root.as_os_str().as_encoded_bytes());
    Path::new(SERVERS_HOME).join(format!("{name}-{}", &digest[..16]))
}

/// The in-memory directory of the stack `name` of the project
/// `stack_root`, where the machine has memory to put one in.
fn memory_dir(stack_root: &Path, name: &str) -> Option<PathBuf> {
    let memory = Path::new(MEMORY_ROOT);
    if !memory.is_dir() {
        return None;
    }
    // A stable digest: the name is on disk and must be the same for
    // every berth build that looks for it.
    let digest = crate::digest::sha256_hex(stack_root.as_os_str().as_encoded_bytes());
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    Some(
        memory
            .join(format!("berth-{uid}"))
            .join(format!("{name}-{}", &digest[..16])),
    )
}

/// Make the directory a state directory goes in when it is missing,
/// traversable by the servers' user whatever the umask.
fn make_parent(parent: &Path) -> Result<()> {
    if parent.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    for dir in parent.ancestors() {
        if dir.as_os_str().is_empty() || dir.is_dir() {
            break;
        }
        missing.push(dir);
    }
    for dir in missing.into_iter().rev() {
        fsutil::create_dir(dir, 0o711)?;
    }
    Ok(())
}

/// The names in `dir` (none when it cannot be read).
fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// What berth chose or generated for a stack, kept stable across restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Ports chosen for `port = "auto"`, by service.
    #[serde(default)]
    pub ports: BTreeMap<String, u16>,
    /// Generated secrets: a service's password under its name, its other
    /// secrets as `service.name` (see `secret::state_key`).
    #[serde(default)]
    pub passwords: BTreeMap<String, String>,
    /// A fingerprint of the setup last provisioned, by service, so that an
    /// `up` on a running stack skips provisioning when nothing changed.
    #[serde(default)]
    pub provisioned: BTreeMap<String, String>,
    /// How long the service took to become ready at its last start.
    #[serde(default)]
    pub ready_ms: BTreeMap<String, u64>,
    /// Which generation of its data a service runs on (0 when absent). A
    /// restore builds the next generation beside the current one, and
    /// saving the state with the new numbers is the moment it takes
    /// effect: a restore cut short before leaves the old data, after it
    /// the new, never a mix. Other generations are leftovers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub generations: BTreeMap<String, u32>,
    /// The snapshot the data was last restored from (`name@created`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_from: Option<String>,
    /// The env file berth wrote last: `reset` deletes it only while it is
    /// what berth wrote, and `up` replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_file: Option<WrittenFile>,
}

/// A file berth wrote outside its state directory, and what it wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WrittenFile {
    pub path: PathBuf,
    /// SHA-256 of the contents, hex.
    pub sha256: String,
}
