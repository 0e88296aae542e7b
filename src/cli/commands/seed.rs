//! `berth seed`

use crate::diagnostic::shown_path;
use crate::error::{Error, Result};
use crate::lifecycle::inspect::{self, SeedTarget};
use crate::migrate::runner;

use crate::cli::commands::migrate::{plural, running};
use crate::cli::context::Context;
use crate::cli::output::note;
use crate::cli::progress::Progress;

#[derive(clap::Args)]
pub struct Args {
    /// Only this service (default: every service with seed files: postgres
    /// databases and s3 buckets)
    #[arg(long, short, value_name = "SERVICE")]
    service: Option<String>,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let stack = inspect::open(config, dir)?;
    let targets = inspect::seed_targets(&stack, args.service.as_deref())?;
    let progress = Progress::new();
    let mut done = Vec::new();
    for (target, is_running) in targets {
        match target {
            SeedTarget::Sql(target) => {
                let target = running(*target, is_running, "seed")?;
                let files = runner::seed(&target, &progress)?;
                let from = shown_path(&target.seeds.path);
                done.push((target.service, files.len(), "seed file", from));
            }
            SeedTarget::Files(service) => {
                if !is_running {
                    return Err(Error::Service {
                        service: service.name.clone(),
                        message: "it is not running".into(),
                        hint: Some("start it with `berth up` (which also seeds what is new), then run `berth seed`".into()),
                        source: None,
                    });
                }
                let objects = service.seed(true)?;
                let from = service
                    .settings
                    .seed_dir()
                    .map(shown_path)
                    .unwrap_or_default();
                done.push((service.name.clone(), objects.len(), "object", from));
            }
        }
    }
    drop(progress);
    for (service, count, what, from) in done {
        if count == 0 {
            note(&format!("{service}: no seed files in `{from}`"));
        } else {
            note(&format!(
                "{service}: loaded {} from `{from}`",
                plural(count, what)
            ));
        }
    }
    Ok(())
}
