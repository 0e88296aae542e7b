//! `berth dashboard [--port N] [--open]`

use std::process::{Command, Stdio};

use crate::error::Result;
use crate::interrupt::Interrupt;

use crate::cli::context::Context;
use crate::cli::dashboard::Dashboard;
use crate::cli::entry::on_interrupt_say;
use crate::cli::output::{emit, note, warning};

#[derive(clap::Args)]
pub struct Args {
    /// Listen on this port of 127.0.0.1 [default: a free one]
    #[arg(long, value_name = "PORT", default_value = "0")]
    port: u16,
    /// Open the page in the browser (`$BROWSER`, else `xdg-open`)
    #[arg(long)]
    open: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    // A stack file that does not load is said now, not on the page.
    let (config, _) = ctx.load()?;
    let dashboard = Dashboard::bind(args.port)?;
    // The URL alone on standard output, for scripts; the rest on stderr.
    emit(format!("{}\n", dashboard.url).as_bytes())?;
    note(&format!(
        "the dashboard of stack `{}` is at the URL above (only with its token); Ctrl-C stops it, not the stack",
        config.name
    ));
    if args.open {
        open_browser(&dashboard.url);
    }
    on_interrupt_say(None);
    dashboard.serve(ctx, &Interrupt::process())
}

fn open_browser(url: &str) {
    let opener = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| "xdg-open".into());
    let started = Command::new(&opener)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    if let Err(e) = started {
        warning(&format!(
            "could not open a browser with `{opener}` ({e}): open the URL yourself, or set `BROWSER`"
        ));
    }
}
