//! What a server program said its version was, remembered per binary file
//! from one command to the next: every command that uses a native service
//! would otherwise run `postgres --version` (6 ms on a 2-core machine) and
//! `redis-server --version` (5 ms) again, a tenth of a warm `up`.
//!
//! An answer holds while the program is the same file: its device, inode,
//! size, and modification and change times. A package upgrade writes a
//! new file (another inode); an edit in place changes the change time,
//! which no program can set back.
//!
//! `<cache>/versions.json` (in [`super::user_cache`]),
//! written whole by rename. Two commands adding answers at once may lose
//! one of them, which a later command asks again: nothing depends on an
//! answer being remembered.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::fsutil;

const FILE: &str = "versions.json";

/// Which file a program is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Identity {
    fn of(program: &Path) -> Option<Identity> {
        // Through links: `/usr/local/bin/postgres` is often one.
        let m = std::fs::metadata(program).ok()?;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Some(Identity {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        })
    }
}

/// One remembered answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Answer {
    file: Identity,
    stdout: String,
}

/// The remembered answers, by program path and arguments.
pub struct Versions {
    path: Option<PathBuf>,
}

impl Versions {
    /// In berth's per-user cache; none without a home (nothing is
    /// remembered then).
    pub fn locate() -> Versions {
        Versions {
            path: super::user_cache::root().map(|root| root.join(FILE)),
        }
    }

    /// In `file`.
    #[cfg(test)]
    pub fn at(file: PathBuf) -> Versions {
        Versions { path: Some(file) }
    }

    /// What `program args` printed on standard output when it succeeded:
    /// remembered when the program is the file that said it, else run
    /// (and remembered). None when it cannot be run or fails.
    pub fn stdout_of(&self, program: &Path, args: &[&str]) -> Option<String> {
        let key = std::iter::once(program.to_string_lossy().into_owned())
            .chain(args.iter().map(|a| a.to_string()))
            .collect::<Vec<_>>()
            .join(" ");
        let file = Identity::of(program)?;
        let mut book = self.load();
        if let Some(answer) = book.get(&key).filter(|a| a.file == file) {
            return Some(answer.stdout.clone());
        }
        let out = Command::new(program).args(args).output().ok()?;
        if !out.status.success() {
            return None;
        }
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        // The file as it was when it was run: one replaced meanwhile is
        // not remembered under the new one's identity.
        if Identity::of(program).as_ref() == Some(&file) {
            book.insert(
                key,
                Answer {
                    file,
                    stdout: stdout.clone(),
                },
            );
            self.save(&book);
        }
        Some(stdout)
    }

    /// Forget every answer (`berth cache clean`).
    pub fn clean(&self) -> crate::error::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(crate::error::Error::io(
                format!("could not remove `{}`", path.display()),
                e,
            )),
            _ => Ok(()),
        }
    }

    fn load(&self) -> BTreeMap<String, Answer> {
        // A damaged file is as good as none: answers are asked again.
        self.path
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Best effort: a cache that cannot be written only means asking again.
    fn save(&self, book: &BTreeMap<String, Answer>) {
        let Some(path) = &self.path else {
            return;
        };
        if let Some(dir) = path.parent() {
            let _ = fsutil::create_dir(dir, 0o700);
        }
        if let Ok(json) = serde_json::to_vec_pretty(book) {
            let _ = fsutil::write_atomic(path, &json, 0o600);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A program that prints `version` and counts its runs in `runs`.
    fn program(dir: &Path, version: &str) -> PathBuf {
        let path = dir.join("server");
        let runs = dir.join("runs");
        let script = format!(
            "#!/bin/sh\necho run >> '{}'\necho 'server {version}'\n",
            runs.display()
        );
        // Written to a new file and renamed, as a package upgrade does.
        let tmp = dir.join("server.new");
        std::fs::write(&tmp, script).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        path
    }

    fn runs(dir: &Path) -> usize {
        std::fs::read_to_string(dir.join("runs"))
            .unwrap_or_default()
            .lines()
            .count()
    }

    #[test]
    fn an_answer_is_remembered_until_the_program_is_another_file() {
        let dir = tempfile::tempdir().unwrap();
        let versions = Versions::at(dir.path().join("cache/versions.json"));
        let server = program(dir.path(), "1.0");
        let asked = versions.stdout_of(&server, &["--version"]);
        assert_eq!(asked.as_deref(), Some("server 1.0\n"));
        assert_eq!(
            Versions::at(dir.path().join("cache/versions.json"))
                .stdout_of(&server, &["--version"])
                .as_deref(),
            Some("server 1.0\n")
        );
        assert_eq!(runs(dir.path()), 1, "the second command asked no one");
        // Other arguments are another question.
        versions.stdout_of(&server, &["-V"]);
        assert_eq!(runs(dir.path()), 2);

        let upgraded = program(dir.path(), "2.0");
        assert_eq!(
            versions.stdout_of(&upgraded, &["--version"]).as_deref(),
            Some("server 2.0\n"),
            "a new file is asked again"
        );
        assert_eq!(runs(dir.path()), 3);
    }

    #[test]
    fn a_damaged_or_cleaned_cache_is_asked_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("versions.json");
        let versions = Versions::at(file.clone());
        let server = program(dir.path(), "1.0");
        versions.stdout_of(&server, &["--version"]);
        std::fs::write(&file, b"{ not json").unwrap();
        assert_eq!(
            versions.stdout_of(&server, &["--version"]).as_deref(),
            Some("server 1.0\n")
        );
        versions.clean().unwrap();
        assert!(!file.exists());
        versions.stdout_of(&server, &["--version"]);
        assert_eq!(runs(dir.path()), 3);
    }
}
