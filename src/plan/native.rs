//! How a kind describes running itself as host processes, without knowing
//! the runtime that will do it. Paths the kind cannot know (the data
//! directory, the service's private directory for config files) appear as
//! [`Arg`] placeholders that the native runtime fills in.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use semver::{Version, VersionReq};

use super::stop::StopSignal;

/// An argument, possibly naming a directory or file only the runtime knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    /// The data directory (during initialization: the temporary one).
    DataDir,
    /// A file written by the runtime from [`ServerSpec::files`] or
    /// [`InitStep::WriteFile`], by name.
    File(&'static str),
    /// `key=<path of file>`: a setting naming such a file.
    FileSetting {
        key: &'static str,
        file: &'static str,
    },
    /// The directory for the server's Unix socket, empty when the stack
    /// has none (see `StateDir::socket_dir`) and while initializing.
    SocketDir,
}

impl Arg {
    pub fn text(s: impl Into<String>) -> Arg {
        Arg::Text(s.into())
    }
}

/// A program the kind needs, and how to find and check it.
#[derive(Debug, Clone)]
pub struct BinarySpec {
    /// The program (e.g. `postgres`, or a path); every other program of the
    /// launch (e.g. `initdb`) must be found in the same directory.
    pub program: String,
    pub companions: &'static [&'static str],
    /// Arguments that make it print its version; none for a program whose
    /// version berth does not check (a generic service's command).
    pub version_args: &'static [&'static str],
    pub parse_version: fn(&str) -> Option<Version>,
    /// Directories searched after `PATH`; `*` matches one path component
    /// (Debian keeps each PostgreSQL major in `/usr/lib/postgresql/N/bin`).
    pub search_dirs: &'static [&'static str],
    /// A command printing a directory that holds the program
    /// (`pg_config --bindir`).
    pub locator: Option<(&'static str, &'static [&'static str])>,
    pub version_req: Option<VersionReq>,
    /// What to run to install it.
    pub install_hint: String,
    /// What an install must also have (PostgreSQL's extensions): an
    /// install without it is passed over, as one of another version is.
    pub provides: Option<Provides>,
}

/// Parts of an install the stack asks for, which installs of one program
/// have or lack (extensions of a PostgreSQL install): the kind knows where
/// an install keeps them, the runtime chooses among installs.
#[derive(Debug, Clone)]
pub struct Provides {
    /// What one is called (`extension`).
    pub what: &'static str,
    /// The ones the stack asks for.
    pub wanted: Vec<String>,
    /// The ones the install whose programs are in a directory has, that
    /// directory and its version given.
    pub list: fn(&Path, &Version) -> BTreeSet<String>,
    /// How to get one for an install of a version, where the machine's
    /// package sources say.
    pub source: fn(&str, &Version) -> Option<String>,
}

/// One step of first-time initialization, run into a fresh temporary data
/// directory that is renamed into place only when every step succeeded.
#[derive(Debug, Clone)]
pub enum InitStep {
    /// A file in the service's private directory (mode 0600 when secret),
    /// removed once initialization is over.
    WriteFile {
        name: &'static str,
        contents: String,
        secret: bool,
    },
    Run {
        program: &'static str,
        args: Vec<Arg>,
        /// What the program reads on its standard input (a secret never
        /// goes on a command line, which `ps` shows).
        input: Option<String>,
    },
}

/// The part of first-time initialization that depends on nothing of a
/// stack — no secret, port or path — so that its result can be made once
/// and copied: the native runtime keeps it in a per-user cache
/// (`runtime/native/skeletons.rs`), copies it for each new data directory
/// and runs [`NativeLaunch::init`] on the copy to make it the stack's.
#[derive(Debug, Clone)]
pub struct Skeleton {
    /// What the result depends on besides the server program and its
    /// version, in words (`initdb -U app --encoding=UTF8 --no-locale`):
    /// part of the cache's key, and what `berth cache` shows.
    pub describes: String,
    /// Run into a fresh directory (`Arg::DataDir`).
    pub steps: Vec<InitStep>,
}

/// The long-running server process.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub program: String,
    pub args: Vec<Arg>,
    /// Environment variables besides `PATH` and `HOME`.
    pub env: Vec<(String, String)>,
    /// The working directory; default: the service's private directory.
    pub cwd: Option<PathBuf>,
    /// Files written (mode 0600) to the service's private directory before
    /// every start: (name, contents).
    pub files: Vec<(&'static str, String)>,
    pub stop_signal: StopSignal,
}

#[derive(Debug, Clone)]
pub struct NativeLaunch {
    pub binary: BinarySpec,
    /// Made once per machine and copied; `init` runs after it.
    pub skeleton: Option<Skeleton>,
    pub init: Vec<InitStep>,
    pub server: ServerSpec,
    /// What runs instead when this launch's program is not installed (an
    /// object store: `minio` if there is one, else berth's own server).
    pub alternative: Option<Box<NativeLaunch>>,
}

impl NativeLaunch {
    /// This launch, then its alternatives, in order of preference.
    pub fn choices(&self) -> impl Iterator<Item = &NativeLaunch> {
        std::iter::successors(Some(self), |l| l.alternative.as_deref())
    }
}

/// berth's own command line, for a server berth serves itself (its object
/// store): this program when it is `berth`; else, for the testing library
/// inside a test binary, a `berth` that cargo built beside it (its
/// `target/<profile>/deps/` is below `target/<profile>/berth`); else
/// `berth` searched for as other programs are (`PATH`).
pub fn own_program() -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "berth".into();
    };
    if exe.file_name().is_some_and(|n| n == "berth") {
        return exe.display().to_string();
    }
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|dir| dir.join("berth"))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "berth".into())
}

/// Parse the first `N.N[.N]` in `text` into a version (missing parts are 0).
pub fn first_version(text: &str) -> Option<Version> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut parts = token
        .split('.')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u64>());
    let major = parts.next()?.ok()?;
    let minor = parts.next().and_then(|p| p.ok()).unwrap_or(0);
    let patch = parts.next().and_then(|p| p.ok()).unwrap_or(0);
    Some(Version::new(major, minor, patch))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_server_versions() {
        let v = super::first_version("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)");
        assert_eq!(v, Some(semver::Version::new(15, 18, 0)));
        let v = super::first_version("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0");
        assert_eq!(v, Some(semver::Version::new(7, 0, 15)));
        assert_eq!(super::first_version("99999999999999999999.1"), None);
    }
}
