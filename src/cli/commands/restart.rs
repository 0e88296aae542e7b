//! `berth restart SERVICE...`

use crate::error::{Error, Result};
use crate::lifecycle::restart;
use crate::lifecycle::up::UpOptions;

use crate::cli::commands::up;
use crate::cli::context::Context;
use crate::cli::progress::Progress;

#[derive(clap::Args)]
pub struct Args {
    /// The services to restart
    #[arg(required = true)]
    services: Vec<String>,
    /// Print the summary as JSON on stdout
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    if !dir.state_file().exists() {
        return Err(Error::usage(
            format!("stack `{}` has never been up", config.name),
            Some("`berth up` starts it".into()),
        ));
    }
    let progress = Progress::new();
    let (stack, reports) = restart::restart(
        config,
        dir,
        &args.services,
        &UpOptions::default(),
        &progress,
    )?;
    drop(progress);
    up::report(&stack, &reports, args.json);
    Ok(())
}
