//! `berth logs [SERVICE...] [-f]`

use crate::error::Result;
use crate::interrupt::Interrupt;
use crate::lifecycle::inspect::{self, Logs};

use crate::cli::context::Context;
use crate::cli::log_follower::Follower;

#[derive(clap::Args)]
pub struct Args {
    /// Services to show [default: all]
    services: Vec<String>,
    /// Keep printing new lines as they come (Ctrl-C to stop)
    #[arg(short, long)]
    follow: bool,
    /// Show only the last N lines of each log
    #[arg(short = 'n', long, value_name = "N")]
    tail: Option<usize>,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let stack = inspect::open(config, dir)?;
    let services = stack.select(&args.services)?;
    let logs = Logs::new(&stack);
    let files = logs.files(&services)?;
    let mut follower = Follower::new(&files, vec![0; files.len()]);
    let mut out = std::io::stdout().lock();
    follower.print_from_start(&files, args.tail, &mut out);
    if args.follow {
        follower.follow(&logs, &services, &Interrupt::process(), &mut || {})?;
    }
    Ok(())
}
