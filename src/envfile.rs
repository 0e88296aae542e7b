//! The connection file the app reads (`.env`, `.env.local.infra`, ...).
//!
//! Variable names and values come from the stack file's `[env.vars]`
//! templates, or default to `<SERVICE>_<KEY>` for every connection value.
//! The file is written atomically with mode 0600 (it holds passwords), and
//! only when its content changes, so a reader never sees it partial.

use std::path::Path;

use crate::error::Result;
use crate::fsutil;
use crate::kind::connection::MASK;
use crate::stack::resolved::Stack;
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
            let mut secret = false;
            let value = template.render(|svc, key| {
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
            });
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

/// Write the stack's env file if its content changed; returns whether it did.
pub fn write(stack: &Stack) -> Result<bool> {
    let vars = variables(stack, Secrets::Show);
    let text = render(stack, &vars, "Written");
    write_if_changed(&stack.config.env_file(), &text, 0o600)
}

/// Write a `.env.example`: the same variables with secrets left empty. It
/// reads the same whether or not the stack has been up (see
/// [`Stack::as_example`]), so it can be committed and checked.
pub fn write_example(stack: &Stack, path: &Path) -> Result<bool> {
    let vars = variables(&stack.as_example(), Secrets::Blank);
    let text = render(stack, &vars, "Example written");
    write_if_changed(path, &text, 0o644)
}

/// What the first line of every file berth writes starts with.
const HEADERS: [&str; 2] = ["# Written by berth", "# Example written by berth"];

/// Refuse to replace a file at `path` that berth did not write (an app's
/// own `.env`, say, or a compose project's): its contents would be lost.
/// `up` checks this before it starts anything.
pub fn ensure_ours(path: &Path) -> Result<()> {
    // Replacing a device, fifo or directory by rename would be destructive;
    // reading one to compare could block forever.
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.is_file() {
        return Err(crate::error::Error::usage(
            format!("`{}` exists and is not a regular file", path.display()),
            Some("choose another path for the env file".to_string()),
        ));
    }
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let first = text.lines().next().unwrap_or_default();
    if !text.trim().is_empty() && !HEADERS.iter().any(|h| first.starts_with(h)) {
        return Err(crate::error::Error::Preflight {
            service: None,
            message: format!(
                "`{}` exists and was not written by berth; writing the connection values there would replace it",
                crate::diagnostic::shown_path(path)
            ),
            hint: Some(
                "name another file with `file = \"...\"` under `[env]` in the stack file, or move this one aside"
                    .into(),
            ),
        });
    }
    Ok(())
}

fn write_if_changed(path: &Path, text: &str, mode: u32) -> Result<bool> {
    ensure_ours(path)?;
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
