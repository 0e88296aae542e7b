//! Reading a stack file: parse, layer, type, check. Every error points at
//! the file, line and column of the offending text, or names the
//! environment variable it came from.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::document::{self, Document, Section};
use super::layers::{self, EnvSetting, EnvValue};
use super::model::{
    LoadOptions, Override, PortSetting, ServiceConfig, StackConfig, DEFAULT_SNAPSHOTS_KEPT,
    FILE_NAME,
};
use super::names::{check_stack_name, from_directory};
use super::origin::Origins;
use super::service::{self, Scope};
use super::{env_section, graph, links, references};
use crate::error::{Error, IoContext, Result};
use crate::plan::runtime_kind::RuntimeKind;
use crate::source::SourceFile;
use crate::suggest::{did_you_mean, list};
use crate::variables::sources::{DotenvFiles, Variables};

/// Read and resolve a stack file. `env` looks up environment variables (the
/// process environment in the CLI; tests pass their own).
pub fn load(
    file: &Path,
    options: &LoadOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<StackConfig> {
    let bytes = std::fs::read(file)
        .context(|| format!("could not read the stack file `{}`", file.display()))?;
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let text = String::from_utf8(bytes).map_err(|e| not_utf8(&file, e))?;
    parse(&file, text, options, env)
}

/// A stack file that is not UTF-8 (TOML is), shown at the first byte that
/// is not, with the line as far as it reads.
fn not_utf8(file: &Path, e: std::string::FromUtf8Error) -> Error {
    let at = e.utf8_error().valid_up_to();
    let bytes = e.into_bytes();
    let valid = String::from_utf8_lossy(&bytes[..at]).into_owned();
    // The rest of the line, each byte that is not UTF-8 shown as `\xNN`.
    let mut rest = String::new();
    for chunk in bytes[at..]
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or_default()
        .utf8_chunks()
    {
        rest.push_str(chunk.valid());
        for b in chunk.invalid() {
            rest.push_str(&format!("\\x{b:02X}"));
        }
    }
    let offset = valid.len();
    let shown = format!("{valid}{rest}");
    let source = SourceFile::new(file, shown);
    // The `\xNN` of the first bad byte.
    let width = 4;
    Error::Config {
        message: format!(
            "the stack file is not UTF-8: byte 0x{:02X} at offset {at}",
            bytes[at]
        ),
        location: Some(Box::new(source.locate(&(offset..offset + width)))),
        hint: Some("save the file as UTF-8 (TOML files are UTF-8)".into()),
    }
}

/// Resolve stack-file text as if read from `file`.
pub fn parse(
    file: &Path,
    text: String,
    options: &LoadOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<StackConfig> {
    let source = Arc::new(SourceFile::new(file, text));
    // The environment's values are looked up first and owned here: the
    // file's values borrow its text, and both are layered together.
    let root = source
        .path
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let (found, dotenv) = {
        let origins = Origins::new(&source);
        let doc = Document::read(&origins, document::parse(&source)?)?;
        let listed: Vec<PathBuf> = doc
            .dotenv
            .iter()
            .flat_map(|d| d.get_ref())
            .map(|f| PathBuf::from(f.get_ref()))
            .collect();
        let dotenv = DotenvFiles::read(&root, &listed, env).map_err(|e| match &doc.dotenv {
            Some(d) => origins.error(
                &d.span(),
                e.to_string(),
                Some("fix the file, or take it out of `dotenv`".into()),
            ),
            None => e,
        })?;
        let variables = Variables {
            env,
            files: &dotenv,
        };
        let lookup = |name: &str| variables.get(name);
        let found = layers::lookup_env(
            &doc,
            options.profile.as_deref(),
            &service::all_keys(),
            &lookup,
        );
        (found, dotenv)
    };
    let variables = Variables {
        env,
        files: &dotenv,
    };
    resolve(&source, &found, options, &variables)
}

/// Find the stack file: `berth.toml` in `dir` or the nearest ancestor.
pub fn discover(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|candidate| candidate.is_file())
}

fn resolve(
    source: &Arc<SourceFile>,
    found: &[EnvSetting],
    options: &LoadOptions,
    variables: &Variables,
) -> Result<StackConfig> {
    let mut origins = Origins::new(source);
    let mut doc = Document::read(&origins, document::parse(source)?)?;
    let root = source
        .path
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));

    check_other_profiles(&origins, &doc, options.profile.as_deref())?;
    if let Some(profile) = &options.profile {
        layers::apply_profile(&origins, &mut doc, profile)?;
    }
    let forced = match &options.runtime {
        Some(r) => Some(
            service::runtime(r).map_err(|(message, hint)| Error::Config {
                message: format!("{message} (from --runtime or BERTH_RUNTIME)"),
                location: None,
                hint,
            })?,
        ),
        None => None,
    };
    let default_runtime = match (forced, &doc.runtime) {
        (Some(r), _) => r,
        (None, Some(r)) => service::runtime(r.get_ref())
            .map_err(|(message, hint)| origins.error(&r.span(), message, hint))?,
        (None, None) => RuntimeKind::Native,
    };

    // Services in the order the file lists them.
    doc.services.sort_by_key(|s| s.name.span().start);
    let overrides = read_overrides(&origins, &doc)?;
    let mut env_values: Vec<EnvValue> = Vec::new();
    // The generic `BERTH_<SERVICE>_<KEY>` first, then the explicit names,
    // which win.
    let explicit = found.iter().flat_map(|f| {
        overrides
            .iter()
            .filter(move |o| f.target.is_none() && o.var == f.var)
            .map(move |o| (f, o.service.clone(), o.key.clone()))
    });
    let generic = found
        .iter()
        .filter_map(|f| f.target.clone().map(|(service, key)| (f, service, key)));
    for (setting, service, key) in generic.collect::<Vec<_>>().into_iter().chain(explicit) {
        let Some(section) = doc
            .services
            .iter_mut()
            .find(|s| s.name.get_ref() == &service)
        else {
            continue;
        };
        let span = origins.span_for(&setting.var, &setting.text);
        let value = EnvValue::new(&service, &key, &setting.text, span);
        layers::set(section, &key, value.value());
        env_values.retain(|v| !(v.service == service && v.key == key));
        env_values.push(value);
    }

    let names: Vec<String> = doc
        .services
        .iter()
        .map(|s| s.name.get_ref().clone())
        .collect();
    // The variables the templates use, with their values, for resolving
    // and for the exports (which keep them out of the files they write).
    let used: RefCell<BTreeMap<String, String>> = RefCell::default();
    let variable = |name: &str| {
        let value = variables.get(name)?;
        used.borrow_mut().insert(name.to_string(), value.clone());
        Some(value)
    };
    let searched = variables.files.searched();
    let scope = Scope {
        origins: &origins,
        root: &root,
        services: &names,
        default_runtime,
        forced_runtime: forced.is_some(),
        variable: &variable,
        searched: &searched,
    };
    let mut services = Vec::new();
    for section in std::mem::take(&mut doc.services) {
        let mut mine: Vec<EnvValue> = Vec::new();
        let mut rest = Vec::new();
        for v in env_values.drain(..) {
            if &v.service == section.name.get_ref() {
                mine.push(v);
            } else {
                rest.push(v);
            }
        }
        env_values = rest;
        services.push(service::read(&scope, section, &mut mine)?);
    }
    check_ports(&origins, &services)?;
    links::resolve(&origins, &mut services)?;
    let (mut env, env_templates) =
        env_section::read(&origins, &root, doc.env.take(), &variable, &searched)?;
    let dotenv: Vec<PathBuf> = variables
        .files
        .files
        .iter()
        .map(|(f, _)| f.clone())
        .collect();
    if let Some(listed) = dotenv.iter().find(|f| root.join(f) == root.join(&env.file)) {
        return Err(Error::Config {
            message: format!(
                "`{}` is both berth's env file (`[env] file`) and a file of the team's variables (`dotenv`): berth would write over the variables it reads",
                listed.display()
            ),
            location: doc.dotenv.as_ref().map(|d| Box::new(origins.source().locate(&d.span()))),
            hint: Some("give berth's env file a name of its own, like `[env] file = \".env.berth\"`".into()),
        });
    }
    references::check(&origins, &services, &env_templates)?;
    graph::check_cycles(&origins, &services)?;

    let own_name = match &doc.name {
        Some(n) => {
            check_stack_name(n.get_ref()).map_err(|m| origins.error(&n.span(), m, None))?;
            n.get_ref().clone()
        }
        None => {
            let dir = root.file_name().and_then(|d| d.to_str()).unwrap_or("stack");
            let derived = from_directory(dir);
            match &options.profile {
                Some(p) => format!("{derived}-{p}"),
                None => derived,
            }
        }
    };
    if services.is_empty() {
        let shown = crate::diagnostic::shown_path(&source.path);
        let profiles: Vec<&str> = doc
            .profiles
            .iter()
            .filter(|p| !p.services.is_empty())
            .map(|p| p.name.get_ref().as_str())
            .collect();
        // Compose's way too: a file whose services all belong to profiles
        // starts nothing until one is chosen.
        if options.profile.is_none() && !profiles.is_empty() {
            return Err(Error::Config {
                message: format!(
                    "`{shown}` names services only in profiles: without one, `berth up` would start nothing"
                ),
                location: None,
                hint: Some(format!(
                    "choose a profile, like `berth --profile {} up` (the profiles with services: {})",
                    profiles[0],
                    list(&profiles)
                )),
            });
        }
        return Err(Error::Config {
            message: format!("`{shown}` names no services: `berth up` would start nothing"),
            location: None,
            hint: Some("add a `[services.NAME]` table (`kind = \"postgres\"`, ...), or run `berth init` for a starter stack".into()),
        });
    }
    // `--name` other than the file's own: a separate instance of the stack.
    let instance = match options.name.clone() {
        Some(n) if n != own_name => {
            check_stack_name(&n).map_err(|m| Error::usage(m, None))?;
            Some(n)
        }
        _ => None,
    };
    if let Some(instance) = &instance {
        // An instance runs beside the file's own stack and other instances:
        // the file's ports would collide, so each is chosen free once and
        // kept for this instance (unless set from the environment), and the
        // env file carries the instance's name.
        for svc in &mut services {
            if svc.port_from_env.is_none() {
                svc.port = PortSetting::Auto;
            }
        }
        let mut file_name = env.file.as_os_str().to_os_string();
        file_name.push(format!(".{instance}"));
        env.file = PathBuf::from(file_name);
    }
    let snapshots_kept = doc
        .snapshots
        .as_ref()
        .and_then(|s| s.keep.as_ref())
        .map_or(DEFAULT_SNAPSHOTS_KEPT, |k| *k.get_ref());
    drop(origins);
    Ok(StackConfig {
        name: instance.unwrap_or(own_name),
        profile: options.profile.clone(),
        file: source.path.clone(),
        root,
        services,
        env,
        overrides,
        snapshots_kept,
        dotenv,
        variables: used.take(),
        source: Arc::clone(source),
    })
}

