//! The stack file an import writes must be one berth reads: it is loaded
//! before anything is written, without a profile (when some service has
//! none) and with each of the compose file's profiles. Compose hands most
//! values to the image unread, and berth reads them: a value berth
//! refuses (a `--maxmemory lots`, a 70-character database name, two
//! services on one host port) is pointed at in the compose file, at the
//! service it came from, where the user can change it. Only a stack file
//! that fails for another reason is a defect of the import.

use std::path::Path;

use super::file::ComposeFile;
use super::import::Imported;
use crate::config::load;
use crate::config::model::LoadOptions;
use crate::error::{Error, Result};

/// Load `toml` (the import of `compose`, to be written at `stack_file`)
/// as berth will.
pub fn check(
    compose: &ComposeFile,
    imported: &Imported,
    toml: &str,
    stack_file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<()> {
    let mut profiles: Vec<Option<String>> = Vec::new();
    for svc in &imported.report.services {
        if svc.profiles.is_empty() {
            profiles.push(None);
        }
        profiles.extend(svc.profiles.iter().cloned().map(Some));
    }
    profiles.sort();
    profiles.dedup();
    for profile in profiles {
        let options = LoadOptions {
            profile,
            ..LoadOptions::default()
        };
        load::parse(stack_file, toml.to_string(), &options, env)
            .map_err(|e| in_the_compose_file(compose, toml, e))?;
    }
    Ok(())
}

/// The compose file's line a line of the stack file came from: the
/// `# From compose.yaml:N` comment above its service's table.
fn compose_line(toml: &str, line: usize) -> Option<(String, usize)> {
    let mut from = None;
    let mut service = None;
    for text in toml.lines().take(line) {
        if let Some(rest) = text.strip_prefix("# From ") {
            // `compose.yaml:12 (postgres:16).`
            let at = rest.split(' ').next()?;
            from = at.rsplit_once(':').and_then(|(_, n)| n.parse().ok());
        } else if text.starts_with('[') {
            let header = text.trim_matches(|c| c == '[' || c == ']');
            service = header
                .rsplit_once("services.")
                .map(|(_, name)| name.trim_matches('"').to_string());
        }
    }
    Some((service?, from?))
}

/// A stack-file error as the compose file's: the service it came from,
/// at its line there.
fn in_the_compose_file(compose: &ComposeFile, toml: &str, e: Error) -> Error {
    let Error::Config {
        message,
        location: Some(location),
        hint,
    } = &e
    else {
        return defect(e);
    };
    let Some((service, line)) = compose_line(toml, location.line) else {
        return defect(e);
    };
    let text = &compose.source.text;
    let start: usize = text.lines().take(line - 1).map(|l| l.len() + 1).sum();
    let width = text[start..].find('\n').unwrap_or(text.len() - start);
    let offset = start + text[start..].len() - text[start..].trim_start().len();
    Error::Config {
        message: format!("service `{service}`: {message}"),
        location: Some(Box::new(
            compose.source.locate(&(offset..(start + width).max(offset + 1))),
        )),
        hint: Some(format!(
            "Compose hands the value to the image without reading it; berth reads it{}. Change it in the compose file and import again",
            hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
        )),
    }
}

fn defect(e: Error) -> Error {
    Error::Internal {
        message: format!(
            "the imported stack file does not load ({e}); please report this with the compose file"
        ),
    }
}
