//! `berth logs [SERVICE...] [-f]`

use std::io::{Read, Seek, SeekFrom, Write};
use std::time::Duration;

use crate::error::Result;
use crate::interrupt::Interrupt;
use crate::lifecycle::inspect;

use crate::cli::context::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Services to show [default: all]
    services: Vec<String>,
    /// Keep printing new lines as they come (Ctrl-C to stop)
    #[arg(short, long)]
    follow: bool,
    /// Show only the last N lines of each log
    #[arg(short = 'n', long, value_name = "N")]
    tail: Option<usize>,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    let (config, dir) = ctx.load()?;
    let stack = inspect::open(config, dir)?;
    let services = stack.select(&args.services)?;
    let logs = inspect::Logs::new(&stack);
    let files = logs.files(&services)?;
    let prefixed = files.len() > 1;
    let width = files.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let prefix = |name: &str| {
        if prefixed {
            format!("{name:<width$} | ")
        } else {
            String::new()
        }
    };
    let mut out = std::io::stdout().lock();
    let mut offsets = Vec::new();
    for (name, path) in &files {
        let text = std::fs::read(path).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        let lines: Vec<&str> = text.lines().collect();
        let from = args.tail.map_or(0, |n| lines.len().saturating_sub(n));
        for line in &lines[from..] {
            let _ = writeln!(out, "{}{line}", prefix(name));
        }
        offsets.push(text.len() as u64);
    }
    let _ = out.flush();
    if !args.follow {
        return Ok(());
    }
    // Follow: poll for growth; a log that shrank was recreated (reset).
    let mut partial = vec![String::new(); files.len()];
    while !Interrupt::process().requested() {
        let files = logs.files(&services)?;
        for (i, (name, path)) in files.iter().enumerate() {
            let Ok(mut f) = std::fs::File::open(path) else {
                continue;
            };
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            if len < offsets[i] {
                offsets[i] = 0;
            }
            if len == offsets[i] || f.seek(SeekFrom::Start(offsets[i])).is_err() {
                continue;
            }
            let mut buf = Vec::new();
            let _ = f.read_to_end(&mut buf);
            offsets[i] += buf.len() as u64;
            partial[i].push_str(&String::from_utf8_lossy(&buf));
            while let Some(end) = partial[i].find('\n') {
                let line: String = partial[i].drain(..=end).collect();
                let _ = write!(out, "{}{line}", prefix(name));
            }
        }
        let _ = out.flush();
        std::thread::sleep(Duration::from_millis(150));
    }
    Ok(())
}
