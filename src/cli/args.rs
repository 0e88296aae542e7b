//! The command line's arguments, for clap.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use super::commands;

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "Local data infrastructure with one command: PostgreSQL, Redis and more, started in order, health-checked and kept safe"
)]
pub struct Cli {
    /// The stack file [default: `berth.toml` here or in a parent directory]
    #[arg(short, long, env = "BERTH_FILE", value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// Apply `[profiles.NAME]` from the stack file
    #[arg(short, long, env = "BERTH_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,

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
    pub name: Option<String>,

    /// Run every service on this runtime (`native` or `container`), whatever the stack file says
    #[arg(long, global = true, env = "BERTH_RUNTIME", value_name = "RUNTIME")]
    pub runtime: Option<String>,

    /// Keep the stack's state here instead of `.berth/<stack>` beside the stack file
    #[arg(long, global = true, env = "BERTH_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Write a commented starter `berth.toml` (Postgres + Redis)
    Init(commands::init::Args),
    /// Start the stack, wait until every service answers, write the env file
    Up(commands::up::Args),
    /// Start the stack in the foreground: up, then every log streamed; Ctrl-C stops it
    Run(commands::run::Args),
    /// Stop the stack, keeping its data
    Down(commands::down::Args),
    /// Stop the stack and delete its data
    Reset(commands::reset::Args),
    /// Stop some services and start them again (their data kept)
    Restart(commands::restart::Args),
    /// Show what runs, where, and whether it answers
    Status(commands::status::Args),
    /// Show service logs
    Logs(commands::logs::Args),
    /// Serve a live web page of the stack on 127.0.0.1: states, use, logs, migrations, buttons
    Dashboard(commands::dashboard::Args),
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
    /// Save the stack's data, list, restore and remove snapshots
    Snapshot(commands::snapshot::Args),
    /// Write a portable backup of the running stack (pg_dump, Redis RDB)
    Backup(commands::backup::BackupArgs),
    /// Load a backup into the running stack
    Restore(commands::backup::RestoreArgs),
    /// Show the cache of initialized data (a pristine PostgreSQL cluster per server); `clean` removes it
    Cache(commands::cache::Args),
    /// Write a `berth.toml` from a compose file
    Import(commands::import::Args),
    /// Write the stack for Compose or Kubernetes
    Export(commands::export::Args),
    /// Print the JSON Schema of `berth.toml`, for editors
    Schema(commands::schema::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    Completions(commands::completions::Args),
    /// Print the manual page, or write one per command with `--dir`
    Man(commands::man::Args),
    /// berth's own S3 server, which the native runtime runs for an `s3` service
    #[cfg(feature = "object-store")]
    #[command(hide = true)]
    ObjectStore(commands::object_store::Args),
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    /// clap checks the whole command tree only when asked (or when a
    /// subcommand is first used in a debug build): two options of one name
    /// would otherwise surface as a panic in front of a user.
    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn global_options_do_not_swallow_a_subcommands_arguments() {
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
