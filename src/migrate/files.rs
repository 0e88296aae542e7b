//! Migration and seed files on disk: naming rules, text normalization and
//! checksums.
//!
//! A migration is `NNN_description.sql`: the number is its version and must
//! be unique in the directory. The checksum is SHA-256 of the text after a
//! leading byte-order mark is dropped and CRLF line ends become LF, so a
//! Windows checkout of the same file is the same migration.

use std::path::PathBuf;

use super::sql;
use crate::diagnostic::shown_path as shown;
use crate::error::{Error, IoContext, Result};

/// A directory of SQL files (migrations or seeds), absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlDir {
    pub path: PathBuf,
    /// Named in the stack file or the environment. A configured directory
    /// that does not exist is an error; a missing default one means none.
    pub configured: bool,
}

/// Recorded with every ledger row, so a later change of rule is visible.
pub const CHECKSUM_ALGORITHM: &str = "sha256-nobom-lf";

#[derive(Debug, Clone)]
pub struct SqlFile {
    /// The file name, e.g. `001_init.sql`.
    pub name: String,
    pub path: PathBuf,
    /// Normalized text: what is checksummed and sent to the server.
    pub text: String,
    pub checksum: String,
}

#[derive(Debug, Clone)]
pub struct Migration {
    pub version: i64,
    pub file: SqlFile,
    /// `-- berth:no-transaction` at the top.
    pub no_transaction: bool,
}

/// What a directory holds: the usable files, and what is wrong with the
/// others (each problem names its file).
#[derive(Debug)]
pub struct Scanned<T> {
    pub found: Vec<T>,
    pub problems: Vec<String>,
}

/// The migrations in `dir`, by version.
pub fn migrations(dir: &SqlDir) -> Result<Scanned<Migration>> {
    let mut problems = Vec::new();
    let mut found: Vec<Migration> = Vec::new();
    for file in sql_files(dir, &mut problems)? {
        let Some(version) = version_of(&file.name) else {
            problems.push(format!(
                "`{}`: not a migration name; write `NNN_description.sql` (digits, `_`, a description)",
                shown(&file.path)
            ));
            continue;
        };
        let no_transaction = sql::wants_no_transaction(&file.text);
        if !no_transaction {
            check_no_transaction_control(&file, &mut problems);
        } else {
            let count = sql::statements(&file.text).len();
            if count > 1 {
                problems.push(format!(
                    "`{}`: a `{}` file must hold one statement, found {count}; split it into one file per statement",
                    shown(&file.path),
                    sql::NO_TRANSACTION
                ));
            }
        }
        found.push(Migration {
            version,
            file,
            no_transaction,
        });
    }
    found.sort_by(|a, b| (a.version, &a.file.name).cmp(&(b.version, &b.file.name)));
    for pair in found.windows(2) {
        if pair[0].version == pair[1].version {
            problems.push(format!(
                "`{}` and `{}` have the same number {}; renumber one of them",
                shown(&pair[0].file.path),
                pair[1].file.name,
                pair[0].version
            ));
        }
    }
    Ok(Scanned { found, problems })
}

/// The seed files in `dir`, in name order.
pub fn seeds(dir: &SqlDir) -> Result<Scanned<SqlFile>> {
    let mut problems = Vec::new();
    let found = sql_files(dir, &mut problems)?;
    for file in &found {
        check_no_transaction_control(file, &mut problems);
    }
    Ok(Scanned { found, problems })
}

fn check_no_transaction_control(file: &SqlFile, problems: &mut Vec<String>) {
    if let Some(statement) = sql::transaction_control(&file.text) {
        let first_line = statement.lines().next().unwrap_or(statement);
        problems.push(format!(
            "`{}`: `{first_line}` would end the transaction berth runs the file in; remove it (a migration that must run outside a transaction starts with `-- {}`)",
            shown(&file.path),
            sql::NO_TRANSACTION
        ));
    }
}

/// Every `.sql` file in `dir` (sorted by name), reporting anything else in
/// it except dot files (`.gitkeep`). A missing default directory is empty.
fn sql_files(dir: &SqlDir, problems: &mut Vec<String>) -> Result<Vec<SqlFile>> {
    let entries = match std::fs::read_dir(&dir.path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !dir.configured => {
            return Ok(Vec::new())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            problems.push(format!(
                "the directory `{}` does not exist",
                shown(&dir.path)
            ));
            return Ok(Vec::new());
        }
        Err(e) => {
            return Err(Error::io(
                format!("could not read the directory `{}`", dir.path.display()),
                e,
            ))
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.context(|| format!("could not read `{}`", dir.path.display()))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if !path.is_file() || !name.ends_with(".sql") {
            problems.push(format!(
                "`{}`: not a `.sql` file; move it out of `{}`",
                shown(&path),
                shown(&dir.path)
            ));
            continue;
        }
        let bytes =
            std::fs::read(&path).context(|| format!("could not read `{}`", path.display()))?;
        match String::from_utf8(bytes) {
            Ok(text) => files.push(SqlFile::new(path, name, &text)),
            Err(_) => problems.push(format!(
                "`{}`: not UTF-8 text; save it as UTF-8",
                shown(&path)
            )),
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

impl SqlFile {
    fn new(path: PathBuf, name: String, text: &str) -> SqlFile {
        let text = normalize(text);
        SqlFile {
            checksum: checksum(&text),
            name,
            path,
            text,
        }
    }
}

/// Drop a byte-order mark and turn CRLF into LF.
pub fn normalize(text: &str) -> String {
    text.strip_prefix('\u{feff}')
        .unwrap_or(text)
        .replace("\r\n", "\n")
}

/// SHA-256 of normalized text, in hex.
pub fn checksum(normalized: &str) -> String {
    crate::digest::sha256_hex(normalized.as_bytes())
}

/// `042_add_users.sql` → 42.
pub fn version_of(name: &str) -> Option<i64> {
    let stem = name.strip_suffix(".sql")?;
    let (number, description) = stem.split_once('_')?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) || description.is_empty() {
        return None;
    }
    number.parse().ok()
}

/// The next file name for a migration called `description`.
pub fn next_name(existing: &[Migration], description: &str) -> String {
    let next = existing.last().map_or(1, |m| m.version + 1);
    let width = existing
        .iter()
        .map(|m| m.file.name.split('_').next().unwrap_or("").len())
        .max()
        .unwrap_or(3)
        .max(3);
    let slug: String = description
        .trim()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect::<String>()
        .split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    format!("{next:0width$}_{slug}.sql")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_bom_do_not_change_the_checksum() {
        let unix = "CREATE TABLE t (x int);\nSELECT 1;\n";
        let windows = "\u{feff}CREATE TABLE t (x int);\r\nSELECT 1;\r\n";
        assert_eq!(checksum(&normalize(unix)), checksum(&normalize(windows)));
        assert_ne!(
            checksum(&normalize(unix)),
            checksum(&normalize("SELECT 2;\n"))
        );
    }

    #[test]
    fn reads_versions_from_names() {
        assert_eq!(version_of("001_init.sql"), Some(1));
        assert_eq!(
            version_of("20240101120000_add_users.sql"),
            Some(20240101120000)
        );
        for bad in ["init.sql", "001.sql", "001_.sql", "x01_a.sql", "001_a.txt"] {
            assert_eq!(version_of(bad), None, "{bad}");
        }
    }
}
