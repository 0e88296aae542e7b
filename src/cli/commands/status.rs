//! `berth status`

use berth::lifecycle::{self, Health};
use berth::{fmt_duration, Result};

use crate::cli::output::{self, paint, table, Style};
use crate::cli::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON on stdout
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let name = config.name.clone();
    let statuses = lifecycle::status(config, dir)?;
    if args.json {
        output::print_json(&serde_json::json!({ "stack": name, "services": statuses }));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = statuses
        .iter()
        .map(|s| {
            let style = match s.health {
                Health::Ready => Style::Good,
                Health::Unhealthy => Style::Error,
                Health::Stopped | Health::Absent => Style::Dim,
            };
            let mut state = s.health.as_str().to_string();
            if let Some(p) = &s.problem {
                state.push_str(&format!(" ({p})"));
            }
            vec![
                s.service.clone(),
                s.kind.clone(),
                s.runtime.clone(),
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
