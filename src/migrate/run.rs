//! Running one SQL file, and turning the server's error into one that
//! points at the failing line and column of the file.
//!
//! A file is sent as one text (simple query protocol), so the server — not
//! berth — parses it. When the server's error carries a position, it is a
//! character offset into that text. When it does not (a constraint
//! violation, a division by zero), berth replays the file's statements one
//! at a time inside a transaction it then rolls back, to find which one
//! fails.

use std::time::{Duration, Instant};

use postgres::error::{DbError, ErrorPosition};
use postgres::{Client, Statement};

use super::files::{Migration, SqlFile, CHECKSUM_ALGORITHM};
use super::target::database_error;
use super::{ledger, sql};
use crate::diagnostic::shown_path;
use crate::error::{Error, MigrationFailure};
use crate::kill_point;
use crate::source::{SourceFile, SourceLocation};

/// Apply one migration and record it. In a transaction unless the file
/// says `-- berth:no-transaction`; then it is recorded only once it
/// succeeded.
pub fn apply(
    client: &mut Client,
    record: &Statement,
    service: &str,
    m: &Migration,
) -> Result<Duration, Error> {
    let started = Instant::now();
    let fail = |client: &mut Client, e: postgres::Error| {
        let replay = (!m.no_transaction).then_some(&[][..]);
        failure(client, service, &m.file, e, replay, "berth migrate")
    };
    let db = |e: postgres::Error| database_error(service, e);
    if !m.no_transaction {
        client.batch_execute("BEGIN").map_err(db)?;
    }
    if let Err(e) = client.batch_execute(&m.file.text) {
        if !m.no_transaction {
            let _ = client.batch_execute("ROLLBACK");
        }
        return Err(fail(client, e));
    }
    let took = started.elapsed();
    let ms = took.as_secs_f64() * 1000.0;
    client
        .execute(
            record,
            &[
                &m.version,
                &m.file.name,
                &m.file.checksum,
                &CHECKSUM_ALGORITHM,
                &ms,
                &m.no_transaction,
            ],
        )
        .map_err(db)?;
    // Each file starts from the session's defaults, as if run on its own:
    // a `SET search_path` in one migration does not leak into the next.
    kill_point::reached(|| format!("{service}:commit {}", m.file.name));
    let finish = if m.no_transaction {
        "RESET ALL"
    } else {
        "COMMIT; RESET ALL"
    };
    client.batch_execute(finish).map_err(db)?;
    Ok(took)
}

/// Run the seed files in one transaction and mark the database seeded.
pub fn seed(client: &mut Client, service: &str, seeds: &[SqlFile]) -> Result<(), Error> {
    let db = |e: postgres::Error| database_error(service, e);
    client.batch_execute("BEGIN").map_err(db)?;
    for (i, file) in seeds.iter().enumerate() {
        if let Err(e) = client.batch_execute(&file.text) {
            let _ = client.batch_execute("ROLLBACK");
            // The files before it ran in the same transaction: replay them
            // first, so the failing one sees what it saw.
            return Err(failure(
                client,
                service,
                file,
                e,
                Some(&seeds[..i]),
                "berth seed",
            ));
        }
        client.batch_execute("RESET ALL").map_err(db)?;
    }
    ledger::mark_seeded(client).map_err(db)?;
    kill_point::reached(|| format!("{service}:commit seeds"));
    client.batch_execute("COMMIT").map_err(db)
}