/// `[overrides]`: each target names a service and one of its keys.
fn read_overrides(origins: &Origins, doc: &Document) -> Result<Vec<Override>> {
    let all_keys = service::all_keys();
    let mut out = Vec::new();
    for (var, target) in &doc.overrides {
        let text = target.get_ref();
        let path = text.strip_prefix("services.").unwrap_or(text);
        let Some((svc, key)) = path.rsplit_once('.') else {
            return Err(origins.error(
                &target.span(),
                format!("`{text}` does not name a service value"),
                Some("write `SERVICE.KEY`, like `\"postgres.port\"`".into()),
            ));
        };
        let services: Vec<&str> = doc
            .services
            .iter()
            .map(|s| s.name.get_ref().as_str())
            .collect();
        if !services.contains(&svc) {
            return Err(origins.error(
                &target.span(),
                format!("`{text}` names unknown service `{svc}`"),
                did_you_mean(svc, services.iter().copied()),
            ));
        }
        if key == "kind" || !all_keys.contains(&key) {
            let settable: Vec<&str> = all_keys.iter().copied().filter(|k| *k != "kind").collect();
            let hint = did_you_mean(key, settable.iter().copied())
                .unwrap_or_else(|| format!("these can be overridden: {}", list(&settable)));
            return Err(origins.error(
                &target.span(),
                format!("`{key}` cannot be set from an environment variable"),
                Some(hint),
            ));
        }
        out.push(Override {
            var: var.get_ref().clone(),
            service: svc.to_string(),
            key: key.to_string(),
        });
    }
    Ok(out)
}

