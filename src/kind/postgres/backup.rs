//! Portable backups of PostgreSQL: each database as `pg_dump`'s custom
//! format, made by the `pg_dump` of the server's own version where it runs.
//!
//! A restore loads each dump into a new database beside the one it
//! replaces, and only when every one loaded are they swapped in, in one
//! transaction (renaming databases is transactional): a failure or a kill
//! before leaves the old databases, after it the new ones. What a restore
//! cut short left (`berth_restore_*`, `berth_replaced_*`) is dropped by the
//! next one.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::client::endpoint::Endpoint;
use crate::client::postgres::{self as pg, quote_ident, DatabaseError, Login};
use crate::error::{cause, Error, Result};
use crate::kill_point;
use crate::kind::contract::{BackupFile, ServiceContext, Tools};

use super::provision::MAINTENANCE_DB;

/// Dump every database of the service into `dest`.
pub fn dump(
    user: &str,
    databases: &[String],
    ctx: &ServiceContext,
    tools: &dyn Tools,
    dest: &Path,
) -> Result<Vec<BackupFile>> {
    let mut files = Vec::new();
    for db in databases {
        let file = dump_name(db);
        let path = dest.join(&file);
        let mut out = std::fs::File::create(&path)
            .map_err(|e| Error::io(format!("could not create `{}`", path.display()), e))?;
        tools.run(
            &client_args("pg_dump", tools.endpoint(), user, db, &["-Fc"]),
            &env(ctx),
            None,
            &mut out,
        )?;
        kill_point::reached(|| format!("{}:dumped {db}", ctx.name));
        files.push(BackupFile {
            file,
            database: Some(db.clone()),
        });
    }
    Ok(files)
}

/// Load each dump into a new database, then swap them all in at once.
pub fn restore(
    user: &str,
    ctx: &ServiceContext,
    at: &Endpoint,
    tools: &dyn Tools,
    files: &[(BackupFile, PathBuf)],
) -> Result<()> {
    let fail = |message: String, e: postgres::Error| Error::Provision {
        service: ctx.name.to_string(),
        message,
        hint: None,
        source: cause(DatabaseError(e)),
    };
    // A database cannot be renamed by a session connected to it: when the
    // backup holds the maintenance database itself (every stack without a
    // `database` key), the swap is done from `template1`.
    let restores_maintenance = files
        .iter()
        .any(|(f, _)| f.database.as_deref() == Some(MAINTENANCE_DB));
    let login = Login {
        user,
        password: ctx.password,
        database: if restores_maintenance {
            SPARE_MAINTENANCE_DB
        } else {
            MAINTENANCE_DB
        },
    };
    let mut admin = pg::connect(at, &login, Duration::from_secs(5))
        .map_err(|e| fail("could not connect".into(), e))?;
    drop_leftovers(&mut admin)
        .map_err(|e| fail("could not drop what an earlier restore left".into(), e))?;
    let mut loaded = Vec::new();
    for (file, path) in files {
        let Some(db) = &file.database else { continue };
        let staging = format!("berth_restore_{}", short_digest(db));
        admin
            .batch_execute(&format!(
                // From `template0`: a dump restores into a database with
                // nothing of its own, and `template1` may be this very
                // session's database, which a copy cannot be made of.
                "CREATE DATABASE {} OWNER {} TEMPLATE template0",
                quote_ident(&staging),
                quote_ident(user)
            ))
            .map_err(|e| {
                fail(
                    format!("could not create a database to restore `{db}` into"),
                    e,
                )
            })?;
        kill_point::reached(|| format!("{}:restoring {db}", ctx.name));
        tools.run(
            &client_args(
                "pg_restore",
                tools.endpoint(),
                user,
                &staging,
                &["--exit-on-error", "--no-owner", "{input}"],
            ),
            &env(ctx),
            Some(path),
            &mut std::io::sink(),
        )?;
        loaded.push((db.clone(), staging));
    }
    // Every dump loaded: swap them in, in one transaction.
    kill_point::reached(|| format!("{}:swap", ctx.name));
    let names: Vec<&str> = loaded.iter().map(|(db, _)| db.as_str()).collect();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()",
            &[&names],
        )
        .map_err(|e| fail("could not close the connections to the databases it replaces".into(), e))?;
    let mut swap = String::from("BEGIN;\n");
    let mut replaced = Vec::new();
    for (db, staging) in &loaded {
        let exists = !admin
            .query("SELECT 1 FROM pg_database WHERE datname = $1", &[db])
            .map_err(|e| fail("could not list the databases".into(), e))?
            .is_empty();
        if exists {
            let old = format!("berth_replaced_{}", short_digest(db));
            swap.push_str(&format!(
                "ALTER DATABASE {} RENAME TO {};\n",
                quote_ident(db),
                quote_ident(&old)
            ));
            replaced.push(old);
        }
        swap.push_str(&format!(
            "ALTER DATABASE {} RENAME TO {};\n",
            quote_ident(staging),
            quote_ident(db)
        ));
    }
    swap.push_str("COMMIT;");
    admin
        .batch_execute(&swap)
        .map_err(|e| fail("could not swap the restored databases in".into(), e))?;
    kill_point::reached(|| format!("{}:swapped", ctx.name));
    for old in replaced {
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&old)
            ))
            .map_err(|e| fail(format!("could not drop the replaced database `{old}`"), e))?;
    }
    Ok(())
}

/// The database a restore of [`MAINTENANCE_DB`] works from.
const SPARE_MAINTENANCE_DB: &str = "template1";

/// The archive's file for database `db`: its name where that is a safe
/// file name, else one made of its digest. A database may be called
/// `../x` or `a/b`; the archive keeps the real name beside the file.
fn dump_name(db: &str) -> String {
    let plain = !db.is_empty()
        && !db.starts_with('.')
        && db
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match plain {
        true => format!("{db}.dump"),
        false => format!("db-{}.dump", short_digest(db)),
    }
}

/// What a restore cut short left.
fn drop_leftovers(admin: &mut postgres::Client) -> std::result::Result<(), postgres::Error> {
    let rows = admin.query(
        "SELECT datname FROM pg_database WHERE datname LIKE 'berth\\_restore\\_%' OR datname LIKE 'berth\\_replaced\\_%'",
        &[],
    )?;
    for row in rows {
        let name: String = row.get(0);
        admin.batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(&name)
        ))?;
    }
    Ok(())
}

/// A name part for database `db` that fits PostgreSQL's 63 bytes.
fn short_digest(db: &str) -> String {
    crate::digest::sha256_hex(db.as_bytes())[..12].to_string()
}

/// `pg_dump`/`pg_restore` connecting to the server as the tool sees it.
fn client_args(program: &str, at: &Endpoint, user: &str, db: &str, rest: &[&str]) -> Vec<String> {
    let mut argv: Vec<String> = [
        program,
        "-h",
        &at.host,
        "-p",
        &at.port.to_string(),
        "-U",
        user,
        "-d",
        db,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    argv.extend(rest.iter().map(|s| s.to_string()));
    argv
}

fn env(ctx: &ServiceContext) -> Vec<(String, String)> {
    ctx.password
        .map(|p| vec![("PGPASSWORD".to_string(), p.to_string())])
        .unwrap_or_default()
}
