//! The stack's local state: `.berth/<stack>/` beside the stack file (or
//! wherever `--state-dir` says).
//!
//! ```text
//! .berth/<stack>/          0711: service users may pass through, not list
//!   state.json             0600: chosen ports, generated passwords, what was provisioned
//!   lock, lock.owner       the stack lock and who holds it
//!   services/<service>/    0700, owned by the user the service runs as: its data
//!                          (`<service>.gN/` for a later generation, after a restore)
//!   run/<service>.pid      the native runtime's record of a running server
//!   logs/<service>.log     server output
//! ```
//!
//! Everything here is generated: `berth reset` deletes it all.
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

#[derive(Debug, Clone)]
pub struct StateDir {
    pub root: PathBuf,
    /// Keep `services/` here, linked from the state directory (see the
    /// module's documentation); why, for the note `up` prints.
    servers_home: Option<(PathBuf, String)>,
}

impl StateDir {
    pub fn new(root: PathBuf) -> StateDir {
        StateDir {
            root,
            servers_home: None,
        }
    }

    /// Keep the servers' data in a directory of this stack's own under
    /// [`SERVERS_HOME`] (`why` says what forced it). An existing real
    /// `services/` is kept where it is.
    pub fn with_servers_home(mut self, stack_root: &Path, name: &str, why: String) -> StateDir {
        // A stable digest of the project's path: two projects may use one
        // stack name, and every berth build must find the same directory.
        let digest = crate::digest::sha256_hex(stack_root.as_os_str().as_encoded_bytes());
        let home = Path::new(SERVERS_HOME).join(format!("{name}-{}", &digest[..16]));
        self.servers_home = Some((home, why));
        self
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
        StateDir::new(stack_root.join(".berth").join(name))
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
        let memory = Path::new(MEMORY_ROOT);
        if !memory.is_dir() {
            return Ok(dir);
        }
        // A stable digest: the name is on disk and must be the same for
        // every berth build that looks for it.
        let digest = crate::digest::sha256_hex(stack_root.as_os_str().as_encoded_bytes());
        // SAFETY: geteuid has no preconditions.
        let uid = unsafe { libc::geteuid() };
        let owner_dir = memory.join(format!("berth-{uid}"));
        // Traversable by the unprivileged user servers run as under root.
        fsutil::create_dir(&owner_dir, 0o711)?;
        let target = owner_dir.join(format!("{name}-{}", &digest[..16]));
        fsutil::create_dir(&target, 0o711)?;
        // A link whose directory is gone (a reboot emptied memory, or a
        // reset was cut short) is made again.
        if link.is_symlink() && !link.exists() {
            std::fs::remove_file(link)
                .context(|| format!("could not remove `{}`", link.display()))?;
        }
        if !link.is_symlink() {
            if let Some(parent) = link.parent() {
                std::fs::create_dir_all(parent)
                    .context(|| format!("could not create `{}`", parent.display()))?;
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

    /// Delete the state directory. For an in-memory one, the directory the
    /// link points to goes too; a link to anywhere else is only unlinked.
    /// Removal is crash-safe: a directory is renamed aside before it is
    /// deleted, so a `reset` cut short never leaves half a data directory
    /// for the next `up` to start.
    pub fn remove(&self) -> Result<()> {
        if let Ok(target) = std::fs::read_link(self.root.join("services")) {
            if target.starts_with(SERVERS_HOME) {
                fsutil::remove_dir_atomically(&target)?;
                if let Some(home) = target.parent() {
                    let _ = std::fs::remove_dir(home);
                }
            }
        }
        if let Ok(target) = std::fs::read_link(&self.root) {
            if target.starts_with(MEMORY_ROOT) {
                fsutil::remove_dir_atomically(&target)?;
            }
        }
        fsutil::remove_dir_atomically(&self.root)
    }

    pub fn exists(&self) -> bool {
        self.root.is_dir()
    }

    pub fn ensure(&self) -> Result<()> {
        if let Some(parent) = self.root.parent() {
            std::fs::create_dir_all(parent)
                .context(|| format!("could not create `{}`", parent.display()))?;
            // What a removal cut short left beside the state directories.
            fsutil::remove_leftovers(parent)?;
        }
        // An in-memory state directory whose memory was emptied: its link
        // stays, and its directory is made again.
        if let Ok(target) = std::fs::read_link(&self.root) {
            if !self.root.exists() && target.starts_with(MEMORY_ROOT) {
                fsutil::create_dir(&target, 0o711)?;
            }
        }
        fsutil::create_dir(&self.root, 0o711)?;
        self.ensure_services()?;
        for sub in ["run", "logs"] {
            fsutil::create_dir(&self.root.join(sub), 0o700)?;
        }
        Ok(())
    }

    /// `services/`: here, or a link to the servers' home.
    fn ensure_services(&self) -> Result<()> {
        let link = self.root.join("services");
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
        let path = self.state_file();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Preflight {
                service: None,
                message: format!("the state file `{}` is damaged: {e}", path.display()),
                hint: Some("`berth reset` starts the stack afresh (deleting its data)".into()),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(Error::io(format!("could not read `{}`", path.display()), e)),
        }
    }

    pub fn save(&self, state: &State) -> Result<()> {
        let json = serde_json::to_vec_pretty(state).map_err(|e| Error::Internal {
            message: format!("the state did not serialize: {e}"),
        })?;
        fsutil::write_atomic(&self.state_file(), &json, 0o600)
    }
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
}
