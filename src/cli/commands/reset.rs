//! `berth reset`: the one command that deletes data, so it asks first.

use crate::error::Result;
use crate::lifecycle::down::{self, ResetOptions};

use crate::cli::context::Context;
use crate::cli::output::{confirm, note};
use crate::cli::progress::Progress;

#[derive(clap::Args)]
pub struct Args {
    /// Do not ask for confirmation
    #[arg(short, long)]
    yes: bool,
    /// Do not take a snapshot of the data first
    #[arg(long)]
    no_snapshot: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let what = format!(
        "all data of stack `{}` ({}) in `{}`, and `{}`{}",
        config.name,
        config
            .services
            .iter()
            .map(|s| format!("`{}`", s.name))
            .collect::<Vec<_>>()
            .join(", "),
        dir.root.display(),
        config.env.file.display(),
        if args.no_snapshot {
            ", keeping no snapshot"
        } else {
            " (a snapshot of the data is taken first)"
        }
    );
    if !args.yes && !confirm("reset", "delete", &what, "nothing was deleted")? {
        return Ok(());
    }
    let name = config.name.clone();
    let progress = Progress::new();
    let options = ResetOptions {
        snapshot: !args.no_snapshot,
        ..ResetOptions::default()
    };
    let taken = down::reset(config, dir, &options, &progress)?;
    drop(progress);
    if let Some(snapshot) = taken {
        note(&format!(
            "its data is in snapshot `{}`: `berth snapshot restore {}` brings it back",
            snapshot.name, snapshot.name
        ));
    }
    note(&format!(
        "stack `{name}` is reset; the next `berth up` starts it afresh"
    ));
    Ok(())
}
