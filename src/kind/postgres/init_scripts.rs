//! A team's own one-time setup scripts (`init = "DIR"`), run as the
//! official image runs `/docker-entrypoint-initdb.d`: `*.sql` through
//! `psql` (statement by statement, each in its own transaction, so
//! `ALTER SYSTEM`, `CREATE DATABASE` and `VACUUM` work), `*.sql.gz` the
//! same once unpacked, `*.sh` with `bash` and the image's environment
//! (`POSTGRES_USER`, `POSTGRES_PASSWORD`, `POSTGRES_DB`, and `PG*` so that
//! a bare `psql` reaches the server). Other files are left out, as the
//! image leaves them.

use std::path::{Path, PathBuf};

use crate::client::endpoint::Endpoint;
use crate::error::{Error, Result};
use crate::kind::contract::Tools;

/// The scripts in `dir`, in the order they run: by name, as the image's
/// glob orders them in the C locale.
pub fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::io(
            format!("could not read the init scripts in `{}`", dir.display()),
            e,
        )
    })?;
    let mut scripts: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && how(p).is_some())
        .collect();
    scripts.sort();
    Ok(scripts)
}

/// How a script runs, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Sql,
    SqlGz,
    Shell,
}

fn how(path: &Path) -> Option<How> {
    let name = path.file_name()?.to_str()?;
    if name.ends_with(".sql.gz") {
        Some(How::SqlGz)
    } else if name.ends_with(".sql") {
        Some(How::Sql)
    } else if name.ends_with(".sh") {
        Some(How::Shell)
    } else {
        None
    }
}

/// Who the scripts run as, and where they reach the server.
pub struct Session<'a> {
    pub service: &'a str,
    pub user: &'a str,
    pub password: Option<&'a str>,
    pub database: &'a str,
    /// The project directory, for naming a script in an error.
    pub root: &'a Path,
}

/// Run `script` with `tools` (where the server runs).
pub fn run(session: &Session, tools: &dyn Tools, script: &Path) -> Result<()> {
    let Some(how) = how(script) else {
        return Ok(());
    };
    const PSQL: &str = "psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password";
    let argv: Vec<String> = match how {
        How::Sql => PSQL
            .split(' ')
            .map(String::from)
            .chain(["-f".into(), "{input}".into()])
            .collect(),
        How::SqlGz => vec![
            "sh".into(),
            "-c".into(),
            format!("gunzip -c \"$1\" | {PSQL}"),
            "sh".into(),
            "{input}".into(),
        ],
        How::Shell => vec!["bash".into(), "{input}".into()],
    };
    let mut output = Vec::new();
    tools
        .run(&argv, &environment(session, tools.endpoint()), Some(script), &mut output)
        .map_err(|e| {
            let shown = script.strip_prefix(session.root).unwrap_or(script);
            let (said, hint) = match e {
                Error::CommandFailed { output_tail, .. } => (
                    output_tail.join("\n"),
                    "fix the script; the next `berth up` makes the data again and runs every script from the first",
                ),
                other => (other.to_string(), "see whether the server's tools run where it runs"),
            };
            Error::Provision {
                service: session.service.to_string(),
                message: format!("the init script `{}` failed:\n{said}", shown.display()),
                hint: Some(hint.into()),
                source: None,
            }
        })
}

/// The official image's environment for its scripts, and libpq's, so that
/// `psql` with no arguments reaches the stack's database as its superuser.
fn environment(session: &Session, at: &Endpoint) -> Vec<(String, String)> {
    let password = session.password.unwrap_or_default().to_string();
    vec![
        ("POSTGRES_USER".into(), session.user.into()),
        ("POSTGRES_PASSWORD".into(), password.clone()),
        ("POSTGRES_DB".into(), session.database.into()),
        ("PGHOST".into(), at.host.clone()),
        ("PGPORT".into(), at.port.to_string()),
        ("PGUSER".into(), session.user.into()),
        ("PGPASSWORD".into(), password),
        ("PGDATABASE".into(), session.database.into()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_run_in_name_order_and_other_files_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "010-data.sql.gz",
            "002-roles.sh",
            "001-init.sql",
            "README.md",
            "003.SQL",
        ] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("004-dir.sql")).unwrap();
        let names: Vec<String> = list(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["001-init.sql", "002-roles.sh", "010-data.sql.gz"]);
    }
}
