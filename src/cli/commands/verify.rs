//! `berth verify`: compare each container service's image with `berth.lock`.

use crate::diagnostic::Tone;
use crate::error::Result;
use crate::lifecycle::images;

use crate::cli::context::Context;
use crate::cli::output::{self, note, paint, table};

#[derive(clap::Args)]
pub struct Args {
    /// Print the verdicts as JSON on stdout (the exit code still tells drift)
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let verdicts = images::verify(config, dir)?;
    if args.json {
        output::print_json(&verdicts);
    } else if verdicts.is_empty() {
        note("no service runs in a container: there is no image to verify");
        return Ok(());
    } else {
        let rows: Vec<Vec<String>> = verdicts
            .iter()
            .map(|v| {
                let state = if v.drift {
                    paint("drift", Tone::Error, false)
                } else {
                    "locked".to_string()
                };
                vec![v.service.clone(), state, v.verdict.describe()]
            })
            .collect();
        print!("{}", table(&["SERVICE", "IMAGE", "DETAIL"], &rows));
    }
    match images::drift_error(&verdicts) {
        Some(e) => Err(e),
        None => {
            if !args.json {
                note("every image is the one `berth.lock` pins");
            }
            Ok(())
        }
    }
}
