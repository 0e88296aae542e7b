//! Where a stack's variables come from: the environment, then the files
//! the stack file lists under `dotenv` (later files over earlier ones,
//! as Compose takes several env files). They fill `${NAME}` in a generic
//! service's `env` and `command` and in `[env.vars]`, and the variables
//! `[overrides]` and `BERTH_<SERVICE>_<KEY>` name. A team's secrets stay
//! in its `.env`, and the stack file names them only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::dotenv;
use crate::error::Result;

/// The variables of the `dotenv` files, read once.
#[derive(Debug, Clone, Default)]
pub struct DotenvFiles {
    /// Each listed file as the stack file names it, and whether it exists.
    pub files: Vec<(PathBuf, bool)>,
    /// Name → (value, the file it came from).
    values: BTreeMap<String, (String, PathBuf)>,
}

impl DotenvFiles {
    /// Read `files` (relative to `root`). A missing file holds no
    /// variables, as a missing `.env` does for Compose: a fresh clone has
    /// none until the team's `.env.example` is copied. `env` gives the
    /// environment, which a file's own `${...}` may use.
    pub fn read(
        root: &Path,
        files: &[PathBuf],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<DotenvFiles> {
        let mut out = DotenvFiles::default();
        for file in files {
            let path = root.join(file);
            let exists = path.is_file();
            out.files.push((file.clone(), exists));
            if !exists {
                continue;
            }
            for entry in dotenv::read(&path, env)? {
                out.values.insert(entry.key, (entry.value, file.clone()));
            }
        }
        Ok(out)
    }

    /// The value of `name` in the files.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|(v, _)| v.as_str())
    }

    /// What to tell a user whose variable is set nowhere: the files it was
    /// looked for in, and those of them that do not exist.
    pub fn searched(&self) -> String {
        if self.files.is_empty() {
            return "the environment (the stack file lists no `dotenv` files)".into();
        }
        let names: Vec<String> = self
            .files
            .iter()
            .map(|(f, exists)| {
                if *exists {
                    format!("`{}`", f.display())
                } else {
                    format!("`{}` (which does not exist)", f.display())
                }
            })
            .collect();
        format!("the environment and {}", names.join(", "))
    }
}

/// The stack's variables: the environment wins over the files.
pub struct Variables<'a> {
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub files: &'a DotenvFiles,
}

impl Variables<'_> {
    pub fn get(&self, name: &str) -> Option<String> {
        (self.env)(name).or_else(|| self.files.get(name).map(str::to_string))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_wins_over_later_files_over_earlier_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "A=file\nB=first\nC=${HOME_DIR}/x\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("more.env"), "B=second\n").unwrap();
        let env = |k: &str| match k {
            "A" => Some("env".to_string()),
            "HOME_DIR" => Some("/home/me".to_string()),
            _ => None,
        };
        let files = DotenvFiles::read(
            dir.path(),
            &[".env".into(), "more.env".into(), "gone.env".into()],
            &env,
        )
        .unwrap();
        let vars = Variables {
            env: &env,
            files: &files,
        };
        assert_eq!(vars.get("A").as_deref(), Some("env"));
        assert_eq!(vars.get("B").as_deref(), Some("second"));
        assert_eq!(vars.get("C").as_deref(), Some("/home/me/x"));
        assert_eq!(vars.get("D"), None);
        assert_eq!(
            files.searched(),
            "the environment and `.env`, `more.env`, `gone.env` (which does not exist)"
        );
    }
}
