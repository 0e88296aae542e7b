//! What every command needs to find its stack.

use std::path::PathBuf;

use crate::config::load;
use crate::config::model::{LoadOptions, StackConfig, FILE_NAME};
use crate::error::{Error, Result};
use crate::lifecycle::inspect;
use crate::migrate::target::Target;
use crate::state::StateDir;

#[derive(Clone)]
pub struct Context {
    pub file: Option<PathBuf>,
    pub options: LoadOptions,
    pub state_dir: Option<PathBuf>,
}

impl Context {
    pub fn stack_file(&self) -> Result<PathBuf> {
        if let Some(f) = &self.file {
            return Ok(f.clone());
        }
        let here = std::env::current_dir()
            .map_err(|e| Error::io("could not read the current directory", e))?;
        load::discover(&here).ok_or_else(|| {
            Error::usage(
                format!("no `{FILE_NAME}` in `{}` or its parents", here.display()),
                Some("`berth init` writes a starter stack, or pass `--file PATH`".to_string()),
            )
        })
    }

    /// Load the stack file and find its state directory.
    pub fn load(&self) -> Result<(StackConfig, StateDir)> {
        let file = self.stack_file()?;
        let config = load::load(&file, &self.options, &|k| std::env::var(k).ok())?;
        let dir = inspect::state_dir(&config, self.state_dir.as_deref())?;
        Ok((config, dir))
    }

    /// The stack's databases that take migrations (all, or `service`), each
    /// with whether its service runs: what `migrate`, `seed` and `db` act on.
    pub fn migration_targets(&self, service: Option<&str>) -> Result<Vec<(Target, bool)>> {
        let (config, dir) = self.load()?;
        let stack = inspect::open(config, dir)?;
        inspect::migration_targets(&stack, service)
    }
}
