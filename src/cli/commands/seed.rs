//! `berth seed`

use crate::error::Result;
use crate::migrate::runner;

use crate::cli::commands::migrate::{plural, running};
use crate::cli::context::Context;
use crate::cli::output::note;
use crate::cli::progress::Progress;

#[derive(clap::Args)]
pub struct Args {
    /// Only this service (default: every postgres service)
    #[arg(long, short, value_name = "SERVICE")]
    service: Option<String>,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let targets = ctx.migration_targets(args.service.as_deref())?;
    let progress = Progress::new();
    let mut done = Vec::new();
    for (target, is_running) in targets {
        let target = running(target, is_running, "seed")?;
        let files = runner::seed(&target, &progress)?;
        done.push((target, files));
    }
    drop(progress);
    for (target, files) in done {
        if files.is_empty() {
            note(&format!(
                "{}: no seed files in `{}`",
                target.service,
                target.seeds.path.display()
            ));
        } else {
            note(&format!(
                "{}: ran {} from `{}`",
                target.service,
                plural(files.len(), "seed file"),
                target.seeds.path.display()
            ));
        }
    }
    Ok(())
}
