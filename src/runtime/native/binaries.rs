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

use std::collections::BTreeSet;

use super::versions::Versions;
use crate::error::{Error, Result};
use crate::plan::native::{BinarySpec, Provides};
use crate::suggest::list;

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
    let version_ok = |b: &Binary| {
        spec.version_req
            .as_ref()
            .is_none_or(|r| r.matches(&b.version))
    };
    let satisfies = |i: &Install| version_ok(&i.binary) && i.lacks.is_empty();
    // The first reachable match on `PATH` wins whatever else is installed:
    // the usual directories and the locator are searched (their programs
    // run) only without one.
    let mut search = Search::new(spec);
    for dir in path_dirs() {
        search.consider(dir, true);
        if let Some(i) = search
            .found
            .last()
            .filter(|i| satisfies(i) && reachable(&i.binary.dir))
        {
            return Ok(i.binary.clone());
        }
    }
    search.scan(other_dirs(spec), false);
    let found = search.found;
    // An unreachable binary is still chosen when it is the only one: the
    // runtime's check then says why it cannot run.
    for want_reachable in [true, false] {
        let pool = || {
            found
                .iter()
                .filter(|i| satisfies(i) && reachable(&i.binary.dir) == want_reachable)
        };
        if let Some(i) = pool().find(|i| i.on_path) {
            return Ok(i.binary.clone());
        }
        if let Some(i) = pool().max_by(|a, b| a.binary.version.cmp(&b.binary.version)) {
            return Ok(i.binary.clone());
        }
    }
    if let Some(provides) = &spec.provides {
        let right_version: Vec<&Install> = found.iter().filter(|i| version_ok(&i.binary)).collect();
        if !right_version.is_empty() {
            return Err(lacking(spec, provides, service, &right_version, &found));
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
        .map(|i| format!("{} in `{}`", i.binary.version, i.binary.dir.display()))
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

/// One install of a program: where, which version, whether found on
/// `PATH`, and what of [`BinarySpec::provides`] it lacks.
#[derive(Debug, Clone)]
pub struct Install {
    pub binary: Binary,
    pub on_path: bool,
    pub lacks: Vec<String>,
    /// What it has of the kind's parts (its extensions), when the kind
    /// asks for any.
    pub has: BTreeSet<String>,
}

/// Every install of the program `spec` names: `PATH` first, in its order,
/// then the kind's usual directories and the locator's.
pub fn installs(spec: &BinarySpec) -> Vec<Install> {
    let mut search = Search::new(spec);
    search.scan(path_dirs(), true);
    search.scan(other_dirs(spec), false);
    search.found
}

/// Installs found so far, each program asked its version once
/// (`/usr/local/bin/postgres` is often a link to a Debian directory's).
struct Search<'s> {
    spec: &'s BinarySpec,
    seen: Vec<PathBuf>,
    found: Vec<Install>,
}

impl<'s> Search<'s> {
    fn new(spec: &'s BinarySpec) -> Search<'s> {
        Search {
            spec,
            seen: Vec::new(),
            found: Vec::new(),
        }
    }

    fn scan(&mut self, dirs: Vec<PathBuf>, on_path: bool) {
        for dir in dirs {
            self.consider(dir, on_path);
        }
    }

    fn consider(&mut self, dir: PathBuf, on_path: bool) {
        let spec = self.spec;
        if !has_all(&dir, spec) {
            return;
        }
        let program = dir.join(&spec.program);
        let real = program.canonicalize().unwrap_or(program.clone());
        if self.seen.contains(&real) {
            return;
        }
        self.seen.push(real);
        let Some(version) = version_of(&program, spec) else {
            return;
        };
        let binary = Binary { dir, version };
        let (has, lacks) = match &spec.provides {
            Some(p) => {
                let has = (p.list)(&binary.dir, &binary.version);
                let lacks = p
                    .wanted
                    .iter()
                    .filter(|w| !has.contains(*w))
                    .cloned()
                    .collect();
                (has, lacks)
            }
            None => (BTreeSet::new(), Vec::new()),
        };
        self.found.push(Install {
            binary,
            on_path,
            lacks,
            has,
        });
    }
}

/// The error for a stack asking for parts (extensions) that no install of
/// the version it wants has: each such install with what it lacks, and
/// where to get them: another installed version that has them all, or a
/// package.
fn lacking(
    spec: &BinarySpec,
    provides: &Provides,
    service: &str,
    right_version: &[&Install],
    all: &[Install],
) -> Error {
    let names = |v: &[String]| list(v);
    let each: Vec<String> = right_version
        .iter()
        .map(|i| {
            format!(
                "{} {} in `{}` lacks {}",
                spec.program,
                i.binary.version,
                i.binary.dir.display(),
                names(&i.lacks)
            )
        })
        .collect();
    let message = format!(
        "service `{service}` asks for {}{} {}, but {}",
        provides.what,
        if provides.wanted.len() == 1 { "" } else { "s" },
        names(&provides.wanted),
        each.join("; ")
    );
    let whole: Vec<String> = all
        .iter()
        .filter(|i| i.lacks.is_empty())
        .map(|i| format!("{} in `{}`", i.binary.version, i.binary.dir.display()))
        .collect();
    let hint = if !whole.is_empty() {
        format!(
            "{} has {}: choose it with `version` for `{service}` (e.g. `version = \"{}\"`)",
            whole.join(" and "),
            if provides.wanted.len() == 1 {
                "it"
            } else {
                "them all"
            },
            all.iter()
                .find(|i| i.lacks.is_empty())
                .map(|i| i.binary.version.major)
                .unwrap_or_default()
        )
    } else {
        let best = right_version[0];
        let sources: Vec<String> = best
            .lacks
            .iter()
            .map(|name| match (provides.source)(name, &best.binary.version) {
                Some(how) => format!("{name}: {how}"),
                None => format!(
                    "{name}: no package in this machine's package sources brings it for {} {}; build it for that install, or remove it from `{}s`",
                    spec.program, best.binary.version.major, provides.what
                ),
            })
            .collect();
        sources.join("; ")
    };
    Error::Preflight {
        service: Some(service.to_string()),
        message,
        hint: Some(hint),
    }
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
