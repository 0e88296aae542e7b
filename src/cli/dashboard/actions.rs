//! What the dashboard's buttons do: the commands' own lifecycle calls, one
//! at a time (the stack lock orders them with any other berth).

use std::sync::Mutex;

use crate::error::Result;
use crate::events::Silent;
use crate::interrupt::Interrupt;
use crate::lifecycle::snapshot::{self, RestoreOptions};
use crate::lifecycle::up::{self, UpOptions};
use crate::lifecycle::{down, restart};

use crate::cli::context::Context;

/// A button press, from its path and query.
pub enum Action {
    Up,
    Down,
    Restart { service: String },
    SnapshotSave { name: Option<String> },
    SnapshotRestore { name: String },
}

impl Action {
    pub fn parse(path: &str, query: &dyn Fn(&str) -> Option<String>) -> Option<Action> {
        Some(match path {
            "/api/up" => Action::Up,
            "/api/down" => Action::Down,
            "/api/restart" => Action::Restart {
                service: query("service")?,
            },
            "/api/snapshot/save" => Action::SnapshotSave {
                name: query("name").filter(|n| !n.is_empty()),
            },
            "/api/snapshot/restore" => Action::SnapshotRestore {
                name: query("name")?,
            },
            _ => return None,
        })
    }
}

/// One action at a time from this dashboard.
static RUNNING: Mutex<()> = Mutex::new(());

/// Do it; the message says what happened.
pub fn perform(ctx: &Context, action: Action) -> Result<String> {
    let _one = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
    let (config, dir) = ctx.load()?;
    let name = config.name.clone();
    // A press is not interrupted by the Ctrl-C that ends the dashboard.
    let options = UpOptions {
        interrupt: Interrupt::private(),
        ..UpOptions::default()
    };
    match action {
        Action::Up => {
            up::up(config, dir, &options, &Silent)?;
            Ok(format!("stack `{name}` is up"))
        }
        Action::Down => {
            let runtimes = crate::runtime::registry::Runtimes::new(&config.name, &dir);
            down::down_with(config, dir, &runtimes, &options.interrupt, &Silent)?;
            Ok(format!("stack `{name}` is down; its data is kept"))
        }
        Action::Restart { service } => {
            restart::restart(
                config,
                dir,
                std::slice::from_ref(&service),
                &options,
                &Silent,
            )?;
            Ok(format!("`{service}` restarted"))
        }
        Action::SnapshotSave { name: wanted } => {
            let saved = snapshot::save(config, dir, wanted, &options.interrupt, &Silent)?;
            Ok(format!("saved snapshot `{}`", saved.manifest.name))
        }
        Action::SnapshotRestore { name: wanted } => {
            let restore = RestoreOptions::new(Interrupt::private());
            let done = snapshot::restore(config, dir, &wanted, &restore, &Silent)?;
            Ok(match done.safety {
                Some(safety) => format!(
                    "restored snapshot `{wanted}`; what it replaced is in snapshot `{safety}`"
                ),
                None => format!("restored snapshot `{wanted}`"),
            })
        }
    }
}
