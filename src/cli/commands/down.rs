//! `berth down`

use berth::lifecycle;
use berth::Result;

use crate::cli::output::note;
use crate::cli::progress::Progress;
use crate::cli::Context;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(ctx: &Context, _args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let name = config.name.clone();
    let progress = Progress::new();
    let stopped = lifecycle::down(config, dir, &progress)?;
    drop(progress);
    if stopped.is_empty() {
        note(&format!("stack `{name}` was not running"));
    } else {
        note(&format!(
            "stack `{name}` is down; its data is kept (`berth reset` deletes it)"
        ));
    }
    Ok(())
}
