//! `[env]`: the connection file berth writes and the variables in it.
//!
//! The file goes in the project directory unless the stack says
//! `outside_project = true`, and never under a system directory: berth
//! writes it with secrets in it, and `reset` may delete it.

use std::path::{Component, Path, PathBuf};

use toml::de::DeTable;
use toml::Spanned;

use super::document::{self, entries};
use super::model::EnvConfig;
use super::origin::Origins;
use crate::error::Result;
use crate::kind::generic::valid_env_name;
use crate::template::Template;

/// A template of `[env.vars]` and where its text starts in the file, so a
/// reference inside it can be pointed at exactly.
pub struct Located {
    pub template: Template,
    /// The byte offset of the string's first character.
    pub text_start: usize,
}

pub fn read(
    origins: &Origins,
    root: &Path,
    env: Option<Spanned<DeTable<'_>>>,
    variable: &dyn Fn(&str) -> Option<String>,
    searched: &str,
) -> Result<(EnvConfig, Vec<Located>)> {
    let mut config = EnvConfig {
        file: PathBuf::from(".env"),
        vars: None,
    };
    let mut located = Vec::new();
    let Some(env) = env else {
        return Ok((config, located));
    };
    let mut file_span = None;
    let mut outside_project = false;
    for (key, value) in entries(env.into_inner()) {
        match key.get_ref().as_str() {
            "file" => {
                let file: Spanned<String> = document::typed(origins, value)?;
                if file.get_ref().trim().is_empty() {
                    return Err(origins.error(&file.span(), "the env file path is empty", None));
                }
                file_span = Some(file.span());
                config.file = PathBuf::from(file.into_inner());
            }
            "outside_project" => {
                outside_project = document::typed::<bool>(origins, value)?;
            }
            "vars" => {
                let mut vars = Vec::new();
                for (var, text) in
                    entries(document::table(origins, value, "`env.vars`")?.into_inner())
                {
                    if !valid_env_name(var.get_ref()) {
                        return Err(origins.error(
                            &var.span(),
                            format!(
                                "`{}` is not a valid environment variable name",
                                var.get_ref()
                            ),
                            Some("use letters, digits and `_`, not starting with a digit".into()),
                        ));
                    }
                    let text: Spanned<String> = document::typed(origins, text)?;
                    // The span starts at the opening quote.
                    let text_start = text.span().start + 1;
                    let template = Template::parse(text.get_ref()).map_err(|e| {
                        let at = text_start + e.offset;
                        origins.error(&(at..at + 1), e.message, None)
                    })?;
                    template.check_variables(variable, searched).map_err(
                        |(offset, len, failure)| {
                            let at = text_start + offset;
                            origins.error(&(at..at + len), failure.message, failure.hint)
                        },
                    )?;
                    located.push(Located {
                        template: template.clone(),
                        text_start,
                    });
                    vars.push((var.into_inner(), template));
                }
                config.vars = Some(vars);
            }
            _ => return Err(document::unknown_key(origins, &key, document::ENV_KEYS)),
        }
    }
    if let Some(span) = file_span {
        check_place(root, &config.file, outside_project)
            .map_err(|(message, hint)| origins.error(&span, message, Some(hint)))?;
    }
    Ok((config, located))
}

/// Directories of the system, where no env file goes even when the
/// stack allows one outside its project.
const SYSTEM_DIRS: [&str; 14] = [
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run",
    "/sbin", "/sys", "/usr", "/var",
];

/// Whether the env file `file` (from the project directory `root`) may be
/// written where it points: an error's message and hint when not.
fn check_place(
    root: &Path,
    file: &Path,
    outside_project: bool,
) -> std::result::Result<(), (String, String)> {
    let project = real(root);
    let path = real(&root.join(file));
    if path.starts_with(&project) {
        return Ok(());
    }
    let system = SYSTEM_DIRS
        .iter()
        .find(|d| path.starts_with(d) && !path.starts_with("/var/tmp"));
    if let Some(dir) = system {
        return Err((
            format!(
                "the env file `{}` is under the system directory `{dir}`; berth writes secrets into it and `berth reset` may delete it",
                path.display()
            ),
            "name a file in the project directory, like `file = \".env\"`".into(),
        ));
    }
    if !outside_project {
        return Err((
            format!(
                "the env file `{}` is outside the project directory `{}`",
                path.display(),
                project.display()
            ),
            "name a file in the project directory, or add `outside_project = true` under `[env]` if berth is to write (and `berth reset` to delete) a file there".into(),
        ));
    }
    Ok(())
}

/// `path` made absolute without `.` and `..`, and through every link in
/// the part of it that exists, so that neither can hide where it points.
fn real(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    let mut existing = out.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return out,
        }
    }
    let mut real = std::fs::canonicalize(existing).unwrap_or_else(|_| existing.to_path_buf());
    real.extend(rest.iter().rev());
    real
}
