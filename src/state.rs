//! The stack's local state: `.berth/<stack>/` beside the stack file (or
//! wherever `--state-dir` says).
//!
//! ```text
//! .berth/<stack>/          0711: service users may pass through, not list
//!   state.json             0600: chosen ports, generated passwords, what was provisioned
//!   lock, lock.owner       the stack lock and who holds it
//!   services/<service>/    0700, owned by the user the service runs as: its data
//!   run/<service>.pid      the native runtime's record of a running server
//!   logs/<service>.log     server output
//! ```
//!
//! Everything here is generated: `berth reset` deletes it all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::fsutil;

#[derive(Debug, Clone)]
pub struct StateDir {
    pub root: PathBuf,
}

impl StateDir {
    pub fn new(root: PathBuf) -> StateDir {
        StateDir { root }
    }

    /// `.berth/<stack>` beside the stack file.
    pub fn for_stack(stack_root: &Path, name: &str) -> StateDir {
        StateDir::new(stack_root.join(".berth").join(name))
    }

    pub fn exists(&self) -> bool {
        self.root.is_dir()
    }

    pub fn ensure(&self) -> Result<()> {
        if let Some(parent) = self.root.parent() {
            std::fs::create_dir_all(parent)
                .context(|| format!("could not create `{}`", parent.display()))?;
        }
        fsutil::create_dir(&self.root, 0o711)?;
        for sub in ["services", "run", "logs"] {
            let mode = if sub == "services" { 0o711 } else { 0o700 };
            fsutil::create_dir(&self.root.join(sub), mode)?;
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
        self.root.join("services").join(service)
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
        let json = serde_json::to_vec_pretty(state).expect("state serializes");
        fsutil::write_atomic(&self.state_file(), &json, 0o600)
    }
}

/// What berth chose or generated for a stack, kept stable across restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Ports chosen for `port = "auto"`, by service.
    #[serde(default)]
    pub ports: BTreeMap<String, u16>,
    /// Generated passwords, by service.
    #[serde(default)]
    pub passwords: BTreeMap<String, String>,
    /// A fingerprint of the setup last provisioned, by service, so that an
    /// `up` on a running stack skips provisioning when nothing changed.
    #[serde(default)]
    pub provisioned: BTreeMap<String, String>,
    /// How long the service took to become ready at its last start.
    #[serde(default)]
    pub ready_ms: BTreeMap<String, u64>,
}
