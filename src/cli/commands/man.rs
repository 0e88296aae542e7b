//! `berth man`: the manual pages, generated from the command line's own
//! definition: `berth.1` on standard output, or one page per command
//! (`berth.1`, `berth-up.1`, ...) into a directory.

use std::path::PathBuf;

use clap::CommandFactory;

use crate::cli::args::Cli;
use crate::cli::output::{emit, note};
use crate::error::{Error, Result};

#[derive(clap::Args)]
#[command(after_help = "Read one without installing: berth man | man -l -")]
pub struct Args {
    /// Write a page per command into this directory (created if missing)
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let command = Cli::command();
    match args.dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|e| Error::io("could not write the manual page", e))?;
            emit(&page)
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("could not create `{}`", dir.display()), e))?;
            clap_mangen::generate_to(command, &dir).map_err(|e| {
                Error::io(
                    format!("could not write the manual pages into `{}`", dir.display()),
                    e,
                )
            })?;
            note(&format!(
                "wrote the manual pages into `{}` (read one with `man -l {}/berth-up.1`)",
                dir.display(),
                dir.display()
            ));
            Ok(())
        }
    }
}
