//! Finding server binaries: `PATH` first, then the kind's usual install
//! directories (Debian keeps every PostgreSQL major in its own
//! `/usr/lib/postgresql/N/bin`, off `PATH`), then a locator command such as
//! `pg_config --bindir`. The first candidate satisfying the version
//! constraint wins, preferring one the servers' user can reach (root's
//! `~/.cargo/bin` is on root's `PATH` but out of reach of the user servers
//! run as), then `PATH`, then the highest version.

use std::path::{Path, PathBuf};
use std::process::Command;

use semver::Version;

use super::versions::Versions;
use crate::error::{Error, Result};
use crate::plan::native::BinarySpec;

#[derive(Debug, Clone)]
pub struct Binary {
    pub dir: PathBuf,
    pub version: Version,
}

impl Binary {
    pub fn path(&self, program: &str) -> PathBuf {
        self.dir.join(program)
    }
}

/// The binary `spec` names; `reachable` says whether the servers' user can
/// run what is in a directory.
pub fn find(spec: &BinarySpec, service: &str, reachable: &dyn Fn(&Path) -> bool) -> Result<Binary> {
    // A program given as a path (a generic service's `./server`) is that
    // file, wherever `PATH` points.
    if spec.program.contains('/') {
        let path = Path::new(&spec.program);
        if is_executable(path) {
            let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
            return Ok(Binary {
                dir,
                version: Version::new(0, 0, 0),
            });
        }
        return Err(Error::Preflight {
            service: Some(service.to_string()),
            message: format!(
                "service `{service}` runs `{}`, which is not an executable file",
                spec.program
            ),
            hint: Some(spec.install_hint.clone()),
        });
    }
    let satisfies = |b: &Binary| {
        spec.version_req
            .as_ref()
            .is_none_or(|r| r.matches(&b.version))
    };
    // (binary, whether from PATH)
    let mut found: Vec<(Binary, bool)> = Vec::new();
    // Each program asked its version once: `/usr/local/bin/postgres` is
    // often a link to a Debian directory's.
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut consider = |dir: PathBuf, on_path: bool, found: &mut Vec<(Binary, bool)>| {
        if !has_all(&dir, spec) {
            return;
        }
        let program = dir.join(&spec.program);
        let real = program.canonicalize().unwrap_or(program.clone());
        if seen.contains(&real) {
            return;
        }
        seen.push(real);
        if let Some(version) = version_of(&program, spec) {
            found.push((Binary { dir, version }, on_path));
        }
    };
    // The first reachable match on `PATH` wins whatever else is installed:
    // the usual directories and the locator are searched (their programs
    // run) only without one.
    for dir in path_dirs() {
        consider(dir, true, &mut found);
        if let Some((b, _)) = found
            .last()
            .filter(|(b, _)| satisfies(b) && reachable(&b.dir))
        {
            return Ok(b.clone());
        }
    }
    for dir in other_dirs(spec) {
        consider(dir, false, &mut found);
    }
    // An unreachable binary is still chosen when it is the only one: the
    // runtime's check then says why it cannot run.
    for want_reachable in [true, false] {
        let pool = || {
            found
                .iter()
                .filter(|(b, _)| satisfies(b) && reachable(&b.dir) == want_reachable)
        };
        if let Some((b, _)) = pool().find(|(_, on_path)| *on_path) {
            return Ok(b.clone());
        }
        if let Some((b, _)) = pool().max_by(|a, b| a.0.version.cmp(&b.0.version)) {
            return Ok(b.clone());
        }
    }
    let programs: Vec<String> = std::iter::once(spec.program.as_str())
        .chain(spec.companions.iter().copied())
        .map(|p| format!("`{p}`"))
        .collect();
    let are = if programs.len() == 1 { "is" } else { "are" };
    let programs = programs.join(" and ");
    if found.is_empty() {
        return Err(Error::Preflight {
            service: Some(service.to_string()),
            message: format!("service `{service}` needs {programs}, which {are} not installed (searched `PATH` and the usual directories)"),
            hint: Some(spec.install_hint.clone()),
        });
    }
    let have = found
        .iter()
        .map(|(b, _)| format!("{} in `{}`", b.version, b.dir.display()))
        .collect::<Vec<_>>()
        .join(", ");
    let req = spec
        .version_req
        .as_ref()
        .map(|r| r.to_string())
        .unwrap_or_default();
    Err(Error::Preflight {
        service: Some(service.to_string()),
        message: format!(
            "service `{service}` wants `{}` version `{req}`, but found only {have}",
            spec.program
        ),
        hint: Some(format!(
            "install a matching version, or change `version` for `{service}`; {}",
            spec.install_hint
        )),
    })
}

fn has_all(dir: &Path, spec: &BinarySpec) -> bool {
    std::iter::once(spec.program.as_str())
        .chain(spec.companions.iter().copied())
        .all(|p| is_executable(&dir.join(p)))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn version_of(program: &Path, spec: &BinarySpec) -> Option<Version> {
    if spec.version_args.is_empty() {
        // A program whose version berth does not check.
        return Some(Version::new(0, 0, 0));
    }
    let text = Versions::locate().stdout_of(program, spec.version_args)?;
    (spec.parse_version)(&text)
}

/// The directories of `PATH`, in order.
fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default()
}

/// The kind's usual install directories, then where its locator command
/// (`pg_config --bindir`) points.
fn other_dirs(spec: &BinarySpec) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = spec.search_dirs.iter().flat_map(|p| expand(p)).collect();
    if let Some((cmd, args)) = spec.locator {
        if let Ok(out) = Command::new(cmd).args(args).output() {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && !dir.is_empty() {
                dirs.push(PathBuf::from(dir));
            }
        }
    }
    dirs
}

/// Expand a leading `~/` (the home directory) and `*` path components
/// against the file system.
fn expand(pattern: &str) -> Vec<PathBuf> {
    let pattern = match pattern.strip_prefix("~/") {
        Some(rest) => match std::env::var_os("HOME") {
            Some(home) => Path::new(&home).join(rest),
            None => return Vec::new(),
        },
        None => PathBuf::from(pattern),
    };
    let mut paths = vec![PathBuf::from("/")];
    for part in pattern.components().skip(1) {
        let part = part.as_os_str().to_string_lossy();
        let mut next = Vec::new();
        for base in &paths {
            if let Some((prefix, suffix)) = part.split_once('*') {
                let Ok(entries) = std::fs::read_dir(base) else {
                    continue;
                };
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.starts_with(prefix)
                        && name.ends_with(suffix)
                        && name.len() >= prefix.len() + suffix.len()
                    {
                        next.push(base.join(name));
                    }
                }
            } else {
                next.push(base.join(&*part));
            }
        }
        paths = next;
    }
    paths.sort();
    paths
}
