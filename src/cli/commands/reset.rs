//! `berth reset`: the one command that deletes data, so it asks first.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{Error, Result};
use crate::lifecycle::down;

use crate::cli::context::Context;
use crate::cli::output::note;
use crate::cli::progress::Progress;

#[derive(clap::Args)]
pub struct Args {
    /// Do not ask for confirmation
    #[arg(short, long)]
    yes: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let what = format!(
        "all data of stack `{}` ({}) in `{}`, and `{}`",
        config.name,
        config
            .services
            .iter()
            .map(|s| format!("`{}`", s.name))
            .collect::<Vec<_>>()
            .join(", "),
        dir.root.display(),
        config.env.file.display()
    );
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(Error::usage(
                format!("`berth reset` would delete {what}, and there is no terminal to confirm"),
                Some("pass `--yes` to reset without confirmation".to_string()),
            ));
        }
        eprint!("This deletes {what}. Continue? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| Error::io("could not read the answer", e))?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            note("reset cancelled; nothing was deleted");
            return Ok(());
        }
    }
    let name = config.name.clone();
    let progress = Progress::new();
    down::reset(config, dir, &progress)?;
    drop(progress);
    note(&format!(
        "stack `{name}` is reset; the next `berth up` starts it afresh"
    ));
    Ok(())
}
