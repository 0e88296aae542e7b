//! `berth backup` and `berth restore FILE`

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::interrupt::Interrupt;
use crate::lifecycle::backup;
use crate::units::fmt_bytes;

use crate::cli::context::Context;
use crate::cli::output::{self, confirm, note};
use crate::cli::progress::Progress;

#[derive(clap::Args)]
pub struct BackupArgs {
    /// Only this service [default: every postgres and redis service]
    #[arg(long, short, value_name = "SERVICE")]
    service: Option<String>,
    /// The archive to write [default: `<stack>-<time>.backup.tar` here]
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print what was backed up as JSON on stdout
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// An archive `berth backup` wrote
    file: PathBuf,
    /// Do not ask for confirmation
    #[arg(short, long)]
    yes: bool,
    #[arg(long)]
    json: bool,
}

pub fn backup(ctx: &Context, args: BackupArgs) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let output = args.output.unwrap_or_else(|| {
        PathBuf::from(format!(
            "{}-{}.backup.tar",
            config.name,
            jiff::Timestamp::now().strftime("%Y%m%d-%H%M%S")
        ))
    });
    if output.exists() {
        return Err(Error::usage(
            format!("`{}` exists already", output.display()),
            Some("choose another file with `-o FILE`".into()),
        ));
    }
    let progress = Progress::new();
    let report = backup::backup(
        config,
        dir,
        args.service.as_deref(),
        &output,
        &Interrupt::process(),
        &progress,
    )?;
    drop(progress);
    if args.json {
        output::print_json(&report);
        return Ok(());
    }
    let services: Vec<&str> = report
        .manifest
        .services
        .iter()
        .map(|s| s.service.as_str())
        .collect();
    note(&format!(
        "wrote `{}`: {} from {}; `berth restore {}` loads it",
        crate::diagnostic::shown_path(&report.file),
        fmt_bytes(report.manifest.bytes()),
        services.join(", "),
        crate::diagnostic::shown_path(&report.file),
    ));
    Ok(())
}

pub fn restore(ctx: &Context, args: RestoreArgs) -> Result<()> {
    let (config, dir) = ctx.load()?;
    if !args.file.is_file() {
        return Err(Error::usage(
            format!("`{}` does not exist", args.file.display()),
            None,
        ));
    }
    if !args.yes {
        let what = format!(
            "the data of stack `{}` that `{}` holds (each database and Redis in it is replaced once all of it loaded)",
            config.name,
            args.file.display()
        );
        if !confirm("restore", "replace", &what, "nothing was changed")? {
            return Ok(());
        }
    }
    let progress = Progress::new();
    let report = backup::restore(config, dir, &args.file, &Interrupt::process(), &progress)?;
    drop(progress);
    if args.json {
        output::print_json(&report);
        return Ok(());
    }
    note(&format!(
        "restored {} from `{}` (backed up {})",
        report.services.join(", "),
        crate::diagnostic::shown_path(&report.file),
        report.created
    ));
    Ok(())
}
