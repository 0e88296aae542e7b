//! `berth run`: the stack in the foreground, the way `docker compose up`
//! and process-compose are used: bring it up, stream every service's log
//! (prefixed), and on Ctrl-C stop it, keeping its data.

use std::time::{Duration, Instant};

use crate::error::Result;
use crate::interrupt::Interrupt;
use crate::lifecycle::down;
use crate::lifecycle::inspect::Logs;
use crate::runtime::contract::RunState;
use crate::runtime::registry::Runtimes;

use crate::cli::commands::up;
use crate::cli::context::Context;
use crate::cli::entry::on_interrupt_say;
use crate::cli::log_follower::Follower;
use crate::cli::output::{note, warning};
use crate::cli::progress::Progress;

#[derive(clap::Args)]
// The same options as `up`; its argument group is the one.
#[group(skip)]
pub struct Args {
    #[command(flatten)]
    up: up::Args,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    // What the logs hold already is an earlier run's: follow from here.
    let (config, dir) = ctx.load()?;
    let offsets: Vec<(String, u64)> = config
        .services
        .iter()
        .map(|s| {
            let len = std::fs::metadata(dir.log_file(&s.name)).map_or(0, |m| m.len());
            (s.name.clone(), len)
        })
        .collect();
    on_interrupt_say(Some(
        "stopping the stack, keeping its data (Ctrl-C again to leave at once)",
    ));
    let interrupt = Interrupt::process();
    let up = up::bring_up(ctx, &args.up, &interrupt);
    let stack = match up {
        Ok(stack) => stack,
        Err(e) => {
            // Ctrl-C while starting: stop what did start, as on a later one.
            if interrupt.requested() {
                stop(ctx)?;
            }
            return Err(e);
        }
    };
    let services: Vec<_> = stack.services.iter().collect();
    let logs = Logs::new(&stack);
    let files = logs.files(&services)?;
    let from: Vec<u64> = files
        .iter()
        .map(|(name, _)| {
            offsets
                .iter()
                .find(|(n, _)| n == name)
                .map_or(0, |(_, len)| *len)
        })
        .collect();
    note(&format!(
        "following the logs of {} service(s); Ctrl-C stops the stack (its data is kept)",
        services.len()
    ));
    // A server that ends on its own is said once; the others keep running.
    let runtimes = Runtimes::new(stack.name(), &stack.dir);
    let mut ended: Vec<String> = Vec::new();
    let mut checked = Instant::now();
    let mut tick = || {
        if checked.elapsed() < Duration::from_secs(1) {
            return;
        }
        checked = Instant::now();
        for svc in &services {
            if ended.contains(&svc.name) {
                continue;
            }
            let running = runtimes
                .of(&svc.plan)
                .and_then(|r| r.state(&svc.plan))
                .is_ok_and(|s| matches!(s, RunState::Running { .. }));
            if !running && !interrupt.requested() {
                warning(&format!(
                    "`{}` is no longer running (its last lines above say why; `berth up` in another terminal starts it again)",
                    svc.name
                ));
                ended.push(svc.name.clone());
            }
        }
    };
    Follower::new(&files, from).follow(&logs, &services, &interrupt, &mut tick)?;
    stop(ctx)
}

/// `berth down`, not itself interrupted by the Ctrl-C that asked for it.
fn stop(ctx: &Context) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let name = config.name.clone();
    let runtimes = Runtimes::new(&config.name, &dir);
    let progress = Progress::new();
    down::down_with(config, dir, &runtimes, &Interrupt::private(), &progress)?;
    drop(progress);
    note(&format!(
        "stack `{name}` is down; its data is kept (`berth reset` deletes it)"
    ));
    Ok(())
}
