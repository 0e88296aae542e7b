//! Running migrations and seeds: every check before anything runs, one file
//! per transaction, one runner per database, progress as it goes.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use postgres::Client;

use super::files::{self, checksum, CHECKSUM_ALGORITHM};
use super::ledger;
use super::plan::{self, Entry};
use super::run;
use super::sql;
use super::target::{database_error, Target};
use crate::error::{Error, IoContext, Result};
use crate::events::{Event, Phase, Reporter};
use crate::interrupt::Interrupt;
use crate::kill_point;

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Apply new files numbered below the last applied one.
    pub allow_out_of_order: bool,
    /// Stop between files when this is requested.
    pub interrupt: Interrupt,
}

/// What one run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub service: String,
    pub applied: Vec<AppliedNow>,
    /// Seed files run (only on a database new to berth, or `berth seed`).
    pub seeded: Vec<String>,
    #[serde(serialize_with = "crate::time::serialize_ms")]
    pub elapsed: Duration,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AppliedNow {
    pub version: i64,
    pub name: String,
    #[serde(serialize_with = "crate::time::serialize_ms")]
    pub took: Duration,
}

/// Apply pending migrations, then the seeds if the database is new to
/// berth. Stops before running anything if the files or the ledger have a
/// problem.
pub fn migrate(target: &Target, options: &Options, reporter: &dyn Reporter) -> Result<Outcome> {
    let started = Instant::now();
    let migrations = checked(target, files::migrations(&target.migrations)?)?;
    let seeds = checked(target, files::seeds(&target.seeds)?)?;
    let mut outcome = Outcome {
        service: target.service.clone(),
        applied: Vec::new(),
        seeded: Vec::new(),
        elapsed: Duration::ZERO,
    };
    if migrations.is_empty() && seeds.is_empty() {
        return Ok(outcome);
    }
    let mut client = target.connect()?;
    lock(&mut client, target, reporter)?;
    let db = |e| database_error(&target.service, e);
    kill_point::reached(|| format!("{}:migration lock", target.service));
    ledger::ensure(&mut client).map_err(db)?;
    kill_point::reached(|| format!("{}:ledger", target.service));
    let applied = ledger::read(&mut client).map_err(db)?;
    let plan = plan::Plan::new(&migrations, &applied);
    integrity(target, &plan, options.allow_out_of_order)?;

    let todo = plan.to_apply(options.allow_out_of_order);
    if !todo.is_empty() {
        let record = ledger::prepare_record(&mut client).map_err(db)?;
        let planned = todo
            .iter()
            .filter_map(|version| migrations.iter().find(|m| m.version == *version));
        for (done, m) in planned.enumerate() {
            if options.interrupt.requested() {
                return Err(Error::Interrupted);
            }
            reporter.event(Event::Phase {
                service: &target.service,
                phase: Phase::Migrating {
                    file: m.file.name.clone(),
                    done,
                    total: todo.len(),
                },
            });
            let took = run::apply(&mut client, &record, &target.service, m)?;
            outcome.applied.push(AppliedNow {
                version: m.version,
                name: m.file.name.clone(),
                took,
            });
        }
    }
    if ledger::seeds_pending(&mut client).map_err(db)? {
        outcome.seeded = run_seeds(&mut client, target, &seeds, reporter)?;
    }
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// Run the seed files now, whatever ran before.
pub fn seed(target: &Target, reporter: &dyn Reporter) -> Result<Vec<String>> {
    let seeds = checked(target, files::seeds(&target.seeds)?)?;
    let mut client = target.connect()?;
    lock(&mut client, target, reporter)?;
    ledger::ensure(&mut client).map_err(|e| database_error(&target.service, e))?;
    run_seeds(&mut client, target, &seeds, reporter)
}

fn run_seeds(
    client: &mut Client,
    target: &Target,
    seeds: &[files::SqlFile],
    reporter: &dyn Reporter,
) -> Result<Vec<String>> {
    if !seeds.is_empty() {
        reporter.event(Event::Phase {
            service: &target.service,
            phase: Phase::Seeding,
        });
    }
    run::seed(client, &target.service, seeds)?;
    Ok(seeds.iter().map(|s| s.name.clone()).collect())
}

/// Every migration and its state; `problems` lists what would stop a run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Status {
    pub service: String,
    pub database: String,
    pub directory: PathBuf,
    pub migrations: Vec<Entry>,
    pub problems: Vec<String>,
    /// Whether the next run will seed (the database is new to berth).
    pub seeds_pending: bool,
    /// Whether the ledger was read (false: the database was not reachable,
    /// so only the files were checked).
    pub ledger_checked: bool,
}

