//! `berth snapshot save|list|restore|rm`

use crate::error::Result;
use crate::interrupt::Interrupt;
use crate::lifecycle::snapshot::{self, RestoreOptions};
use crate::snapshot::store::Store;
use crate::time::fmt_duration;

use crate::cli::context::Context;
use crate::cli::output::{self, note, table};
use crate::cli::progress::Progress;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Save every persistent service's data (a running stack is paused for the copy)
    Save {
        /// The snapshot's name [default: the time, like `20261201-183012`]
        name: Option<String>,
        /// Print what was saved as JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// List the stack's snapshots, oldest first
    List {
        #[arg(long)]
        json: bool,
    },
    /// Replace the stack's data with a snapshot's (the data it replaces is saved first)
    Restore {
        name: String,
        /// Do not save the data it replaces first
        #[arg(long)]
        no_snapshot: bool,
        /// Read every file to check its checksum, even where nothing touched the snapshot since it was last checked
        #[arg(long)]
        verify: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete a snapshot
    Rm { name: String },
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let store = Store::of(&dir);
    match args.what {
        What::Save { name, json } => {
            let progress = Progress::new();
            let saved = snapshot::save(config, dir, name, &Interrupt::process(), &progress)?;
            drop(progress);
            if json {
                output::print_json(&saved);
                return Ok(());
            }
            let m = &saved.manifest;
            let how = if m.services.iter().all(|s| s.cloned) {
                "cloned (the copy shares the data's blocks)"
            } else {
                "copied"
            };
            let paused = if saved.paused.is_zero() {
                String::new()
            } else {
                format!("; the stack was paused for {}", fmt_duration(saved.paused))
            };
            note(&format!(
                "saved snapshot `{}`: {} of {} service(s), {how}{paused}",
                m.name,
                crate::units::fmt_bytes(m.bytes()),
                m.services.len()
            ));
        }
        What::List { json } => {
            let all = store.list()?;
            if json {
                output::print_json(&all);
                return Ok(());
            }
            if all.is_empty() {
                note("no snapshots; `berth snapshot save NAME` takes one");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = all
                .iter()
                .map(|m| {
                    vec![
                        m.name.clone(),
                        m.created.clone(),
                        crate::units::fmt_bytes(m.bytes()),
                        m.services
                            .iter()
                            .map(|s| s.service.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        m.automatic.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(&["NAME", "CREATED", "SIZE", "SERVICES", "AUTOMATIC"], &rows)
            );
        }
        What::Restore {
            name,
            no_snapshot,
            verify,
            json,
        } => {
            let progress = Progress::new();
            let options = RestoreOptions {
                safety_snapshot: !no_snapshot,
                verify,
                ..RestoreOptions::new(Interrupt::process())
            };
            let restored = snapshot::restore(config, dir, &name, &options, &progress)?;
            drop(progress);
            if json {
                output::print_json(&restored);
                return Ok(());
            }
            if let Some(safety) = &restored.safety {
                note(&format!(
                    "the data it replaced is in snapshot `{safety}`: `berth snapshot restore {safety}` brings it back"
                ));
            }
            let again = if restored.restarted {
                format!(
                    "; the stack is up again (it was stopped for {})",
                    fmt_duration(restored.paused)
                )
            } else {
                String::new()
            };
            note(&format!(
                "restored snapshot `{}` ({}){again}",
                restored.name,
                restored.services.join(", "),
            ));
        }
        What::Rm { name } => {
            store.remove(&name)?;
            note(&format!("removed snapshot `{name}`"));
        }
    }
    Ok(())
}
