//! `berth migrate [status|new|verify]`

use crate::diagnostic::{shown_path, Tone};
use crate::error::{Error, Result};
use crate::migrate::plan::State;
use crate::migrate::runner;
use crate::migrate::target::Target;
use crate::time::fmt_duration;

use crate::cli::context::Context;
use crate::cli::output::{self, note, paint, table, warning};
use crate::cli::progress::Progress;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,

    /// Only this service (default: every postgres service)
    #[arg(long, short, global = true, value_name = "SERVICE")]
    service: Option<String>,

    /// Apply new files numbered below the last applied migration
    #[arg(long)]
    allow_out_of_order: bool,

    /// Print what was applied as JSON on stdout
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Show each migration: applied, pending, changed, missing or out of order
    Status {
        /// Print JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// Create the next migration file
    New {
        /// What the migration does, e.g. `add users`
        #[arg(required = true, num_args = 1.., value_name = "DESCRIPTION")]
        description: Vec<String>,
        /// Make it run outside a transaction (`CREATE INDEX CONCURRENTLY`)
        #[arg(long)]
        no_transaction: bool,
    },
    /// Check names, order and checksums against the ledger; apply nothing (for CI)
    Verify {
        /// Print JSON on stdout
        #[arg(long)]
        json: bool,
    },
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let targets = ctx.migration_targets(args.service.as_deref())?;
    match args.action {
        None => apply(targets, args.allow_out_of_order, args.json),
        Some(Action::Status { json }) => status(targets, json),
        Some(Action::New {
            description,
            no_transaction,
        }) => new(targets, &description.join(" "), no_transaction),
        Some(Action::Verify { json }) => verify(targets, json),
    }
}

/// The target, or the error that says it must be running first.
pub(crate) fn running(target: Target, running: bool, command: &str) -> Result<Target> {
    if running {
        return Ok(target);
    }
    Err(Error::Migrate {
        message: "it is not running".into(),
        source: None,
        hint: Some(format!(
            "start it with `berth up` (which also migrates), then run `berth {command}`"
        )),
        service: target.service,
    })
}

fn apply(targets: Vec<(Target, bool)>, allow_out_of_order: bool, json: bool) -> Result<()> {
    let options = runner::Options {
        allow_out_of_order,
        ..Default::default()
    };
    let progress = Progress::new();
    let mut outcomes = Vec::new();
    for (target, is_running) in targets {
        let target = running(target, is_running, "migrate")?;
        outcomes.push(runner::migrate(&target, &options, &progress)?);
    }
    drop(progress);
    if json {
        output::print_json(&outcomes);
        return Ok(());
    }
    for o in &outcomes {
        if o.applied.is_empty() {
            note(&format!("{}: nothing to apply", o.service));
        } else {
            let rows: Vec<Vec<String>> = o
                .applied
                .iter()
                .map(|a| vec![o.service.clone(), a.name.clone(), fmt_duration(a.took)])
                .collect();
            print!("{}", table(&["SERVICE", "APPLIED", "TOOK"], &rows));
        }
        summarize(o);
    }
    Ok(())
}

