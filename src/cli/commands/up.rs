//! `berth up`

use crate::error::Result;
use crate::interrupt::Interrupt;
use crate::lifecycle::up::{self, ServiceReport, UpAction, UpOptions};
use crate::plan::runtime_kind::RuntimeKind;
use crate::stack::resolved::Stack;
use crate::time::fmt_duration;

use crate::cli::commands::migrate::{plural, summarize};
use crate::cli::context::Context;
use crate::cli::output::{self, note, table};
use crate::cli::progress::Progress;

#[derive(clap::Args)]
pub struct Args {
    /// Print the summary as JSON on stdout
    #[arg(long)]
    pub json: bool,

    /// Do not apply migrations or seeds
    #[arg(long)]
    no_migrate: bool,

    /// Refuse to start if any image differs from what `berth.lock` pins
    #[arg(long)]
    locked: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    bring_up(ctx, &args, &Interrupt::process()).map(|_| ())
}

/// Bring the stack up as `berth up` does, summary included; `berth run`
/// does this first.
pub fn bring_up(ctx: &Context, args: &Args, interrupt: &Interrupt) -> Result<Stack> {
    let (config, dir) = ctx.load()?;
    super::schema::refresh_beside(&config.file);
    let progress = Progress::new();
    let (stack, reports) = up::up(
        config,
        dir,
        &UpOptions {
            migrate: !args.no_migrate,
            locked: args.locked,
            interrupt: interrupt.clone(),
            ..UpOptions::default()
        },
        &progress,
    )?;
    drop(progress);
    report(&stack, &reports, args.json);
    Ok(stack)
}

/// What `up` did, as a table and notes (or JSON); also `restart`'s.
pub fn report(stack: &Stack, reports: &[ServiceReport], json: bool) {
    if json {
        output::print_json(&reports);
        return;
    }
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let state = match r.action {
                UpAction::Initialized => "initialized",
                UpAction::Started => "started",
                UpAction::AlreadyRunning => "was running",
            };
            vec![
                r.service.clone(),
                r.kind.clone(),
                r.runtime.to_string(),
                r.endpoint.clone(),
                state.to_string(),
                fmt_duration(r.ready_in),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["SERVICE", "KIND", "RUNTIME", "ENDPOINT", "STATE", "READY IN"],
            &rows
        )
    );
    for m in reports.iter().filter_map(|r| r.migrations.as_ref()) {
        summarize(m);
    }
    for r in reports.iter().filter(|r| !r.seeded.is_empty()) {
        note(&format!(
            "{}: seeded {}",
            r.service,
            plural(r.seeded.len(), "object")
        ));
    }
    // Said once: when the data that moved is first made.
    if let Some((real, why)) = stack.dir.servers_elsewhere() {
        if reports
            .iter()
            .any(|r| r.action == UpAction::Initialized && r.runtime == RuntimeKind::Native)
        {
            let link = stack.dir.root.join("services");
            let here = std::env::current_dir().unwrap_or_default();
            note(&format!(
                "{why}: the servers' data is kept in `{}`, linked from `{}` (`--state-dir` keeps the whole state elsewhere)",
                real.display(),
                link.strip_prefix(&here).unwrap_or(&link).display()
            ));
        }
    }
    let env_file = stack.config.env_file();
    let shown = env_file
        .strip_prefix(std::env::current_dir().unwrap_or_default())
        .unwrap_or(&env_file);
    note(&format!(
        "stack `{}` is up; connection values are in `{}`",
        stack.name(),
        shown.display()
    ));
}
