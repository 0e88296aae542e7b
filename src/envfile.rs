//! The connection file the app reads (`.env`, `.env.local.infra`, ...).
//!
//! Variable names and values come from the stack file's `[env.vars]`
//! templates, or default to `<SERVICE>_<KEY>` for every connection value.
//! The file is written atomically with mode 0600 (it holds passwords), and
//! only when its content changes, so a reader never sees it partial.
//!
//! berth writes it only where no file is, or over one it wrote itself for
//! this stack (its first line says so), and records what it wrote in the
//! stack's state: `reset` deletes the file only while it is still that.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::digest::sha256_hex;
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::kind::connection::MASK;
use crate::stack::resolved::Stack;
use crate::state::WrittenFile;
use crate::template::Template;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// The real values (the env file itself, `berth env --show`).
    Show,
    /// `****` in place of secrets (`berth env`).
    Mask,
    /// Secrets left empty, and `****` in URLs (`.env.example`).
    Blank,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Variable {
    pub name: String,
    pub value: String,
    pub secret: bool,
}

/// The env file's variables, in order.
pub fn variables(stack: &Stack, secrets: Secrets) -> Vec<Variable> {
    let connections = stack.connections();
    let templates: Vec<(String, Template)> = match &stack.config.env.vars {
        Some(vars) => vars.clone(),
        None => stack
            .services
            .iter()
            .flat_map(|s| {
                s.settings.connection_keys().iter().map(move |key| {
                    let name = format!("{}_{}", s.name, key)
                        .to_ascii_uppercase()
                        .replace('-', "_");
                    (name, Template::reference(&s.name, key))
                })
            })
            .collect(),
    };
    templates
        .into_iter()
        .map(|(name, template)| {
            // A `${NAME}` variable comes from the team's `.env` or the
            // environment, where secrets are kept: shown as one.
            let mut secret = template.variables().next().is_some();
            let variable = |name: &str| {
                let value = stack.config.variables.get(name)?;
                Some(match secrets {
                    Secrets::Show => value.clone(),
                    Secrets::Mask => MASK.to_string(),
                    Secrets::Blank => String::new(),
                })
            };
            let value = template.render(
                |svc, key| {
                    let v = connections.get(svc)?.iter().find(|c| c.key == key)?;
                    secret |= v.secret;
                    Some(match secrets {
                        Secrets::Show => v.value.clone(),
                        Secrets::Mask => v.masked.clone(),
                        // A secret alone is left empty to fill in; a URL keeps
                        // its shape, `****` where its password goes.
                        Secrets::Blank if v.masked == MASK => String::new(),
                        Secrets::Blank => v.masked.clone(),
                    })
                },
                &variable,
            );
            Variable {
                name,
                value,
                secret,
            }
        })
        .collect()
}

pub fn render(stack: &Stack, vars: &[Variable], header: &str) -> String {
    let mut out = format!(
        "# {header} by berth for stack `{}`; edit `{}` instead\n",
        stack.name(),
        stack.config.file_name()
    );
    for v in vars {
        out.push_str(&format!("{}={}\n", v.name, quote(&v.value)));
    }
    out
}

/// What [`write`] did.
pub struct Written {
    /// The file and its contents' digest, for the state.
    pub file: WrittenFile,
    /// The mode the file had when others could read it: it is 0600 now.
    pub was_open: Option<u32>,
}

/// Write the stack's env file if its content changed, 0600 whatever it
/// was before.
pub fn write(stack: &Stack) -> Result<Written> {
    let vars = variables(stack, Secrets::Show);
    let text = render(stack, &vars, "Written");
    let path = stack.config.env_file();
    let was_open = std::fs::symlink_metadata(&path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.permissions().mode() & 0o777)
        .filter(|mode| mode & 0o077 != 0);
    if !write_if_changed(&path, stack.name(), &text, 0o600)? && was_open.is_some() {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .context(|| format!("could not set the mode of `{}`", path.display()))?;
    }
    Ok(Written {
        file: WrittenFile {
            path: std::path::absolute(&path).unwrap_or(path),
            sha256: sha256_hex(text.as_bytes()),
        },
        was_open,
    })
}