fn status(targets: Vec<(Target, bool)>, json: bool) -> Result<()> {
    let mut all = Vec::new();
    for (target, is_running) in targets {
        let target = running(target, is_running, "migrate status")?;
        all.push(runner::status(&target, true, false)?);
    }
    if json {
        output::print_json(&all);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .flat_map(|s| {
            s.migrations.iter().map(|e| {
                let style = match e.state {
                    State::Applied => Tone::Good,
                    State::Pending => Tone::Bold,
                    State::Changed | State::Missing | State::OutOfOrder => Tone::Error,
                };
                vec![
                    s.service.clone(),
                    e.version.to_string(),
                    e.name.clone(),
                    paint(e.state.as_str(), style, false),
                    e.applied
                        .as_ref()
                        .map_or("-".into(), |a| a.applied_at.clone()),
                ]
            })
        })
        .collect();
    if !rows.is_empty() {
        print!(
            "{}",
            table(
                &["SERVICE", "VERSION", "FILE", "STATE", "APPLIED AT"],
                &rows
            )
        );
    }
    for s in &all {
        let count = |st: State| s.migrations.iter().filter(|e| e.state == st).count();
        note(&format!(
            "{}: {} applied, {} pending in `{}`{}",
            s.service,
            count(State::Applied),
            count(State::Pending),
            shown_path(&s.directory),
            if s.seeds_pending {
                "; seeds run on the next migrate"
            } else {
                ""
            }
        ));
        for p in &s.problems {
            warning(&p.replace('\n', "\n  "));
        }
    }
    Ok(())
}

fn new(targets: Vec<(Target, bool)>, description: &str, no_transaction: bool) -> Result<()> {
    let (target, _) = only_one(targets, "the migration is for")?;
    let path = shown_path(&runner::create(&target, description, no_transaction)?);
    println!("{path}");
    note(&format!("created `{path}`; `berth migrate` applies it"));
    Ok(())
}

fn verify(targets: Vec<(Target, bool)>, json: bool) -> Result<()> {
    let mut all = Vec::new();
    for (target, is_running) in targets {
        if !is_running {
            warning(&format!(
                "`{}` is not running: checked the files only, not their checksums against its ledger",
                target.service
            ));
        }
        all.push(runner::status(&target, is_running, false)?);
    }
    if json {
        output::print_json(&serde_json::json!(all
            .iter()
            .map(|s| serde_json::json!({
                "service": s.service,
                "ok": s.problems.is_empty(),
                "ledger_checked": s.ledger_checked,
                "problems": s.problems,
            }))
            .collect::<Vec<_>>()));
    }
    let several = all.len() > 1;
    let problems: Vec<String> = all
        .iter()
        .flat_map(|s| {
            s.problems.iter().map(move |p| {
                if several {
                    format!("{}: {p}", s.service)
                } else {
                    p.clone()
                }
            })
        })
        .collect();
    if !problems.is_empty() {
        let services: Vec<String> = all
            .iter()
            .filter(|s| !s.problems.is_empty())
            .map(|s| format!("`{}`", s.service))
            .collect();
        return Err(Error::MigrationIntegrity {
            service: services.join(", "),
            message: format!(
                "{} found in the migrations of {}",
                plural(problems.len(), "problem"),
                services.join(", ")
            ),
            problems,
            hint: Some("`berth migrate status` shows every migration and its state".into()),
        });
    }
    if !json {
        for s in &all {
            note(&format!(
                "{}: {} verified{}",
                s.service,
                plural(s.migrations.len(), "migration"),
                if s.ledger_checked {
                    " against the ledger"
                } else {
                    " (files only)"
                }
            ));
        }
    }
    Ok(())
}

/// `db: applied 3 migrations in 40ms` and `db: seeded from 2 files`.
pub(crate) fn summarize(o: &runner::Outcome) {
    if !o.applied.is_empty() {
        note(&format!(
            "{}: applied {} in {}",
            o.service,
            plural(o.applied.len(), "migration"),
            fmt_duration(o.elapsed)
        ));
    }
    if !o.seeded.is_empty() {
        note(&format!(
            "{}: seeded from {}",
            o.service,
            plural(o.seeded.len(), "file")
        ));
    }
}

/// The one target, or an error asking for `--service` when there are
/// several (`what_for` completes "say which one ...").
pub(crate) fn only_one(mut targets: Vec<(Target, bool)>, what_for: &str) -> Result<(Target, bool)> {
    if targets.len() > 1 {
        let names: Vec<String> = targets
            .iter()
            .map(|(t, _)| format!("`{}`", t.service))
            .collect();
        return Err(Error::usage(
            format!("the stack has several postgres services; say which one {what_for}"),
            Some(format!(
                "add `--service NAME`; one of: {}",
                names.join(", ")
            )),
        ));
    }
    Ok(targets.remove(0))
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
