//! Files against ledger: which migrations are applied, pending, changed,
//! missing or out of order — decided entirely before anything runs, so an
//! integrity problem stops a run with nothing applied.

use super::files::{Migration, CHECKSUM_ALGORITHM};
use super::ledger::Applied;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Applied,
    Pending,
    /// Applied, but the file's checksum is not the recorded one.
    Changed,
    /// Applied, but the file is gone.
    Missing,
    /// Not applied, numbered below the last applied migration.
    OutOfOrder,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Applied => "applied",
            State::Pending => "pending",
            State::Changed => "changed",
            State::Missing => "missing",
            State::OutOfOrder => "out-of-order",
        }
    }
}

/// One migration as `berth migrate status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub version: i64,
    pub name: String,
    pub state: State,
    /// The file's checksum now (absent for a missing file).
    pub checksum: Option<String>,
    /// The ledger's row, when applied.
    pub applied: Option<Applied>,
    #[serde(skip)]
    pub path: Option<std::path::PathBuf>,
}

#[derive(Debug)]
pub struct Plan {
    pub entries: Vec<Entry>,
}

impl Plan {
    pub fn new(files: &[Migration], applied: &[Applied]) -> Plan {
        let last_applied = applied.iter().map(|a| a.version).max();
        let mut entries: Vec<Entry> = files
            .iter()
            .map(|m| {
                let row = applied.iter().find(|a| a.version == m.version);
                let state = match row {
                    Some(a)
                        if a.checksum == m.file.checksum
                            && a.checksum_algorithm == CHECKSUM_ALGORITHM =>
                    {
                        State::Applied
                    }
                    Some(_) => State::Changed,
                    None if last_applied.is_some_and(|last| m.version < last) => State::OutOfOrder,
                    None => State::Pending,
                };
                Entry {
                    version: m.version,
                    name: m.file.name.clone(),
                    state,
                    checksum: Some(m.file.checksum.clone()),
                    applied: row.cloned(),
                    path: Some(m.file.path.clone()),
                }
            })
            .collect();
        for a in applied {
            if !files.iter().any(|m| m.version == a.version) {
                entries.push(Entry {
                    version: a.version,
                    name: a.name.clone(),
                    state: State::Missing,
                    checksum: None,
                    applied: Some(a.clone()),
                    path: None,
                });
            }
        }
        entries.sort_by_key(|e| e.version);
        Plan { entries }
    }

    /// What stops a run, one line each, naming the file.
    pub fn problems(&self, allow_out_of_order: bool) -> Vec<String> {
        let mut out = Vec::new();
        for e in &self.entries {
            let shown = e
                .path
                .as_ref()
                .map_or(e.name.clone(), |p| crate::diagnostic::shown_path(p));
            match (e.state, &e.applied) {
                (State::Changed, Some(a)) => {
                    out.push(format!(
                        "`{shown}` changed after it was applied on {}\n    recorded: {} ({})\n    now:      {} ({CHECKSUM_ALGORITHM})",
                        a.applied_at,
                        a.checksum,
                        a.checksum_algorithm,
                        e.checksum.as_deref().unwrap_or("")
                    ));
                }
                (State::Missing, _) => out.push(format!(
                    "`{}` (version {}) was applied but its file is gone",
                    e.name, e.version
                )),
                (State::OutOfOrder, _) if !allow_out_of_order => out.push(format!(
                    "`{shown}` is new but numbered below the last applied migration ({})",
                    self.last_applied().unwrap_or_default()
                )),
                _ => {}
            }
        }
        out
    }

    fn last_applied(&self) -> Option<i64> {
        self.entries
            .iter()
            .filter(|e| e.applied.is_some())
            .map(|e| e.version)
            .max()
    }

    /// What the hint under an integrity error should say.
    pub fn advice(&self, allow_out_of_order: bool) -> String {
        let has = |s: State| self.entries.iter().any(|e| e.state == s);
        let mut ways = Vec::new();
        if has(State::Changed) || has(State::Missing) {
            ways.push(
                "restore the file as it was applied (e.g. `git checkout -- <file>`) and put schema changes in a new migration (`berth migrate new NAME`); in development, `berth reset` starts the database over (its data is deleted)"
                    .to_string(),
            );
        }
        if has(State::OutOfOrder) && !allow_out_of_order {
            ways.push(format!(
                "renumber the new file above {}, or apply it anyway with `berth migrate --allow-out-of-order`",
                self.last_applied().unwrap_or_default()
            ));
        }
        ways.join("; or ")
    }

    /// The versions to apply, in order.
    pub fn to_apply(&self, allow_out_of_order: bool) -> Vec<i64> {
        self.entries
            .iter()
            .filter(|e| {
                e.state == State::Pending || (allow_out_of_order && e.state == State::OutOfOrder)
            })
            .map(|e| e.version)
            .collect()
    }
}