/// A typo in a profile that is not selected is caught all the same: every
/// key of its services must be one some service can have.
fn check_other_profiles(origins: &Origins, doc: &Document, selected: Option<&str>) -> Result<()> {
    let known = service::all_keys();
    for profile in doc
        .profiles
        .iter()
        .filter(|p| Some(p.name.get_ref().as_str()) != selected)
    {
        for Section { table, .. } in &profile.services {
            for key in table.get_ref().keys() {
                if !known.contains(&key.get_ref().as_ref()) {
                    return Err(document::unknown_key(origins, key, &known));
                }
            }
        }
    }
    Ok(())
}

/// Two services on one fixed host port cannot both start: refused as the
/// file is read, before anything starts, naming both.
fn check_ports(origins: &Origins, services: &[ServiceConfig]) -> Result<()> {
    let mut seen: Vec<(u16, &ServiceConfig)> = Vec::new();
    for svc in services {
        let Some(port) = svc.port.fixed() else {
            continue;
        };
        if let Some((_, first)) = seen.iter().find(|(p, _)| *p == port) {
            let span = svc.port_span.clone().unwrap_or_else(|| svc.span.clone());
            return Err(origins.error(
                &span,
                format!(
                    "services `{}` and `{}` both use port {port}; only one server can listen on it",
                    first.name, svc.name
                ),
                Some(format!(
                    "give `{}` another port, or `port = \"auto\"` for one berth chooses",
                    svc.name
                )),
            ));
        }
        seen.push((port, svc));
    }
    Ok(())
}
