//! `berth status`

use crate::diagnostic::Tone;
use crate::error::Result;
use crate::lifecycle::status::{self, Health};
use crate::time::fmt_duration;

use crate::cli::context::Context;
use crate::cli::output::{self, paint, table};

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON on stdout
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let name = config.name.clone();
    let statuses = status::status(config, dir)?;
    if args.json {
        output::print_json(&serde_json::json!({ "stack": name, "services": statuses }));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = statuses
        .iter()
        .map(|s| {
            let style = match s.health {
                Health::Ready => Tone::Good,
                Health::Unhealthy => Tone::Error,
                Health::Stopped | Health::Absent => Tone::Dim,
            };
            let mut state = s.health.as_str().to_string();
            if let Some(p) = &s.problem {
                state.push_str(&format!(" ({p})"));
            }
            vec![
                s.service.clone(),
                s.kind.clone(),
                s.runtime.to_string(),
                s.endpoint.clone().unwrap_or_else(|| "-".into()),
                paint(&state, style, false),
                s.pid.map_or("-".into(), |p| p.to_string()),
                s.last_ready_in.map_or("-".into(), fmt_duration),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "SERVICE",
                "KIND",
                "RUNTIME",
                "ENDPOINT",
                "STATE",
                "PID",
                "LAST READY IN"
            ],
            &rows
        )
    );
    Ok(())
}
