//! `berth down`

use crate::error::Result;
use crate::lifecycle::down;

use crate::cli::context::Context;
use crate::cli::output::note;
use crate::cli::progress::Progress;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(ctx: &Context, _args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let name = config.name.clone();
    let progress = Progress::new();
    let stopped = down::down(config, dir, &progress)?;
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