/// Write a `.env.example`: the same variables with secrets left empty. It
/// reads the same whether or not the stack has been up (see
/// [`Stack::as_example`]), so it can be committed and checked.
pub fn write_example(stack: &Stack, path: &Path) -> Result<bool> {
    let vars = variables(&stack.as_example(), Secrets::Blank);
    let text = render(stack, &vars, "Example written");
    write_if_changed(path, stack.name(), &text, 0o644)
}

/// What became of an env file at `reset`.
#[derive(Debug, PartialEq, Eq)]
pub enum Removal {
    Removed(PathBuf),
    /// Left where it is, and why.
    Kept(PathBuf, &'static str),
}

/// Delete the env files berth wrote for the stack, `recorded` (from the
/// state) and the one the stack names now (`current`), each only while it
/// is what berth wrote: a file berth did not write, or that changed since,
/// is the user's.
pub fn remove(recorded: Option<&WrittenFile>, current: &Path) -> Result<Vec<Removal>> {
    let current = std::path::absolute(current).unwrap_or_else(|_| current.to_path_buf());
    let mut done = Vec::new();
    if let Some(record) = recorded {
        if let Ok(meta) = std::fs::symlink_metadata(&record.path) {
            let same = meta.is_file()
                && std::fs::read(&record.path).is_ok_and(|b| sha256_hex(&b) == record.sha256);
            if same {
                std::fs::remove_file(&record.path)
                    .context(|| format!("could not remove `{}`", record.path.display()))?;
                done.push(Removal::Removed(record.path.clone()));
            } else {
                done.push(Removal::Kept(
                    record.path.clone(),
                    "it changed since berth wrote it",
                ));
            }
        }
    }
    let covered = recorded.is_some_and(|r| r.path == current);
    if !covered && std::fs::symlink_metadata(&current).is_ok() {
        done.push(Removal::Kept(current, "berth has no record of writing it"));
    }
    Ok(done)
}

/// What the first line of every file berth writes starts with.
const HEADERS: [&str; 2] = ["# Written by berth", "# Example written by berth"];

/// Refuse to replace a file at `path` that berth did not write for the
/// stack `stack` (an app's own `.env`, say, a compose project's, or
/// another stack's): its contents would be lost. `up` checks this before
/// it starts anything.
pub fn ensure_ours(path: &Path, stack: &str) -> Result<()> {
    // Replacing a device, fifo or directory by rename would be destructive;
    // reading one to compare could block forever; a link is followed by
    // nothing berth writes.
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.is_file() {
        let what = if meta.file_type().is_symlink() {
            "a symbolic link"
        } else {
            "not a regular file"
        };
        return Err(Error::usage(
            format!("`{}` exists and is {what}", path.display()),
            Some("choose another path for the env file, or remove this one".to_string()),
        ));
    }
    let text = std::fs::read_to_string(path).unwrap_or_default();
    if text.trim().is_empty() {
        return Ok(());
    }
    let first = text.lines().next().unwrap_or_default();
    let by = HEADERS.iter().find_map(|h| first.strip_prefix(h));
    let message = match by.map(|rest| rest.strip_prefix(&format!(" for stack `{stack}`"))) {
        Some(Some(_)) => return Ok(()),
        Some(None) => format!(
            "`{}` was written by berth for another stack; writing this stack's connection values there would replace it",
            crate::diagnostic::shown_path(path)
        ),
        None => format!(
            "`{}` exists and was not written by berth; writing the connection values there would replace it",
            crate::diagnostic::shown_path(path)
        ),
    };
    Err(Error::Preflight {
        service: None,
        message,
        hint: Some(
            "name another file with `file = \"...\"` under `[env]` in the stack file, or move this one aside"
                .into(),
        ),
    })
}

fn write_if_changed(path: &Path, stack: &str, text: &str, mode: u32) -> Result<bool> {
    ensure_ours(path, stack)?;
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    fsutil::write_atomic(path, text.as_bytes(), mode)?;
    Ok(true)
}

/// Dotenv quoting: plain when safe, else double quotes with escapes.
fn quote(value: &str) -> String {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.:/@%+=,?&*".contains(c));
    if plain {
        return value.to_string();
    }
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('$', "\\$");
    format!("\"{escaped}\"")
}
