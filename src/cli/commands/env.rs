//! `berth env`: the connection values the env file holds.

use std::path::PathBuf;

use crate::envfile::{self, Secrets};
use crate::error::{Error, Result};
use crate::lifecycle::inspect;

use crate::cli::context::Context;
use crate::cli::output::{self, note};

#[derive(clap::Args)]
pub struct Args {
    /// Show secrets instead of `****`
    #[arg(long)]
    show: bool,
    /// Print JSON on stdout
    #[arg(long)]
    json: bool,
    /// Write an example env file with secrets left empty [default path: `.env.example`]
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = ".env.example")]
    example: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let started = dir.state_file().exists();
    let stack = inspect::open(config, dir)?;
    if let Some(path) = args.example {
        let path = if path.is_absolute() {
            path
        } else {
            stack.config.root.join(path)
        };
        envfile::write_example(&stack, &path)?;
        note(&format!(
            "wrote `{}` (secrets left out: empty, or `****` in URLs)",
            path.display()
        ));
        return Ok(());
    }
    if !started {
        return Err(Error::usage(
            format!(
                "stack `{}` has never been up, so its ports and passwords are not chosen yet",
                stack.name()
            ),
            Some("run `berth up` first".to_string()),
        ));
    }
    let vars = envfile::variables(
        &stack,
        if args.show {
            Secrets::Show
        } else {
            Secrets::Mask
        },
    );
    if args.json {
        let map: serde_json::Map<String, serde_json::Value> = vars
            .iter()
            .map(|v| (v.name.clone(), serde_json::Value::String(v.value.clone())))
            .collect();
        output::print_json(&map);
    } else {
        for v in &vars {
            println!("{}={}", v.name, v.value);
        }
    }
    if !args.show && vars.iter().any(|v| v.secret) {
        note("secrets are masked; `berth env --show` prints them");
    }
    Ok(())
}
