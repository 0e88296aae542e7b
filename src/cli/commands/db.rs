//! `berth db create|drop|refill|gc`: test databases for any language's
//! test runner. `create` hands out a database cloned ahead when the pool
//! has one, and tops the pool up in the background (`refill`, detached).
//!
//! A database made by `berth db create` belongs to the process that ran
//! berth (the test runner, a shell script): once that process is gone,
//! `berth db gc` (or the next run's cleanup) drops it.

use crate::error::{Error, Result};
use crate::process::ProcessRecord;
use crate::testing::Databases;

use crate::cli::commands::migrate::{only_one, plural, running};
use crate::cli::context::Context;
use crate::cli::output::{self, note};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,

    /// The postgres service (default: the stack's only one)
    #[arg(long, short, global = true, value_name = "SERVICE")]
    service: Option<String>,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Make a database for one test and print its URL
    Create {
        /// Clone the template with the migrations and seeds applied (the default)
        #[arg(long, conflicts_with = "empty")]
        from_template: bool,
        /// An empty database instead
        #[arg(long)]
        empty: bool,
        /// Print name, host, port, user, password and URL as JSON
        #[arg(long)]
        json: bool,
    },
    /// Drop a database `berth db create` made
    Drop {
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Top up the pool of databases cloned ahead (`db create` starts this in the background)
    Refill,
    /// Drop the test databases whose test process is gone
    Gc {
        /// List what was dropped as JSON
        #[arg(long)]
        json: bool,
    },
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let targets = ctx.migration_targets(args.service.as_deref())?;
    let (target, is_running) = only_one(targets, "the databases are for")?;
    let target = running(target, is_running, "db")?;
    let databases = Databases::new(target);
    match args.action {
        Action::Create { empty, json, .. } => {
            let owner = parent_process()?;
            let info = databases.create(owner, !empty)?;
            if json {
                output::print_json(&info);
            } else {
                println!("{}", info.url);
            }
            if !empty && databases.pool_size() > 0 {
                refill_in_background(ctx, args.service.as_deref());
            }
        }
        Action::Refill => {
            let made = databases.fill_pool()?;
            note(&format!("made {} ahead", plural(made, "database")));
        }
        Action::Drop { name } => {
            if databases.drop_database(&name)? {
                note(&format!("dropped `{name}`"));
            } else {
                note(&format!("`{name}` was already gone"));
            }
        }
        Action::Gc { json } => {
            let dropped = databases.gc()?;
            if json {
                output::print_json(&dropped);
            } else {
                note(&format!(
                    "dropped {} left by finished test runs",
                    plural(dropped.len(), "database")
                ));
            }
        }
    }
    Ok(())
}

/// Start `berth db refill` for the same stack, detached: the pool is
/// topped up after this process has answered and exited. If it cannot
/// start, the next `db create` clones on request instead.
fn refill_in_background(ctx: &Context, service: Option<&str>) {
    use std::os::unix::process::CommandExt;
    let (Ok(exe), Ok(file)) = (std::env::current_exe(), ctx.stack_file()) else {
        return;
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--file").arg(file);
    if let Some(p) = &ctx.options.profile {
        cmd.args(["--profile", p]);
    }
    if let Some(n) = &ctx.options.name {
        cmd.args(["--name", n]);
    }
    if let Some(r) = &ctx.options.runtime {
        cmd.args(["--runtime", r]);
    }
    if let Some(d) = &ctx.state_dir {
        cmd.arg("--state-dir").arg(d);
    }
    cmd.arg("db");
    if let Some(s) = service {
        cmd.args(["--service", s]);
    }
    cmd.arg("refill")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches no memory: the
    // refill leaves the caller's session, so the test runner waiting on
    // this command's output is not kept waiting.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let _ = cmd.spawn();
}

/// The process that ran berth: the test runner that owns the database.
fn parent_process() -> Result<ProcessRecord> {
    // SAFETY: getppid has no preconditions.
    let ppid = unsafe { libc::getppid() };
    ProcessRecord::of(ppid).ok_or_else(|| Error::Usage {
        message: "the process that ran berth is already gone".into(),
        hint: Some("run `berth db create` from the test process that uses the database".into()),
    })
}
