//! `berth status [--watch]`

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use crate::diagnostic::Tone;
use crate::error::{Error, Result};
use crate::interrupt::Interrupt;
use crate::lifecycle::status::{self, CpuRates, Health, ServiceStatus};
use crate::time::fmt_duration;
use crate::units::fmt_bytes;

use crate::cli::context::Context;
use crate::cli::entry::on_interrupt_say;
use crate::cli::output::{self, emit, paint, table};

#[derive(clap::Args)]
pub struct Args {
    /// Print JSON on stdout
    #[arg(long, conflicts_with = "watch")]
    json: bool,
    /// Keep the table on screen, refreshed, with each server's CPU (Ctrl-C to stop)
    #[arg(short, long)]
    watch: bool,
    /// How often `--watch` refreshes, in seconds
    #[arg(long, value_name = "SECONDS", default_value = "1", requires = "watch")]
    interval: f64,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    if args.watch {
        return watch(ctx, &args);
    }
    let (config, dir) = ctx.load()?;
    let name = config.name.clone();
    let statuses = status::status(config, dir)?;
    if args.json {
        output::print_json(&serde_json::json!({ "stack": name, "services": statuses }));
        return Ok(());
    }
    emit(render(&statuses, None, &|_| None).as_bytes())
}

/// The table, with a CPU column when `cpu` can tell a rate.
fn render(
    statuses: &[ServiceStatus],
    header: Option<&str>,
    cpu: &dyn Fn(&ServiceStatus) -> Option<f64>,
) -> String {
    let with_cpu = header.is_some();
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
            let mut row = vec![
                s.service.clone(),
                s.kind.clone(),
                s.runtime.to_string(),
                s.endpoint.clone().unwrap_or_else(|| "-".into()),
                paint(&state, style, false),
                s.pid.map_or("-".into(), |p| p.to_string()),
                s.last_ready_in.map_or("-".into(), fmt_duration),
            ];
            if with_cpu {
                row.push(cpu(s).map_or("-".into(), |c| format!("{c:.1}%")));
            }
            row.push(s.usage.map_or("-".into(), |u| fmt_bytes(u.memory_bytes)));
            row
        })
        .collect();
    let mut columns = vec![
        "SERVICE",
        "KIND",
        "RUNTIME",
        "ENDPOINT",
        "STATE",
        "PID",
        "LAST READY IN",
    ];
    if with_cpu {
        columns.push("CPU");
    }
    columns.push("MEMORY");
    let mut text = String::new();
    if let Some(h) = header {
        text.push_str(h);
        text.push_str("\n\n");
    }
    text.push_str(&table(&columns, &rows));
    text
}

/// Redraw the table every interval until Ctrl-C. On a terminal each frame
/// replaces the last; otherwise frames follow each other, a blank line
/// apart, for a log.
fn watch(ctx: &Context, args: &Args) -> Result<()> {
    if !(args.interval.is_finite() && args.interval >= 0.1) {
        return Err(Error::usage(
            format!("`--interval {}` is too short", args.interval),
            Some("give a number of seconds of at least 0.1".into()),
        ));
    }
    on_interrupt_say(None);
    let interval = Duration::from_secs_f64(args.interval);
    let terminal = std::io::stdout().is_terminal();
    let interrupt = Interrupt::process();
    let mut cpu = CpuRates::default();
    if terminal {
        emit(b"\x1b[2J")?;
    }
    while !interrupt.requested() {
        let began = Instant::now();
        let frame = match ctx.load().and_then(|(config, dir)| {
            let name = config.name.clone();
            Ok((name, status::status(config, dir)?))
        }) {
            Ok((name, statuses)) => {
                let rates = cpu.sample(&statuses);
                let header = format!(
                    "stack `{name}`, every {}: Ctrl-C to stop watching (the stack keeps running)",
                    fmt_duration(interval)
                );
                render(&statuses, Some(&header), &|s| {
                    rates.get(&s.service).copied()
                })
            }
            // The stack file may be mid-edit: say so, and keep watching.
            Err(e) => format!("{}\n", paint(&format!("error: {e}"), Tone::Error, false)),
        };
        let framed = if terminal {
            // Home, then the frame, then clear what an earlier, longer one left.
            format!("\x1b[H{}\x1b[J", frame.replace('\n', "\x1b[K\n"))
        } else {
            format!("{frame}\n")
        };
        emit(framed.as_bytes())?;
        while began.elapsed() < interval && !interrupt.requested() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}
