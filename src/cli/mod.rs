//! The command line: argument parsing, one file per command in
//! `commands/`, and all terminal rendering in `output.rs` and
//! `progress.rs`. Messages follow `docs/STYLE.md`.

mod commands;
mod output;
mod progress;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use berth::config::{self, LoadOptions, StackConfig};
use berth::lifecycle;
use berth::state::StateDir;
use berth::{Error, Result};

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "Local data infrastructure with one command: PostgreSQL, Redis and more, started in order, health-checked and kept safe"
)]
pub struct Cli {
    /// The stack file [default: `berth.toml` here or in a parent directory]
    #[arg(short, long, env = "BERTH_FILE", value_name = "PATH")]
    file: Option<PathBuf>,

    /// Apply `[profiles.NAME]` from the stack file
    #[arg(short, long, env = "BERTH_PROFILE", value_name = "NAME")]
    profile: Option<String>,

    /// Run as a separately named instance of the stack (own state, ports, data)
    // Its own id: a global option shares its id with every subcommand, and
    // `db drop NAME` has an argument called `name`.
    #[arg(
        id = "stack_name",
        long = "name",
        global = true,
        env = "BERTH_STACK_NAME",
        value_name = "NAME"
    )]
    name: Option<String>,

    /// Run every service on this runtime (`native` or `container`), whatever the stack file says
    #[arg(long, global = true, env = "BERTH_RUNTIME", value_name = "RUNTIME")]
    runtime: Option<String>,

    /// Keep the stack's state here instead of `.berth/<stack>` beside the stack file
    #[arg(long, global = true, env = "BERTH_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a commented starter `berth.toml` (Postgres + Redis)
    Init(commands::init::Args),
    /// Start the stack, wait until every service answers, write the env file
    Up(commands::up::Args),
    /// Stop the stack, keeping its data
    Down(commands::down::Args),
    /// Stop the stack and delete its data
    Reset(commands::reset::Args),
    /// Show what runs, where, and whether it answers
    Status(commands::status::Args),
    /// Show service logs
    Logs(commands::logs::Args),
    /// Apply pending migrations; `status`, `new` and `verify` inspect them
    Migrate(commands::migrate::Args),
    /// Run the seed files again
    Seed(commands::seed::Args),
    /// Databases for tests: `create` (migrated, in milliseconds), `drop`, `gc`
    Db(commands::db::Args),
    /// Show the connection values, or write `.env.example`
    Env(commands::env::Args),
    /// Check this machine for the stack: engine, binaries, images, ports, resources
    Doctor(commands::doctor::Args),
    /// Pin each container service's image by digest in `berth.lock`
    Lock(commands::lock::Args),
    /// Check that each container service's image is the one `berth.lock` pins
    Verify(commands::verify::Args),
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                berth::ExitClass::Usage as i32
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
        Command::Down(args) => commands::down::run(&ctx, args),
        Command::Reset(args) => commands::reset::run(&ctx, args),
        Command::Status(args) => commands::status::run(&ctx, args),
        Command::Logs(args) => commands::logs::run(&ctx, args),
        Command::Migrate(args) => commands::migrate::run(&ctx, args),
        Command::Seed(args) => commands::seed::run(&ctx, args),
        Command::Db(args) => commands::db::run(&ctx, args),
        Command::Env(args) => commands::env::run(&ctx, args),
        Command::Doctor(args) => commands::doctor::run(&ctx, args),
        Command::Lock(args) => commands::lock::run(&ctx, args),
        Command::Verify(args) => commands::verify::run(&ctx, args),
    }
}

/// What every command needs to find its stack.
pub struct Context {
    file: Option<PathBuf>,
    options: LoadOptions,
    state_dir: Option<PathBuf>,
}

impl Context {
    fn stack_file(&self) -> Result<PathBuf> {
        if let Some(f) = &self.file {
            return Ok(f.clone());
        }
        let here = std::env::current_dir()
            .map_err(|e| Error::io("could not read the current directory", e))?;
        config::discover(&here).ok_or_else(|| {
            Error::usage(
                format!(
                    "no `{}` in `{}` or its parents",
                    config::FILE_NAME,
                    here.display()
                ),
                Some("`berth init` writes a starter stack, or pass `--file PATH`".to_string()),
            )
        })
    }

    /// Load the stack file and find its state directory.
    fn load(&self) -> Result<(StackConfig, StateDir)> {
        let file = self.stack_file()?;
        let config = config::load(&file, &self.options, &|k| std::env::var(k).ok())?;
        let dir = lifecycle::state_dir(&config, self.state_dir.as_deref());
        Ok((config, dir))
    }
}

impl Context {
    /// The stack's databases that take migrations (all, or `service`), each
    /// with whether its service runs: what `migrate`, `seed` and `db` act on.
    fn migration_targets(
        &self,
        service: Option<&str>,
    ) -> Result<Vec<(berth::migrate::Target, bool)>> {
        let (config, dir) = self.load()?;
        let stack = lifecycle::open(config, dir)?;
        lifecycle::migration_targets(&stack, service)
    }
}

/// First Ctrl-C: finish at the next safe point. Second: leave at once.
fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        if berth::interrupt::requested() {
            std::process::exit(berth::ExitClass::Interrupted as i32);
        }
        berth::interrupt::request();
        output::warning(
            "interrupted: stopping at the next safe point (Ctrl-C again to leave at once)",
        );
    });
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap checks the whole command tree only when asked (or when a
    /// subcommand is first used in a debug build): two options of one name
    /// would otherwise surface as a panic in front of a user.
    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn global_options_do_not_swallow_a_subcommands_arguments() {
        use clap::Parser;
        let cli = super::Cli::try_parse_from(["berth", "db", "drop", "bt_1"]).unwrap();
        assert_eq!(cli.name, None);
        let cli = super::Cli::try_parse_from([
            "berth",
            "status",
            "--name",
            "ci-1",
            "--runtime",
            "container",
        ])
        .unwrap();
        assert_eq!(cli.name.as_deref(), Some("ci-1"));
        assert_eq!(cli.runtime.as_deref(), Some("container"));
    }
}
