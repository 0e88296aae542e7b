//! `berth`: parse arguments, run the command, map errors to exit codes.

use std::sync::Mutex;

use clap::Parser;

use super::args::{Cli, Command};
use super::commands;
use super::context::Context;
use super::output;
use crate::config::model::LoadOptions;
use crate::error::{ExitClass, Result};
use crate::interrupt::Interrupt;

/// Run the command line; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                ExitClass::Usage as i32
            } else {
                0
            };
            let _ = e.print();
            return code;
        }
    };
    install_interrupt_handler();
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            output::error(&e);
            e.exit_code()
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let ctx = Context {
        file: cli.file,
        options: LoadOptions {
            profile: cli.profile,
            name: cli.name,
            runtime: cli.runtime,
        },
        state_dir: cli.state_dir,
    };
    match cli.command {
        Command::Init(args) => commands::init::run(&ctx, args),
        Command::Up(args) => commands::up::run(&ctx, args),
        Command::Run(args) => commands::run::run(&ctx, args),
        Command::Down(args) => commands::down::run(&ctx, args),
        Command::Reset(args) => commands::reset::run(&ctx, args),
        Command::Restart(args) => commands::restart::run(&ctx, args),
        Command::Status(args) => commands::status::run(&ctx, args),
        Command::Logs(args) => commands::logs::run(&ctx, args),
        Command::Dashboard(args) => commands::dashboard::run(&ctx, args),
        Command::Migrate(args) => commands::migrate::run(&ctx, args),
        Command::Seed(args) => commands::seed::run(&ctx, args),
        Command::Db(args) => commands::db::run(&ctx, args),
        Command::Env(args) => commands::env::run(&ctx, args),
        Command::Doctor(args) => commands::doctor::run(&ctx, args),
        Command::Lock(args) => commands::lock::run(&ctx, args),
        Command::Verify(args) => commands::verify::run(&ctx, args),
        Command::Snapshot(args) => commands::snapshot::run(&ctx, args),
        Command::Backup(args) => commands::backup::backup(&ctx, args),
        Command::Restore(args) => commands::backup::restore(&ctx, args),
        Command::Cache(args) => commands::cache::run(args),
        Command::Import(args) => commands::import::run(&ctx, args),
        Command::Export(args) => commands::export::run(&ctx, args),
        Command::Schema(args) => commands::schema::run(args),
        Command::Completions(args) => commands::completions::run(args),
        Command::Man(args) => commands::man::run(args),
        #[cfg(feature = "object-store")]
        Command::ObjectStore(args) => commands::object_store::run(args),
    }
}

/// What the first Ctrl-C says; a command that runs until Ctrl-C (`status
/// --watch`, `run`) says what it does instead, or nothing.
static ON_INTERRUPT: Mutex<Option<&'static str>> = Mutex::new(Some(
    "interrupted: stopping at the next safe point (Ctrl-C again to leave at once)",
));

/// Make the first Ctrl-C say `notice` (a warning), or nothing.
pub fn on_interrupt_say(notice: Option<&'static str>) {
    *ON_INTERRUPT.lock().unwrap_or_else(|p| p.into_inner()) = notice;
}

/// First Ctrl-C: finish at the next safe point. Second: leave at once.
fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        let interrupt = Interrupt::process();
        if interrupt.requested() {
            std::process::exit(ExitClass::Interrupted as i32);
        }
        interrupt.request();
        if let Some(notice) = *ON_INTERRUPT.lock().unwrap_or_else(|p| p.into_inner()) {
            output::warning(notice);
        }
    });
}