/// The error for a file that failed, located in the file. `replay`: the
/// file ran in a transaction after the files given, so they and its
/// statements may be run again (and rolled back) to find the failing one.
/// `retry`: the command that runs it again.
fn failure(
    client: &mut Client,
    service: &str,
    file: &SqlFile,
    e: postgres::Error,
    replay: Option<&[SqlFile]>,
    retry: &str,
) -> Error {
    let Some(db) = e.as_db_error() else {
        return database_error(service, e);
    };
    let offset = match db.position() {
        Some(ErrorPosition::Original(position)) => char_offset(&file.text, *position),
        _ => failing_statement(client, file, replay),
    };
    let location = offset.map(|at| locate(file, at));
    let mut details = Vec::new();
    if let Some(d) = db.detail() {
        details.push(format!("detail: {d}"));
    }
    if let Some(w) = db.where_() {
        details.push(format!("context: {}", w.replace('\n', "\n  ")));
    }
    details.push(format!("error code: {}", db.code().code()));
    let mut hint = db.hint().map(|h| format!("{h} (from PostgreSQL)"));
    let ours = if *db.code() == postgres::error::SqlState::ACTIVE_SQL_TRANSACTION {
        // `ALTER SYSTEM`, `CREATE DATABASE`, `VACUUM`: each migration runs
        // in a transaction, which these refuse.
        format!(
            "nothing from this file was applied. A statement that cannot run in a transaction goes in a file of its own that starts with `-- {}`; one-time server setup (`ALTER SYSTEM`, `CREATE DATABASE`) belongs in init scripts (`init = \"DIR\"` under the service), which run outside transactions on new data",
            super::sql::NO_TRANSACTION
        )
    } else if replay.is_some() {
        format!("nothing from this file was applied; fix it and run `{retry}` again")
    } else {
        format!("this file ran outside a transaction: check what it left behind (e.g. an INVALID index from `CREATE INDEX CONCURRENTLY`), fix it and run `{retry}` again")
    };
    hint = Some(match hint {
        Some(h) => format!("{h}\n      {ours}"),
        None => ours,
    });
    Error::MigrationFailed(Box::new(MigrationFailure {
        service: service.to_string(),
        file: shown_path(&file.path),
        message: message_of(db),
        details,
        hint,
        location,
    }))
}

fn message_of(db: &DbError) -> String {
    match db.severity() {
        "ERROR" => db.message().to_string(),
        other => format!("{} ({})", db.message(), other.to_lowercase()),
    }
}

/// Replay the file statement by statement in a rolled-back transaction
/// (after `replay`'s files); the byte offset where the first failing
/// statement fails.
fn failing_statement(
    client: &mut Client,
    file: &SqlFile,
    replay: Option<&[SqlFile]>,
) -> Option<usize> {
    let statements = sql::statements(&file.text);
    let Some(before) = replay.filter(|_| statements.len() > 1) else {
        return statements.first().map(|s| s.start);
    };
    client.batch_execute("BEGIN").ok()?;
    for earlier in before {
        if client.batch_execute(&earlier.text).is_err() {
            let _ = client.batch_execute("ROLLBACK");
            return None;
        }
    }
    let mut found = None;
    for range in statements {
        if let Err(e) = client.batch_execute(&file.text[range.clone()]) {
            found = Some(
                match e.as_db_error().and_then(|db| db.position()) {
                    Some(ErrorPosition::Original(p)) => {
                        char_offset(&file.text[range.clone()], *p).map(|o| range.start + o)
                    }
                    _ => None,
                }
                .unwrap_or(range.start),
            );
            break;
        }
    }
    let _ = client.batch_execute("ROLLBACK");
    found
}

/// A server error position (1-based, in characters) as a byte offset.
pub fn char_offset(text: &str, position: u32) -> Option<usize> {
    let index = (position as usize).checked_sub(1)?;
    text.char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .nth(index)
}

/// Underline the word at `at`.
fn locate(file: &SqlFile, at: usize) -> SourceLocation {
    let word = file.text[at..]
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(file.text.len() - at, |(i, _)| i)
        .max(1);
    let path = std::path::PathBuf::from(shown_path(&file.path));
    SourceFile::new(&path, file.text.clone()).locate(&(at..at + word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_positions_count_characters() {
        let text = "-- é\nSELECT x";
        // `x` is the 13th character but starts at byte 13 (é is 2 bytes).
        assert_eq!(char_offset(text, 13), Some(13));
        assert_eq!(char_offset(text, 1), Some(0));
        assert_eq!(char_offset(text, 0), None);
    }
}
