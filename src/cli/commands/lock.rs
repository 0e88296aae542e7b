//! `berth lock`: pin each container service's image in `berth.lock`.

use crate::error::Result;
use crate::image_lock;
use crate::lifecycle::images;

use crate::cli::context::Context;
use crate::cli::output::{self, note, table};
use crate::cli::progress::Progress;

#[derive(clap::Args)]
pub struct Args {
    /// Print the lock as JSON on stdout
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let file = image_lock::path(&config.root);
    let progress = Progress::new();
    let lock = images::lock(config, dir, &progress)?;
    drop(progress);
    if args.json {
        output::print_json(&lock);
        return Ok(());
    }
    if lock.services.is_empty() {
        note(&format!(
            "no service runs in a container, so `{}` pins nothing",
            file.display()
        ));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = lock
        .services
        .iter()
        .map(|(service, l)| vec![service.clone(), l.image.clone(), l.id.clone()])
        .collect();
    print!("{}", table(&["SERVICE", "IMAGE", "ID"], &rows));
    note(&format!(
        "wrote `{}`; commit it, and `berth verify` checks this machine against it",
        file.display()
    ));
    Ok(())
}