/// Files against the ledger. With `ledger` false, the files alone (no
/// database needed): names, numbers, directives.
pub fn status(target: &Target, ledger: bool, allow_out_of_order: bool) -> Result<Status> {
    let scanned = files::migrations(&target.migrations)?;
    let mut problems = scanned.problems;
    problems.extend(files::seeds(&target.seeds)?.problems);
    let (applied, seeds_pending) = if ledger {
        let mut client = target.connect()?;
        let db = |e| database_error(&target.service, e);
        let applied = ledger::read(&mut client).map_err(db)?;
        let pending = !ledger::exists(&mut client).map_err(db)?
            || ledger::seeds_pending(&mut client).map_err(db)?;
        (applied, pending)
    } else {
        (Vec::new(), false)
    };
    let plan = plan::Plan::new(&scanned.found, &applied);
    if ledger {
        problems.extend(plan.problems(allow_out_of_order));
    }
    Ok(Status {
        service: target.service.clone(),
        database: target.database.clone(),
        directory: target.migrations.path.clone(),
        migrations: plan.entries,
        problems,
        seeds_pending,
        ledger_checked: ledger,
    })
}

/// A digest of every migration and seed file (names and checksums): equal
/// digests mean a database migrated and seeded from either is the same.
/// Fails, like a run would, when the files break the rules.
pub fn fingerprint(target: &Target) -> Result<String> {
    let migrations = checked(target, files::migrations(&target.migrations)?)?;
    let seeds = checked(target, files::seeds(&target.seeds)?)?;
    let mut text = format!("{CHECKSUM_ALGORITHM}\n");
    for m in &migrations {
        text.push_str(&format!(
            "m {} {} {}\n",
            m.version, m.file.name, m.file.checksum
        ));
    }
    for s in &seeds {
        text.push_str(&format!("s {} {}\n", s.name, s.checksum));
    }
    Ok(checksum(&text))
}

/// Write the next migration file; returns its path.
pub fn create(target: &Target, description: &str, no_transaction: bool) -> Result<PathBuf> {
    if !description.chars().any(char::is_alphanumeric) {
        return Err(Error::usage(
            format!("`{description}` is not a migration name"),
            Some("describe the change in a few words, e.g. `berth migrate new add users`".into()),
        ));
    }
    let scanned = files::migrations(&target.migrations)?;
    let name = files::next_name(&scanned.found, description);
    let dir = &target.migrations.path;
    std::fs::create_dir_all(dir).context(|| format!("could not create `{}`", dir.display()))?;
    let path = dir.join(&name);
    let mut text = format!(
        "-- {name}: {description}\n\
         -- Applied once by `berth migrate` (and `berth up`), in order, recorded with its\n\
         -- checksum. Once applied, never edit it: add a new migration instead.\n"
    );
    if no_transaction {
        text = format!(
            "-- {}\n-- Runs outside a transaction: keep exactly one statement in this file.\n{text}",
            sql::NO_TRANSACTION
        );
    }
    text.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .context(|| format!("could not create `{}`", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .context(|| format!("could not write `{}`", path.display()))?;
    Ok(path)
}

/// The files, or an integrity error naming every bad one.
fn checked<T>(target: &Target, scanned: files::Scanned<T>) -> Result<Vec<T>> {
    if scanned.problems.is_empty() {
        return Ok(scanned.found);
    }
    Err(Error::MigrationIntegrity {
        service: target.service.clone(),
        message: format!(
            "the migration files of service `{}` break the rules; nothing was applied",
            target.service
        ),
        problems: scanned.problems,
        hint: Some(
            "migrations are `NNN_description.sql`, one number each; seeds are `.sql` files".into(),
        ),
    })
}

fn integrity(target: &Target, plan: &plan::Plan, allow_out_of_order: bool) -> Result<()> {
    let problems = plan.problems(allow_out_of_order);
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::MigrationIntegrity {
        service: target.service.clone(),
        message: format!(
            "the migrations of service `{}` do not match what database `{}` has applied; nothing was applied",
            target.service, target.database
        ),
        problems,
        hint: Some(plan.advice(allow_out_of_order)),
    })
}

fn lock(client: &mut Client, target: &Target, reporter: &dyn Reporter) -> Result<()> {
    let timeout = crate::stack_lock::StackLock::timeout_from_env();
    let started = Instant::now();
    let waited = ledger::lock(client, timeout, &mut |holder| {
        reporter.event(Event::MigrationLockWait {
            service: &target.service,
            holder,
        })
    })
    .map_err(|e| database_error(&target.service, e))?;
    waited.map_err(|holder| Error::MigrationLockTimeout {
        service: target.service.clone(),
        holder,
        waited: started.elapsed(),
    })
}
